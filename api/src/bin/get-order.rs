//! Lambda `get-order`: `GET /orders/{orderId}` for the order's owner.

use api::app::GetOrderApi;
use api::aws::{sdk_config, DynamoOrders};
use api::lambda::{env_var, init_logging, run};
use shop_model::env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let config = sdk_config().await;
    let orders = DynamoOrders::new(
        aws_sdk_dynamodb::Client::new(&config),
        env_var(env::ORDERS_TABLE)?,
    );
    run(GetOrderApi { orders }).await
}

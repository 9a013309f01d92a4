//! Lambda `order-entry`: `POST /orders`, priced, recorded PENDING and queued on SQS.

use api::app::OrderEntryApi;
use api::aws::{sdk_config, DynamoCatalog, DynamoOrders, SqsQueue};
use api::lambda::{env_var, init_logging, run};
use shop_model::env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let config = sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let catalog = DynamoCatalog::new(dynamodb.clone(), env_var(env::PRODUCTS_TABLE)?);
    let orders = DynamoOrders::new(dynamodb, env_var(env::ORDERS_TABLE)?);
    let queue = SqsQueue::new(
        aws_sdk_sqs::Client::new(&config),
        env_var(env::ORDER_QUEUE_URL)?,
    );
    run(OrderEntryApi {
        catalog,
        orders,
        queue,
    })
    .await
}

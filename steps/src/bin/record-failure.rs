//! Lambda entry point of the record-failure step (thin: builds the clients once, logic is in the library).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use steps::lambda::{self, env_var};
use steps::StepName;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let config = lambda::aws_config().await;
    let shop = steps::aws::DynamoShop::orders_only(
        aws_sdk_dynamodb::Client::new(&config),
        env_var(shop_model::env::ORDERS_TABLE)?,
    );
    let shop = &shop;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::handle(StepName::RecordFailure, event, |input| {
            steps::record_failure::record_failure(input, shop)
        })
        .await
    }))
    .await
}

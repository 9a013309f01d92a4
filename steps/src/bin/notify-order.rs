//! Lambda entry point of the notify step (thin: builds the clients once, logic is in the library).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use steps::lambda::{self, env_var};
use steps::StepName;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let config = lambda::aws_config().await;
    let notifier = steps::aws::SnsNotifier::new(
        aws_sdk_sns::Client::new(&config),
        env_var(shop_model::env::ORDER_TOPIC_ARN)?,
    );
    let notifier = &notifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        lambda::handle(StepName::NotifyOrder, event, |input| {
            steps::notify::notify(input, notifier)
        })
        .await
    }))
    .await
}

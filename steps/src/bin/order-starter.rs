//! Lambda entry point of the SQS starter: one order workflow execution per queued order.
//! The event source mapping must set `FunctionResponseTypes: [ReportBatchItemFailures]`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use steps::lambda::{self, env_var};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::init_tracing();
    let config = lambda::aws_config().await;
    let starter = steps::aws::SfnStarter::new(
        aws_sdk_sfn::Client::new(&config),
        env_var(shop_model::env::STATE_MACHINE_ARN)?,
    );
    let starter = &starter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        lambda::handle_sqs(event, starter).await
    }))
    .await
}

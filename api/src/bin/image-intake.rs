//! Lambda `image-intake`: every image uploaded under `products/` (S3 → SQS), checked and made
//! the product's image, or deleted. The event source mapping must set
//! `FunctionResponseTypes: [ReportBatchItemFailures]`.

use api::aws::{sdk_config, DynamoCatalog, S3Images};
use api::lambda::{env_var, init_logging};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, LambdaEvent};
use shop_model::env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = sdk_config().await;
    let catalog = DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&config),
        env_var(env::PRODUCTS_TABLE)?,
    );
    let objects = S3Images::from_env(&config)?;
    let (catalog, objects) = (&catalog, &objects);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(
            api::intake::take_in_batch(catalog, objects, event.payload).await,
        )
    }))
    .await
}

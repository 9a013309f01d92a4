//! Lambda glue shared by the binaries: JSON logs, configuration, and the per-step handler.

use std::future::Future;

use lambda_runtime::LambdaEvent;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;

use crate::error::StepError;
use crate::model::OrderScoped;
use crate::registry::{decode, StepName};

/// Structured JSON logs to stdout (CloudWatch). Level from `RUST_LOG`, else `info`.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // `try_init` so a second call (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}

/// A required environment variable (see `shop_model::env`).
pub fn env_var(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The AWS configuration from the Lambda environment (honours `AWS_ENDPOINT_URL`).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Runs one invocation of `step`: decodes the input (malformed input is the step's own error
/// rather than a runtime deserialization error), and logs with the request id and order id.
/// Inputs and outputs are never logged (they may hold a payment token).
pub async fn handle<I, O, F, Fut>(
    step: StepName,
    event: LambdaEvent<Value>,
    run: F,
) -> Result<O, StepError>
where
    I: DeserializeOwned + OrderScoped,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, StepError>>,
{
    let (payload, context) = event.into_parts();
    let order_id = payload
        .get("orderId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("step", step = step.as_str(), request_id = %context.request_id, order_id = %order_id);
    async move {
        let result = match decode::<I>(step, payload) {
            Ok(input) => run(input).await,
            Err(err) => Err(err),
        };
        match &result {
            Ok(_) => tracing::info!("step succeeded"),
            Err(err) if err.is_retryable() => tracing::warn!(
                error = err.name(),
                reason = err.reason(),
                "step failed; retryable"
            ),
            Err(err) => tracing::warn!(error = err.name(), reason = err.reason(), "step failed"),
        }
        result
    }
    .instrument(span)
    .await
}

/// Runs one invocation of the SQS starter, logging with the request id.
pub async fn handle_sqs<S>(
    event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
    starter: &S,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, StepError>
where
    S: crate::ports::ExecutionStarter + ?Sized,
{
    let (payload, context) = event.into_parts();
    let span = tracing::info_span!("starter", request_id = %context.request_id);
    async move {
        let records = payload.records.len();
        let response = crate::starter::start_batch(payload, starter).await?;
        tracing::info!(
            records,
            failures = response.batch_item_failures.len(),
            "batch handled"
        );
        Ok(response)
    }
    .instrument(span)
    .await
}

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
    // `try_init` so a second call (tests) is harmless.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = json_subscriber(std::io::stdout, filter).try_init();
}

/// The JSON log format: one object per event, with the current span's fields
/// (`step`, `request_id`, `order_id`) under `span`.
pub fn json_subscriber<W>(
    writer: W,
    filter: tracing_subscriber::EnvFilter,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    tracing_subscriber::EnvFilter,
    W,
>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
}

/// A required environment variable (see `shop_model::env`).
pub fn env_var(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// The AWS configuration from the Lambda environment (honours `AWS_ENDPOINT_URL`).
pub async fn aws_config() -> aws_config::SdkConfig {
    shop_model::aws::sdk_config().await
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
        crate::metrics::emit_for(step, &result);
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use lambda_runtime::{Context, LambdaEvent};

    use super::*;
    use crate::fixtures::{line, message, shop};
    use crate::model::ValidatedOrder;
    use crate::validate::validate;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn event(payload: Value) -> LambdaEvent<Value> {
        let mut context = Context::default();
        context.request_id = "req-42".into();
        LambdaEvent::new(payload, context)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn logs_are_json_with_request_and_order_ids_and_no_token() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = json_subscriber(
            move || writer.clone(),
            tracing_subscriber::EnvFilter::new("info"),
        )
        .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let shop = shop();
        let mut msg = message("o-log", vec![line("mug", 1)]);
        msg.payment_token = Some("tok_very_secret".into());
        let payload = serde_json::to_value(&msg).unwrap();
        let out: ValidatedOrder = handle(StepName::ValidateOrder, event(payload), |m| {
            validate(m, &shop)
        })
        .await
        .unwrap();
        assert_eq!(out.order_id, "o-log");
        let err = handle(
            StepName::ValidateOrder,
            event(serde_json::json!({"orderId": "o-bad"})),
            |m| validate(m, &shop),
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "InvalidOrder");

        let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(!logs.contains("tok_very_secret"), "{logs}");
        let lines: Vec<Value> = logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.len() >= 2, "{logs}");
        for line in &lines {
            assert_eq!(line["span"]["request_id"], "req-42", "{line}");
        }
        assert!(lines.iter().any(|l| l["span"]["order_id"] == "o-log"));
        assert!(lines
            .iter()
            .any(|l| l["span"]["order_id"] == "o-bad" && l["fields"]["error"] == "InvalidOrder"));
    }
}

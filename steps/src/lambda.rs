//! Lambda glue of the shop's steps: how each step gets its ports in its deployed function (from
//! the function's environment), the service with the shop's metrics and log correlation, and the
//! SQS starter's handler. A step's binary is one line: `steps::lambda_main!(steps::ValidateOrder);`.

use std::sync::Arc;

use lambda_runtime::LambdaEvent;
use shop_model::env;
use tracing::Instrument;
use workflow_dsl::step::Step;
use workflow_lambda::StepService;

use crate::aws::{DynamoShop, SnsNotifier};
use crate::metrics::FailureMetric;
use crate::ports::SimulatedGateway;
use crate::{NotifyOrder, PersistOrder, ProcessPayment, RecordFailure, ValidateOrder};

pub use workflow_lambda::init_json_logs as init_tracing;

/// A required environment variable (see `shop_model::env`).
pub fn env_var(name: &str) -> Result<String, lambda_runtime::Error> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("environment variable {name} is not set").into()),
    }
}

/// The AWS configuration from the Lambda environment (honours `AWS_ENDPOINT_URL`).
pub async fn aws_config() -> aws_config::SdkConfig {
    shop_model::aws::sdk_config().await
}

/// How a step gets its ports in its deployed Lambda function: from the function's environment
/// (the template sets exactly the variables each function needs: least privilege). A step whose
/// ports need no AWS client never loads the SDK configuration, so its binary links none of it.
pub trait Deployed: Step {
    /// The ports, built once at start-up; an error names the missing setting.
    fn ports() -> impl std::future::Future<Output = Result<Arc<Self::Ports>, lambda_runtime::Error>>;
}

impl Deployed for ValidateOrder {
    async fn ports() -> Result<Arc<Self::Ports>, lambda_runtime::Error> {
        Ok(Arc::new(DynamoShop::products_only(
            aws_sdk_dynamodb::Client::new(&aws_config().await),
            env_var(env::PRODUCTS_TABLE)?,
        )))
    }
}

impl Deployed for ProcessPayment {
    /// The simulated provider; a real one implements [`crate::ports::PaymentGateway`] too.
    async fn ports() -> Result<Arc<Self::Ports>, lambda_runtime::Error> {
        Ok(Arc::new(SimulatedGateway))
    }
}

impl Deployed for PersistOrder {
    async fn ports() -> Result<Arc<Self::Ports>, lambda_runtime::Error> {
        Ok(Arc::new(DynamoShop::new(
            aws_sdk_dynamodb::Client::new(&aws_config().await),
            env_var(env::PRODUCTS_TABLE)?,
            env_var(env::ORDERS_TABLE)?,
        )))
    }
}

impl Deployed for RecordFailure {
    async fn ports() -> Result<Arc<Self::Ports>, lambda_runtime::Error> {
        Ok(Arc::new(DynamoShop::orders_only(
            aws_sdk_dynamodb::Client::new(&aws_config().await),
            env_var(env::ORDERS_TABLE)?,
        )))
    }
}

impl Deployed for NotifyOrder {
    async fn ports() -> Result<Arc<Self::Ports>, lambda_runtime::Error> {
        Ok(Arc::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(&aws_config().await),
            env_var(env::ORDER_TOPIC_ARN)?,
        )))
    }
}

/// The Lambda service of step `S` on `ports`, with the shop's conventions: log lines carry the
/// order id (`correlation_id`), and business failures are counted as EMF metrics.
pub fn service<S: Step>(ports: Arc<S::Ports>) -> StepService<S>
where
    S::Error: FailureMetric,
{
    StepService::new(ports)
        .correlate_by("orderId")
        .on_failure(crate::metrics::emit_failure::<S>)
}

/// The service of step `S` as deployed: ports from the function's environment.
pub async fn deployed<S: Deployed>() -> Result<StepService<S>, lambda_runtime::Error>
where
    S::Error: FailureMetric,
{
    Ok(service::<S>(S::ports().await?))
}

/// The `main` of a step's Lambda binary: `steps::lambda_main!(steps::ValidateOrder);` in
/// `src/bin/validate-order.rs`. The binary must be named after the step (`Step::NAME`), or it
/// does not compile.
#[macro_export]
macro_rules! lambda_main {
    ($step:ty) => {
        ::workflow_lambda::main!($step, $crate::lambda::deployed::<$step>());
    };
}

/// Runs one invocation of the SQS starter, logging with the request id.
pub async fn handle_sqs<S>(
    event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
    starter: &S,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, crate::starter::StarterError>
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
    use std::sync::Mutex;

    use lambda_runtime::Context;
    use serde_json::Value;

    use super::*;
    use crate::fixtures::{line, message, shop};

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
        let subscriber = workflow_lambda::json_subscriber(
            move || writer.clone(),
            tracing_subscriber::EnvFilter::new("info"),
        )
        .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let service = service::<ValidateOrder>(Arc::new(shop()));
        let mut msg = message("o-log", vec![line("mug", 1)]);
        msg.payment_token = Some("tok_very_secret".into());
        let payload = serde_json::to_value(&msg).unwrap();
        let out = service.invoke(event(payload)).await.unwrap();
        assert_eq!(out.order_id, "o-log");
        let err = service
            .invoke(event(serde_json::json!({"orderId": "o-bad"})))
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "InvalidOrder");

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
        assert!(lines.iter().any(|l| l["span"]["correlation_id"] == "o-log"));
        assert!(lines
            .iter()
            .any(|l| l["span"]["correlation_id"] == "o-bad"
                && l["fields"]["error"] == "InvalidOrder"));
    }
}

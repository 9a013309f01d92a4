#![warn(missing_docs)]
//! Serves a typed workflow step ([`workflow_dsl::step::Step`]) as an AWS Lambda function.
//!
//! The same step type the workflow chains (`task::<MyStep>(...)`) and the local engine runs
//! (`asl_engine::TaskRegistry::register_step`) becomes a Lambda function with one line in
//! `src/bin/<step name>.rs`, where the second argument builds the service (its ports) once:
//!
//! ```text
//! workflow_lambda::main!(my_steps::Greet, async { Ok(StepService::new(Arc::new(()))) });
//! ```
//!
//! The binary must be called like the step ([`Step::NAME`], the name the template and the
//! workflow know it by): a binary serving another step does not compile. The service itself can
//! be tried without Lambda:
//!
//! ```
//! use std::sync::Arc;
//! use workflow_dsl::step::{Step, StepError};
//! use workflow_dsl::typed::StepErrors;
//! use workflow_lambda::StepService;
//!
//! workflow_dsl::step_errors! { pub enum GreetError { InvalidInput } }
//!
//! pub struct Greet;
//! impl Step for Greet {
//!     const NAME: &'static str = "greet";
//!     type Input = String;
//!     type Output = String;
//!     type Error = GreetError;
//!     type Ports = ();
//!     async fn run(name: String, _: &()) -> Result<String, StepError<GreetError>> {
//!         Ok(format!("Hello, {name}"))
//!     }
//!     fn malformed_input(reason: String) -> StepError<GreetError> {
//!         GreetError::InvalidInput.because(reason)
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let service = StepService::<Greet>::new(Arc::new(()));
//! let event = lambda_runtime::LambdaEvent::new(serde_json::json!("Ada"), Default::default());
//! assert_eq!(service.invoke(event).await.unwrap(), "Hello, Ada");
//! let event = lambda_runtime::LambdaEvent::new(serde_json::json!(42), Default::default());
//! assert_eq!(service.invoke(event).await.unwrap_err().error_type, "InvalidInput");
//! # });
//! ```
//!
//! What the function does on each invocation ([`StepService`]):
//! - decodes the event into [`Step::Input`]; a malformed event becomes the step's own error
//!   ([`Step::malformed_input`]), with a message that never quotes a value of the event;
//! - runs [`Step::run`] with the ports built once at start-up;
//! - answers [`Step::Output`], or reports the step's error as the Lambda error object
//!   (`errorType` = the ASL error name Step Functions matches in `Retry`/`Catch`,
//!   `errorMessage` = the message);
//! - logs in a `step` span with the step name, the request id and an optional correlation id
//!   taken from the input ([`StepService::correlate_by`]), never the input or the output;
//! - calls the failure hook ([`StepService::on_failure`]) with the typed error, for metrics.
//!
//! [`StepService`] is a tower [`lambda_runtime::Service`]: wrap it in layers for
//! anything else, and run it with [`run`] (or `lambda_runtime::run`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lambda_runtime::{Diagnostic, LambdaEvent, Service};
use serde_json::Value;
use tracing::Instrument;
use workflow_dsl::step::{decode_input, Step, StepError};

pub use lambda_runtime::Error;

/// A step's failure as its Lambda function reports it: the ASL error name (`errorType`) and the
/// message (`errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct StepLambdaError {
    /// The ASL error name, e.g. `PaymentDeclined`.
    pub error_type: &'static str,
    /// Why the step failed.
    pub message: String,
}

impl<E: workflow_dsl::typed::StepErrors> From<&StepError<E>> for StepLambdaError {
    fn from(err: &StepError<E>) -> Self {
        StepLambdaError {
            error_type: err.name(),
            message: err.message().to_owned(),
        }
    }
}

/// Lambda reports `error_type` as the error name Step Functions matches in `Retry`/`Catch`, and
/// `error_message` as the message inside `Cause`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
impl From<StepLambdaError> for Diagnostic {
    fn from(err: StepLambdaError) -> Self {
        Diagnostic {
            error_type: err.error_type.to_owned(),
            error_message: err.message,
        }
    }
}

/// The hook called with every failure of the step (see [`StepService::on_failure`]).
pub type FailureHook<S> = Arc<dyn Fn(&StepError<<S as Step>::Error>) + Send + Sync>;

/// The tower service of one step: an invocation in, the step's output or error out.
pub struct StepService<S: Step> {
    ports: Arc<S::Ports>,
    correlation_field: Option<&'static str>,
    on_failure: Option<FailureHook<S>>,
}

impl<S: Step> Clone for StepService<S> {
    fn clone(&self) -> Self {
        StepService {
            ports: self.ports.clone(),
            correlation_field: self.correlation_field,
            on_failure: self.on_failure.clone(),
        }
    }
}

impl<S: Step> fmt::Debug for StepService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepService")
            .field("step", &S::NAME)
            .field("correlation_field", &self.correlation_field)
            .finish_non_exhaustive()
    }
}

impl<S: Step> StepService<S> {
    /// The service of step `S` on `ports` (built once, shared by every invocation).
    pub fn new(ports: Arc<S::Ports>) -> Self {
        StepService {
            ports,
            correlation_field: None,
            on_failure: None,
        }
    }

    /// Records the input's top-level string field `field` (e.g. `orderId`) as `correlation_id`
    /// in the log span of each invocation, so every log line of one order can be found.
    pub fn correlate_by(mut self, field: &'static str) -> Self {
        self.correlation_field = Some(field);
        self
    }

    /// Calls `hook` with every failure of the step, typed (to count business errors as metrics,
    /// say). It runs after the failure is logged and before it is reported.
    pub fn on_failure(
        mut self,
        hook: impl Fn(&StepError<S::Error>) + Send + Sync + 'static,
    ) -> Self {
        self.on_failure = Some(Arc::new(hook));
        self
    }

    /// One invocation: decode, run, log, report.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<S::Output, StepLambdaError> {
        let (payload, context) = event.into_parts();
        let correlation_id = self
            .correlation_field
            .and_then(|field| payload.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!(
            "step",
            step = S::NAME,
            request_id = %context.request_id,
            correlation_id = %correlation_id,
        );
        async move {
            let result = match decode_input::<S>(payload) {
                Ok(input) => S::run(input, &self.ports).await,
                Err(err) => Err(err),
            };
            match &result {
                Ok(_) => tracing::info!("step succeeded"),
                Err(err) => {
                    if err.is_transient() {
                        tracing::warn!(
                            error = err.name(),
                            reason = err.message(),
                            "step failed; transient"
                        );
                    } else {
                        tracing::warn!(error = err.name(), reason = err.message(), "step failed");
                    }
                    if let Some(hook) = &self.on_failure {
                        hook(err);
                    }
                }
            }
            result.map_err(|err| StepLambdaError::from(&err))
        }
        .instrument(span)
        .await
    }
}

impl<S: Step> Service<LambdaEvent<Value>> for StepService<S> {
    type Response = S::Output;
    type Error = StepLambdaError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Output, StepLambdaError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: LambdaEvent<Value>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move { service.invoke(event).await })
    }
}

/// Serves `service` as the Lambda function until the runtime stops it.
pub async fn run<S: Step>(service: StepService<S>) -> Result<(), Error> {
    lambda_runtime::run(service).await
}

/// Structured JSON logs to stdout (CloudWatch Logs): one object per event with the current
/// span's fields under `span`. The level comes from `RUST_LOG`, else `info`. Calling it twice
/// is harmless.
pub fn init_json_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = json_subscriber(std::io::stdout, filter).try_init();
}

/// The JSON log format of [`init_json_logs`] on any writer (tests capture it).
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

/// The entry point of a step's Lambda binary: `main!(StepType, service)`, where `service` is a
/// future of `Result<StepService<StepType>, Error>` (it builds the ports once, at start-up).
///
/// It initializes the JSON logs, builds the service and runs it. The binary's name must be the
/// step's [`Step::NAME`] (the name the template and the workflow know it by): a binary serving
/// another step does not compile, and neither does a service of another step.
#[macro_export]
macro_rules! main {
    ($step:ty, $service:expr $(,)?) => {
        const _: () = $crate::__private::assert_serves::<$step>(::std::env!("CARGO_BIN_NAME"));

        fn main() -> ::std::result::Result<(), $crate::Error> {
            $crate::__private::block_on(async {
                $crate::init_json_logs();
                let service: $crate::StepService<$step> = ($service).await?;
                $crate::run::<$step>(service).await
            })
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use workflow_dsl::step::assert_serves;

    /// Runs the Lambda's main future on a multi-threaded tokio runtime.
    pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("the tokio runtime starts")
            .block_on(future)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use lambda_runtime::Context as LambdaContext;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use workflow_dsl::step_errors;
    use workflow_dsl::typed::StepErrors;

    use super::*;

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Charge {
        order_id: String,
        card: String,
        cents: i64,
    }

    step_errors! {
        enum ChargeError {
            Declined,
            #[transient]
            Busy,
            InvalidInput,
        }
    }

    struct ChargeCard;
    impl Step for ChargeCard {
        const NAME: &'static str = "charge-card";
        type Input = Charge;
        type Output = i64;
        type Error = ChargeError;
        type Ports = i64;

        async fn run(charge: Charge, limit: &i64) -> Result<i64, StepError<ChargeError>> {
            if charge.cents > *limit {
                return Err(ChargeError::Declined.because("over the limit"));
            }
            Ok(charge.cents)
        }

        fn malformed_input(reason: String) -> StepError<ChargeError> {
            ChargeError::InvalidInput.because(reason)
        }
    }

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
        let mut context = LambdaContext::default();
        context.request_id = "req-42".into();
        LambdaEvent::new(payload, context)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn serves_the_step_with_its_errors_as_lambda_errors_and_logs_no_input() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = json_subscriber(
            move || writer.clone(),
            tracing_subscriber::EnvFilter::new("info"),
        )
        .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let failures = Arc::new(Mutex::new(Vec::new()));
        let seen = failures.clone();
        let mut service = StepService::<ChargeCard>::new(Arc::new(100))
            .correlate_by("orderId")
            .on_failure(move |e| seen.lock().unwrap().push(e.kind()));

        let ok = service
            .call(event(
                serde_json::json!({"orderId": "o-1", "card": "4242-secret", "cents": 50}),
            ))
            .await
            .unwrap();
        assert_eq!(ok, 50);
        let declined = service
            .call(event(
                serde_json::json!({"orderId": "o-2", "card": "4242-secret", "cents": 500}),
            ))
            .await
            .unwrap_err();
        let diagnostic = Diagnostic::from(declined);
        assert_eq!(diagnostic.error_type, "Declined");
        assert_eq!(diagnostic.error_message, "over the limit");
        let malformed = service
            .call(event(
                serde_json::json!({"orderId": "o-3", "card": 4242999, "cents": 1}),
            ))
            .await
            .unwrap_err();
        assert_eq!(malformed.error_type, "InvalidInput");
        assert!(!malformed.message.contains("4242999"), "{malformed}");
        assert_eq!(
            *failures.lock().unwrap(),
            [ChargeError::Declined, ChargeError::InvalidInput]
        );

        let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(!logs.contains("4242"), "{logs}");
        let lines: Vec<Value> = logs
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{logs}");
        for line in &lines {
            assert_eq!(line["span"]["request_id"], "req-42", "{line}");
            assert_eq!(line["span"]["step"], "charge-card", "{line}");
        }
        assert_eq!(lines[0]["span"]["correlation_id"], "o-1");
        assert_eq!(lines[1]["fields"]["error"], "Declined");
        assert_eq!(lines[2]["span"]["correlation_id"], "o-3");
    }
}

//! One definition per step: the [`Step`] trait is a Task's contract (name, input, output, errors,
//! the ports it needs) and its implementation (the async handler) in one Rust item.
//!
//! The workflow builds its Task from the type ([`crate::builder::task`]), the step's Lambda
//! serves the same type (crate `workflow-lambda`), and the local engine runs the same handler
//! (`asl_engine::TaskRegistry::register_step`, `asl_engine::testing::LocalRunner`). Nothing about a step
//! is written twice: change [`Step::Output`] and every workflow chaining the step stops compiling;
//! return another step's error and the handler stops compiling.
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use workflow_dsl::step::{Step, StepError};
//! use workflow_dsl::step_errors;
//! use workflow_dsl::typed::StepErrors;
//!
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! #[serde(rename_all = "camelCase")]
//! pub struct Order { order_id: String, total_cents: i64 }
//!
//! step_errors! {
//!     /// How charging fails.
//!     pub enum ChargeError {
//!         /// The card was declined: final.
//!         Declined = "PaymentDeclined",
//!         /// The provider is busy: the workflow may retry (`Retry::transient()`).
//!         #[transient]
//!         ProviderBusy,
//!         /// The input is not an order.
//!         InvalidInput,
//!     }
//! }
//!
//! /// The payment provider, as the step needs it (a port).
//! pub trait Provider: Send + Sync {
//!     fn approve(&self, cents: i64) -> bool;
//! }
//!
//! /// `charge`: charges the order's total.
//! pub struct Charge;
//!
//! impl Step for Charge {
//!     const NAME: &'static str = "charge";
//!     type Input = Order;
//!     type Output = Order;
//!     type Error = ChargeError;
//!     type Ports = dyn Provider;
//!
//!     async fn run(order: Order, provider: &Self::Ports) -> Result<Order, StepError<ChargeError>> {
//!         if provider.approve(order.total_cents) {
//!             Ok(order)
//!         } else {
//!             Err(ChargeError::Declined.because("the card was declined"))
//!         }
//!     }
//!
//!     fn malformed_input(reason: String) -> StepError<ChargeError> {
//!         ChargeError::InvalidInput.because(reason)
//!     }
//! }
//!
//! assert_eq!(ChargeError::transient(), [ChargeError::ProviderBusy]);
//! assert_eq!(<Charge as workflow_dsl::typed::TaskStep>::function_arn_placeholder(), "${ChargeFunctionArn}");
//! ```

use std::fmt;
use std::future::Future;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::typed::{StepErrors, StepResource, TaskStep};

/// A Task step: its contract and its implementation in one item.
///
/// - [`Step::NAME`] is the step's kebab-case name: the Lambda function's binary name and, in
///   PascalCase, the SAM placeholder of its ARN (`validate-order` → `${ValidateOrderFunctionArn}`).
/// - [`Step::Input`] / [`Step::Output`] are the state's input and output (serde + schemars types:
///   the builder checks the data flow with their JSON Schemas).
/// - [`Step::Error`] is the step's own error enum ([`crate::step_errors!`]): the handler can
///   return nothing else, `Retry`/`Catch` can name nothing else, and which errors are transient
///   is declared there (`#[transient]`).
/// - [`Step::Ports`] is what the handler needs from the outside world (usually a `dyn Trait`
///   with AWS and in-memory implementations; `()` for none).
///
/// Every type implementing `Step` is also a [`TaskStep`] (the declaration the builder uses).
/// See the [module documentation](self) for an example.
pub trait Step: Send + Sync + 'static {
    /// Kebab-case name of the step, e.g. `validate-order`.
    const NAME: &'static str;
    /// What the step receives (the state input).
    type Input: JsonSchema + Serialize + DeserializeOwned + Send + 'static;
    /// What the step returns (the state output).
    type Output: JsonSchema + Serialize + DeserializeOwned + Send + 'static;
    /// How the step fails: its own error enum.
    type Error: StepErrors + fmt::Debug + Send + Sync;
    /// What the handler needs (clients, stores, providers): a trait object, a struct, or `()`.
    type Ports: ?Sized + Send + Sync + 'static;

    /// The handler: one invocation of the step.
    fn run(
        input: Self::Input,
        ports: &Self::Ports,
    ) -> impl Future<Output = Result<Self::Output, StepError<Self::Error>>> + Send;

    /// The error an input that does not decode into [`Step::Input`] becomes. `reason` says what
    /// is wrong without quoting any value of the input ([`describe_json_error`]).
    fn malformed_input(reason: String) -> StepError<Self::Error>;

    /// How the workflow runs the step. Default: the optimized Lambda integration
    /// (`arn:aws:states:::lambda:invoke`) on `${<PascalName>FunctionArn}`.
    fn resource() -> StepResource {
        StepResource::lambda_of(Self::NAME)
    }
}

impl<S: Step> TaskStep for S {
    const NAME: &'static str = <S as Step>::NAME;
    type Input = <S as Step>::Input;
    type Output = <S as Step>::Output;
    type Error = <S as Step>::Error;

    fn resource() -> StepResource {
        <S as Step>::resource()
    }
}

/// A failed step: one of its errors ([`Step::Error`]) and a message saying why.
///
/// The kind is what Step Functions matches (the ASL error name, a Lambda's `errorType`); the
/// message is the human-readable reason (a Lambda's `errorMessage`): never put a secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError<E> {
    kind: E,
    message: String,
}

impl<E: StepErrors> StepError<E> {
    /// The error `kind` with `message`. Also written `kind.because(message)`.
    pub fn new(kind: E, message: impl Into<String>) -> Self {
        StepError {
            kind,
            message: message.into(),
        }
    }

    /// The error variant.
    pub fn kind(&self) -> E {
        self.kind
    }

    /// The ASL error name (`errorType`).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The reason (`errorMessage`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the error kind is declared transient (a retry may cure it).
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }

    /// The error with its type erased: what Step Functions sees of it.
    pub fn to_failure(&self) -> StepFailure {
        StepFailure {
            error: self.name(),
            message: self.message.clone(),
            transient: self.is_transient(),
        }
    }
}

impl<E: StepErrors> fmt::Display for StepError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message)
    }
}

impl<E: StepErrors + fmt::Debug> std::error::Error for StepError<E> {}

/// A failed step with its type erased: the ASL error name, the message, and whether the kind is
/// transient. What a Lambda reports as `errorType`/`errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// The ASL error name.
    pub error: &'static str,
    /// The reason.
    pub message: String,
    /// Declared transient by the step's error enum.
    pub transient: bool,
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl std::error::Error for StepFailure {}

/// The error name a step reports when its output cannot be serialized to JSON (a bug in the
/// output type, e.g. a map with non-string keys). Step Functions calls a failure to handle the
/// data `States.Runtime`.
pub const OUTPUT_NOT_SERIALIZABLE: &str = "States.Runtime";

/// Decodes a step's input, turning a malformed one into the step's own error
/// ([`Step::malformed_input`]) without quoting any input value.
pub fn decode_input<S: Step>(input: Value) -> Result<S::Input, StepError<S::Error>> {
    serde_json::from_value(input).map_err(|e| S::malformed_input(describe_json_error(&e)))
}

/// Runs a step on JSON: decodes the input, runs the handler, encodes the output. The failure is
/// the typed error with its type erased. This is how a runtime that speaks JSON (the local
/// engine, a Lambda) runs a [`Step`].
pub async fn run_json<S: Step>(input: Value, ports: &S::Ports) -> Result<Value, StepFailure> {
    let input = decode_input::<S>(input).map_err(|e| e.to_failure())?;
    let output = S::run(input, ports).await.map_err(|e| e.to_failure())?;
    serde_json::to_value(output).map_err(|e| StepFailure {
        error: OUTPUT_NOT_SERIALIZABLE,
        message: format!("the output of step {} is not JSON: {e}", S::NAME),
        transient: false,
    })
}

/// A serde error message that cannot echo input values (which may hold a secret, such as a
/// payment token): missing, unknown and duplicate field messages are kept, value errors are
/// summarized.
///
/// ```
/// #[derive(serde::Deserialize, Debug)]
/// #[serde(deny_unknown_fields)]
/// struct Card { token: String }
/// let err = serde_json::from_str::<Card>(r#"{"token": 4242424242}"#).unwrap_err();
/// let text = workflow_dsl::step::describe_json_error(&err);
/// assert!(!text.contains("4242"), "{text}");
/// let err = serde_json::from_str::<Card>("{}").unwrap_err();
/// assert!(workflow_dsl::step::describe_json_error(&err).starts_with("missing field `token`"));
/// ```
pub fn describe_json_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let keep = [
        "missing field",
        "unknown field",
        "duplicate field",
        "EOF while parsing",
        "expected value",
    ];
    if keep.iter().any(|k| text.starts_with(k)) {
        text
    } else if err.is_syntax() || err.is_eof() {
        format!(
            "not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        )
    } else {
        "a field has an invalid type or value".to_owned()
    }
}

/// Checks at compile time that a binary serves the step it is named after: `bin` (the binary's
/// `CARGO_BIN_NAME`) must be [`Step::NAME`]. A `const` evaluation that fails stops the build.
///
/// ```
/// # use workflow_dsl::step::{Step, StepError};
/// # workflow_dsl::step_errors! { pub enum E { Bad } }
/// # struct Ship;
/// # impl Step for Ship {
/// #     const NAME: &'static str = "ship";
/// #     type Input = (); type Output = (); type Error = E; type Ports = ();
/// #     async fn run(_: (), _: &()) -> Result<(), StepError<E>> { Ok(()) }
/// #     fn malformed_input(r: String) -> StepError<E> { StepError::new(E::Bad, r) }
/// # }
/// const _: () = workflow_dsl::step::assert_serves::<Ship>("ship");
/// ```
///
/// ```compile_fail
/// # use workflow_dsl::step::{Step, StepError};
/// # workflow_dsl::step_errors! { pub enum E { Bad } }
/// # struct Ship;
/// # impl Step for Ship {
/// #     const NAME: &'static str = "ship";
/// #     type Input = (); type Output = (); type Error = E; type Ports = ();
/// #     async fn run(_: (), _: &()) -> Result<(), StepError<E>> { Ok(()) }
/// #     fn malformed_input(r: String) -> StepError<E> { StepError::new(E::Bad, r) }
/// # }
/// const _: () = workflow_dsl::step::assert_serves::<Ship>("charge");
/// ```
pub const fn assert_serves<S: Step>(bin: &str) {
    let (a, b) = (bin.as_bytes(), S::NAME.as_bytes());
    let mut same = a.len() == b.len();
    let mut i = 0;
    while same && i < a.len() {
        same = a[i] == b[i];
        i += 1;
    }
    assert!(
        same,
        "this binary serves a step whose Step::NAME is not the binary's name"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::step_errors! {
        enum EchoError {
            #[transient]
            Busy,
            Bad = "BadInput",
        }
    }

    struct Echo;
    impl Step for Echo {
        const NAME: &'static str = "echo";
        type Input = Vec<u32>;
        type Output = u32;
        type Error = EchoError;
        type Ports = u32;

        async fn run(input: Vec<u32>, limit: &u32) -> Result<u32, StepError<EchoError>> {
            let sum: u32 = input.iter().sum();
            if sum > *limit {
                return Err(EchoError::Busy.because(format!("{sum} is over {limit}")));
            }
            Ok(sum)
        }

        fn malformed_input(reason: String) -> StepError<EchoError> {
            EchoError::Bad.because(reason)
        }
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        // The handlers of these tests never wait: one poll finishes them.
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        match future
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
        {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the test handler waited"),
        }
    }

    #[test]
    fn runs_on_json_with_typed_errors_erased_at_the_edge() {
        assert_eq!(
            block_on(run_json::<Echo>(serde_json::json!([1, 2]), &10)),
            Ok(serde_json::json!(3))
        );
        let busy = block_on(run_json::<Echo>(serde_json::json!([7, 8]), &10)).unwrap_err();
        assert_eq!(
            busy,
            StepFailure {
                error: "Busy",
                message: "15 is over 10".into(),
                transient: true
            }
        );
        let bad = block_on(run_json::<Echo>(serde_json::json!({"secret": 1}), &10)).unwrap_err();
        assert_eq!(bad.error, "BadInput");
        assert!(!bad.transient);
        assert!(!bad.message.contains("secret"), "{}", bad.message);
    }

    #[test]
    fn a_step_is_a_task_step_with_its_placeholder() {
        assert_eq!(<Echo as TaskStep>::NAME, "echo");
        assert_eq!(Echo::function_arn_placeholder(), "${EchoFunctionArn}");
        let err = EchoError::Busy.because("slow");
        assert_eq!(err.to_string(), "Busy: slow");
        assert_eq!(err.kind(), EchoError::Busy);
    }
}

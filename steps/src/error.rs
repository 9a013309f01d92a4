//! The one error type of the steps crate, named after the ASL error names the workflow catches.

use serde::{Deserialize, Serialize};

/// ASL error names the steps report (`Error` in a Step Functions `Catch`/`Retry`).
///
/// A Lambda handler that returns `Err(StepError)` reports these as the Lambda `errorType`,
/// which Step Functions uses as the error name
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
pub mod names {
    /// The order is not acceptable (unknown product, bad quantity, empty order, ...). Final.
    pub const INVALID_ORDER: &str = "InvalidOrder";
    /// The payment provider declined the charge. Final.
    pub const PAYMENT_DECLINED: &str = "PaymentDeclined";
    /// Not enough stock to reserve the order. Final.
    pub const OUT_OF_STOCK: &str = "OutOfStock";
    /// The order already ended FAILED; it is never moved to COMPLETED. Final.
    pub const ORDER_ALREADY_FAILED: &str = "OrderAlreadyFailed";
    /// The step input does not have the expected shape (a workflow wiring bug). Final.
    pub const INVALID_INPUT: &str = "InvalidInput";
    /// A dependency throttled the call or a transaction conflicted. Retry with backoff.
    pub const THROTTLED: &str = "Throttled";
    /// A dependency was unreachable, timed out or answered 5xx. Retry with backoff.
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    /// Anything else unexpected (misconfiguration, corrupt data). Final.
    pub const INTERNAL: &str = "InternalError";

    /// Errors the workflow should retry (`Retry.ErrorEquals`).
    pub const RETRYABLE: &[&str] = &[THROTTLED, SERVICE_UNAVAILABLE];
    /// Business errors that end the order FAILED (`Catch.ErrorEquals`, besides `States.ALL`).
    pub const BUSINESS: &[&str] = &[
        INVALID_ORDER,
        PAYMENT_DECLINED,
        OUT_OF_STOCK,
        ORDER_ALREADY_FAILED,
    ];
}

/// Every way a step can fail. The variant decides the ASL error name ([`StepError::name`]);
/// the message is the human-readable reason (never a payment token or personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    InvalidOrder(String),
    #[error("{0}")]
    PaymentDeclined(String),
    #[error("{0}")]
    OutOfStock(String),
    #[error("{0}")]
    OrderAlreadyFailed(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Throttled(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl StepError {
    /// The ASL error name of this error (one of [`names`]).
    pub fn name(&self) -> &'static str {
        match self {
            StepError::InvalidOrder(_) => names::INVALID_ORDER,
            StepError::PaymentDeclined(_) => names::PAYMENT_DECLINED,
            StepError::OutOfStock(_) => names::OUT_OF_STOCK,
            StepError::OrderAlreadyFailed(_) => names::ORDER_ALREADY_FAILED,
            StepError::InvalidInput(_) => names::INVALID_INPUT,
            StepError::Throttled(_) => names::THROTTLED,
            StepError::ServiceUnavailable(_) => names::SERVICE_UNAVAILABLE,
            StepError::Internal(_) => names::INTERNAL,
        }
    }

    /// The reason, without the error name.
    pub fn reason(&self) -> &str {
        match self {
            StepError::InvalidOrder(r)
            | StepError::PaymentDeclined(r)
            | StepError::OutOfStock(r)
            | StepError::OrderAlreadyFailed(r)
            | StepError::InvalidInput(r)
            | StepError::Throttled(r)
            | StepError::ServiceUnavailable(r)
            | StepError::Internal(r) => r,
        }
    }

    /// True for errors a retry may cure.
    pub fn is_retryable(&self) -> bool {
        names::RETRYABLE.contains(&self.name())
    }

    /// The Step Functions view of this error: `Error` is the ASL name and `Cause` is what
    /// Lambda puts there, the JSON error object `{"errorType","errorMessage"}`.
    pub fn to_failure(&self) -> StepFailure {
        StepFailure {
            error: self.name().to_owned(),
            cause: lambda_cause(self.name(), self.reason()),
        }
    }
}

/// The error object Lambda returns for a failed invocation, which Step Functions puts (as a JSON
/// string) in `Cause` (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaErrorObject {
    pub error_type: String,
    pub error_message: String,
}

fn lambda_cause(error_type: &str, message: &str) -> String {
    serde_json::to_string(&LambdaErrorObject {
        error_type: error_type.to_owned(),
        error_message: message.to_owned(),
    })
    .unwrap_or_else(|_| message.to_owned())
}

/// A failed step as the local engine sees it: the ASL `Error` name and the `Cause` string,
/// exactly as Step Functions reports a failed Lambda Task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct StepFailure {
    pub error: String,
    pub cause: String,
}

impl From<StepError> for StepFailure {
    fn from(err: StepError) -> Self {
        err.to_failure()
    }
}

/// Lambda reports `error_type` as the error name Step Functions matches in `Retry`/`Catch`, and
/// `error_message` as the message inside `Cause`
/// (<https://docs.rs/lambda_runtime/latest/lambda_runtime/diagnostic/struct.Diagnostic.html>).
impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(err: StepError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.name().to_owned(),
            error_message: err.reason().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_uses_the_asl_error_name() {
        let d: lambda_runtime::Diagnostic =
            StepError::OutOfStock("product p-1: 2 requested".into()).into();
        assert_eq!(d.error_type, "OutOfStock");
        assert_eq!(d.error_message, "product p-1: 2 requested");
    }

    #[test]
    fn failure_cause_is_the_lambda_error_object() {
        let f = StepError::PaymentDeclined("card declined".into()).to_failure();
        assert_eq!(f.error, "PaymentDeclined");
        let cause: LambdaErrorObject = serde_json::from_str(&f.cause).unwrap();
        assert_eq!(cause.error_type, "PaymentDeclined");
        assert_eq!(cause.error_message, "card declined");
    }

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(StepError::Throttled("x".into()).is_retryable());
        assert!(StepError::ServiceUnavailable("x".into()).is_retryable());
        assert!(!StepError::OutOfStock("x".into()).is_retryable());
        assert!(!StepError::InvalidOrder("x".into()).is_retryable());
    }
}

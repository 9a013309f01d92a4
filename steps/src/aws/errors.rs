//! Maps AWS SDK errors to step errors: throttling and unavailability are retryable.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::PortError;

/// Error codes AWS services use for throttling
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Error codes of a service that is temporarily unable to answer.
const UNAVAILABLE_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Classifies an SDK error: transport failures, timeouts and 5xx are `ServiceUnavailable`,
/// throttling is `Throttled`, the rest (validation, missing resources, access) is `Internal`.
/// `what` names the call for the message; no request data is included.
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    err: &SdkError<E, HttpResponse>,
) -> PortError {
    let code = err.code().unwrap_or_default();
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::ServiceUnavailable(format!("{what}: the service did not answer"))
        }
        _ if THROTTLING_CODES.contains(&code) => {
            PortError::Throttled(format!("{what}: throttled ({code})"))
        }
        _ if UNAVAILABLE_CODES.contains(&code) => {
            PortError::ServiceUnavailable(format!("{what}: {code}"))
        }
        SdkError::ServiceError(e) if e.raw().status().is_server_error() => {
            PortError::ServiceUnavailable(format!("{what}: HTTP {}", e.raw().status().as_u16()))
        }
        _ => {
            let message = err.message().unwrap_or("unexpected error");
            PortError::Internal(format!("{what}: {code} {message}"))
        }
    }
}

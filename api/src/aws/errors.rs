//! Maps AWS SDK errors to [`ApiError`]: throttling and unreachable services become 503
//! with `Retry-After`; everything unexpected becomes an internal error whose detail is
//! logged, never returned.

use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::{ApiError, RETRY_AFTER_THROTTLED, RETRY_AFTER_UNREACHABLE};

/// Error codes AWS services use for throttling.
/// DynamoDB: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>;
/// SQS: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>;
/// S3: `SlowDown` (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "TooManyRequestsException",
    "SlowDown",
];

/// Codes of transient server-side failures.
const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalErrorException",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
];

/// Maps any SDK error of `service`'s `operation`.
pub(crate) fn classify<E, R>(
    service: &'static str,
    operation: &'static str,
    error: &SdkError<E, R>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            tracing::warn!(service, operation, error = %DisplayErrorContext(error), "service unreachable");
            ApiError::Unavailable {
                service,
                retry_after_secs: RETRY_AFTER_UNREACHABLE,
            }
        }
        SdkError::ServiceError(_) => {
            let code = error.code().unwrap_or("Unknown");
            if THROTTLING_CODES.contains(&code) {
                tracing::warn!(service, operation, code, "throttled");
                ApiError::Unavailable {
                    service,
                    retry_after_secs: RETRY_AFTER_THROTTLED,
                }
            } else if TRANSIENT_CODES.contains(&code) {
                tracing::warn!(service, operation, code, "transient service error");
                ApiError::Unavailable {
                    service,
                    retry_after_secs: RETRY_AFTER_UNREACHABLE,
                }
            } else {
                ApiError::Internal(format!(
                    "{service} {operation} failed: {code}: {}",
                    error.message().unwrap_or("")
                ))
            }
        }
        _ => ApiError::Internal(format!(
            "{service} {operation} failed: {}",
            DisplayErrorContext(error)
        )),
    }
}

/// The service error code, if the error is a service error.
pub(crate) fn service_code<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(_) => error.code(),
        _ => None,
    }
}

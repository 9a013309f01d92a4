//! Maps AWS SDK errors to [`ApiError`]: throttling and unreachable services become 503
//! with `Retry-After`; everything unexpected becomes an internal error whose detail is
//! logged, never returned.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use shop_model::aws::SdkFailure;

use crate::error::{ApiError, RETRY_AFTER_THROTTLED, RETRY_AFTER_UNREACHABLE};

/// Maps any SDK error of `service`'s `operation`, through the shop's one classification
/// ([`shop_model::aws::classify`]).
pub(crate) fn classify<E>(
    service: &'static str,
    operation: &'static str,
    error: &SdkError<E, HttpResponse>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match shop_model::aws::classify(error) {
        SdkFailure::Unreachable => {
            tracing::warn!(service, operation, error = %DisplayErrorContext(error), "service unreachable");
            ApiError::Unavailable {
                service,
                retry_after_secs: RETRY_AFTER_UNREACHABLE,
            }
        }
        SdkFailure::Throttled { code } => {
            tracing::warn!(service, operation, code, "throttled");
            ApiError::Unavailable {
                service,
                retry_after_secs: RETRY_AFTER_THROTTLED,
            }
        }
        SdkFailure::Transient { code } => {
            tracing::warn!(service, operation, code, "transient service error");
            ApiError::Unavailable {
                service,
                retry_after_secs: RETRY_AFTER_UNREACHABLE,
            }
        }
        SdkFailure::Other { code, message } => {
            ApiError::Internal(format!("{service} {operation} failed: {code}: {message}"))
        }
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

//! Maps AWS SDK errors to port errors, through the shop's one classification
//! ([`shop_model::aws::classify`]): throttling and unavailability are transient (retried by the
//! workflow), the rest is internal.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use shop_model::aws::SdkFailure;

use crate::error::PortError;

/// Classifies an SDK error of the call `what` (named in the message; no request data).
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    err: &SdkError<E, HttpResponse>,
) -> PortError {
    match shop_model::aws::classify(err) {
        SdkFailure::Unreachable => {
            PortError::ServiceUnavailable(format!("{what}: the service did not answer"))
        }
        SdkFailure::Throttled { code } => {
            PortError::Throttled(format!("{what}: throttled ({code})"))
        }
        SdkFailure::Transient { code } => PortError::ServiceUnavailable(format!("{what}: {code}")),
        SdkFailure::Other { code, message } => {
            let message = if message.is_empty() {
                "unexpected error"
            } else {
                &message
            };
            PortError::Internal(format!("{what}: {code} {message}"))
        }
    }
}

//! The AWS SDK configuration every binary of the shop loads (feature `aws`): the default
//! provider chain (region, credentials, `AWS_ENDPOINT_URL`) with rustls on ring as the HTTP client.
//!
//! The SDK's `default-https-client` feature is off in this workspace: it brings rustls on aws-lc-rs,
//! about 2 MiB more per Lambda binary. Choosing the TLS provider explicitly is the documented way
//! to use another one: <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// An HTTPS client (HTTP/1.1 and HTTP/2) on rustls with the ring crypto provider, trusting the
/// platform's root certificates; for a service config built by hand (`.http_client(...)`).
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The SDK config loader with [`https_client`]: add overrides (region, endpoint, credentials)
/// before `.load()`.
pub fn config_loader() -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// The SDK configuration from the environment (credentials, region, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    config_loader().load().await
}

/// What an AWS SDK error means for its caller. One classification for every service, shared by
/// the API's adapters and the steps' adapters, which turn it into their own errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkFailure {
    /// The service did not answer (connection, timeout, unreadable response).
    Unreachable,
    /// The service throttled the call (or a transaction conflicted): retry later.
    Throttled {
        /// The service's error code.
        code: String,
    },
    /// The service failed on its side (5xx, or an internal-error code): retry later.
    Transient {
        /// The service's error code, or `HTTP <status>`.
        code: String,
    },
    /// Anything else (validation, missing resource, access denied): a retry will not help.
    Other {
        /// The service's error code (`Unknown` when there is none).
        code: String,
        /// The service's message (never request data).
        message: String,
    },
}

/// Error codes AWS services use for throttling and conflicts a retry cures.
/// DynamoDB: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>;
/// SQS: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>;
/// S3: `SlowDown` (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>);
/// Step Functions: `ExecutionLimitExceeded` is not one (it is a quota, handled by its caller).
pub const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "TooManyRequestsException",
    "LimitExceededException",
    "SlowDown",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Error codes of transient server-side failures.
pub const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalServerException",
    "InternalFailure",
    "InternalErrorException",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
];

/// Classifies an SDK error of any service.
pub fn classify<E>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> SdkFailure
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            SdkFailure::Unreachable
        }
        SdkError::ServiceError(service) => {
            let code = error.code().unwrap_or("Unknown").to_owned();
            if THROTTLING_CODES.contains(&code.as_str()) {
                SdkFailure::Throttled { code }
            } else if TRANSIENT_CODES.contains(&code.as_str()) {
                SdkFailure::Transient { code }
            } else if service.raw().status().is_server_error() {
                SdkFailure::Transient {
                    code: format!("HTTP {}", service.raw().status().as_u16()),
                }
            } else {
                SdkFailure::Other {
                    code,
                    message: error.message().unwrap_or_default().to_owned(),
                }
            }
        }
        _ => SdkFailure::Other {
            code: "Unknown".into(),
            message: aws_smithy_types::error::display::DisplayErrorContext(error).to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn service_error(code: &str, status: u16) -> SdkError<ErrorMetadata, HttpResponse> {
        SdkError::service_error(
            ErrorMetadata::builder()
                .code(code)
                .message("the message")
                .build(),
            HttpResponse::new(status.try_into().unwrap(), SdkBody::empty()),
        )
    }

    #[test]
    fn throttling_server_failures_and_the_rest_are_told_apart() {
        for code in [
            "ThrottlingException",
            "SlowDown",
            "TransactionConflictException",
        ] {
            assert_eq!(
                classify(&service_error(code, 400)),
                SdkFailure::Throttled { code: code.into() }
            );
        }
        assert_eq!(
            classify(&service_error("InternalServerError", 500)),
            SdkFailure::Transient {
                code: "InternalServerError".into()
            }
        );
        assert_eq!(
            classify(&service_error("SomethingNew", 503)),
            SdkFailure::Transient {
                code: "HTTP 503".into()
            }
        );
        assert_eq!(
            classify(&service_error("ResourceNotFoundException", 400)),
            SdkFailure::Other {
                code: "ResourceNotFoundException".into(),
                message: "the message".into()
            }
        );
        let timeout: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::timeout_error("slow".to_string());
        assert_eq!(classify(&timeout), SdkFailure::Unreachable);
    }
}

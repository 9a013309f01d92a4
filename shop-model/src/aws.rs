//! The AWS SDK configuration every binary of the shop loads (feature `aws`): the default
//! provider chain (region, credentials, `AWS_ENDPOINT_URL`) with rustls on ring as the HTTP client.
//!
//! The SDK's `default-https-client` feature is off in this workspace: it brings rustls on aws-lc-rs,
//! about 2 MiB more per Lambda binary. Choosing the TLS provider explicitly is the documented way
//! to use another one: <https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>.

use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Builder;

/// The SDK config loader with an HTTPS client on rustls with the ring crypto provider (trusting
/// the platform's root certificates): add overrides (region, endpoint, credentials) before
/// `.load()`.
pub fn config_loader() -> ConfigLoader {
    let https = Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

/// The SDK configuration from the environment (credentials, region, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    config_loader().load().await
}

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

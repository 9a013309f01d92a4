//! Client-side help for `aws-sdk-sfn` against a local endpoint: an interceptor that undoes the
//! `sync-` host prefix the SDK adds to `StartSyncExecution`.
//!
//! The Step Functions model gives `StartSyncExecution` the endpoint host prefix `sync-` (AWS serves
//! it on `sync-states.<region>.amazonaws.com`). The Rust SDK applies the prefix to a custom
//! `endpoint_url` too (aws-smithy-runtime `apply_endpoint_to_request`) and has no setting to turn
//! it off, so `http://127.0.0.1:8083` becomes `http://sync-127.0.0.1:8083`, which does not resolve.

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::error::BoxError;

/// Strips the `sync-` host prefix before the request is signed and sent. Register it on clients
/// pointed at a local endpoint: `aws_sdk_sfn::config::Builder::interceptor(NoHostPrefix)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHostPrefix;

impl Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = strip_sync_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// `http://sync-127.0.0.1:8083/` -> `http://127.0.0.1:8083/`; `None` when there is no prefix.
fn strip_sync_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.strip_prefix("sync-")?;
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::strip_sync_prefix;

    #[test]
    fn strips_only_the_host_prefix() {
        assert_eq!(
            strip_sync_prefix("http://sync-127.0.0.1:8083/").as_deref(),
            Some("http://127.0.0.1:8083/")
        );
        assert_eq!(strip_sync_prefix("http://127.0.0.1:8083/"), None);
    }
}

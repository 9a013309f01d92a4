//! Client-side help for `aws-sdk-sfn` against a local endpoint: [`local_client`], the
//! interceptor it registers, which undoes the `sync-` host prefix the SDK adds to
//! `StartSyncExecution`, and [`wait_for_end`], which waits for an execution to close.
//!
//! The Step Functions model gives `StartSyncExecution` the endpoint host prefix `sync-` (AWS serves
//! it on `sync-states.<region>.amazonaws.com`). The Rust SDK applies the prefix to a custom
//! `endpoint_url` too (aws-smithy-runtime `apply_endpoint_to_request`) and has no setting to turn
//! it off, so `http://127.0.0.1:8083` becomes `http://sync-127.0.0.1:8083`, which does not resolve.

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::error::{BoxError, DisplayErrorContext};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::ExecutionStatus;
use std::time::{Duration, Instant};

/// An `aws-sdk-sfn` configuration for an endpoint on this machine: the latest behavior version,
/// `region` and test credentials (the engine checks no signature). Add an HTTP client
/// (`.http_client(..)`) when the SDK is built without its default one, then pass it to
/// [`local_client`].
pub fn local_config(region: &str) -> aws_sdk_sfn::config::Builder {
    aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new("test", "test", None, None, "local"))
}

/// A Step Functions client of the engine's endpoint at `endpoint_url` (e.g.
/// `http://127.0.0.1:8083`): `config` (from [`local_config`], or
/// `aws_sdk_sfn::config::Builder::from(&sdk_config)` to share a loaded configuration) with the
/// endpoint and [`NoHostPrefix`]. The one way this workspace builds such a client.
pub fn local_client(
    config: aws_sdk_sfn::config::Builder,
    endpoint_url: &str,
) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::from_conf(
        config
            .endpoint_url(endpoint_url)
            .interceptor(NoHostPrefix)
            .build(),
    )
}

/// Why [`wait_for_end`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The execution was still `RUNNING` when the time was up.
    #[error(
        "execution {arn} is still RUNNING after {waited:?}: give it longer, or look for a task \
         waiting for a worker (GetActivityTask) or a task token (SendTaskSuccess)"
    )]
    StillRunning {
        /// The execution.
        arn: String,
        /// How long it was polled.
        waited: Duration,
    },
    /// DescribeExecution failed (an unknown execution, an endpoint that does not answer).
    #[error("DescribeExecution of {arn} failed: {message}")]
    Describe {
        /// The execution.
        arn: String,
        /// The SDK's error with its context.
        message: String,
    },
}

/// Polls DescribeExecution every 20 ms until the execution `arn` is no longer `RUNNING`, for at
/// most `timeout`, and returns its description: the status it closed with, its output or error.
///
/// ```no_run
/// # async fn run(client: aws_sdk_sfn::Client, arn: String) -> Result<(), asl_engine::client::WaitError> {
/// use std::time::Duration;
/// let closed = asl_engine::client::wait_for_end(&client, &arn, Duration::from_secs(10)).await?;
/// println!("{:?}: {:?}", closed.status, closed.output);
/// # Ok(())
/// # }
/// ```
pub async fn wait_for_end(
    client: &aws_sdk_sfn::Client,
    arn: &str,
    timeout: Duration,
) -> Result<DescribeExecutionOutput, WaitError> {
    let started = Instant::now();
    loop {
        let described = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| WaitError::Describe {
                arn: arn.to_owned(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        if described.status != ExecutionStatus::Running {
            return Ok(described);
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(WaitError::StillRunning {
                arn: arn.to_owned(),
                waited,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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

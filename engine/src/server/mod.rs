//! A local AWS Step Functions endpoint: the service's JSON 1.0 protocol over HTTP, backed by this
//! engine, so `aws-sdk-sfn`, boto3 and the AWS CLI work against it unchanged.
//!
//! Every operation is a `POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>` and a
//! `application/x-amz-json-1.0` body (<https://docs.aws.amazon.com/step-functions/latest/apireference/Welcome.html>).
//! Errors are HTTP 400 with `{"__type": "com.amazonaws.swf.service.v2.model#<Code>", "message": ...}`.
//! State is kept in memory; executions run in background tokio tasks and dispatch their Task
//! states to the [`TaskRegistry`] the server was built with. Signatures are not verified.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8083").await?;
//! engine::server::serve(listener, engine::TaskRegistry::new(), engine::server::ServerConfig::default()).await
//! # }
//! ```
//!
//! `StartSyncExecution` is served on AWS's `sync-states` host: the SDKs prepend `sync-` to the
//! endpoint's host even for a custom endpoint URL, so `http://127.0.0.1:8083` becomes the
//! unresolvable `sync-127.0.0.1`. This server answers on any host name; clients must stop the
//! prefix: `aws-sdk-sfn` with the [`NoHostPrefix`] interceptor, boto3 with
//! `Config(inject_host_prefix=False)`, the AWS CLI with a hosts entry (`127.0.0.1 sync-localhost`,
//! endpoint `http://localhost:8083`).

mod client;
mod ops;
mod protocol;
mod store;
mod test_state;

use std::future::Future;
use std::sync::Arc;

use crate::TaskRegistry;

pub use client::NoHostPrefix;
pub use protocol::ApiError;

/// Settings of the endpoint.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Region used in ARNs (`arn:aws:states:<region>:...`).
    pub region: String,
    /// Account id used in ARNs.
    pub account_id: String,
    /// Run Wait states, retry delays and timeouts on a virtual clock (instantly).
    pub virtual_time: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            virtual_time: false,
        }
    }
}

impl ServerConfig {
    /// The default configuration with the region of `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub fn from_env() -> Self {
        let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "us-east-1".into());
        ServerConfig {
            region,
            ..Default::default()
        }
    }
}

/// The type of a state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineType {
    Standard,
    Express,
}

impl MachineType {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }
}

/// The service: state machines and executions in memory. Cheap to clone (shared state).
#[derive(Clone)]
pub struct StepFunctions {
    inner: Arc<store::Service>,
}

impl StepFunctions {
    pub fn new(registry: TaskRegistry, config: ServerConfig) -> Self {
        StepFunctions {
            inner: Arc::new(store::Service::new(registry, config)),
        }
    }

    /// Creates a state machine (as `CreateStateMachine` does) and returns its ARN. The role ARN
    /// defaults to `arn:aws:iam::<account>:role/StepFunctionsLocalRole`.
    pub fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
        machine_type: MachineType,
        role_arn: Option<&str>,
    ) -> Result<String, ApiError> {
        let role = role_arn.map(str::to_owned).unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{}:role/StepFunctionsLocalRole",
                self.inner.config.account_id
            )
        });
        ops::create_machine(&self.inner, name, definition, machine_type, &role).map(|(arn, _)| arn)
    }

    /// The axum router serving the protocol on `POST /` (any host, so `sync-` hosts work too).
    pub fn router(&self) -> axum::Router {
        protocol::router(self.inner.clone())
    }
}

/// The endpoint as an axum router, to embed in another server.
pub fn router(registry: TaskRegistry, config: ServerConfig) -> axum::Router {
    StepFunctions::new(registry, config).router()
}

/// Serves the endpoint on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: TaskRegistry,
    config: ServerConfig,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry, config)).await
}

/// Serves `service` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve_with_shutdown(
    listener: tokio::net::TcpListener,
    service: StepFunctions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, service.router())
        .with_graceful_shutdown(shutdown)
        .await
}

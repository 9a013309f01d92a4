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
//! asl_engine::server::serve(listener, asl_engine::TaskRegistry::new(), asl_engine::server::ServerConfig::default()).await
//! # }
//! ```
//!
//! With [`ServerConfig::state_dir`] the machines and executions are journaled in a directory
//! ([`StepFunctions::open`]): after a restart (even after `kill -9`) on the same directory,
//! closed executions answer DescribeExecution, ListExecutions and GetExecutionHistory as before,
//! and executions that were RUNNING are resumed under the same ARN, name, input and start date,
//! at the state each was in: every history event is appended to the execution's event log as it
//! is recorded, and a restart reads it back ([`crate::resume`]). The states an execution had left
//! do not run again; the state it was in runs again from its start with the input it had received
//! (at-least-once for that state: a Task in flight is called again, an inline Map or a Parallel
//! state runs again the iterations or branches that had not succeeded, a `.waitForTaskToken` task
//! gets a new token). Its history continues (one
//! `ExecutionStarted`, ids increasing), and `TimeoutSeconds` still counts from its start. The
//! directory is locked (`flock`) while the endpoint runs: a second one on it is refused.
//!
//! With [`ServerConfig::fault_injection`], `POST|GET|DELETE /_local/faults` on the same listener
//! make Lambda invocations fail on purpose (see the `faults` module's documentation).
//!
//! `StartSyncExecution` is served on AWS's `sync-states` host: the SDKs prepend `sync-` to the
//! endpoint's host even for a custom endpoint URL, so `http://127.0.0.1:8083` becomes the
//! unresolvable `sync-127.0.0.1`. This server answers on any host name; clients must stop the
//! prefix: `aws-sdk-sfn` with the [`NoHostPrefix`] interceptor ([`local_client`] registers it), boto3 with
//! `Config(inject_host_prefix=False)`, the AWS CLI with a hosts entry (`127.0.0.1 sync-localhost`,
//! endpoint `http://localhost:8083`).

mod activities;
mod checks;
mod child;
mod definition;
pub mod faults;
mod journal;
mod map_runs;
mod mock_shapes;
pub(crate) mod ops;
mod protocol;
mod router;
mod store;
mod test_state;
mod versions;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crate::TaskRegistry;

pub use crate::client::{local_client, local_config, NoHostPrefix};
pub use protocol::ApiError;

/// Settings of the endpoint.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Region of the machines created through the Rust API, and of requests whose signature
    /// names none; a signed request's ARNs name the region of its credential scope (and that
    /// region's partition), as AWS's do.
    pub region: String,
    /// Account id used in ARNs.
    pub account_id: String,
    /// Run Wait states, retry delays and timeouts on a virtual clock (instantly).
    pub virtual_time: bool,
    /// Journal machines and executions in this directory, reload them and resume the RUNNING
    /// executions on start ([`StepFunctions::open`]). `None` (the default): memory only, no
    /// journaling cost.
    pub state_dir: Option<PathBuf>,
    /// Serve `POST|GET|DELETE /_local/faults` (not part of the AWS API) to inject Lambda failures.
    pub fault_injection: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            virtual_time: false,
            state_dir: None,
            fault_injection: false,
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
    /// `STANDARD`: a Standard workflow (the default of `CreateStateMachine`).
    Standard,
    /// `EXPRESS`: an Express workflow.
    Express,
}

impl MachineType {
    /// The API name of the type: `STANDARD` or `EXPRESS`.
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
    /// The service with its state in memory only: `config.state_dir` is not read or written (use
    /// [`StepFunctions::open`] for that).
    pub fn new(registry: TaskRegistry, config: ServerConfig) -> Self {
        StepFunctions {
            inner: store::Service::new(registry, config),
        }
    }

    /// The service on the journal in `config.state_dir` (the same as [`StepFunctions::new`] when
    /// it is `None`): journaled machines and executions are loaded, and the executions that were
    /// RUNNING run on from the state each was in (the module's documentation says what runs
    /// again), under their ARN, name and start date. Must be called inside a tokio runtime
    /// (resumed executions run in background tasks). Also returns how many executions were
    /// resumed. Fails when the directory cannot be created or read, and with
    /// [`std::io::ErrorKind::WouldBlock`] when another endpoint holds its lock (`DIR/.lock`, held
    /// while the returned service or any of its executions is alive, released by the OS when the
    /// process ends); unreadable or torn files in it are skipped.
    pub fn open(registry: TaskRegistry, config: ServerConfig) -> std::io::Result<(Self, usize)> {
        let (inner, resumes) = store::Service::open(registry, config)?;
        let resumed = inner.resume(resumes);
        Ok((StepFunctions { inner }, resumed))
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
        let role = self.role_or_default(role_arn);
        let region = self.inner.config.region.clone();
        ops::create_machine(&self.inner, &region, name, definition, machine_type, &role)
            .map(|(arn, _)| arn)
    }

    /// Creates the state machine `name`, or replaces the definition, type and role of the
    /// existing one (a machine reloaded from the state directory whose file was edited). Its ARN
    /// depends only on the region, the account and `name`, so it is the same across restarts.
    pub fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        machine_type: MachineType,
        role_arn: Option<&str>,
    ) -> Result<String, ApiError> {
        let role = self.role_or_default(role_arn);
        ops::put_machine(&self.inner, name, definition, machine_type, &role)
    }

    /// `role_arn`, or `arn:aws:iam::<account>:role/StepFunctionsLocalRole`.
    fn role_or_default(&self, role_arn: Option<&str>) -> String {
        role_arn.map(str::to_owned).unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{}:role/StepFunctionsLocalRole",
                self.inner.config.account_id
            )
        })
    }

    /// The axum router serving the protocol on `POST /` (any host, so `sync-` hosts work too).
    pub fn router(&self) -> axum::Router {
        router::router(self.inner.clone())
    }
}

/// The endpoint as an axum router, to embed in another server.
pub fn router(registry: TaskRegistry, config: ServerConfig) -> axum::Router {
    StepFunctions::new(registry, config).router()
}

/// Serves the endpoint on `listener` until the process ends (on the journal of
/// `config.state_dir` when set).
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: TaskRegistry,
    config: ServerConfig,
) -> std::io::Result<()> {
    let (service, _) = StepFunctions::open(registry, config)?;
    axum::serve(listener, service.router()).await
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

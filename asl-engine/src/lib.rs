#![warn(missing_docs)]
//! A local AWS Step Functions engine: interprets Amazon States Language with AWS's semantics.
//!
//! ```no_run
//! use asl_engine::{Engine, ExecOptions, TaskRegistry, TaskError};
//! use serde_json::json;
//! # async fn demo(machine: workflow_dsl::model::StateMachine) -> Result<(), asl_engine::EngineError> {
//! let mut registry = TaskRegistry::new();
//! registry.register_lambda("validate-order", |input| async move {
//!     if input.get("orderId").is_some() { Ok(input) } else { Err(TaskError::new("ValidationError", "orderId is missing")) }
//! });
//! let engine = Engine::new(registry);
//! let result = engine.execute(&machine, json!({"orderId": "o-1"}), ExecOptions::virtual_time()).await?;
//! println!("{:?}", result.status);
//! # Ok(()) }
//! ```

#[cfg(feature = "aws")]
pub mod aws;
pub mod callbacks;
pub mod children;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
mod compile;
pub mod dmap;
pub mod error;
mod exec;
pub mod history;
mod intrinsics;
mod jsonata;
mod jsonata_fns;
pub mod jsonpath;
pub mod mock;
mod requests;
pub mod resume;
#[cfg(feature = "aws")]
mod s3_items;
mod scope;
#[cfg(feature = "server")]
pub mod server;
pub mod tasks;
mod template;
pub mod testing;
pub mod value;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use workflow_dsl::model::StateMachine;

pub use callbacks::{CallbackError, CallbackOutcome, Callbacks};
pub use clock::{Clock, RealClock, VirtualClock};
pub use compile::CompiledMachine;
pub use error::{EngineError, Failure};
pub use history::{EventType, HistoryEvent, LiveHistory};
pub use mock::{MockCase, MockConfig};
pub use tasks::{TaskContext, TaskError, TaskHandler, TaskRegistry};

/// Options of one execution.
#[derive(Clone)]
pub struct ExecOptions {
    /// Wait states, retry delays and timeouts use a virtual clock that advances instantly.
    pub virtual_time: bool,
    /// Mocked task results (Step Functions Local's MockConfigFile test case).
    pub mock: Option<MockCase>,
    /// The execution name (default: a random UUID).
    pub execution_name: Option<String>,
    /// The state machine name used in ARNs and the context object (default: "StateMachine").
    pub state_machine_name: Option<String>,
    /// Keep the execution history (event ids are numbered either way).
    pub history: bool,
    /// The execution role ARN shown in the context object and the history (default:
    /// `arn:aws:iam::<account_id>:role/StepFunctionsLocalRole`).
    pub role_arn: Option<String>,
    /// The AWS Region used in ARNs and task events (default `us-east-1`).
    pub region: String,
    /// The AWS account id used in ARNs (default `123456789012`).
    pub account_id: String,
    /// Set to true to abort the execution at its next state transition.
    pub cancel: Option<Arc<AtomicBool>>,
    /// The execution's start time (default: now). With virtual time, the virtual clock starts here.
    pub start_time: Option<DateTime<Utc>>,
    /// Run a redrive (RedriveExecution): resume at a top-level state instead of StartAt.
    pub redrive: Option<Redrive>,
    /// TestState's probe of one state: its starting variables and context, and what its
    /// pipeline computed ([`testing::StateProbe`]).
    pub probe: Option<Arc<testing::StateProbe>>,
    /// The most events the execution may have (default [`history::HISTORY_LIMIT`], AWS's quota
    /// for Standard workflows: reaching it fails the execution with `States.Runtime`, so a
    /// runaway loop ends); `None` for no limit (Express workflows).
    pub history_limit: Option<u64>,
    /// Where the engine appends the history as it happens (with `history` on), for reading the
    /// events of an execution still running. The events stay there once the execution has ended
    /// (take them with [`LiveHistory::take`]): the result's `history` is then empty.
    pub live_history: Option<history::LiveHistory>,
    /// The longest the execution may run, in seconds, whatever the machine's `TimeoutSeconds`
    /// (`None`: only that). An Express workflow runs at most 5 minutes (300) and then fails with
    /// `States.Timeout`
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
    pub max_execution_seconds: Option<u64>,
    /// The number of events the execution's history already has (a redrive's or a resumed run's
    /// earlier events): this run's events are numbered after them (default 0).
    pub events_before: u64,
    /// Resume an interrupted run where its history says it was ([`resume::progress`]) instead of
    /// starting it: no `ExecutionStarted`, the variables restored, the start date kept
    /// (`start_time`: `TimeoutSeconds` counts from the execution's start, as on AWS).
    pub resume: Option<resume::Resume>,
    /// The execution's ARN (`$$.Execution.Id`); default
    /// `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`. An Express
    /// execution's (`...:express:...`) context object has no `Execution.RedriveCount`, as on AWS
    /// (an Express execution cannot be redriven).
    pub execution_arn: Option<String>,
}

/// The AWS partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, the ISO
/// partitions, `aws` elsewhere (what the ARNs of an execution in that region start with).
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else {
        "aws"
    }
}

/// Where a redriven execution resumes: the top-level state that did not succeed, the input it
/// entered with, and the variables the states before it had assigned.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>
#[derive(Debug, Clone, Default)]
pub struct Redrive {
    /// The top-level state to run again.
    pub state: String,
    /// Its input.
    pub input: Value,
    /// The workflow variables in scope there.
    pub variables: Vec<(String, Value)>,
    /// The redrive's number (1 for the first), for the `ExecutionRedriven` event and the
    /// context object's `Execution.RedriveCount`.
    pub redrive_count: u32,
    /// When the execution first started: its context object's `Execution.StartTime` (the
    /// redrive's own time, the run's start, is `Execution.RedriveTime`). `None`: the run's start.
    pub started: Option<DateTime<Utc>>,
    /// When `state` is an inline Map or a Parallel state: its iterations or branches that
    /// succeeded before, with their results; the redrive runs only the others.
    pub done: resume::Done,
    /// When `state` is a distributed Map state whose Map Run ended unsuccessfully: the Map Run
    /// to redrive (its unsuccessful children run again) instead of starting a new one.
    pub map_run: Option<String>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            virtual_time: false,
            mock: None,
            execution_name: None,
            state_machine_name: None,
            history: true,
            role_arn: None,
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            cancel: None,
            start_time: None,
            redrive: None,
            probe: None,
            history_limit: Some(history::HISTORY_LIMIT),
            live_history: None,
            max_execution_seconds: None,
            events_before: 0,
            resume: None,
            execution_arn: None,
        }
    }
}

impl ExecOptions {
    /// Default options with a virtual clock.
    pub fn virtual_time() -> Self {
        ExecOptions {
            virtual_time: true,
            ..Default::default()
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionStatus {
    /// `SUCCEEDED`: the execution ended successfully.
    Succeeded {
        /// The execution's output.
        output: Value,
    },
    /// `FAILED`: the execution failed with an error.
    Failed {
        /// The error name, if any.
        error: Option<String>,
        /// The cause, if any.
        cause: Option<String>,
    },
    /// `TIMED_OUT`: the execution ran longer than the state machine's `TimeoutSeconds`.
    TimedOut {
        /// The error name, if any (normally `States.Timeout`).
        error: Option<String>,
        /// The cause, if any.
        cause: Option<String>,
    },
    /// `ABORTED`: the execution was aborted through `ExecOptions::cancel`.
    Aborted,
}

impl ExecutionStatus {
    /// AWS's status name: SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub fn name(&self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded { .. } => "SUCCEEDED",
            ExecutionStatus::Failed { .. } => "FAILED",
            ExecutionStatus::TimedOut { .. } => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// The result of an execution.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    /// The execution's ARN (`arn:aws:states:<region>:<account>:execution:<machine>:<name>`).
    pub execution_arn: String,
    /// How the execution ended, with its output or error.
    pub status: ExecutionStatus,
    /// Empty when `ExecOptions::history` is false, and when the events went to
    /// `ExecOptions::live_history` (which keeps them).
    pub history: Vec<HistoryEvent>,
}

/// The interpreter. Cheap to clone; share one per process.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    registry: Arc<TaskRegistry>,
    callbacks: Arc<Callbacks>,
}

impl Engine {
    /// An engine that runs Task states with the handlers of `registry`.
    pub fn new(registry: TaskRegistry) -> Self {
        Engine {
            registry: Arc::new(registry),
            callbacks: Arc::new(Callbacks::default()),
        }
    }

    /// An engine whose `arn:aws:states:::states:startExecution` Tasks (request-response, `.sync`,
    /// `.sync:2`, `.waitForTaskToken`) start executions of `machines` on this same engine
    /// ([`children`]), in place of any handler `registry` has for that resource.
    pub fn with_machines(mut registry: TaskRegistry, machines: children::StateMachines) -> Self {
        children::StartExecutionTask::new(Arc::new(machines.clone())).register(&mut registry);
        let callbacks = Arc::new(Callbacks::default());
        let registry = Arc::new_cyclic(|weak| {
            machines.link(weak.clone(), callbacks.clone());
            registry
        });
        Engine {
            registry,
            callbacks,
        }
    }

    /// The task tokens its `.waitForTaskToken` tasks wait on: answer them here
    /// (SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat of the endpoint do).
    pub fn callbacks(&self) -> &Arc<Callbacks> {
        &self.callbacks
    }

    /// Compiles a machine once for many executions (paths, templates, intrinsics parsed up front).
    pub fn compile(&self, machine: &StateMachine) -> Result<Arc<CompiledMachine>, EngineError> {
        CompiledMachine::new(machine).map(Arc::new)
    }

    /// Compiles and runs `machine` with `input`.
    pub async fn execute(
        &self,
        machine: &StateMachine,
        input: Value,
        options: ExecOptions,
    ) -> Result<ExecutionResult, EngineError> {
        let compiled = CompiledMachine::new(machine)?;
        Ok(self.execute_compiled(&compiled, input, options).await)
    }

    /// Runs an already compiled machine.
    pub async fn execute_compiled(
        &self,
        machine: &CompiledMachine,
        input: Value,
        options: ExecOptions,
    ) -> ExecutionResult {
        let start = options.start_time.unwrap_or_else(Utc::now);
        let clock: Arc<dyn Clock> = if options.virtual_time {
            Arc::new(VirtualClock::new(start))
        } else {
            Arc::new(RealClock)
        };
        let sm_name = options
            .state_machine_name
            .clone()
            .unwrap_or_else(|| "StateMachine".into());
        let exec_name = options
            .execution_name
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let prefix = format!(
            "arn:{}:states:{}:{}",
            partition_of(&options.region),
            options.region,
            options.account_id
        );
        let arn = options
            .execution_arn
            .clone()
            .unwrap_or_else(|| format!("{prefix}:execution:{sm_name}:{exec_name}"));
        let limit_seconds = match (machine.timeout_seconds, options.max_execution_seconds) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let deadline = limit_seconds.map(|s| start + chrono::Duration::seconds(s as i64));
        let run = exec::Run {
            registry: &self.registry,
            callbacks: &self.callbacks,
            machine,
            info: exec::ExecInfo {
                arn: arn.clone(),
                name: exec_name,
                input: input.clone(),
                start: clock::format_time(
                    &options
                        .redrive
                        .as_ref()
                        .and_then(|r| r.started)
                        .unwrap_or(start),
                ),
                redrive: options
                    .redrive
                    .as_ref()
                    .map(|r| (r.redrive_count, clock::format_time(&start))),
                role_arn: options.role_arn.clone().unwrap_or_else(|| {
                    format!(
                        "arn:aws:iam::{}:role/StepFunctionsLocalRole",
                        options.account_id
                    )
                }),
                sm_arn: format!("{prefix}:stateMachine:{sm_name}"),
                sm_name,
                region: options.region.clone(),
            },
            clock,
            rec: history::Recorder::new(
                options.history,
                options.history_limit,
                options.live_history.clone(),
                options.events_before,
            ),
            mock: options.mock,
            mock_calls: Mutex::new(HashMap::new()),
            deadline,
            cancel: options.cancel,
            timed_out: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            before: exec::Before::of(options.redrive.as_ref(), options.resume.as_ref()),
            redrive: options.redrive.clone(),
            resume: options.resume.clone(),
            probe: options.probe.clone(),
        };
        let result = match (options.virtual_time, deadline) {
            (false, Some(deadline)) => {
                // What is left of TimeoutSeconds since the start (all of it for a new run; less
                // for a resumed one, whose start date is the original one).
                let left = (deadline - Utc::now()).to_std().unwrap_or_default();
                match tokio::time::timeout(left, run.run_machine(input)).await {
                    Ok(r) => r,
                    Err(_) => Err(run.timed_out_now()),
                }
            }
            _ => run.run_machine(input).await,
        };
        use std::sync::atomic::Ordering;
        let status = match result {
            Ok(output) => ExecutionStatus::Succeeded { output },
            Err(_) if run.aborted.load(Ordering::Relaxed) => ExecutionStatus::Aborted,
            Err(f) if run.timed_out.load(Ordering::Relaxed) => ExecutionStatus::TimedOut {
                error: f.error,
                cause: f.cause,
            },
            Err(f) => ExecutionStatus::Failed {
                error: f.error,
                cause: f.cause,
            },
        };
        ExecutionResult {
            execution_arn: arn,
            status,
            history: run.rec.take(),
        }
    }

    /// Synchronous convenience: runs the execution on a private current-thread tokio runtime.
    /// Do not call from inside an async runtime.
    pub fn execute_sync(
        &self,
        machine: &StateMachine,
        input: Value,
        options: ExecOptions,
    ) -> Result<ExecutionResult, EngineError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        rt.block_on(self.execute(machine, input, options))
    }

    /// The task registry this engine dispatches to.
    pub fn registry(&self) -> &TaskRegistry {
        &self.registry
    }
}

//! A typed local test harness for workflows built with `workflow-dsl`: run the workflow
//! in-process, with real step implementations or typed mocks of some steps, and assert the
//! outcome (typed output or error name) and the states it went through. [`StateProbe`] is
//! TestState's view into one state's run (its variables, context and data-flow steps).
//!
//! ```
//! use std::sync::Arc;
//! use asl_engine::testing::LocalRunner;
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use workflow_dsl::builder::{task, workflow};
//! use workflow_dsl::step::{Step, StepError};
//! use workflow_dsl::typed::{Catch, Retry, StepErrors};
//!
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! pub struct Count { n: u32 }
//!
//! workflow_dsl::step_errors! { pub enum IncError { #[transient] Busy, TooBig, Invalid } }
//!
//! /// `increment`: adds the configured step, up to a limit.
//! pub struct Increment;
//! impl Step for Increment {
//!     const NAME: &'static str = "increment";
//!     type Input = Count;
//!     type Output = Count;
//!     type Error = IncError;
//!     type Ports = u32;
//!     async fn run(c: Count, by: &u32) -> Result<Count, StepError<IncError>> {
//!         match c.n.checked_add(*by) {
//!             Some(n) if n <= 100 => Ok(Count { n }),
//!             _ => Err(IncError::TooBig.because("over 100")),
//!         }
//!     }
//!     fn malformed_input(reason: String) -> StepError<IncError> { IncError::Invalid.because(reason) }
//! }
//!
//! /// `double`: doubles the count (mocked below).
//! pub struct Double;
//! impl Step for Double {
//!     const NAME: &'static str = "double";
//!     type Input = Count;
//!     type Output = Count;
//!     type Error = IncError;
//!     type Ports = ();
//!     async fn run(c: Count, _: &()) -> Result<Count, StepError<IncError>> { Ok(Count { n: c.n * 2 }) }
//!     fn malformed_input(reason: String) -> StepError<IncError> { IncError::Invalid.because(reason) }
//! }
//!
//! let flow = workflow::<Count>("count")
//!     .then(task::<Increment>("Increment").retry(Retry::transient()))
//!     .then(task::<Double>("Double"))
//!     .succeed("Done");
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let runner = LocalRunner::new(flow)
//!     .unwrap()
//!     .step::<Increment>(Arc::new(5))
//!     .mock::<Double>(|c| Ok(Count { n: c.n * 10 }));
//! let outcome = runner.run(&Count { n: 1 }).await;
//! assert_eq!(outcome.output::<Count>().unwrap().n, 60);
//! assert_eq!(outcome.states(), ["Increment", "Double", "Done"]);
//!
//! let outcome = runner.run(&Count { n: 99 }).await;
//! assert_eq!(outcome.error(), Some("TooBig"));
//! # });
//! ```

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use workflow_dsl::builder::IntoWorkflow;
use workflow_dsl::emit::EmitError;
use workflow_dsl::model::StateMachine;
use workflow_dsl::step::{Step, StepError};

use crate::{Engine, ExecOptions, ExecutionResult, ExecutionStatus, HistoryEvent, TaskRegistry};

/// A workflow and the steps it runs with, on a virtual clock (retry delays and Wait states take
/// no time).
#[derive(Debug, Clone)]
pub struct LocalRunner {
    machine: StateMachine,
    registry: TaskRegistry,
    children: crate::children::StateMachines,
}

impl LocalRunner {
    /// A runner of `workflow`, emitted (and checked) as `workflow emit` would.
    pub fn new(workflow: impl IntoWorkflow) -> Result<Self, EmitError> {
        let emitted = workflow_dsl::emit::emit(workflow)?;
        Ok(LocalRunner::for_machine(emitted.asl))
    }

    /// A runner of an ASL document.
    pub fn for_machine(machine: StateMachine) -> Self {
        LocalRunner {
            machine,
            registry: TaskRegistry::new(),
            children: crate::children::StateMachines::new(),
        }
    }

    /// Runs step `S` with its real handler on `ports`.
    pub fn step<S: Step>(mut self, ports: Arc<S::Ports>) -> Self {
        self.registry.register_step::<S>(ports);
        self
    }

    /// Runs `mock` in place of step `S`: it gets the step's input and returns the step's output
    /// or one of its errors.
    pub fn mock<S: Step>(
        self,
        mock: impl Fn(S::Input) -> Result<S::Output, StepError<S::Error>> + Send + Sync + 'static,
    ) -> Self {
        self.mock_async::<S, _, _>(move |input| std::future::ready(mock(input)))
    }

    /// Like [`LocalRunner::mock`] with an async mock (one that awaits, or runs the real step
    /// after failing a few times, say).
    pub fn mock_async<S, F, Fut>(mut self, mock: F) -> Self
    where
        S: Step,
        F: Fn(S::Input) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<S::Output, StepError<S::Error>>> + Send + 'static,
    {
        self.registry.register_mock::<S, _, _>(mock);
        self
    }

    /// Adds the state machine `name`, which `arn:aws:states:::states:startExecution` Tasks
    /// (request-response, `.sync`, `.sync:2`, `.waitForTaskToken`) start as a child execution on
    /// the same engine when they name it by ARN
    /// (`arn:aws:states:<region>:<account>:stateMachine:<name>`); see [`crate::children`].
    pub fn child_machine(
        self,
        name: &str,
        machine: &StateMachine,
    ) -> Result<Self, crate::EngineError> {
        self.children.add(name, machine)?;
        Ok(self)
    }

    /// The child executions started so far ([`crate::children::StateMachines::executions`]).
    pub fn child_executions(&self) -> Vec<Value> {
        self.children.executions()
    }

    /// The task registry, for anything else a Task may call (a service integration handler).
    pub fn registry_mut(&mut self) -> &mut TaskRegistry {
        &mut self.registry
    }

    /// Runs one execution with `input`. A step the workflow names but the runner does not have
    /// fails the Task as an unknown Lambda function does.
    pub async fn run<I: Serialize + ?Sized>(&self, input: &I) -> Outcome {
        let input = serde_json::to_value(input)
            .unwrap_or_else(|e| Value::String(format!("the input could not be serialized: {e}")));
        self.run_json(input).await
    }

    /// Runs one execution with a JSON input.
    pub async fn run_json(&self, input: Value) -> Outcome {
        let engine = if self.children.is_empty() {
            Engine::new(self.registry.clone())
        } else {
            Engine::with_machines(self.registry.clone(), self.children.clone())
        };
        match engine
            .execute(&self.machine, input, ExecOptions::virtual_time())
            .await
        {
            Ok(result) => Outcome { result },
            Err(err) => Outcome {
                result: ExecutionResult {
                    execution_arn: String::new(),
                    status: ExecutionStatus::Failed {
                        error: Some(crate::error::names::RUNTIME.into()),
                        cause: Some(format!("the workflow cannot run: {err}")),
                    },
                    history: Vec::new(),
                },
            },
        }
    }
}

/// How one execution of a [`LocalRunner`] ended, and what it went through.
#[derive(Debug, Clone)]
pub struct Outcome {
    result: ExecutionResult,
}

impl Outcome {
    /// The execution's status.
    pub fn status(&self) -> &ExecutionStatus {
        &self.result.status
    }

    /// True when the execution succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self.result.status, ExecutionStatus::Succeeded { .. })
    }

    /// The output of a succeeded execution as `O`; otherwise an error saying how it ended.
    pub fn output<O: DeserializeOwned>(&self) -> Result<O, OutcomeError> {
        match &self.result.status {
            ExecutionStatus::Succeeded { output } => serde_json::from_value(output.clone())
                .map_err(|e| OutcomeError::OutputType(e.to_string())),
            other => Err(OutcomeError::NotSucceeded {
                status: other.name(),
                error: self.error().map(str::to_owned),
                cause: self.cause().map(str::to_owned),
            }),
        }
    }

    /// The error name of a failed or timed-out execution.
    pub fn error(&self) -> Option<&str> {
        match &self.result.status {
            ExecutionStatus::Failed { error, .. } | ExecutionStatus::TimedOut { error, .. } => {
                error.as_deref()
            }
            _ => None,
        }
    }

    /// The cause of a failed or timed-out execution.
    pub fn cause(&self) -> Option<&str> {
        match &self.result.status {
            ExecutionStatus::Failed { cause, .. } | ExecutionStatus::TimedOut { cause, .. } => {
                cause.as_deref()
            }
            _ => None,
        }
    }

    /// The names of the states entered, in order (a state retried or entered again in a loop is
    /// listed each time it is entered; states inside Parallel branches and Map iterations too).
    pub fn states(&self) -> Vec<String> {
        self.result
            .history
            .iter()
            .filter(|e| e.event_type.as_str().ends_with("StateEntered"))
            .filter_map(|e| Some(e.details()?.get("name")?.as_str()?.to_string()))
            .collect()
    }

    /// The execution history, shaped like GetExecutionHistory's events.
    pub fn history(&self) -> &[HistoryEvent] {
        &self.result.history
    }
}

/// Why [`Outcome::output`] has no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    /// The execution did not succeed.
    #[error("the execution ended {status}: {error:?} {cause:?}")]
    NotSucceeded {
        /// AWS's status name.
        status: &'static str,
        /// The error name.
        error: Option<String>,
        /// The cause.
        cause: Option<String>,
    },
    /// The output is not of the requested type.
    #[error("the output is not of the requested type: {0}")]
    OutputType(String),
}

/// What TestState (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html>)
/// gives one run of the state under test, and what that run records for TestState's
/// `inspectionData`: the variables and context object the state starts with, the Map settings of
/// `stateConfiguration`, and the data-flow steps of the state's pipeline (`afterInputPath`,
/// `afterParameters`, `result`, ...). Set it as [`crate::ExecOptions::probe`]; only the
/// top-level state named [`StateProbe::state`] is probed.
#[derive(Debug, Default)]
pub struct StateProbe {
    /// The name of the state under test.
    pub state: String,
    /// Workflow variables in scope when the state starts (TestState's `variables`).
    pub variables: Vec<(String, Value)>,
    /// A context object (`$$`, `$states.context`) to use instead of the engine's (TestState's
    /// `context`).
    pub context: Option<Value>,
    /// Run a mocked Map or Parallel state without its iterations or branches: the mock's response
    /// is the state's result (TestState with a `mock` on a Map or Parallel state).
    pub mock_iterations: bool,
    /// `stateConfiguration.mapIterationFailureCount`: how many iterations of the mocked Map failed.
    pub map_iteration_failure_count: Option<u64>,
    /// `stateConfiguration.mapItemReaderData`: the items an `ItemReader` would have read.
    pub map_item_reader_data: Option<Vec<Value>>,
    recorded: Mutex<Map<String, Value>>,
    failure: Mutex<Option<crate::Failure>>,
}

impl StateProbe {
    /// A probe of the state named `state`.
    pub fn new(state: impl Into<String>) -> Self {
        StateProbe {
            state: state.into(),
            ..Default::default()
        }
    }

    /// Records one inspection field; the first value recorded for a field is kept.
    pub(crate) fn record(&self, field: &str, value: Value) {
        let mut m = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(field.to_string()).or_insert(value);
    }

    /// Records the error the state raised before its catchers were looked at.
    pub(crate) fn record_failure(&self, f: &crate::Failure) {
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(f.clone());
        }
    }

    /// The inspection fields recorded so far (values as the pipeline computed them).
    pub fn recorded(&self) -> Map<String, Value> {
        self.recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The error the state raised (and a catcher may have handled), if any.
    pub fn failure(&self) -> Option<crate::Failure> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine(v: Value) -> StateMachine {
        StateMachine::from_value(v).expect("a valid machine")
    }

    async fn probed(m: &StateMachine, input: Value, probe: StateProbe) -> Arc<StateProbe> {
        let probe = Arc::new(probe);
        let options = ExecOptions {
            probe: Some(probe.clone()),
            ..ExecOptions::virtual_time()
        };
        Engine::new(TaskRegistry::new())
            .execute(m, input, options)
            .await
            .expect("the machine runs");
        probe
    }

    // The data-flow steps of https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionData.html,
    // recorded for the probed state only.
    #[tokio::test]
    async fn the_probe_records_the_pipeline_of_its_state_only() {
        let m = machine(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "InputPath": "$.in", "Parameters": {"v.$": "$.x"}, "ResultPath": "$.out", "Next": "B"},
            "B": {"Type": "Pass", "Result": 1, "End": true}}}));
        let p = probed(&m, json!({"in": {"x": 5}}), StateProbe::new("A")).await;
        let r = p.recorded();
        assert_eq!(r["afterInputPath"], json!({"x": 5}));
        assert_eq!(r["afterParameters"], json!({"v": 5}));
        assert_eq!(r["afterResultSelector"], json!({"v": 5}));
        assert_eq!(
            r["afterResultPath"],
            json!({"in": {"x": 5}, "out": {"v": 5}})
        );
        assert!(!r.contains_key("result"), "B's Result is not A's: {r:?}");
        assert!(p.failure().is_none());
    }

    #[tokio::test]
    async fn the_probe_seeds_variables_and_the_context() {
        let m = machine(
            json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Output": {"v": "{% $v %}", "name": "{% $states.context.Execution.Name %}"}, "End": true}}}),
        );
        let mut probe = StateProbe::new("A");
        probe.variables = vec![("v".into(), json!([1, 2]))];
        probe.context = Some(json!({"Execution": {"Name": "given"}}));
        let probe = Arc::new(probe);
        let options = ExecOptions {
            probe: Some(probe.clone()),
            ..ExecOptions::virtual_time()
        };
        let r = Engine::new(TaskRegistry::new())
            .execute(&m, json!({}), options)
            .await
            .unwrap();
        match r.status {
            ExecutionStatus::Succeeded { output } => {
                assert_eq!(output, json!({"v": [1, 2], "name": "given"}))
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_probe_keeps_the_error_a_catcher_handled() {
        let m = machine(json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:states:::nothing:here",
                  "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "B"}], "End": true},
            "B": {"Type": "Succeed"}}}));
        let p = probed(&m, json!({}), StateProbe::new("A")).await;
        let f = p.failure().expect("A failed before its catcher");
        assert_eq!(f.error.as_deref(), Some("States.Runtime"));
    }
}

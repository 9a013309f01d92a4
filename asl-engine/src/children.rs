//! Child executions: a Task on `arn:aws:states:::states:startExecution` (request-response),
//! `.sync`, `.sync:2` or `.waitForTaskToken` starts a real execution of the named state machine
//! on the same engine instead of calling AWS
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-nested-workflows.html>).
//!
//! [`StartExecutionTask`] is the Task handler: it reads the Task's `StateMachineArn`, `Name` and
//! `Input`, starts the child through a [`ChildExecutions`] (the endpoint's executions, or the
//! in-process [`StateMachines`]) and shapes the result as AWS does:
//!
//! - request-response and `.waitForTaskToken`: `{ExecutionArn, StartDate, SdkHttpMetadata,
//!   SdkResponseMetadata}` (the callback pattern then waits for the token, as for any integration);
//! - `.sync`: the child's DescribeExecution in PascalCase, dates in epoch milliseconds, `Input` and
//!   `Output` as JSON text; `.sync:2`: the same with `Input` and `Output` as JSON;
//! - a child that ends FAILED, TIMED_OUT or ABORTED fails a `.sync`/`.sync:2` Task with
//!   `States.TaskFailed`, the cause being that same description as JSON text;
//! - a refused StartExecution fails the Task with `StepFunctions.<Code>Exception`
//!   (`StepFunctions.ExecutionAlreadyExistsException`, `StepFunctions.StateMachineDoesNotExistException`,
//!   `StepFunctions.InvalidNameException`, ...), the API's message as cause.
//!
//! When a `.sync` Task stops waiting (its execution is stopped, or the Task times out), the child
//! is stopped: AWS documents that Step Functions stops the job it started when a Run a Job task is
//! stopped, which is why the `.sync` pattern needs `states:StopExecution` on the child
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-sync>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html>).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use workflow_dsl::model::StateMachine;

use crate::error::names;
use crate::tasks::{TaskContext, TaskError, TaskHandler, TaskRegistry};
use crate::{Callbacks, CompiledMachine, Engine, EngineError, ExecOptions, ExecutionStatus};

/// The resource prefix of the optimized Step Functions integration (all its patterns).
pub const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";

/// A refused StartExecution: the API's error code (`ExecutionAlreadyExists`,
/// `StateMachineDoesNotExist`, `InvalidName`, `InvalidArn`, `InvalidExecutionInput`,
/// `ValidationException`, ...) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRefused {
    /// The error code as the API answers it.
    pub code: String,
    /// The API's message.
    pub message: String,
}

impl StartRefused {
    /// A refusal with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        StartRefused {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The Task error of the optimized integration: `StepFunctions.` and the exception's name
    /// (the code with `Exception` appended when it lacks it), e.g.
    /// `StepFunctions.ExecutionAlreadyExistsException`.
    pub fn task_error(&self) -> TaskError {
        let code = if self.code.ends_with("Exception") {
            self.code.clone()
        } else {
            format!("{}Exception", self.code)
        };
        TaskError::new(format!("StepFunctions.{code}"), self.message.clone())
    }
}

/// Where child executions run: the endpoint's executions, or [`StateMachines`] in-process.
#[async_trait]
pub trait ChildExecutions: Send + Sync + 'static {
    /// StartExecution with the API's request members (`stateMachineArn`, `name`, `input` as
    /// text), for the Task of `parent`. `sync` is true for `.sync`/`.sync:2` (the child is tied to
    /// the parent's Task). Answers the API's response (`executionArn`, `startDate` in epoch
    /// seconds) or its refusal.
    async fn start_execution(
        &self,
        request: Value,
        parent: &TaskContext,
        sync: bool,
    ) -> Result<Value, StartRefused>;

    /// Waits until the execution is closed and answers its DescribeExecution response (the
    /// API's camelCase members, dates in epoch seconds); `None` when it is unknown.
    async fn wait_closed(&self, execution_arn: &str) -> Option<Value>;

    /// Stops the execution if it still runs (StopExecution without error or cause).
    fn stop_execution(&self, execution_arn: &str);
}

/// The integration pattern of a `states:startExecution` resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    RequestResponse,
    Sync,
    Sync2,
    WaitForTaskToken,
}

fn pattern(resource: &str) -> Option<Pattern> {
    match resource.strip_prefix(START_EXECUTION)? {
        "" => Some(Pattern::RequestResponse),
        ".sync" => Some(Pattern::Sync),
        ".sync:2" => Some(Pattern::Sync2),
        ".waitForTaskToken" => Some(Pattern::WaitForTaskToken),
        _ => None,
    }
}

/// The Task handler of `arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]`
/// on a [`ChildExecutions`].
pub struct StartExecutionTask<C> {
    executions: Arc<C>,
}

impl<C: ChildExecutions> StartExecutionTask<C> {
    /// The handler starting children on `executions`.
    pub fn new(executions: Arc<C>) -> Self {
        StartExecutionTask { executions }
    }

    /// Serves every `states:startExecution` resource of `registry` with this handler.
    pub fn register(self, registry: &mut TaskRegistry) {
        registry.register_resource(START_EXECUTION, Arc::new(self));
    }
}

/// Stops a `.sync` child when the Task stops waiting for it before it closed.
struct StopOnDrop<'a, C: ChildExecutions> {
    executions: &'a C,
    arn: String,
    armed: bool,
}

impl<C: ChildExecutions> Drop for StopOnDrop<'_, C> {
    fn drop(&mut self) {
        if self.armed {
            self.executions.stop_execution(&self.arn);
        }
    }
}

/// The Task's parameters as the StartExecution request: `StateMachineArn` (required), `Name`,
/// `Input` (text as given, other JSON serialised, `{}` when absent).
fn request_of(params: &Value) -> Result<Value, TaskError> {
    let bad = |what: &str| TaskError::new(names::RUNTIME, what.to_string());
    let arn = params
        .get("StateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("The parameter 'StateMachineArn' is required and must be a string"))?;
    let mut request = json!({"stateMachineArn": arn});
    match params.get("Name") {
        None | Some(Value::Null) => {}
        Some(Value::String(n)) => request["name"] = json!(n),
        Some(_) => return Err(bad("The parameter 'Name' must be a string")),
    }
    request["input"] = match params.get("Input") {
        None => json!("{}"),
        Some(Value::String(s)) => json!(s),
        Some(v) => json!(v.to_string()),
    };
    Ok(request)
}

/// The request-response result: StartExecution's members in PascalCase (`StartDate` in epoch
/// milliseconds) with the SDK's HTTP metadata, as AWS records it.
fn started_output(response: &Value) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = response.to_string();
    let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let length = body.len().to_string();
    let content_type = "application/x-amz-json-1.0";
    json!({
        "ExecutionArn": response.get("executionArn").cloned().unwrap_or(Value::Null),
        "StartDate": millis(response.get("startDate")),
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "Content-Type": [content_type],
            },
            "HttpHeaders": {
                "Content-Length": length,
                "Content-Type": content_type,
                "Date": date,
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    })
}

/// Epoch seconds (the JSON protocol's timestamps) as epoch milliseconds.
fn millis(v: Option<&Value>) -> Value {
    match v.and_then(Value::as_f64) {
        Some(s) => json!((s * 1000.0).round() as i64),
        None => v.cloned().unwrap_or(Value::Null),
    }
}

/// A DescribeExecution response (camelCase, epoch seconds) as the `.sync` result: PascalCase,
/// dates in epoch milliseconds; with `output_json` (`.sync:2`) the `Input` and `Output` parsed.
pub fn sync_result(description: &Value, output_json: bool) -> Value {
    fn pascal(key: &str) -> String {
        let mut c = key.chars();
        match c.next() {
            Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
            None => String::new(),
        }
    }
    fn convert(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let v = if k.ends_with("Date") {
                            millis(Some(v))
                        } else {
                            convert(v)
                        };
                        (pascal(k), v)
                    })
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }
    let mut out = convert(description);
    if output_json {
        for member in ["Input", "Output"] {
            if let Some(o) = out.get_mut(member) {
                if let Some(parsed) = o.as_str().and_then(|s| serde_json::from_str(s).ok()) {
                    *o = parsed;
                }
            }
        }
    }
    out
}

#[async_trait]
impl<C: ChildExecutions> TaskHandler for StartExecutionTask<C> {
    async fn invoke(&self, input: Value, ctx: &TaskContext) -> Result<Value, TaskError> {
        let Some(pattern) = pattern(&ctx.resource) else {
            return Err(TaskError::new(
                names::RUNTIME,
                format!(
                    "The integration '{}' is not supported by this engine",
                    ctx.resource
                ),
            ));
        };
        let request = request_of(&input)?;
        let sync = matches!(pattern, Pattern::Sync | Pattern::Sync2);
        let response = self
            .executions
            .start_execution(request, ctx, sync)
            .await
            .map_err(|refused| refused.task_error())?;
        if !sync {
            return Ok(started_output(&response));
        }
        let arn = response
            .get("executionArn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut guard = StopOnDrop {
            executions: self.executions.as_ref(),
            arn: arn.clone(),
            armed: true,
        };
        let description = self.executions.wait_closed(&arn).await;
        guard.armed = false;
        let Some(description) = description else {
            return Err(TaskError::new(
                names::TASK_FAILED,
                format!("Execution Does Not Exist: '{arn}'"),
            ));
        };
        let result = sync_result(&description, pattern == Pattern::Sync2);
        match description.get("status").and_then(Value::as_str) {
            Some("SUCCEEDED") => Ok(result),
            _ => Err(TaskError::new(names::TASK_FAILED, result.to_string())),
        }
    }
}

/// StartExecution's checks of the name and the input, as the endpoint answers them: the name's
/// length and characters, and the input's size and JSON.
pub(crate) fn check_start(
    name: Option<&str>,
    input: Option<&str>,
) -> Result<(String, String, Value), StartRefused> {
    use crate::requests;
    let refused = |e: requests::Refusal| StartRefused::new(e.code, e.message);
    let name = match name {
        Some(n) => {
            requests::check_name(n).map_err(refused)?;
            n.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let (text, value) = requests::parse_input(input).map_err(refused)?;
    Ok((name, text, value))
}

// ---------- in-process ----------

/// The state machines that `states:startExecution` Tasks of an in-process engine start, by name
/// (a Task names one by its ARN, `arn:<partition>:states:<region>:<account>:stateMachine:<name>`;
/// the child runs in that region and account). Cheap to clone: clones share the machines and the
/// executions started on them.
///
/// ```no_run
/// # async fn demo(parent: workflow_dsl::model::StateMachine, child: workflow_dsl::model::StateMachine) -> Result<(), asl_engine::EngineError> {
/// use asl_engine::{children::StateMachines, Engine, ExecOptions, TaskRegistry};
/// let machines = StateMachines::new();
/// machines.add("child", &child)?;
/// let engine = Engine::with_machines(TaskRegistry::new(), machines.clone());
/// let result = engine.execute(&parent, serde_json::json!({}), ExecOptions::virtual_time()).await?;
/// println!("{:?} {:?}", result.status, machines.executions());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct StateMachines {
    inner: Arc<Local>,
}

impl std::fmt::Debug for StateMachines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachines")
            .field(
                "machines",
                &lock(&self.inner.machines).keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Default)]
struct Local {
    machines: Mutex<HashMap<String, Arc<CompiledMachine>>>,
    executions: Mutex<HashMap<String, LocalExecution>>,
    /// Every start order, for [`StateMachines::executions`].
    order: Mutex<Vec<String>>,
    /// Bumped whenever a child closes.
    closed: watch::Sender<u64>,
    /// The engine the children run on (its registry is held weakly: it holds this).
    engine: Mutex<Option<(Weak<TaskRegistry>, Arc<Callbacks>)>>,
}

struct LocalExecution {
    /// DescribeExecution's members (camelCase, epoch seconds).
    description: Value,
    cancel: Arc<AtomicBool>,
    task: Option<tokio::task::AbortHandle>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn epoch(t: &DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

impl StateMachines {
    /// No machines yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the machine `name`.
    pub fn add(&self, name: &str, machine: &StateMachine) -> Result<&Self, EngineError> {
        let compiled = Arc::new(CompiledMachine::new(machine)?);
        lock(&self.inner.machines).insert(name.to_string(), compiled);
        Ok(self)
    }

    /// True when no machine was added.
    pub fn is_empty(&self) -> bool {
        lock(&self.inner.machines).is_empty()
    }

    /// The executions started so far, oldest first, as DescribeExecution answers them
    /// (camelCase members).
    pub fn executions(&self) -> Vec<Value> {
        let executions = lock(&self.inner.executions);
        lock(&self.inner.order)
            .iter()
            .filter_map(|arn| executions.get(arn).map(|e| e.description.clone()))
            .collect()
    }

    /// DescribeExecution of one child.
    pub fn describe(&self, execution_arn: &str) -> Option<Value> {
        lock(&self.inner.executions)
            .get(execution_arn)
            .map(|e| e.description.clone())
    }

    /// Runs the children on the engine of `registry` and `callbacks`.
    pub(crate) fn link(&self, registry: Weak<TaskRegistry>, callbacks: Arc<Callbacks>) {
        *lock(&self.inner.engine) = Some((registry, callbacks));
    }

    fn close(&self, arn: &str, status: ExecutionStatus) {
        let mut executions = lock(&self.inner.executions);
        let Some(e) = executions.get_mut(arn) else {
            return;
        };
        if e.description["status"] != "RUNNING" {
            return;
        }
        let d = &mut e.description;
        d["status"] = json!(status.name());
        d["stopDate"] = epoch(&Utc::now());
        match status {
            ExecutionStatus::Succeeded { output } => {
                d["output"] = json!(output.to_string());
                d["outputDetails"] = json!({"included": true});
            }
            ExecutionStatus::Failed { error, cause }
            | ExecutionStatus::TimedOut { error, cause } => {
                if let Some(x) = error {
                    d["error"] = json!(x);
                }
                if let Some(x) = cause {
                    d["cause"] = json!(x);
                }
            }
            ExecutionStatus::Aborted => {}
        }
        e.task = None;
        drop(executions);
        self.inner.closed.send_modify(|n| *n += 1);
    }
}

#[async_trait]
impl ChildExecutions for StateMachines {
    async fn start_execution(
        &self,
        request: Value,
        parent: &TaskContext,
        sync: bool,
    ) -> Result<Value, StartRefused> {
        let requested = request["stateMachineArn"].as_str().unwrap_or_default();
        let parts: Vec<&str> = requested.split(':').collect();
        if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" {
            return Err(StartRefused::new(
                "InvalidArn",
                format!("Invalid Arn: 'Invalid ARN prefix: {requested}'"),
            ));
        }
        if parts[5] != "stateMachine" {
            return Err(StartRefused::new(
                "InvalidArn",
                format!(
                    "Invalid Arn: 'Resource type not valid in this context: {}'",
                    parts[5]
                ),
            ));
        }
        let not_found = || {
            StartRefused::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{requested}'"),
            )
        };
        // In-process machines have no versions or aliases.
        if parts.len() > 7 {
            return Err(not_found());
        }
        let (partition, region, account, sm_name) = (parts[1], parts[3], parts[4], parts[6]);
        let (name, input_text, input) =
            check_start(request["name"].as_str(), request["input"].as_str())?;
        let compiled = lock(&self.inner.machines)
            .get(sm_name)
            .cloned()
            .ok_or_else(not_found)?;
        let Some((registry, callbacks)) = lock(&self.inner.engine).clone() else {
            return Err(not_found());
        };
        let Some(registry) = registry.upgrade() else {
            return Err(not_found());
        };
        let arn = format!("arn:{partition}:states:{region}:{account}:execution:{sm_name}:{name}");
        let start = Utc::now();
        let mut executions = lock(&self.inner.executions);
        if let Some(existing) = executions.get(&arn) {
            // StartExecution is idempotent for a RUNNING execution with the same input.
            if existing.description["status"] == "RUNNING"
                && existing.description["input"] == json!(input_text)
            {
                return Ok(json!({
                    "executionArn": arn,
                    "startDate": existing.description["startDate"],
                }));
            }
            return Err(StartRefused::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        // A `.sync` child shares its parent's stop flag: stopping the parent stops it.
        let cancel = match (&parent.cancel, sync) {
            (Some(c), true) => c.clone(),
            _ => Arc::new(AtomicBool::new(false)),
        };
        let options = ExecOptions {
            virtual_time: parent.virtual_time,
            execution_name: Some(name.clone()),
            state_machine_name: Some(sm_name.to_string()),
            region: region.to_string(),
            account_id: account.to_string(),
            cancel: Some(cancel.clone()),
            start_time: Some(start),
            ..ExecOptions::default()
        };
        let engine = Engine {
            registry,
            callbacks,
        };
        let me = self.clone();
        let child_arn = arn.clone();
        let task = tokio::spawn(async move {
            let result = engine.execute_compiled(&compiled, input, options).await;
            me.close(&child_arn, result.status);
        });
        executions.insert(
            arn.clone(),
            LocalExecution {
                description: json!({
                    "executionArn": arn,
                    "stateMachineArn": parts[..7].join(":"),
                    "name": name,
                    "status": "RUNNING",
                    "startDate": epoch(&start),
                    "input": input_text,
                    "inputDetails": {"included": true},
                    "redriveCount": 0,
                }),
                cancel,
                task: Some(task.abort_handle()),
            },
        );
        drop(executions);
        lock(&self.inner.order).push(arn.clone());
        Ok(json!({"executionArn": arn, "startDate": epoch(&start)}))
    }

    async fn wait_closed(&self, execution_arn: &str) -> Option<Value> {
        let mut closed = self.inner.closed.subscribe();
        loop {
            let description = self.describe(execution_arn)?;
            if description["status"] != "RUNNING" {
                return Some(description);
            }
            if closed.changed().await.is_err() {
                return self.describe(execution_arn);
            }
        }
    }

    fn stop_execution(&self, execution_arn: &str) {
        let task = {
            let mut executions = lock(&self.inner.executions);
            let Some(e) = executions.get_mut(execution_arn) else {
                return;
            };
            e.cancel.store(true, Ordering::Relaxed);
            e.task.take()
        };
        if let Some(task) = task {
            task.abort();
        }
        self.close(execution_arn, ExecutionStatus::Aborted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_named_as_the_optimized_integration_names_them() {
        let e = StartRefused::new("ExecutionAlreadyExists", "Execution Already Exists: 'x'");
        assert_eq!(
            e.task_error().error,
            "StepFunctions.ExecutionAlreadyExistsException"
        );
        let e = StartRefused::new("ValidationException", "too long");
        assert_eq!(e.task_error().error, "StepFunctions.ValidationException");
    }

    #[test]
    fn patterns_are_read_from_the_resource() {
        assert_eq!(pattern(START_EXECUTION), Some(Pattern::RequestResponse));
        assert_eq!(
            pattern("arn:aws:states:::states:startExecution.sync:2"),
            Some(Pattern::Sync2)
        );
        assert_eq!(pattern("arn:aws:states:::states:startExecution.foo"), None);
    }

    #[test]
    fn sync_results_are_pascal_case_with_millisecond_dates() {
        let d = json!({"executionArn": "a", "startDate": 1.5, "stopDate": 2.25,
            "output": "{\"x\":1}", "outputDetails": {"included": true}, "status": "SUCCEEDED"});
        let r = sync_result(&d, false);
        assert_eq!(r["StartDate"], json!(1500));
        assert_eq!(r["StopDate"], json!(2250));
        assert_eq!(r["Output"], json!("{\"x\":1}"));
        assert_eq!(r["OutputDetails"], json!({"Included": true}));
        assert_eq!(sync_result(&d, true)["Output"], json!({"x": 1}));
    }

    #[test]
    fn task_parameters_become_the_request() {
        let r = request_of(&json!({"StateMachineArn": "arn", "Input": {"a": 1}})).unwrap();
        assert_eq!(r, json!({"stateMachineArn": "arn", "input": "{\"a\":1}"}));
        assert!(request_of(&json!({"Input": {}})).is_err());
        assert!(request_of(&json!({"StateMachineArn": "a", "Name": 3})).is_err());
    }
}

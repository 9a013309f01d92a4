//! Builders of single states: typed and untyped Tasks, Pass, Wait, Fail, Parallel and Map.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde_json::{json, Value};

use super::{sub_workflow, Branch, Flow, Graph, Meta};
use crate::integrations::Integration;
use crate::model::{
    Catcher, FailState, MapState, ParallelState, PassState, ProcessorConfig, Retrier, State,
    TaskState, WaitState,
};
use crate::schema;
use crate::typed::{check_error_name, AnyError, Catch, Retry, StateError, StepResource, TaskStep};

/// Retry and Catch entries of one state, with the catch-alls kept apart so they end up last.
#[derive(Debug, Clone, Default)]
struct Handling {
    retry: Vec<Retrier>,
    retry_all: Vec<Retrier>,
    catch: Vec<Catcher>,
    catch_all: Vec<Catcher>,
    empty: usize,
}

impl Handling {
    fn retry<E>(&mut self, retry: Retry<E>) {
        if retry.is_catch_all() {
            self.retry_all.push(retry.to_retrier());
        } else {
            if retry.error_names().is_empty() {
                self.empty += 1;
            }
            self.retry.push(retry.to_retrier());
        }
    }

    fn catch<E>(&mut self, catch: Catch<E>, next: &str) {
        if catch.is_catch_all() {
            self.catch_all.push(catch.to_catcher(next));
        } else {
            if catch.error_names().is_empty() {
                self.empty += 1;
            }
            self.catch.push(catch.to_catcher(next));
        }
    }

    /// Retriers and catchers in order (catch-alls last), and the problems found.
    fn finish(self, state: &str) -> (Vec<Retrier>, Vec<Catcher>, Vec<String>) {
        let mut problems = Vec::new();
        if self.empty > 0 {
            problems.push(format!(
                "State '{state}': a Retry or Catch lists no errors; name the errors or use \
                 Retry::all() / Catch::all()"
            ));
        }
        if self.retry_all.len() > 1 {
            problems.push(format!(
                "State '{state}': {} Retry::all() retriers; keep one (States.ALL must be last)",
                self.retry_all.len()
            ));
        }
        if self.catch_all.len() > 1 {
            problems.push(format!(
                "State '{state}': {} Catch::all() catchers; keep one (States.ALL must be last)",
                self.catch_all.len()
            ));
        }
        let names = self
            .retry
            .iter()
            .flat_map(|r| r.error_equals.iter())
            .chain(self.catch.iter().flat_map(|c| c.error_equals.iter()));
        for name in names {
            if let Err(message) = check_error_name(name) {
                problems.push(format!("State '{state}': {message}"));
            }
        }
        let mut retry = self.retry;
        retry.extend(self.retry_all);
        let mut catch = self.catch;
        catch.extend(self.catch_all);
        (retry, catch, problems)
    }
}

/// A typed step in the flow: a [`TaskStep`] plus its state name and error handling.
/// Created with [`task`]; appended with [`Flow::then`].
#[must_use]
pub struct TypedTask<S: TaskStep> {
    name: String,
    comment: Option<String>,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
    handling: Handling,
    _step: PhantomData<fn() -> S>,
}

/// A typed step called `name` (the ASL state name, e.g. `"Validate order"`).
pub fn task<S: TaskStep>(name: &str) -> TypedTask<S> {
    TypedTask {
        name: name.to_owned(),
        comment: None,
        timeout_seconds: None,
        heartbeat_seconds: None,
        handling: Handling::default(),
        _step: PhantomData,
    }
}

impl<S: TaskStep> TypedTask<S> {
    /// Adds a retrier. Its errors are the step's own ([`TaskStep::Error`]), predefined
    /// [`crate::typed::AslError`]s or [`crate::integrations::LambdaError`]s.
    pub fn retry(mut self, retry: Retry<S::Error>) -> Self {
        self.handling.retry(retry);
        self
    }

    /// Adds AWS's recommended retrier for transient Lambda service errors
    /// ([`Retry::lambda_service_errors`]).
    pub fn retry_lambda_service_errors(self) -> Self {
        self.retry(Retry::lambda_service_errors())
    }

    /// Adds a catcher going to the state called `next`.
    pub fn catch(mut self, catch: Catch<S::Error>, next: &str) -> Self {
        self.handling.catch(catch, next);
        self
    }

    /// `Comment` of the state.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// `TimeoutSeconds` of the Task.
    pub fn timeout_seconds(mut self, seconds: u64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// `HeartbeatSeconds` of the Task.
    pub fn heartbeat_seconds(mut self, seconds: u64) -> Self {
        self.heartbeat_seconds = Some(seconds);
        self
    }

    /// The Task state. With `keep_input`, the step runs for its effect: `ResultPath: null` and
    /// no `OutputPath`, so the state's output is its input.
    pub(super) fn into_state(self, keep_input: bool) -> (String, State, Value, Vec<String>) {
        let output = schema::of::<S::Output>();
        let (resource, parameters, output_path, result_schema) = match S::resource() {
            StepResource::LambdaInvoke { function } => (
                "arn:aws:states:::lambda:invoke".to_owned(),
                Some(json!({ "FunctionName": function, "Payload.$": "$" })),
                Some(Some("$.Payload".to_owned())),
                json!({
                    "type": "object",
                    "properties": {
                        "Payload": output,
                        "StatusCode": { "type": "integer" },
                        "ExecutedVersion": { "type": "string" },
                        "SdkHttpMetadata": true,
                        "SdkResponseMetadata": true,
                    },
                }),
            ),
            StepResource::Direct { arn } => (arn, None, None, output),
        };
        let (retry, catch, problems) = self.handling.finish(&self.name);
        let (result_path, output_path) = if keep_input {
            (Some(None), None)
        } else {
            (None, output_path)
        };
        let state = TaskState {
            comment: self.comment,
            resource,
            parameters,
            result_path,
            output_path,
            timeout_seconds: self.timeout_seconds.map(Into::into),
            heartbeat_seconds: self.heartbeat_seconds.map(Into::into),
            retry,
            catch,
            ..Default::default()
        };
        (self.name, State::Task(state), result_schema, problems)
    }
}

/// An untyped Task: a service integration ([`Task::call`]) or any resource ARN
/// ([`Task::resource`]). Appended with [`Flow::then_keep`] or [`Flow::then_as`].
#[must_use]
pub struct Task {
    name: String,
    state: TaskState,
    result_schema: Value,
    handling: Handling,
    problems: Vec<String>,
}

impl Task {
    /// A Task calling an optimized integration (see [`crate::integrations`]).
    pub fn call(name: &str, integration: Integration) -> Self {
        let mut problems = Vec::new();
        if let Some(problem) = integration.pattern_problem() {
            problems.push(format!("State '{name}': {problem}"));
        }
        Task {
            name: name.to_owned(),
            state: TaskState {
                resource: integration.resource(),
                parameters: Some(integration.parameters()),
                ..Default::default()
            },
            result_schema: integration.result_schema().clone(),
            handling: Handling::default(),
            problems,
        }
    }

    /// A Task with any resource ARN (an activity, a Lambda ARN, an integration the builder does
    /// not model). Its result is unknown to the path checker unless set with
    /// [`Task::result_type`].
    pub fn resource(name: &str, arn: impl Into<String>) -> Self {
        Task {
            name: name.to_owned(),
            state: TaskState {
                resource: arn.into(),
                ..Default::default()
            },
            result_schema: Value::Bool(true),
            handling: Handling::default(),
            problems: Vec::new(),
        }
    }

    /// Declares the type of the raw result (before ResultSelector/ResultPath).
    pub fn result_type<R: JsonSchema>(mut self) -> Self {
        self.result_schema = schema::of::<R>();
        self
    }

    /// `Parameters` (replaces the integration's template).
    pub fn parameters(mut self, parameters: Value) -> Self {
        self.state.parameters = Some(parameters);
        self
    }

    /// `InputPath`.
    pub fn input_path(mut self, path: &str) -> Self {
        self.state.input_path = Some(Some(path.to_owned()));
        self
    }

    /// `ResultSelector`.
    pub fn result_selector(mut self, selector: Value) -> Self {
        self.state.result_selector = Some(selector);
        self
    }

    /// `ResultPath`: where the result goes in the input.
    pub fn result_path(mut self, path: &str) -> Self {
        self.state.result_path = Some(Some(path.to_owned()));
        self
    }

    /// `ResultPath: null`: the result is discarded and the input passes through.
    pub fn discard_result(mut self) -> Self {
        self.state.result_path = Some(None);
        self
    }

    /// `OutputPath`.
    pub fn output_path(mut self, path: &str) -> Self {
        self.state.output_path = Some(Some(path.to_owned()));
        self
    }

    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }

    /// `TimeoutSeconds`.
    pub fn timeout_seconds(mut self, seconds: u64) -> Self {
        self.state.timeout_seconds = Some(seconds.into());
        self
    }

    /// `HeartbeatSeconds`.
    pub fn heartbeat_seconds(mut self, seconds: u64) -> Self {
        self.state.heartbeat_seconds = Some(seconds.into());
        self
    }

    /// Adds a retrier.
    pub fn retry(mut self, retry: Retry<AnyError>) -> Self {
        self.handling.retry(retry);
        self
    }

    /// Adds a catcher going to `next`.
    pub fn catch(mut self, catch: Catch<AnyError>, next: &str) -> Self {
        self.handling.catch(catch, next);
        self
    }

    pub(super) fn has_result_path(&self) -> bool {
        self.state.result_path.is_some()
    }

    pub(super) fn into_state(mut self) -> (String, State, Value, Vec<String>) {
        let (retry, catch, problems) = self.handling.finish(&self.name);
        self.state.retry = retry;
        self.state.catch = catch;
        self.problems.extend(problems);
        (
            self.name,
            State::Task(self.state),
            self.result_schema,
            self.problems,
        )
    }
}

/// A Pass state.
///
/// ```
/// use serde_json::json;
/// use workflow_dsl::builder::Pass;
///
/// let pass = Pass::new("Defaults").result(json!({ "retries": 0 })).result_path("$.meta");
/// # let _ = pass;
/// ```
#[must_use]
pub struct Pass {
    name: String,
    state: PassState,
}

impl Pass {
    /// A `Pass` state named `name`, with no fields set.
    pub fn new(name: &str) -> Self {
        Pass {
            name: name.to_owned(),
            state: PassState::default(),
        }
    }
    /// `Result`: a fixed value.
    pub fn result(mut self, result: Value) -> Self {
        self.state.result = Some(result);
        self
    }
    /// `Parameters`: a template over the input.
    pub fn parameters(mut self, parameters: Value) -> Self {
        self.state.parameters = Some(parameters);
        self
    }
    /// `InputPath`.
    pub fn input_path(mut self, path: &str) -> Self {
        self.state.input_path = Some(Some(path.to_owned()));
        self
    }
    /// `ResultPath`.
    pub fn result_path(mut self, path: &str) -> Self {
        self.state.result_path = Some(Some(path.to_owned()));
        self
    }
    /// `OutputPath`.
    pub fn output_path(mut self, path: &str) -> Self {
        self.state.output_path = Some(Some(path.to_owned()));
        self
    }
    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }
    pub(super) fn into_state(self) -> (String, State) {
        (self.name, State::Pass(self.state))
    }
}

/// A Wait state.
#[must_use]
pub struct Wait {
    name: String,
    state: WaitState,
}

impl Wait {
    /// Waits a fixed number of seconds.
    pub fn seconds(name: &str, seconds: u64) -> Self {
        Wait::with(
            name,
            WaitState {
                seconds: Some(seconds.into()),
                ..Default::default()
            },
        )
    }
    /// Waits the number of seconds found at `path`.
    pub fn seconds_path(name: &str, path: &str) -> Self {
        Wait::with(
            name,
            WaitState {
                seconds_path: Some(path.to_owned()),
                ..Default::default()
            },
        )
    }
    /// Waits until an RFC 3339 timestamp.
    pub fn timestamp(name: &str, timestamp: &str) -> Self {
        Wait::with(
            name,
            WaitState {
                timestamp: Some(timestamp.to_owned()),
                ..Default::default()
            },
        )
    }
    /// Waits until the timestamp found at `path`.
    pub fn timestamp_path(name: &str, path: &str) -> Self {
        Wait::with(
            name,
            WaitState {
                timestamp_path: Some(path.to_owned()),
                ..Default::default()
            },
        )
    }
    fn with(name: &str, state: WaitState) -> Self {
        Wait {
            name: name.to_owned(),
            state,
        }
    }
    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }
    pub(super) fn into_state(self) -> (String, State) {
        (self.name, State::Wait(self.state))
    }
}

/// A Fail state.
///
/// ```
/// use workflow_dsl::builder::Fail;
/// use workflow_dsl::typed::AslError;
///
/// let fail = Fail::new("Order failed").error(AslError::TaskFailed).cause("payment declined");
/// # let _ = fail;
/// ```
#[must_use]
pub struct Fail {
    name: String,
    state: FailState,
}

impl Fail {
    /// A `Fail` state named `name`, with no `Error` or `Cause` yet.
    pub fn new(name: &str) -> Self {
        Fail {
            name: name.to_owned(),
            state: FailState::default(),
        }
    }
    /// `Error`, from a typed error.
    pub fn error(mut self, error: impl StateError<AnyError>) -> Self {
        self.state.error = Some(error.into_error_of().name().to_owned());
        self
    }
    /// `Cause`.
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.state.cause = Some(cause.into());
        self
    }
    /// `ErrorPath`: the error name is read from the input.
    pub fn error_path(mut self, path: &str) -> Self {
        self.state.error_path = Some(path.to_owned());
        self
    }
    /// `CausePath`: the cause is read from the input.
    pub fn cause_path(mut self, path: &str) -> Self {
        self.state.cause_path = Some(path.to_owned());
        self
    }
    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }
    pub(super) fn into_state(self) -> (String, State) {
        (self.name, State::Fail(self.state))
    }
}

/// A Parallel state whose branches receive `T`.
#[must_use]
pub struct Parallel<T> {
    name: String,
    state: ParallelState,
    handling: Handling,
    meta: Meta,
    _input: PhantomData<fn() -> T>,
}

impl<T> Parallel<T> {
    /// A `Parallel` state named `name`, with no branches yet.
    pub fn new(name: &str) -> Self {
        Parallel {
            name: name.to_owned(),
            state: ParallelState::default(),
            handling: Handling::default(),
            meta: Meta::default(),
            _input: PhantomData,
        }
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Adds a branch; it receives the state input (`T`).
    pub fn branch<U, B: Branch<U>>(mut self, build: impl FnOnce(Flow<T>) -> B) -> Self {
        let branch = sub_workflow::<T, U, B>(build, &mut self.meta);
        self.state.branches.push(branch);
        self
    }

    /// `ResultSelector`.
    pub fn result_selector(mut self, selector: Value) -> Self {
        self.state.result_selector = Some(selector);
        self
    }
    /// `ResultPath`.
    pub fn result_path(mut self, path: &str) -> Self {
        self.state.result_path = Some(Some(path.to_owned()));
        self
    }
    /// `OutputPath`.
    pub fn output_path(mut self, path: &str) -> Self {
        self.state.output_path = Some(Some(path.to_owned()));
        self
    }
    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }
    /// Adds a retrier (errors of any branch).
    pub fn retry(mut self, retry: Retry<AnyError>) -> Self {
        self.handling.retry(retry);
        self
    }
    /// Adds a catcher going to `next`.
    pub fn catch(mut self, catch: Catch<AnyError>, next: &str) -> Self {
        self.handling.catch(catch, next);
        self
    }

    pub(super) fn into_state(mut self) -> (String, State, Meta) {
        let (retry, catch, problems) = self.handling.finish(&self.name);
        self.meta.problems.extend(problems);
        if self.state.branches.is_empty() {
            self.meta.problems.push(format!(
                "Parallel '{}' has no branches; add one with `branch`",
                self.name
            ));
        }
        self.state.retry = retry;
        self.state.catch = catch;
        (self.name, State::Parallel(self.state), self.meta)
    }
}

/// A Map state (inline processing).
///
/// ```
/// use workflow_dsl::builder::Map;
///
/// let map = Map::new("Check lines").items_path("$.items").max_concurrency(5);
/// # let _ = map;
/// ```
#[must_use]
pub struct Map {
    name: String,
    state: MapState,
    handling: Handling,
}

impl Map {
    /// A `Map` state named `name`, with no fields set.
    pub fn new(name: &str) -> Self {
        Map {
            name: name.to_owned(),
            state: MapState::default(),
            handling: Handling::default(),
        }
    }
    /// `ItemsPath`: the array to iterate over.
    pub fn items_path(mut self, path: &str) -> Self {
        self.state.items_path = Some(path.to_owned());
        self
    }
    /// `ItemSelector`: the input of each iteration (`$$.Map.Item.Value` is the item).
    pub fn item_selector(mut self, selector: Value) -> Self {
        self.state.item_selector = Some(selector);
        self
    }
    /// `MaxConcurrency` (0 = no limit).
    pub fn max_concurrency(mut self, limit: u64) -> Self {
        self.state.max_concurrency = Some(limit.into());
        self
    }
    /// `ResultSelector`.
    pub fn result_selector(mut self, selector: Value) -> Self {
        self.state.result_selector = Some(selector);
        self
    }
    /// `ResultPath`.
    pub fn result_path(mut self, path: &str) -> Self {
        self.state.result_path = Some(Some(path.to_owned()));
        self
    }
    /// `OutputPath`.
    pub fn output_path(mut self, path: &str) -> Self {
        self.state.output_path = Some(Some(path.to_owned()));
        self
    }
    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }
    /// Adds a retrier.
    pub fn retry(mut self, retry: Retry<AnyError>) -> Self {
        self.handling.retry(retry);
        self
    }
    /// Adds a catcher going to `next`.
    pub fn catch(mut self, catch: Catch<AnyError>, next: &str) -> Self {
        self.handling.catch(catch, next);
        self
    }

    pub(super) fn into_state(mut self, mut processor: Graph) -> (String, State, Meta) {
        let (retry, catch, problems) = self.handling.finish(&self.name);
        let mut meta = std::mem::take(&mut processor.meta);
        meta.problems.extend(problems);
        self.state.retry = retry;
        self.state.catch = catch;
        self.state.item_processor = Some(crate::model::SubWorkflow {
            comment: None,
            processor_config: Some(ProcessorConfig {
                mode: Some("INLINE".to_owned()),
                ..Default::default()
            }),
            start_at: processor.start.unwrap_or_default(),
            states: processor.states,
            extra: Default::default(),
        });
        (self.name, State::Map(self.state), meta)
    }
}

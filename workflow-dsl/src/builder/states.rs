//! Builders of single states: typed and untyped Tasks, Pass, Wait, Fail, Parallel and Map.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde_json::{json, Value};

use super::{sub_workflow, Branch, Flow, Graph, Meta};
use crate::integrations::{Integration, IntegrationPattern};
use crate::model::{
    Catcher, FailState, MapState, ParallelState, PassState, ProcessorConfig, QueryLanguage,
    Retrier, State, TaskState, WaitState,
};
use crate::schema::{self, Declared};
use crate::typed::{check_error_name, AnyError, Catch, Retry, StateError, StepResource, TaskStep};
use crate::vars::{write_assign, Assignment, Var};

/// Retry and Catch entries of one state, with the catch-alls kept apart so they end up last.
#[derive(Debug, Clone, Default)]
pub(super) struct Handling {
    retry: Vec<Retrier>,
    retry_all: Vec<Retrier>,
    catch: Vec<Catcher>,
    catch_all: Vec<Catcher>,
    empty: usize,
    /// Variables the catchers assign, with their declared types.
    pub(super) variables: Vec<(String, Declared)>,
}

impl Handling {
    pub(super) fn retry<E>(&mut self, retry: Retry<E>) {
        if retry.is_catch_all() {
            self.retry_all.push(retry.to_retrier());
        } else {
            if retry.error_names().is_empty() {
                self.empty += 1;
            }
            self.retry.push(retry.to_retrier());
        }
    }

    pub(super) fn catch<E>(&mut self, catch: Catch<E>, next: &str) {
        self.variables.extend(catch.declared_variables());
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
    pub(super) fn finish(self, state: &str) -> (Vec<Retrier>, Vec<Catcher>, Vec<String>) {
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

/// The JSONata expression putting `value` at `path` (`$.a.b`) of the state input:
/// `$merge([$states.input, {'a': $merge([$states.input.a, {'b': value}])}])`.
fn merge_expression(path: &str, value: &str) -> String {
    let fields: Vec<&str> = path
        .trim_start_matches('$')
        .split('.')
        .filter(|f| !f.is_empty())
        .collect();
    fn build(base: &str, fields: &[&str], value: &str) -> String {
        match fields.split_first() {
            None => value.to_owned(),
            Some((first, rest)) => {
                let inner = build(&format!("{base}.`{first}`"), rest, value);
                format!("$merge([{base}, {{'{first}': {inner}}}])")
            }
        }
    }
    if fields.is_empty() {
        return value.to_owned();
    }
    build("$states.input", &fields, value)
}

/// Records the variables a state assigns (and its catchers) with their types.
pub(super) fn declare(
    meta: &mut Meta,
    state: &str,
    assignments: &[Assignment],
    catchers: &[(String, Declared)],
) {
    for assignment in assignments {
        meta.declare_variable(state, assignment.name.clone(), assignment.declared.clone());
    }
    for (name, declared) in catchers {
        meta.declare_variable(state, name.clone(), declared.clone());
    }
}

/// A typed step in the flow: a [`TaskStep`] plus its state name and error handling.
/// Created with [`task`]; appended with [`Flow::then`].
///
/// `In` says where the step's input comes from: [`AsIs`] (the flow's data is the step's input,
/// checked by the compiler) or [`FromArguments`] (built by [`TypedTask::arguments`], checked at
/// emit).
#[must_use]
pub struct TypedTask<S: TaskStep, In = AsIs> {
    name: String,
    comment: Option<String>,
    timeout_seconds: Option<u64>,
    heartbeat_seconds: Option<u64>,
    query_language: Option<QueryLanguage>,
    arguments: Option<Value>,
    result_path: Option<String>,
    assign_result: Vec<String>,
    assignments: Vec<Assignment>,
    variables: Vec<(String, Declared)>,
    handling: Handling,
    _step: PhantomData<fn() -> (S, In)>,
}

/// The step's input is the flow's data as it is: the flow must carry [`TaskStep::Input`].
#[derive(Debug, Clone, Copy)]
pub enum AsIs {}

/// The step's input is built by an `arguments` template from whatever the flow carries.
#[derive(Debug, Clone, Copy)]
pub enum FromArguments {}

/// Whether a step whose input comes from `Self` ([`AsIs`] or [`FromArguments`]) can follow a
/// flow carrying `T`.
pub trait StepInput<S, T>: sealed_input::Sealed {}

impl<S: TaskStep<Input = T>, T> StepInput<S, T> for AsIs {}
impl<S: TaskStep, T> StepInput<S, T> for FromArguments {}

mod sealed_input {
    pub trait Sealed {}
    impl Sealed for super::AsIs {}
    impl Sealed for super::FromArguments {}
}

/// A typed step called `name` (the ASL state name, e.g. `"Validate order"`).
pub fn task<S: TaskStep>(name: &str) -> TypedTask<S> {
    TypedTask {
        name: name.to_owned(),
        comment: None,
        timeout_seconds: None,
        heartbeat_seconds: None,
        query_language: None,
        arguments: None,
        result_path: None,
        assign_result: Vec::new(),
        assignments: Vec::new(),
        variables: Vec::new(),
        handling: Handling::default(),
        _step: PhantomData,
    }
}

impl<S: TaskStep, In> TypedTask<S, In> {
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

    /// The state name.
    pub(super) fn name(&self) -> &str {
        &self.name
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

    /// `QueryLanguage` of this state alone (a JSONata state in a JSONPath workflow). Without
    /// it the state follows the workflow ([`Flow::jsonata`]).
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.query_language = Some(language);
        self
    }

    /// Builds the step's input ([`TaskStep::Input`]) from a template instead of passing the
    /// flow's data as it is, so the flow may carry another type `X`. In a JSONata state the
    /// template holds `{% %}` expressions (`"{% $order.id %}"`, `"{% $states.input.amount %}"`);
    /// in a JSONPath state, `"field.$": "$.path"` entries. At emit the template must produce
    /// every required field of the step's input, with the right types where they can be
    /// resolved. The flow may then carry any type.
    pub fn arguments(self, template: Value) -> TypedTask<S, FromArguments> {
        TypedTask {
            name: self.name,
            comment: self.comment,
            timeout_seconds: self.timeout_seconds,
            heartbeat_seconds: self.heartbeat_seconds,
            query_language: self.query_language,
            arguments: Some(template),
            result_path: self.result_path,
            assign_result: self.assign_result,
            assignments: self.assignments,
            variables: self.variables,
            handling: self.handling,
            _step: PhantomData,
        }
    }

    /// Puts the step's output at `path` (`$.field` or `$.a.b`) of the state's input instead of
    /// replacing it (a `ResultPath` merge). Append it with [`Flow::then_merged`], naming the
    /// merged type, which is checked at emit. In JSONPath the function is invoked by its ARN
    /// (its result is its output); in JSONata the merge is an `Output` expression.
    pub fn result_path(mut self, path: &str) -> Self {
        self.result_path = Some(path.to_owned());
        self
    }

    pub(super) fn has_result_path(&self) -> bool {
        self.result_path.is_some()
    }

    /// Assigns the step's output to `var` (`Assign`), checked by the compiler: the variable's
    /// type is the step's [`TaskStep::Output`].
    pub fn assign_result(mut self, var: &Var<S::Output>) -> Self
    where
        S::Output: JsonSchema,
    {
        self.assign_result.push(var.name().to_owned());
        self.variables
            .push((var.name().to_owned(), Declared::of::<S::Output>()));
        self
    }

    /// Assigns `value` to `var` when the step succeeds: a literal, or a JSONata template
    /// (`"{% $states.result.Payload.total %}"`, `{"id": "{% $states.input.id %}"}`). Checked at
    /// emit against `T` where the value's type can be resolved.
    pub fn assign<T: JsonSchema>(mut self, var: &Var<T>, value: impl Into<Value>) -> Self {
        let assignment = Assignment::of(var, value.into(), false);
        self.variables
            .push((assignment.name.clone(), assignment.declared.clone()));
        self.assignments.push(assignment);
        self
    }

    /// The Task state, its raw result schema, the plan that renders it in either query
    /// language, and problems. With `keep_input`, the step runs for its effect: the state's
    /// output is its input.
    pub(super) fn into_state(self, keep_input: bool) -> (String, State, Value, TypedPlan, Meta) {
        let output = schema::of::<S::Output>();
        let (resource, function) = match S::resource() {
            StepResource::LambdaInvoke { function } => {
                ("arn:aws:states:::lambda:invoke".to_owned(), Some(function))
            }
            StepResource::Direct { arn } => (arn, None),
        };
        let mut variables = self.variables;
        variables.extend(self.handling.variables.clone());
        let (retry, catch, problems) = self.handling.finish(&self.name);
        let plan = TypedPlan {
            function,
            keep_input,
            output,
            result_path: self.result_path.clone(),
            arguments: self.arguments.clone(),
            assign_result: self.assign_result,
            assignments: self.assignments,
        };
        let mut state = TaskState {
            comment: self.comment,
            query_language: self.query_language,
            resource,
            timeout_seconds: self.timeout_seconds.map(Into::into),
            heartbeat_seconds: self.heartbeat_seconds.map(Into::into),
            retry,
            catch,
            ..Default::default()
        };
        let language = self.query_language.unwrap_or(QueryLanguage::JSONPath);
        plan.apply(&mut state, language);
        let result_schema = plan.result_schema(language);
        let mut meta = Meta {
            problems,
            ..Default::default()
        };
        for (variable, declared) in variables {
            meta.declare_variable(&self.name, variable, declared);
        }
        if self.arguments.is_some() {
            meta.declared_arguments
                .insert(self.name.clone(), Declared::of::<S::Input>());
        }
        (self.name, State::Task(state), result_schema, plan, meta)
    }
}

/// How a typed step's Task state is written, in either query language (the language is known
/// only when the whole workflow is built: a Parallel branch is built before its state joins
/// the workflow).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypedPlan {
    /// `FunctionName` of a `lambda:invoke` step; `None` for a direct resource.
    function: Option<String>,
    keep_input: bool,
    /// Schema of the step's output.
    output: Value,
    /// Where a merge puts the output (`$.a.b`).
    result_path: Option<String>,
    arguments: Option<Value>,
    assign_result: Vec<String>,
    assignments: Vec<Assignment>,
}

impl TypedPlan {
    /// True when the step is a `lambda:invoke` (its input is the `Payload` argument).
    pub(crate) fn invokes_lambda(&self, language: QueryLanguage) -> bool {
        self.function.is_some() && !self.invokes_by_arn(language)
    }

    /// A JSONPath merge invokes the function by its ARN, whose result is the output itself.
    fn invokes_by_arn(&self, language: QueryLanguage) -> bool {
        language == QueryLanguage::JSONPath && self.result_path.is_some()
    }

    /// The schema of the Task's raw result in `language`.
    pub(crate) fn result_schema(&self, language: QueryLanguage) -> Value {
        if self.invokes_lambda(language) {
            json!({
                "type": "object",
                "properties": {
                    "Payload": self.output,
                    "StatusCode": { "type": "integer" },
                    "ExecutedVersion": { "type": "string" },
                    "SdkHttpMetadata": true,
                    "SdkResponseMetadata": true,
                },
            })
        } else {
            self.output.clone()
        }
    }

    /// Writes the data-flow fields of `state` for `language`.
    pub(crate) fn apply(&self, state: &mut TaskState, language: QueryLanguage) {
        state.parameters = None;
        state.arguments = None;
        state.output_path = None;
        state.result_path = None;
        state.output = None;
        state.assign = None;
        let mut assign = serde_json::Map::new();
        match language {
            QueryLanguage::JSONPath if self.invokes_by_arn(language) => {
                // The function's ARN as the resource: its result is its output, placed at
                // the ResultPath (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>).
                if let Some(function) = &self.function {
                    state.resource = function.clone();
                }
                state.parameters = self.arguments.clone();
                state.result_path = Some(self.result_path.clone());
                for name in &self.assign_result {
                    assign.insert(format!("{name}.$"), json!("$"));
                }
            }
            QueryLanguage::JSONPath => {
                let payload = self.arguments.clone();
                if self.function.is_some() {
                    state.resource = "arn:aws:states:::lambda:invoke".to_owned();
                }
                match &self.function {
                    Some(function) => {
                        state.parameters = Some(match payload {
                            Some(payload) => {
                                json!({ "FunctionName": function, "Payload": payload })
                            }
                            None => json!({ "FunctionName": function, "Payload.$": "$" }),
                        });
                        if !self.keep_input {
                            state.output_path = Some(Some("$.Payload".to_owned()));
                        }
                    }
                    None => state.parameters = payload,
                }
                if self.keep_input {
                    state.result_path = Some(None);
                }
                // In a JSONPath Task's Assign, `$` is the task's result.
                let result = if self.function.is_some() {
                    "$.Payload"
                } else {
                    "$"
                };
                for name in &self.assign_result {
                    assign.insert(format!("{name}.$"), json!(result));
                }
            }
            QueryLanguage::JSONata => {
                if self.function.is_some() {
                    state.resource = "arn:aws:states:::lambda:invoke".to_owned();
                }
                let payload = self
                    .arguments
                    .clone()
                    .unwrap_or_else(|| json!("{% $states.input %}"));
                state.arguments = Some(match &self.function {
                    Some(function) => json!({ "FunctionName": function, "Payload": payload }),
                    None => payload,
                });
                let result = if self.function.is_some() {
                    "{% $states.result.Payload %}"
                } else {
                    "{% $states.result %}"
                };
                if self.keep_input {
                    state.output = Some(json!("{% $states.input %}"));
                } else if let Some(path) = &self.result_path {
                    let inner = &result[2..result.len() - 2];
                    state.output = Some(json!(format!(
                        "{{% {} %}}",
                        merge_expression(path, inner.trim())
                    )));
                } else if self.function.is_some() {
                    state.output = Some(json!(result));
                }
                for name in &self.assign_result {
                    assign.insert(name.clone(), json!(result));
                }
            }
        }
        for assignment in &self.assignments {
            assign.insert(assignment.key.clone(), assignment.value.clone());
        }
        if !assign.is_empty() {
            state.assign = Some(Value::Object(assign));
        }
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
    assignments: Vec<Assignment>,
    /// The integration's resource without the callback suffix, when it supports
    /// `.waitForTaskToken`.
    callback_resource: Option<String>,
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
            assignments: Vec::new(),
            callback_resource: integration
                .supports(IntegrationPattern::WaitForTaskToken)
                .then(|| {
                    integration
                        .clone()
                        .pattern(IntegrationPattern::WaitForTaskToken)
                        .resource()
                }),
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
            assignments: Vec::new(),
            callback_resource: None,
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

    /// `Arguments` (JSONata states; replaces the integration's `Parameters`): the request, with
    /// `{% %}` expressions.
    pub fn arguments(mut self, arguments: Value) -> Self {
        self.state.parameters = None;
        self.state.arguments = Some(arguments);
        self
    }

    /// `Output` (JSONata states): the state's output, computed from `$states.result`,
    /// `$states.input` and variables. Without it the output is the result.
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state.output = Some(output.into());
        self
    }

    /// Assigns `value` (a literal or a JSONata template; `$states.result` is the task's
    /// result) to `var` when the task succeeds. Checked at emit against `T`.
    pub fn assign<T: JsonSchema>(mut self, var: &Var<T>, value: impl Into<Value>) -> Self {
        self.assignments
            .push(Assignment::of(var, value.into(), false));
        self
    }

    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
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

    /// Turns the Task into a callback (`.waitForTaskToken`) whose result is `R`, what
    /// `SendTaskSuccess` sends (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html>).
    pub(super) fn into_callback<R: JsonSchema>(mut self) -> Self {
        if self.state.resource.ends_with(".waitForTaskToken") {
            // Already a callback resource (an ARN given to `Task::resource`).
        } else if let Some(resource) = self.callback_resource.take() {
            self.state.resource = resource;
        } else {
            self.problems.push(format!(
                "State '{}': {} does not support the .waitForTaskToken pattern, so it cannot \
                 wait for a callback",
                self.name, self.state.resource
            ));
        }
        self.result_schema = schema::of::<R>();
        self
    }

    pub(super) fn into_state(mut self) -> (String, State, Value, Meta) {
        let mut meta = Meta::default();
        declare(
            &mut meta,
            &self.name,
            &self.assignments,
            &self.handling.variables,
        );
        let (retry, catch, problems) = self.handling.finish(&self.name);
        self.state.retry = retry;
        self.state.catch = catch;
        write_assign(&mut self.state.assign, &self.assignments);
        meta.problems.extend(self.problems);
        meta.problems.extend(problems);
        (self.name, State::Task(self.state), self.result_schema, meta)
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
    assignments: Vec<Assignment>,
}

impl Pass {
    /// A `Pass` state named `name`, with no fields set.
    pub fn new(name: &str) -> Self {
        Pass {
            name: name.to_owned(),
            state: PassState::default(),
            assignments: Vec::new(),
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
    /// `Output` (JSONata states): the state's output, e.g.
    /// `{"id": "{% $states.input.orderId %}", "total": "{% $total %}"}`. Without it the
    /// output is the input.
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state.output = Some(output.into());
        self
    }
    /// Assigns `value` (a literal, or a JSONata template over `$states.input`) to `var`.
    /// Checked at emit against `T`.
    pub fn assign<T: JsonSchema>(mut self, var: &Var<T>, value: impl Into<Value>) -> Self {
        self.assignments
            .push(Assignment::of(var, value.into(), false));
        self
    }
    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
        self
    }
    pub(super) fn into_state(mut self) -> (String, State, Meta) {
        let mut meta = Meta::default();
        declare(&mut meta, &self.name, &self.assignments, &[]);
        write_assign(&mut self.state.assign, &self.assignments);
        (self.name, State::Pass(self.state), meta)
    }
}

/// A Wait state.
#[must_use]
pub struct Wait {
    name: String,
    state: WaitState,
    assignments: Vec<Assignment>,
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
    /// Waits the number of seconds a JSONata expression gives (JSONata states), e.g.
    /// `"{% $states.input.delaySeconds %}"`.
    pub fn seconds_expr(name: &str, expression: &str) -> Self {
        Wait::with(
            name,
            WaitState {
                seconds: Some(crate::model::NumberOrExpr::Expr(expression.to_owned())),
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
            assignments: Vec::new(),
        }
    }
    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }
    /// `Output` (JSONata states).
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state.output = Some(output.into());
        self
    }
    /// Assigns `value` to `var` (checked at emit against `T`).
    pub fn assign<T: JsonSchema>(mut self, var: &Var<T>, value: impl Into<Value>) -> Self {
        self.assignments
            .push(Assignment::of(var, value.into(), false));
        self
    }
    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
        self
    }
    pub(super) fn into_state(mut self) -> (String, State, Meta) {
        let mut meta = Meta::default();
        declare(&mut meta, &self.name, &self.assignments, &[]);
        write_assign(&mut self.state.assign, &self.assignments);
        (self.name, State::Wait(self.state), meta)
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
    /// `Error` as a JSONata expression (JSONata states), e.g.
    /// `"{% $states.input.errorName %}"`.
    pub fn error_expr(mut self, expression: &str) -> Self {
        self.state.error = Some(expression.to_owned());
        self
    }
    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
        self
    }
    /// `Cause` (in a JSONata state it may be an expression `{% ... %}`).
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

    pub(super) fn has_result_path(&self) -> bool {
        self.state.result_path.is_some()
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
    /// `Arguments` (JSONata states): the input of every branch.
    pub fn arguments(mut self, arguments: Value) -> Self {
        self.state.arguments = Some(arguments);
        self
    }
    /// `Output` (JSONata states), over `$states.result` (the array of branch outputs).
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state.output = Some(output.into());
        self
    }
    /// Assigns `value` to `var` when every branch succeeded (checked at emit against `V`).
    pub fn assign<V: JsonSchema>(mut self, var: &Var<V>, value: impl Into<Value>) -> Self {
        let assignment = Assignment::of(var, value.into(), false);
        self.meta.declare_variable(
            &self.name,
            assignment.name.clone(),
            assignment.declared.clone(),
        );
        write_assign(&mut self.state.assign, &[assignment]);
        self
    }
    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
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
        let catchers = std::mem::take(&mut self.handling.variables);
        declare(&mut self.meta, &self.name, &[], &catchers);
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
    assignments: Vec<Assignment>,
}

impl Map {
    /// A `Map` state named `name`, with no fields set.
    pub fn new(name: &str) -> Self {
        Map {
            name: name.to_owned(),
            state: MapState::default(),
            handling: Handling::default(),
            assignments: Vec::new(),
        }
    }
    pub(super) fn name(&self) -> &str {
        &self.name
    }
    /// `ItemsPath`: the array to iterate over.
    pub fn items_path(mut self, path: &str) -> Self {
        self.state.items_path = Some(path.to_owned());
        self
    }
    /// `Items` (JSONata states): the array to iterate over, e.g. `"{% $states.input.lines %}"`.
    pub fn items(mut self, items: impl Into<Value>) -> Self {
        self.state.items = Some(items.into());
        self
    }
    /// `Output` (JSONata states), over `$states.result` (the array of iteration outputs).
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state.output = Some(output.into());
        self
    }
    /// Assigns `value` to `var` when every iteration succeeded (checked at emit against `T`).
    pub fn assign<T: JsonSchema>(mut self, var: &Var<T>, value: impl Into<Value>) -> Self {
        self.assignments
            .push(Assignment::of(var, value.into(), false));
        self
    }
    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
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
    /// `MaxConcurrency` as a JSONata expression (JSONata states), e.g. `"{% $limit %}"`.
    pub fn max_concurrency_expr(mut self, expression: &str) -> Self {
        self.state.max_concurrency = Some(crate::model::NumberOrExpr::Expr(expression.to_owned()));
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
        let mut meta = std::mem::take(&mut processor.meta);
        declare(
            &mut meta,
            &self.name,
            &self.assignments,
            &self.handling.variables,
        );
        write_assign(&mut self.state.assign, &self.assignments);
        let (retry, catch, problems) = self.handling.finish(&self.name);
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

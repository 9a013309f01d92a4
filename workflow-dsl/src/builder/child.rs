//! Child workflows: a Task starting another typed workflow of the project and waiting for it
//! (`arn:aws:states:::states:startExecution.sync:2`, or `.sync`), whose input is the child's
//! input type and whose output is the child's output
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html>).
//!
//! `.sync:2` returns the child's `Output` as JSON, `.sync` as a string: the builder selects
//! `Output` (parsing it for `.sync`), so either way the next state receives the child's output.

use std::marker::PhantomData;

use serde_json::{json, Value};

use super::states::{declare, Handling};
use super::Meta;
use crate::model::{QueryLanguage, State, TaskState};
use crate::schema::{self, Declared};
use crate::typed::{AnyError, Catch, Retry, TypedWorkflow};

/// A Task starting the typed workflow `W` as a child execution and waiting for its output.
/// Created with [`child`]; appended with [`super::Flow::then_child`].
#[must_use]
pub struct ChildTask<W: TypedWorkflow> {
    name: String,
    plan: ChildPlan,
    state: TaskState,
    handling: Handling,
    _workflow: PhantomData<fn() -> W>,
}

/// A Task called `name` that starts `W` and waits for it (`.sync:2`).
pub fn child<W: TypedWorkflow>(name: &str) -> ChildTask<W> {
    ChildTask {
        name: name.to_owned(),
        plan: ChildPlan {
            state_machine: W::state_machine_arn(),
            string_output: false,
            associate_with_parent: false,
            output: schema::of::<W::Output>(),
        },
        state: TaskState::default(),
        handling: Handling::default(),
        _workflow: PhantomData,
    }
}

impl<W: TypedWorkflow> ChildTask<W> {
    /// Uses `.sync` (the child's output comes back as a string, which the builder parses)
    /// instead of `.sync:2`.
    pub fn string_output(mut self) -> Self {
        self.plan.string_output = true;
        self
    }

    /// Passes `AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID` in the child's input, which links
    /// the two executions in the console (JSONata states only: a JSONPath `Input` cannot merge
    /// a field into the whole state input).
    pub fn associate_with_parent(mut self) -> Self {
        self.plan.associate_with_parent = true;
        self
    }

    /// `TimeoutSeconds` of the Task (how long the parent waits for the child).
    pub fn timeout_seconds(mut self, seconds: u64) -> Self {
        self.state.timeout_seconds = Some(seconds.into());
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

    /// Adds a retrier (e.g. on `StepFunctions.ExecutionLimitExceeded`, as AWS recommends for
    /// nested workflows).
    pub fn retry(mut self, retry: Retry<AnyError>) -> Self {
        self.handling.retry(retry);
        self
    }

    /// Adds a catcher going to `next` (a failed child fails the Task with its error).
    pub fn catch(mut self, catch: Catch<AnyError>, next: &str) -> Self {
        self.handling.catch(catch, next);
        self
    }

    pub(super) fn into_state(mut self) -> (String, State, Value, ChildPlan, Meta) {
        let mut meta = Meta::default();
        declare(&mut meta, &self.name, &[], &self.handling.variables);
        let (retry, catch, problems) = self.handling.finish(&self.name);
        meta.problems.extend(problems);
        self.state.retry = retry;
        self.state.catch = catch;
        let language = self.state.query_language.unwrap_or(QueryLanguage::JSONPath);
        self.plan.apply(&mut self.state, language);
        let result = self.plan.result_schema();
        (self.name, State::Task(self.state), result, self.plan, meta)
    }
}

/// How a child-workflow Task is written, in either query language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChildPlan {
    state_machine: String,
    string_output: bool,
    associate_with_parent: bool,
    /// Schema of the child's output.
    output: Value,
}

impl ChildPlan {
    /// The raw result: DescribeExecution's fields, `Output` as JSON (`.sync:2`) or a string.
    pub(crate) fn result_schema(&self) -> Value {
        let output = if self.string_output {
            json!({ "type": "string" })
        } else {
            self.output.clone()
        };
        json!({
            "type": "object",
            "properties": {
                "ExecutionArn": { "type": "string" },
                "StateMachineArn": { "type": "string" },
                "Name": { "type": "string" },
                "Status": { "type": "string" },
                "StartDate": true,
                "StopDate": true,
                "Input": true,
                "InputDetails": true,
                "Output": output,
                "OutputDetails": true,
            },
            "required": ["Output"],
        })
    }

    /// A problem to report for `language`, if any.
    pub(crate) fn problem(&self, name: &str, language: QueryLanguage) -> Option<String> {
        (self.associate_with_parent && language == QueryLanguage::JSONPath).then(|| {
            format!(
                "State '{name}': associate_with_parent needs a JSONata state (a JSONPath Input \
                 cannot add AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID to the whole state input)"
            )
        })
    }

    /// Writes the data-flow fields of `state` for `language`.
    pub(crate) fn apply(&self, state: &mut TaskState, language: QueryLanguage) {
        state.resource = format!(
            "arn:aws:states:::states:startExecution.{}",
            if self.string_output { "sync" } else { "sync:2" }
        );
        state.parameters = None;
        state.arguments = None;
        state.result_selector = None;
        state.output_path = None;
        state.output = None;
        match language {
            QueryLanguage::JSONPath => {
                state.parameters = Some(json!({
                    "StateMachineArn": self.state_machine,
                    "Input.$": "$",
                }));
                if self.string_output {
                    state.result_selector =
                        Some(json!({ "Output.$": "States.StringToJson($.Output)" }));
                }
                state.output_path = Some(Some("$.Output".to_owned()));
            }
            QueryLanguage::JSONata => {
                let input = if self.associate_with_parent {
                    "{% $merge([$states.input, {'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID': \
                     $states.context.Execution.Id}]) %}"
                } else {
                    "{% $states.input %}"
                };
                state.arguments = Some(json!({
                    "StateMachineArn": self.state_machine,
                    "Input": input,
                }));
                state.output = Some(json!(if self.string_output {
                    "{% $parse($states.result.Output) %}"
                } else {
                    "{% $states.result.Output %}"
                }));
            }
        }
    }
}

/// The declared output of a child Task: the child workflow's output type.
pub(super) fn declared_output<W: TypedWorkflow>() -> Declared {
    Declared::of::<W::Output>()
}

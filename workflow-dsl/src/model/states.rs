//! The eight state types of ASL and the objects they hold (Retry, Catch, ItemReader, ...).

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::serde_util::{nullable, present};
use super::{ChoiceRule, Extra, QueryLanguage, SubWorkflow};

/// A JSON number, or a JSONata `{% ... %}` expression string (fields such as `TimeoutSeconds`,
/// `Seconds`, `MaxConcurrency` accept either, depending on the query language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumberOrExpr {
    /// A literal JSON number.
    Number(Number),
    /// A JSONata `{% ... %}` expression that evaluates to the number.
    Expr(String),
}

impl NumberOrExpr {
    /// The number as a `u64`, or `None` for an expression or a number that is not a non-negative
    /// integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            NumberOrExpr::Number(n) => n.as_u64(),
            NumberOrExpr::Expr(_) => None,
        }
    }
    /// The number as an `f64`, or `None` for an expression.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            NumberOrExpr::Number(n) => n.as_f64(),
            NumberOrExpr::Expr(_) => None,
        }
    }
}

impl From<u64> for NumberOrExpr {
    fn from(value: u64) -> Self {
        NumberOrExpr::Number(value.into())
    }
}

/// One state. The `Type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Type")]
// A definition holds few states and is built once; boxing the large variants would only make
// pattern matching noisier for users of the model.
#[allow(clippy::large_enum_variant)]
pub enum State {
    /// A `Pass` state: passes its input, or a fixed `Result`, to its output.
    Pass(PassState),
    /// A `Task` state: runs the work named by its `Resource`.
    Task(TaskState),
    /// A `Choice` state: moves to the `Next` of the first rule that matches, or to `Default`.
    Choice(ChoiceState),
    /// A `Wait` state: pauses for some seconds or until a timestamp.
    Wait(WaitState),
    /// A `Succeed` state: ends its workflow (or branch or Map iteration) successfully.
    Succeed(SucceedState),
    /// A `Fail` state: stops the execution as failed, with an `Error` and a `Cause`.
    Fail(FailState),
    /// A `Parallel` state: runs its `Branches` concurrently on the same input.
    Parallel(ParallelState),
    /// A `Map` state: runs its item processor for each item of an array.
    Map(MapState),
}

/// How a state continues: `Next` or `End`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition<'a> {
    /// `Next`: the name of the state to move to.
    Next(&'a str),
    /// `End: true`: the state ends its workflow.
    End,
    /// Neither `Next` nor `End: true` (invalid for states that must transition).
    Missing,
}

/// `Retry` entry (retrier) of a Task, Parallel or Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    /// `Comment`: a human-readable description of the retrier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `ErrorEquals`: the error names this retrier matches (`States.ALL` matches any).
    pub error_equals: Vec<String>,
    /// `IntervalSeconds`: the seconds to wait before the first retry (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<Number>,
    /// `MaxAttempts`: the maximum number of retries (default 3; `0` never retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<Number>,
    /// `BackoffRate`: the multiplier applied to the retry interval after each attempt (default
    /// 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_rate: Option<Number>,
    /// `MaxDelaySeconds`: the upper limit, in seconds, of the interval between retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<Number>,
    /// `JitterStrategy`: whether retry intervals are randomised (`FULL`) or not (`NONE`, the
    /// default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<JitterStrategy>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `JitterStrategy` of a retrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    /// `FULL`: each retry waits a random time between 0 and the computed interval.
    Full,
    /// `NONE`: each retry waits the computed interval.
    None,
}

/// `Catch` entry (catcher) of a Task, Parallel or Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    /// `Comment`: a human-readable description of the catcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `ErrorEquals`: the error names this catcher matches (`States.ALL` matches any).
    pub error_equals: Vec<String>,
    /// `Next`: the state to move to when this catcher matches.
    pub next: String,
    /// `ResultPath` (JSONPath): where in the state input the error output (`Error`, `Cause`) is
    /// placed; `Some(None)` is an explicit `null`, which passes the state input on unchanged.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// `Assign`: workflow variables set when this catcher matches.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Output` (JSONata): the output passed to the `Next` state when this catcher matches.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Pass` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PassState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `Parameters` (JSONPath): a payload template that builds the state's effective input.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// `Result`: a fixed value used as the state's result instead of its input.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result: Option<Value>,
    /// `ResultPath` (JSONPath): where in the state input the result is placed to form the output;
    /// `Some(None)` is an explicit `null`, which discards the result and passes the input on.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// `Assign`: workflow variables this state sets, as variable names mapped to values (which may
    /// use paths or `{% ... %}` expressions).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Next`: the name of the state to run next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `End`: when `true`, this state ends its workflow (or its branch or Map iteration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Task` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct TaskState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `Resource`: the URI, usually an ARN, of the work to run: a Lambda function, an activity or a
    /// service integration such as `arn:aws:states:::lambda:invoke`.
    pub resource: String,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `Parameters` (JSONPath): a payload template that builds the request passed to the resource.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// `Arguments` (JSONata): the request passed to the resource, a JSON value that may contain
    /// `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// `Credentials`: the IAM role (`RoleArn`) Step Functions assumes to run the task, e.g. in
    /// another account.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub credentials: Option<Value>,
    /// `ResultSelector` (JSONPath): a payload template that reshapes the task result before
    /// `ResultPath` applies.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// `ResultPath` (JSONPath): where in the state input the result is placed to form the output;
    /// `Some(None)` is an explicit `null`, which discards the result and passes the input on.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// `Assign`: workflow variables this state sets, as variable names mapped to values (which may
    /// use paths or `{% ... %}` expressions).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `TimeoutSeconds`: how long the Task may run before it fails with `States.Timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<NumberOrExpr>,
    /// `TimeoutSecondsPath` (JSONPath): a reference path to the timeout, in seconds, in the state
    /// input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds_path: Option<String>,
    /// `HeartbeatSeconds`: the longest the task may go without sending a heartbeat before it fails
    /// with `States.HeartbeatTimeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<NumberOrExpr>,
    /// `HeartbeatSecondsPath` (JSONPath): a reference path to the heartbeat interval, in seconds,
    /// in the state input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds_path: Option<String>,
    /// `Retry`: retriers, tried in order, that run the state again after a matching error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// `Catch`: catchers, tried in order once retries are exhausted, that move to a fallback state
    /// after a matching error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next`: the name of the state to run next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `End`: when `true`, this state ends its workflow (or its branch or Map iteration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Choice` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `Choices`: the rules, evaluated in order; the first that matches picks the next state.
    pub choices: Vec<ChoiceRule>,
    /// `Default`: the state to move to when no rule matches (without it the state fails with
    /// `States.NoChoiceMatched`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// `Assign`: workflow variables this state sets, as variable names mapped to values (which may
    /// use paths or `{% ... %}` expressions).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Wait` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct WaitState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `Seconds`: how many seconds to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<NumberOrExpr>,
    /// `SecondsPath` (JSONPath): a reference path to the number of seconds to wait, in the state
    /// input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_path: Option<String>,
    /// `Timestamp`: the time to wait until, an RFC 3339 timestamp (or a JSONata expression giving
    /// one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// `TimestampPath` (JSONPath): a reference path to the timestamp to wait until, in the state
    /// input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<String>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// `Assign`: workflow variables this state sets, as variable names mapped to values (which may
    /// use paths or `{% ... %}` expressions).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Next`: the name of the state to run next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `End`: when `true`, this state ends its workflow (or its branch or Map iteration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Succeed` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SucceedState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Fail` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct FailState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `Error`: the error name the state fails with (or a JSONata expression giving it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `ErrorPath` (JSONPath): a reference path or intrinsic function giving the error name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    /// `Cause`: a human-readable description of the failure (or a JSONata expression giving it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// `CausePath` (JSONPath): a reference path or intrinsic function giving the cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Parallel` state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ParallelState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `Branches`: the workflows run concurrently on the state's effective input; the result is the
    /// array of their outputs, in order.
    pub branches: Vec<SubWorkflow>,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `Parameters` (JSONPath): a payload template that builds the input of every branch.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// `Arguments` (JSONata): the input of every branch, a JSON value that may contain `{% ... %}`
    /// expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// `ResultSelector` (JSONPath): a payload template that reshapes the array of branch outputs
    /// before `ResultPath` applies.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// `ResultPath` (JSONPath): where in the state input the result is placed to form the output;
    /// `Some(None)` is an explicit `null`, which discards the result and passes the input on.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// `Assign`: workflow variables this state sets, as variable names mapped to values (which may
    /// use paths or `{% ... %}` expressions).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Retry`: retriers, tried in order, that run the state again after a matching error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// `Catch`: catchers, tried in order once retries are exhausted, that move to a fallback state
    /// after a matching error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next`: the name of the state to run next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `End`: when `true`, this state ends its workflow (or its branch or Map iteration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `Map` state (inline or distributed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct MapState {
    /// `Comment`: a human-readable description of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `QueryLanguage`: the query language of this state (`JSONPath` or `JSONata`), overriding the
    /// state machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    /// `InputPath` (JSONPath): selects the part of the state input the state works on; `Some(None)`
    /// is an explicit `null`, which gives the state `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// `ItemsPath` (JSONPath): a reference path to the array to iterate over, in the effective
    /// input (default `$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// JSONata: an array or an expression producing one.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub items: Option<Value>,
    /// `ItemReader` (Distributed mode): reads the items from a source such as Amazon S3 instead of
    /// the state input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_reader: Option<ItemReader>,
    /// `ItemSelector`: a template that builds the input of each iteration from the item and the
    /// state input.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_selector: Option<Value>,
    /// Legacy name of `ItemSelector`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// `ItemBatcher` (Distributed mode): groups the items into batches, one batch per child
    /// workflow execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_batcher: Option<ItemBatcher>,
    /// `ItemProcessor`: the workflow run for each item, with its `ProcessorConfig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<SubWorkflow>,
    /// Legacy name of `ItemProcessor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterator: Option<SubWorkflow>,
    /// `ResultWriter` (Distributed mode): formats the child workflow results and can export them to
    /// Amazon S3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_writer: Option<ResultWriter>,
    /// `MaxConcurrency`: the most iterations that may run at the same time (`0` means no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<NumberOrExpr>,
    /// `MaxConcurrencyPath` (JSONPath): a reference path to `MaxConcurrency` in the state input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency_path: Option<String>,
    /// `ToleratedFailureCount`: how many items may fail before the state fails with
    /// `States.ExceedToleratedFailureThreshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<NumberOrExpr>,
    /// `ToleratedFailureCountPath` (JSONPath): a reference path to `ToleratedFailureCount` in the
    /// state input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count_path: Option<String>,
    /// `ToleratedFailurePercentage`: the percentage of items that may fail before the state fails
    /// with `States.ExceedToleratedFailureThreshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<NumberOrExpr>,
    /// `ToleratedFailurePercentagePath` (JSONPath): a reference path to
    /// `ToleratedFailurePercentage` in the state input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage_path: Option<String>,
    /// `Label` (Distributed mode): a name for the Map state that Step Functions adds to the ARN of
    /// each Map Run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `ResultSelector` (JSONPath): a payload template that reshapes the array of iteration results
    /// before `ResultPath` applies.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// `ResultPath` (JSONPath): where in the state input the result is placed to form the output;
    /// `Some(None)` is an explicit `null`, which discards the result and passes the input on.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// `OutputPath` (JSONPath): selects the part of the state output passed on to the next state;
    /// `Some(None)` is an explicit `null`, which passes on `{}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// `Output` (JSONata): the state output, a JSON value that may contain `{% ... %}` expressions.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// `Assign`: workflow variables this state sets, as variable names mapped to values (which may
    /// use paths or `{% ... %}` expressions).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
    /// `Retry`: retriers, tried in order, that run the state again after a matching error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    /// `Catch`: catchers, tried in order once retries are exhausted, that move to a fallback state
    /// after a matching error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    /// `Next`: the name of the state to run next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// `End`: when `true`, this state ends its workflow (or its branch or Map iteration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ItemReader` of a distributed Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ItemReader {
    /// `Resource`: the Amazon S3 API action that reads the items, e.g.
    /// `arn:aws:states:::s3:getObject` or `arn:aws:states:::s3:listObjectsV2`.
    pub resource: String,
    /// `ReaderConfig`: how to read the source, e.g. its `InputType` (`CSV`, `JSON`, `JSONL`,
    /// `MANIFEST`, ...), `CSVHeaderLocation` or `MaxItems`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reader_config: Option<Value>,
    /// `Parameters` (JSONPath): the request of the S3 API action, such as `Bucket` and `Key` or
    /// `Prefix`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// `Arguments` (JSONata): the request of the S3 API action, such as `Bucket` and `Key` or
    /// `Prefix`.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ItemBatcher` of a distributed Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch`: the most items in one batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items_per_batch: Option<NumberOrExpr>,
    /// `MaxItemsPerBatchPath` (JSONPath): a reference path to `MaxItemsPerBatch` in the state
    /// input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items_per_batch_path: Option<String>,
    /// `MaxInputBytesPerBatch`: the largest size of one batch, in bytes (at most 256 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_bytes_per_batch: Option<NumberOrExpr>,
    /// `MaxInputBytesPerBatchPath` (JSONPath): a reference path to `MaxInputBytesPerBatch` in the
    /// state input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_bytes_per_batch_path: Option<String>,
    /// `BatchInput`: fixed JSON included, under the `BatchInput` key, in the input of every batch.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub batch_input: Option<Value>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `ResultWriter` of a distributed Map state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ResultWriter {
    /// `Resource`: the Amazon S3 API action that exports the results
    /// (`arn:aws:states:::s3:putObject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `Parameters` (JSONPath): the Amazon S3 `Bucket` and `Prefix` the results are exported to.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// `Arguments` (JSONata): the Amazon S3 `Bucket` and `Prefix` the results are exported to.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// `WriterConfig`: how the results are formatted (`OutputType`, `Transformation`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub writer_config: Option<Value>,
    /// Keys the model does not recognise here, kept verbatim so the document round-trips and the
    /// validator can name them.
    #[serde(flatten)]
    pub extra: Extra,
}

impl State {
    /// Every ASL state `Type`, each the [`State::type_name`] of its variant.
    ///
    /// ```
    /// use workflow_dsl::model::State;
    ///
    /// assert!(State::TYPE_NAMES.contains(&"Parallel"));
    /// assert!(!State::TYPE_NAMES.contains(&"Loop"));
    /// ```
    pub const TYPE_NAMES: [&'static str; 8] = [
        "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
    ];

    /// The ASL `Type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            State::Pass(_) => "Pass",
            State::Task(_) => "Task",
            State::Choice(_) => "Choice",
            State::Wait(_) => "Wait",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
            State::Parallel(_) => "Parallel",
            State::Map(_) => "Map",
        }
    }

    /// The state's `Comment`, if it has one.
    pub fn comment(&self) -> Option<&str> {
        match self {
            State::Pass(s) => s.comment.as_deref(),
            State::Task(s) => s.comment.as_deref(),
            State::Choice(s) => s.comment.as_deref(),
            State::Wait(s) => s.comment.as_deref(),
            State::Succeed(s) => s.comment.as_deref(),
            State::Fail(s) => s.comment.as_deref(),
            State::Parallel(s) => s.comment.as_deref(),
            State::Map(s) => s.comment.as_deref(),
        }
    }

    /// The state's own `QueryLanguage`, if it sets one.
    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            State::Pass(s) => s.query_language,
            State::Task(s) => s.query_language,
            State::Choice(s) => s.query_language,
            State::Wait(s) => s.query_language,
            State::Succeed(s) => s.query_language,
            State::Fail(s) => s.query_language,
            State::Parallel(s) => s.query_language,
            State::Map(s) => s.query_language,
        }
    }

    /// `Next`/`End` of states that transition (Choice, Succeed and Fail report `Missing`).
    pub fn transition(&self) -> Transition<'_> {
        let (next, end) = match self {
            State::Pass(s) => (&s.next, s.end),
            State::Task(s) => (&s.next, s.end),
            State::Wait(s) => (&s.next, s.end),
            State::Parallel(s) => (&s.next, s.end),
            State::Map(s) => (&s.next, s.end),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => return Transition::Missing,
        };
        match (next, end) {
            (Some(next), _) => Transition::Next(next),
            (None, Some(true)) => Transition::End,
            _ => Transition::Missing,
        }
    }

    /// `Next` and `End` as written (both may be set in an invalid document).
    pub fn next_and_end(&self) -> (Option<&str>, Option<bool>) {
        match self {
            State::Pass(s) => (s.next.as_deref(), s.end),
            State::Task(s) => (s.next.as_deref(), s.end),
            State::Wait(s) => (s.next.as_deref(), s.end),
            State::Parallel(s) => (s.next.as_deref(), s.end),
            State::Map(s) => (s.next.as_deref(), s.end),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => (None, None),
        }
    }

    /// Every state name this state can move to: Next, Choice targets and Default, Catch targets.
    pub fn successors(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let (Some(next), _) = self.next_and_end() {
            out.push(next);
        }
        match self {
            State::Choice(c) => {
                out.extend(c.choices.iter().filter_map(|r| r.next.as_deref()));
                out.extend(c.default.as_deref());
            }
            State::Task(_) | State::Parallel(_) | State::Map(_) => {
                out.extend(self.catchers().iter().map(|c| c.next.as_str()));
            }
            _ => {}
        }
        out
    }

    /// The state's `Retry` list (empty for state types without one).
    pub fn retriers(&self) -> &[Retrier] {
        match self {
            State::Task(s) => &s.retry,
            State::Parallel(s) => &s.retry,
            State::Map(s) => &s.retry,
            _ => &[],
        }
    }

    /// The state's `Catch` list (empty for state types without one).
    pub fn catchers(&self) -> &[Catcher] {
        match self {
            State::Task(s) => &s.catch,
            State::Parallel(s) => &s.catch,
            State::Map(s) => &s.catch,
            _ => &[],
        }
    }

    /// Nested workflows: Parallel branches, or the Map's ItemProcessor/Iterator.
    pub fn sub_workflows(&self) -> Vec<&SubWorkflow> {
        match self {
            State::Parallel(p) => p.branches.iter().collect(),
            State::Map(m) => m.item_processor.iter().chain(m.iterator.iter()).collect(),
            _ => Vec::new(),
        }
    }

    /// Keys this model did not recognise for the state's type.
    pub fn extra(&self) -> &Extra {
        match self {
            State::Pass(s) => &s.extra,
            State::Task(s) => &s.extra,
            State::Choice(s) => &s.extra,
            State::Wait(s) => &s.extra,
            State::Succeed(s) => &s.extra,
            State::Fail(s) => &s.extra,
            State::Parallel(s) => &s.extra,
            State::Map(s) => &s.extra,
        }
    }
}

//! Errors: the engine's own (`EngineError`) and the runtime errors a state raises, named as AWS names them.

use serde_json::Value;

/// Error names defined by Amazon States Language
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>), taken
/// from the one table of them, `workflow_dsl::typed::AslError`.
pub mod names {
    use workflow_dsl::typed::AslError;

    /// `States.ALL`: in `ErrorEquals`, matches every error name except `States.Runtime` and
    /// `States.DataLimitExceeded`.
    pub const ALL: &str = "States.ALL";
    /// `States.Runtime`: the execution hit an exception it could not process, e.g. a path into a
    /// field that does not exist.
    pub const RUNTIME: &str = AslError::Runtime.name();
    /// `States.Timeout`: a Task ran longer than `TimeoutSeconds` (or the execution longer than its
    /// `TimeoutSeconds`); in `ErrorEquals` it also matches `States.HeartbeatTimeout`.
    pub const TIMEOUT: &str = AslError::Timeout.name();
    /// `States.HeartbeatTimeout`: a Task sent no heartbeat for longer than `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = AslError::HeartbeatTimeout.name();
    /// `States.TaskFailed`: a Task failed; in `ErrorEquals`, matches every error except the
    /// timeouts, `States.Runtime` and `States.DataLimitExceeded`.
    pub const TASK_FAILED: &str = AslError::TaskFailed.name();
    /// `States.Permissions`: a Task failed because it lacked the privileges to run.
    pub const PERMISSIONS: &str = AslError::Permissions.name();
    /// `States.ResultPathMatchFailure`: the `ResultPath` could not be applied to the state input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = AslError::ResultPathMatchFailure.name();
    /// `States.ParameterPathFailure`: a path in a payload template (a field ending in `.$`) could
    /// not be resolved.
    pub const PARAMETER_PATH_FAILURE: &str = AslError::ParameterPathFailure.name();
    /// `States.IntrinsicFailure`: an intrinsic function in a payload template failed.
    pub const INTRINSIC_FAILURE: &str = AslError::IntrinsicFailure.name();
    /// `States.NoChoiceMatched`: a Choice state matched no rule and has no `Default`.
    pub const NO_CHOICE_MATCHED: &str = AslError::NoChoiceMatched.name();
    /// `States.BranchFailed`: a branch of a Parallel state failed.
    pub const BRANCH_FAILED: &str = AslError::BranchFailed.name();
    /// `States.ExceedToleratedFailureThreshold`: more Map items failed than `ToleratedFailureCount`
    /// or `ToleratedFailurePercentage` allows.
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str =
        AslError::ExceedToleratedFailureThreshold.name();
    /// `States.QueryEvaluationError`: a JSONata expression could not be evaluated.
    pub const QUERY_EVALUATION_ERROR: &str = AslError::QueryEvaluationError.name();
    /// `States.DataLimitExceeded`: a state's input, output or result exceeded the payload size
    /// quota.
    pub const DATA_LIMIT_EXCEEDED: &str = AslError::DataLimitExceeded.name();
}

/// Errors of the engine itself (as opposed to a failed execution, which is a normal result).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The state machine definition cannot be compiled (an unknown `Next`, an invalid path, ...).
    #[error("invalid state machine definition: {0}")]
    Definition(String),
    /// The mock configuration cannot be read or parsed, or lacks the requested test case or
    /// response.
    #[error("invalid mock configuration: {0}")]
    Mock(String),
    /// The tokio runtime of `Engine::execute_sync` could not be built.
    #[error("could not start a runtime for a synchronous execution: {0}")]
    Runtime(#[from] std::io::Error),
}

/// How an execution (or a state) failed: AWS's `error` and `cause`, either of which may be absent
/// (a `Fail` state without `Error`/`Cause`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error name, if any.
    pub error: Option<String>,
    /// The cause, if any.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure with both an `error` name and a `cause`.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    /// The error output a Catch hands on: `{"Error": ..., "Cause": ...}` (absent fields left out).
    pub fn to_error_output(&self) -> Value {
        let mut m = serde_json::Map::new();
        if let Some(e) = &self.error {
            m.insert("Error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), Value::String(c.clone()));
        }
        Value::Object(m)
    }
}

/// A runtime error raised while processing a state. `contextual` errors are the engine's own
/// (States.Runtime, States.QueryEvaluationError, ...): AWS prefixes their cause with the state name and
/// the id of its entered event.
#[derive(Debug, Clone)]
pub(crate) struct Thrown {
    pub failure: Failure,
    pub contextual: bool,
}

impl Thrown {
    pub fn runtime(error: &str, msg: impl Into<String>) -> Self {
        Thrown {
            failure: Failure::new(error, msg),
            contextual: true,
        }
    }
    pub fn plain(failure: Failure) -> Self {
        Thrown {
            failure,
            contextual: false,
        }
    }
    /// Adds AWS's "An error occurred while executing the state ..." prefix to a contextual error.
    pub fn into_failure(self, state: &str, entered_event: u64) -> Failure {
        if !self.contextual {
            return self.failure;
        }
        let cause = self.failure.cause.unwrap_or_default();
        Failure {
            error: self.failure.error,
            cause: Some(format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_event}). {cause}"
            )),
        }
    }
}

/// Compact JSON text as AWS prints values in messages and history events.
pub(crate) fn to_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

//! Request checks the operations share (names, ARNs) and the not-found errors they answer, with
//! AWS's codes and messages.

use serde_json::Value;

use super::protocol::ApiError;

/// What an operation answers: its response members, or AWS's error.
pub(super) type OpResult = Result<Value, ApiError>;

/// A name of a state machine or execution: 1-80 characters, none of AWS's forbidden ones
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html#StepFunctions-CreateStateMachine-request-name>).
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    crate::requests::check_name(name).map_err(ApiError::from)
}

/// Checks that `arn` is a Step Functions ARN of resource type `kind` (`stateMachine`,
/// `execution`/`express`) and returns it; otherwise InvalidArn as AWS answers.
pub(super) fn check_arn<'a>(arn: &'a str, kinds: &[&str]) -> Result<&'a str, ApiError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" {
        return Err(ApiError::new(
            "InvalidArn",
            format!("Invalid Arn: 'Invalid ARN prefix: {arn}'"),
        ));
    }
    if !kinds.contains(&parts[5]) {
        return Err(ApiError::new(
            "InvalidArn",
            format!(
                "Invalid Arn: 'Resource type not valid in this context: {}'",
                parts[5]
            ),
        ));
    }
    Ok(arn)
}

/// The resource types accepted by the execution operations AWS does not support for EXPRESS
/// state machines: StopExecution, GetExecutionHistory and RedriveExecution ("This API action is
/// not supported by EXPRESS state machines", their API references), DescribeExecution and
/// DescribeStateMachineForExecution unless a Map Run started the execution
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>).
/// An Express execution's ARN (`...:express:...`) gets InvalidArn, the answer to an ARN of a
/// resource type the operation does not take.
pub(super) const STANDARD_ONLY: &[&str] = &["execution"];

pub(super) fn machine_not_found(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

pub(super) fn execution_not_found(arn: &str) -> ApiError {
    ApiError::new(
        "ExecutionDoesNotExist",
        format!("Execution Does Not Exist: '{arn}'"),
    )
}

pub(super) fn resource_not_found(arn: &str) -> ApiError {
    ApiError::new("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

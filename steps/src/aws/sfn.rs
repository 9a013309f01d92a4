//! Step Functions adapter of the execution starter: StartExecution with the typed order message.

use async_trait::async_trait;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use aws_sdk_sfn::Client;
use shop_model::OrderMessage;

use crate::aws::errors::classify;
use crate::error::PortError;
use crate::ports::{ExecutionStarter, StartOutcome};

/// Starts executions of one state machine.
#[derive(Debug, Clone)]
pub struct SfnStarter {
    client: Client,
    state_machine_arn: String,
}

impl SfnStarter {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        SfnStarter {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

#[async_trait]
impl ExecutionStarter for SfnStarter {
    /// The input is serialized from the typed message, so the same message always gives the same
    /// input string: for a Standard workflow, StartExecution with the same name and input as a
    /// running execution succeeds without starting another; a closed execution or a different
    /// input gives `ExecutionAlreadyExists`, which means this order already has its execution
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>).
    async fn start(&self, name: &str, input: &OrderMessage) -> Result<StartOutcome, PortError> {
        let input = serde_json::to_string(input)
            .map_err(|e| PortError::Internal(format!("order message: {e}")))?;
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(StartOutcome::Started {
                execution_arn: out.execution_arn().to_owned(),
            }),
            Err(err) => match err.as_service_error() {
                Some(StartExecutionError::ExecutionAlreadyExists(_)) => {
                    Ok(StartOutcome::AlreadyExists)
                }
                Some(StartExecutionError::ExecutionLimitExceeded(_)) => Err(PortError::Throttled(
                    "StartExecution: running execution limit reached".into(),
                )),
                _ => Err(classify("StartExecution", &err)),
            },
        }
    }
}

//! Port: start one workflow execution per order (Step Functions StartExecution in AWS).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use shop_model::OrderMessage;

use crate::error::PortError;
use crate::ports::lock;

/// What a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new execution started (or AWS answered the idempotent repeat of a running one).
    Started { execution_arn: String },
    /// An execution with this name already exists: nothing new was started.
    AlreadyExists,
}

/// Starts executions of the order workflow with a typed input.
#[async_trait]
pub trait ExecutionStarter: Send + Sync {
    async fn start(&self, name: &str, input: &OrderMessage) -> Result<StartOutcome, PortError>;
}

/// Executions kept in memory (name -> input), for tests.
#[derive(Debug, Default)]
pub struct InMemoryExecutions {
    started: Mutex<HashMap<String, OrderMessage>>,
    fail_next: Mutex<Option<PortError>>,
}

impl InMemoryExecutions {
    pub fn started(&self) -> HashMap<String, OrderMessage> {
        lock(&self.started).clone()
    }

    /// Makes the next call fail with `err`.
    pub fn fail_next(&self, err: PortError) {
        *lock(&self.fail_next) = Some(err);
    }
}

#[async_trait]
impl ExecutionStarter for InMemoryExecutions {
    async fn start(&self, name: &str, input: &OrderMessage) -> Result<StartOutcome, PortError> {
        if let Some(err) = lock(&self.fail_next).take() {
            return Err(err);
        }
        let mut started = lock(&self.started);
        if started.contains_key(name) {
            return Ok(StartOutcome::AlreadyExists);
        }
        started.insert(name.to_owned(), input.clone());
        Ok(StartOutcome::Started {
            execution_arn: format!("arn:local:execution:{name}"),
        })
    }
}

//! In-memory state of the endpoint: state machines, executions, and the background tasks that run
//! executions on the engine.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{MachineType, ServerConfig};
use crate::history::{EventType, HistoryEvent};
use crate::{CompiledMachine, Engine, ExecOptions, ExecutionResult, ExecutionStatus, TaskRegistry};

pub(crate) struct Service {
    pub engine: Engine,
    pub config: ServerConfig,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    /// By ARN.
    pub machines: BTreeMap<String, Machine>,
    /// By ARN.
    pub executions: HashMap<String, Execution>,
    /// Execution ARNs in start order.
    pub order: Vec<String>,
}

pub(crate) struct Machine {
    pub arn: String,
    pub name: String,
    pub definition: String,
    pub compiled: Arc<CompiledMachine>,
    pub role_arn: String,
    pub machine_type: MachineType,
    pub created: DateTime<Utc>,
    pub revision_id: String,
    pub logging: Option<Value>,
    pub tracing: Option<Value>,
    pub description: Option<String>,
}

/// What StartExecution asks for.
pub(crate) struct NewExecution {
    pub name: String,
    pub arn: String,
    /// The input as sent (JSON text) and parsed.
    pub input_text: String,
    pub input: Value,
    pub trace_header: Option<String>,
}

pub(crate) struct Execution {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    /// The input as sent (JSON text).
    pub input: String,
    pub status: &'static str,
    pub start: DateTime<Utc>,
    pub stop: Option<DateTime<Utc>>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
    pub role_arn: String,
    pub trace_header: Option<String>,
    cancel: Arc<AtomicBool>,
    task: Option<tokio::task::AbortHandle>,
}

impl Service {
    pub fn new(registry: TaskRegistry, config: ServerConfig) -> Self {
        Service {
            engine: Engine::new(registry),
            config,
            state: Mutex::new(State::default()),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn arn_prefix(&self) -> String {
        format!(
            "arn:aws:states:{}:{}",
            self.config.region, self.config.account_id
        )
    }

    pub fn exec_options(
        &self,
        machine: &Machine,
        name: &str,
        start: DateTime<Utc>,
        history: bool,
    ) -> ExecOptions {
        ExecOptions {
            virtual_time: self.config.virtual_time,
            mock: None,
            execution_name: Some(name.to_string()),
            state_machine_name: Some(machine.name.clone()),
            history,
            role_arn: Some(machine.role_arn.clone()),
            region: self.config.region.clone(),
            account_id: self.config.account_id.clone(),
            cancel: None,
            start_time: Some(start),
        }
    }

    /// Records a new RUNNING execution of `state.machines[machine_arn]` and runs it in a
    /// background task. Returns its start date.
    pub fn spawn_execution(
        self: &Arc<Self>,
        state: &mut State,
        machine_arn: &str,
        new: NewExecution,
    ) -> Option<DateTime<Utc>> {
        let NewExecution {
            name,
            arn,
            input_text,
            input,
            trace_header,
        } = new;
        let (name, arn) = (name.as_str(), arn.as_str());
        let machine = state.machines.get(machine_arn)?;
        let start = Utc::now();
        let cancel = Arc::new(AtomicBool::new(false));
        let mut options = self.exec_options(machine, name, start, true);
        options.cancel = Some(cancel.clone());
        let mut exec = Execution {
            arn: arn.to_string(),
            machine_arn: machine.arn.clone(),
            name: name.to_string(),
            input: input_text,
            status: "RUNNING",
            start,
            stop: None,
            output: None,
            error: None,
            cause: None,
            history: Vec::new(),
            role_arn: machine.role_arn.clone(),
            trace_header,
            cancel,
            task: None,
        };
        let service = self.clone();
        let compiled = machine.compiled.clone();
        let exec_arn = arn.to_string();
        let handle = tokio::spawn(async move {
            let result = service
                .engine
                .execute_compiled(&compiled, input, options)
                .await;
            service.finish(&exec_arn, result);
        });
        exec.task = Some(handle.abort_handle());
        state.executions.insert(arn.to_string(), exec);
        state.order.push(arn.to_string());
        Some(start)
    }

    fn finish(&self, arn: &str, result: ExecutionResult) {
        let mut state = self.state();
        let Some(exec) = state.executions.get_mut(arn) else {
            return;
        };
        if exec.status != "RUNNING" {
            // Stopped meanwhile: StopExecution already closed it.
            return;
        }
        exec.status = result.status.name();
        match result.status {
            ExecutionStatus::Succeeded { output } => exec.output = Some(output.to_string()),
            ExecutionStatus::Failed { error, cause }
            | ExecutionStatus::TimedOut { error, cause } => {
                exec.error = error;
                exec.cause = cause;
            }
            ExecutionStatus::Aborted => {}
        }
        exec.stop = Some(
            result
                .history
                .last()
                .and_then(|e| parse_time(&e.timestamp))
                .unwrap_or_else(Utc::now),
        );
        exec.history = result.history;
        exec.task = None;
    }
}

impl Execution {
    /// StopExecution: the execution ends ABORTED now. The background task is cancelled, so the
    /// history keeps only its start and the abort
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>).
    pub fn stop(&mut self, error: Option<String>, cause: Option<String>) -> DateTime<Utc> {
        let now = Utc::now();
        self.cancel
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.status = "ABORTED";
        self.stop = Some(now);
        self.error = error.clone();
        self.cause = cause.clone();
        let mut history = vec![self.started_event()];
        let mut details = serde_json::Map::new();
        if let Some(e) = error {
            details.insert("error".into(), Value::String(e));
        }
        if let Some(c) = cause {
            details.insert("cause".into(), Value::String(c));
        }
        let mut m = serde_json::Map::new();
        m.insert(
            "executionAbortedEventDetails".into(),
            Value::Object(details),
        );
        history.push(HistoryEvent {
            id: 2,
            previous_event_id: 1,
            timestamp: crate::clock::format_time(&now),
            event_type: EventType::ExecutionAborted,
            details: m,
        });
        self.history = history;
        now
    }

    /// The ExecutionStarted event, for a running execution whose history is not in yet.
    pub fn started_event(&self) -> HistoryEvent {
        let mut m = serde_json::Map::new();
        m.insert(
            "executionStartedEventDetails".into(),
            serde_json::json!({
                "input": self.input,
                "inputDetails": {"truncated": false},
                "roleArn": self.role_arn,
            }),
        );
        HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp: crate::clock::format_time(&self.start),
            event_type: EventType::ExecutionStarted,
            details: m,
        }
    }

    /// The events so far: the full history once closed, the start event while running.
    pub fn events(&self) -> Vec<HistoryEvent> {
        if self.history.is_empty() {
            vec![self.started_event()]
        } else {
            self.history.clone()
        }
    }
}

pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

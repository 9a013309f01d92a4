//! The execution history: events shaped like GetExecutionHistory's
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::{format_time, Clock};

macro_rules! event_types {
    ($($(#[doc = $doc:literal])* $v:ident),* $(,)?) => {
        /// `HistoryEvent.type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum EventType { $($(#[doc = $doc])* $v),* }
        impl EventType {
            /// The AWS name of the event type, e.g. `TaskStateEntered`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$v => stringify!($v)),* }
            }
        }
    };
}

event_types!(
    /// The execution started.
    ExecutionStarted,
    /// The execution was redriven (RedriveExecution) and runs again from the state that failed.
    ExecutionRedriven,
    /// The execution succeeded.
    ExecutionSucceeded,
    /// The execution failed.
    ExecutionFailed,
    /// The execution ran longer than the state machine's `TimeoutSeconds`.
    ExecutionTimedOut,
    /// The execution was aborted (stopped).
    ExecutionAborted,
    /// A Pass state was entered.
    PassStateEntered,
    /// A Pass state was exited.
    PassStateExited,
    /// A Task state was entered.
    TaskStateEntered,
    /// A Task state was exited.
    TaskStateExited,
    /// A service-integration task (a `Resource` other than a Lambda function ARN) was scheduled.
    TaskScheduled,
    /// A scheduled task started.
    TaskStarted,
    /// A `.waitForTaskToken` task's integration returned; the task waits for its token.
    TaskSubmitted,
    /// A task returned its result.
    TaskSucceeded,
    /// A task failed.
    TaskFailed,
    /// A task timed out (`TimeoutSeconds` or `HeartbeatSeconds` elapsed).
    TaskTimedOut,
    /// An activity task was queued for a worker.
    ActivityScheduled,
    /// A worker took the activity task (GetActivityTask).
    ActivityStarted,
    /// The worker answered with SendTaskSuccess.
    ActivitySucceeded,
    /// The worker answered with SendTaskFailure.
    ActivityFailed,
    /// The activity task timed out (`TimeoutSeconds` or `HeartbeatSeconds` elapsed).
    ActivityTimedOut,
    /// A Lambda function named directly by its ARN in `Resource` was scheduled.
    LambdaFunctionScheduled,
    /// A scheduled Lambda function started.
    LambdaFunctionStarted,
    /// A Lambda function returned its result.
    LambdaFunctionSucceeded,
    /// A Lambda function failed.
    LambdaFunctionFailed,
    /// A Lambda function timed out.
    LambdaFunctionTimedOut,
    /// A Choice state was entered.
    ChoiceStateEntered,
    /// A Choice state was exited.
    ChoiceStateExited,
    /// A Wait state was entered.
    WaitStateEntered,
    /// A Wait state was exited.
    WaitStateExited,
    /// A Succeed state was entered.
    SucceedStateEntered,
    /// A Succeed state was exited.
    SucceedStateExited,
    /// A Fail state was entered.
    FailStateEntered,
    /// A Parallel state was entered.
    ParallelStateEntered,
    /// A Parallel state was exited.
    ParallelStateExited,
    /// A Parallel state started its branches.
    ParallelStateStarted,
    /// Every branch of a Parallel state succeeded.
    ParallelStateSucceeded,
    /// A Parallel state failed.
    ParallelStateFailed,
    /// A Map state was entered.
    MapStateEntered,
    /// A Map state was exited.
    MapStateExited,
    /// A Map state started its iterations.
    MapStateStarted,
    /// A Map state succeeded.
    MapStateSucceeded,
    /// A Map state failed.
    MapStateFailed,
    /// An iteration of a Map state started.
    MapIterationStarted,
    /// An iteration of a Map state succeeded.
    MapIterationSucceeded,
    /// An iteration of a Map state failed.
    MapIterationFailed,
    /// An iteration of a Map state was aborted.
    MapIterationAborted,
);

/// One history event. `details` holds the single `<type>EventDetails` member, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// `id`: the event's number in the execution, counting from 1.
    pub id: u64,
    /// `previousEventId`: the id of the event this one follows (0 for the first event).
    pub previous_event_id: u64,
    /// `timestamp`: when the event happened (ISO 8601, in milliseconds, UTC).
    pub timestamp: String,
    /// `type`: what happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The `<type>EventDetails` member, if the event has one (flattened into the event object).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl HistoryEvent {
    /// The `*EventDetails` object, if the event has one.
    pub fn details(&self) -> Option<&Value> {
        self.details.values().next()
    }
}

/// Numbers events (always: AWS error messages cite event ids) and keeps them when history is on.
pub(crate) struct Recorder {
    enabled: bool,
    counter: AtomicU64,
    events: Mutex<Vec<HistoryEvent>>,
}

impl Recorder {
    pub fn new(enabled: bool) -> Self {
        Recorder {
            enabled,
            counter: AtomicU64::new(0),
            events: Mutex::new(Vec::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Records an event after `prev` and returns its id; `details` runs only when history is kept.
    pub fn emit(
        &self,
        clock: &dyn Clock,
        prev: &mut u64,
        event_type: EventType,
        details: impl FnOnce() -> Option<(&'static str, Value)>,
    ) -> u64 {
        let id = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        if self.enabled {
            let mut m = Map::new();
            if let Some((k, v)) = details() {
                m.insert(k.to_string(), v);
            }
            let ev = HistoryEvent {
                id,
                previous_event_id: *prev,
                timestamp: format_time(&clock.now()),
                event_type,
                details: m,
            };
            self.events.lock().expect("history lock").push(ev);
        }
        *prev = id;
        id
    }

    pub fn take(&self) -> Vec<HistoryEvent> {
        let mut v = std::mem::take(&mut *self.events.lock().expect("history lock"));
        v.sort_by_key(|e| e.id);
        v
    }
}

/// `{"truncated": false}` as AWS attaches to payloads.
pub(crate) fn not_truncated() -> Value {
    serde_json::json!({"truncated": false})
}

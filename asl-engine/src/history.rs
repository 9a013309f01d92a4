//! The execution history: events shaped like GetExecutionHistory's
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::{format_time, Clock};

macro_rules! event_types {
    ($($v:ident),* $(,)?) => {
        /// `HistoryEvent.type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum EventType { $($v),* }
        impl EventType {
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$v => stringify!($v)),* }
            }
        }
    };
}

event_types!(
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateExited,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    MapStateEntered,
    MapStateExited,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
);

/// One history event. `details` holds the single `<type>EventDetails` member, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
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

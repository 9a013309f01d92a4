//! The execution history: events shaped like GetExecutionHistory's
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

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
    /// A distributed Map state started its Map Run (`mapRunStartedEventDetails.mapRunArn`).
    MapRunStarted,
    /// A Map Run succeeded.
    MapRunSucceeded,
    /// A Map Run failed (`mapRunFailedEventDetails`: `error`, `cause`).
    MapRunFailed,
);

/// One history event, serialized as GetExecutionHistory's member: `id`, `previousEventId`,
/// `timestamp`, `type` and the single `<type>EventDetails` member, if any.
///
/// The details are kept as the JSON text of their object, written once when the event is
/// recorded (a state's two events are on the hot path of every execution that keeps its
/// history); [`HistoryEvent::details`] parses them on first use.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// `id`: the event's number in the execution, counting from 1.
    pub id: u64,
    /// `previousEventId`: the id of the event this one follows (0 for the first event).
    pub previous_event_id: u64,
    /// `timestamp`: when the event happened (ISO 8601, in milliseconds, UTC).
    pub timestamp: String,
    /// `type`: what happened.
    pub event_type: EventType,
    details: Option<EventDetails>,
}

/// An event's `<type>EventDetails` member: its name and its object as JSON text.
#[derive(Debug, Clone)]
struct EventDetails {
    key: Cow<'static, str>,
    json: Box<str>,
    parsed: OnceLock<Value>,
}

impl HistoryEvent {
    /// An event with `details`, the `<type>EventDetails` member's name and value, if any.
    pub fn new(
        id: u64,
        previous_event_id: u64,
        timestamp: String,
        event_type: EventType,
        details: Option<(impl Into<Cow<'static, str>>, Value)>,
    ) -> Self {
        HistoryEvent {
            id,
            previous_event_id,
            timestamp,
            event_type,
            details: details.map(|(key, value)| EventDetails {
                key: key.into(),
                json: value.to_string().into_boxed_str(),
                parsed: OnceLock::from(value),
            }),
        }
    }

    /// An event whose details object is already JSON text (`json` must be a JSON object).
    fn with_json(
        id: u64,
        previous_event_id: u64,
        timestamp: String,
        event_type: EventType,
        key: &'static str,
        json: String,
    ) -> Self {
        let mut event = Self::new(
            id,
            previous_event_id,
            timestamp,
            event_type,
            None::<(&str, Value)>,
        );
        event.details = Some(EventDetails {
            key: Cow::Borrowed(key),
            json: json.into_boxed_str(),
            parsed: OnceLock::new(),
        });
        event
    }

    /// The `*EventDetails` object, if the event has one.
    pub fn details(&self) -> Option<&Value> {
        let d = self.details.as_ref()?;
        Some(d.parsed.get_or_init(|| {
            serde_json::from_str(&d.json).unwrap_or_else(|_| Value::String(d.json.to_string()))
        }))
    }

    /// The name of the `*EventDetails` member (e.g. `stateEnteredEventDetails`), if any.
    pub fn details_key(&self) -> Option<&str> {
        self.details.as_ref().map(|d| &*d.key)
    }

    /// The `*EventDetails` object as JSON text, if the event has one.
    pub fn details_json(&self) -> Option<&str> {
        self.details.as_ref().map(|d| &*d.json)
    }
}

impl PartialEq for HistoryEvent {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.previous_event_id == other.previous_event_id
            && self.timestamp == other.timestamp
            && self.event_type == other.event_type
            && self.details_key() == other.details_key()
            && self.details() == other.details()
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let mut map = serializer.serialize_map(Some(4 + usize::from(self.details.is_some())))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("previousEventId", &self.previous_event_id)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("type", &self.event_type)?;
        if let Some(d) = &self.details {
            let raw: &RawValue = serde_json::from_str(&d.json).map_err(S::Error::custom)?;
            map.serialize_entry(&*d.key, raw)?;
        }
        map.end()
    }
}

/// Writes `{"name":<name>,"<member>":<text>,"<member>Details":{"truncated":false}}` (plus
/// `assignedVariables` when a state assigned some): a state's entered or exited details. `text`
/// is the state's input or output already written as a JSON string literal ([`json_string`]): a
/// state's output is escaped once for its exited event and the next state's entered event.
pub(crate) fn state_details_json(
    name: &str,
    member: &str,
    text: &str,
    assigned: &[(String, Value)],
) -> String {
    let mut out = Vec::with_capacity(text.len() + name.len() + 80);
    out.extend_from_slice(b"{\"name\":");
    write_json_string(&mut out, name);
    out.extend_from_slice(b",\"");
    out.extend_from_slice(member.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b",\"");
    out.extend_from_slice(member.as_bytes());
    out.extend_from_slice(b"Details\":{\"truncated\":false}");
    if !assigned.is_empty() {
        out.extend_from_slice(b",\"assignedVariables\":{");
        for (i, (k, v)) in assigned.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(&mut out, k);
            out.push(b':');
            write_json_string(&mut out, &crate::error::to_json(v));
        }
        out.extend_from_slice(b"},\"assignedVariablesDetails\":{\"truncated\":false}");
    }
    out.push(b'}');
    // serde_json writes valid UTF-8, `text` is a str, and the rest is ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// `text` as a JSON string literal (quoted and escaped).
pub(crate) fn json_string(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8 + 2);
    write_json_string(&mut out, text);
    String::from_utf8(out).unwrap_or_default()
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// AWS's hard quota on a Standard execution's history: 25,000 events. When an execution reaches
/// 24,999 events, event 25,000 is `ExecutionSucceeded` if the execution ends there, and otherwise
/// `ExecutionFailed` with `States.Runtime` ([`HISTORY_LIMIT_CAUSE`]): the execution fails
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>). Express workflows
/// have no such limit.
pub const HISTORY_LIMIT: u64 = 25_000;

/// The cause AWS reports when an execution fails at the history limit (error `States.Runtime`).
pub const HISTORY_LIMIT_CAUSE: &str =
    "The execution reached the maximum number of history events (25000).";

/// Where the events of an execution go as they are recorded, besides the live history: e.g. the
/// endpoint's journal appends each one to a file, so that a restarted endpoint resumes the
/// execution where it was ([`crate::resume`]).
pub trait EventSink: Send + Sync {
    /// Called once per event, in id order, right after the event is recorded (under the history's
    /// lock: keep it short, and do not read the live history from here).
    fn record(&self, event: &HistoryEvent);
}

/// The events of an execution as they happen: a handle the engine appends to while the execution
/// runs (`ExecOptions::live_history`), so that a caller (the endpoint's GetExecutionHistory) can
/// read the events of a RUNNING execution. Events are kept in id order.
#[derive(Clone, Default)]
pub struct LiveHistory {
    events: Arc<Mutex<Vec<HistoryEvent>>>,
    sink: Option<Arc<dyn EventSink>>,
}

impl std::fmt::Debug for LiveHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHistory")
            .field("events", &self.len())
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

impl LiveHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty history that also hands every event to `sink` as it is recorded.
    pub fn with_sink(sink: Arc<dyn EventSink>) -> Self {
        LiveHistory {
            events: Arc::default(),
            sink: Some(sink),
        }
    }

    /// Appends `event` (and hands it to the sink) under the lock `events` was taken with.
    fn push(&self, events: &mut Vec<HistoryEvent>, event: HistoryEvent) {
        if let Some(sink) = &self.sink {
            sink.record(&event);
        }
        events.push(event);
    }

    /// How many events have been recorded so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no event has been recorded yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Runs `f` on the events so far (in id order), under the history's lock.
    pub fn with_events<R>(&self, f: impl FnOnce(&[HistoryEvent]) -> R) -> R {
        f(&self.lock())
    }

    /// A copy of the events so far, in id order.
    pub fn snapshot(&self) -> Vec<HistoryEvent> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<HistoryEvent>> {
        // A panic while holding the lock cannot leave a half-pushed event: keep the events.
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Numbers events (always: AWS error messages cite event ids), keeps them when history is on, and
/// enforces the history limit.
pub(crate) struct Recorder {
    enabled: bool,
    counter: AtomicU64,
    events: LiveHistory,
    /// The number of events the execution may have (`None`: unlimited, as for Express).
    limit: Option<u64>,
    /// Set when an event past the limit was refused: the execution must fail.
    full: AtomicBool,
}

impl Recorder {
    /// A recorder whose first event is `events_before + 1` (0 for a new execution; the number of
    /// events already in the history for a redriven or resumed one).
    pub fn new(
        enabled: bool,
        limit: Option<u64>,
        live: Option<LiveHistory>,
        events_before: u64,
    ) -> Self {
        Recorder {
            enabled,
            counter: AtomicU64::new(events_before),
            events: live.unwrap_or_default(),
            limit,
            full: AtomicBool::new(false),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The id of the last event numbered so far (`events_before` before the first).
    pub fn last_id(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }

    /// Whether the history limit was reached by an event other than `ExecutionSucceeded`.
    pub fn full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// Records an event after `prev` and returns its id; `details` runs only when history is kept.
    /// Past the limit the event is refused (not numbered, not kept) and the recorder is `full`.
    pub fn emit(
        &self,
        clock: &dyn Clock,
        prev: &mut u64,
        event_type: EventType,
        details: impl FnOnce() -> Option<(&'static str, Value)>,
    ) -> u64 {
        self.record(clock, prev, event_type, || {
            details().map(|(key, value)| (key, value.to_string()))
        })
    }

    /// [`Recorder::emit`] with the details object already written as JSON text.
    pub fn emit_json(
        &self,
        clock: &dyn Clock,
        prev: &mut u64,
        event_type: EventType,
        details: impl FnOnce() -> (&'static str, String),
    ) -> u64 {
        self.record(clock, prev, event_type, || Some(details()))
    }

    fn record(
        &self,
        clock: &dyn Clock,
        prev: &mut u64,
        event_type: EventType,
        details: impl FnOnce() -> Option<(&'static str, String)>,
    ) -> u64 {
        if self.full() {
            return *prev;
        }
        if !self.enabled {
            let id = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
            if self.refused(id, event_type) {
                return *prev;
            }
            *prev = id;
            return id;
        }
        let details = details();
        let timestamp = format_time(&clock.now());
        // Numbered under the lock, so the kept events are in id order even when Map iterations
        // and Parallel branches record concurrently.
        let mut events = self.events.lock();
        let id = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        if self.refused(id, event_type) {
            return *prev;
        }
        let event = match details {
            Some((key, json)) => {
                HistoryEvent::with_json(id, *prev, timestamp, event_type, key, json)
            }
            None => HistoryEvent::new(id, *prev, timestamp, event_type, None::<(&str, Value)>),
        };
        self.events.push(&mut events, event);
        *prev = id;
        id
    }

    /// Whether event `id` is past the limit: the last event allowed may only be
    /// `ExecutionSucceeded`.
    fn refused(&self, id: u64, event_type: EventType) -> bool {
        let Some(limit) = self.limit else {
            return false;
        };
        if id > limit || (id == limit && event_type != EventType::ExecutionSucceeded) {
            self.full.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Records the `ExecutionFailed` event that ends an execution at the history limit: it takes
    /// the limit's own id and follows the last event recorded.
    pub fn emit_limit_failure(&self, clock: &dyn Clock, details: Value) {
        let Some(limit) = self.limit else { return };
        if !self.enabled {
            return;
        }
        let mut events = self.events.lock();
        let previous_event_id = events.last().map_or(0, |e| e.id);
        let event = HistoryEvent::new(
            limit,
            previous_event_id,
            format_time(&clock.now()),
            EventType::ExecutionFailed,
            Some(("executionFailedEventDetails", details)),
        );
        self.events.push(&mut events, event);
    }

    /// The events kept (a copy when a live handle shares them, so that it keeps showing them).
    pub fn take(&self) -> Vec<HistoryEvent> {
        if Arc::strong_count(&self.events.events) > 1 {
            self.events.snapshot()
        } else {
            std::mem::take(&mut *self.events.lock())
        }
    }
}

/// `{"truncated": false}` as AWS attaches to payloads.
pub(crate) fn not_truncated() -> Value {
    serde_json::json!({"truncated": false})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A state's details written as text read back as the object AWS shows
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateEnteredEventDetails.html>,
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html>),
    /// with names and payloads that need escaping.
    #[test]
    fn state_details_text_reads_back_as_the_details_object() {
        let name = "Quote \" back\\slash\n tab\t \u{1F600} ü";
        let output = r#"{"a":"line\nbreak \"q\"","b":[1,2.5,null]}"#;
        let assigned = vec![
            ("total".to_string(), json!(3)),
            ("who".to_string(), json!({"n": "é\""})),
        ];
        let text = state_details_json(name, "output", &json_string(output), &assigned);
        let event = HistoryEvent::with_json(
            7,
            6,
            "2026-12-04T00:00:00.000Z".into(),
            EventType::PassStateExited,
            "stateExitedEventDetails",
            text,
        );
        assert_eq!(
            event.details().unwrap(),
            &json!({
                "name": name,
                "output": output,
                "outputDetails": {"truncated": false},
                "assignedVariables": {"total": "3", "who": "{\"n\":\"é\\\"\"}"},
                "assignedVariablesDetails": {"truncated": false},
            })
        );
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(
            wire,
            json!({
                "id": 7,
                "previousEventId": 6,
                "timestamp": "2026-12-04T00:00:00.000Z",
                "type": "PassStateExited",
                "stateExitedEventDetails": event.details().unwrap(),
            })
        );
    }

    #[test]
    fn events_from_values_and_from_text_are_equal_and_serialize_alike() {
        let details = json!({"name": "S", "input": "{}", "inputDetails": {"truncated": false}});
        let from_value = HistoryEvent::new(
            2,
            1,
            "t".into(),
            EventType::TaskStateEntered,
            Some(("stateEnteredEventDetails", details.clone())),
        );
        let from_text = HistoryEvent::with_json(
            2,
            1,
            "t".into(),
            EventType::TaskStateEntered,
            "stateEnteredEventDetails",
            state_details_json("S", "input", &json_string("{}"), &[]),
        );
        assert_eq!(from_value, from_text);
        assert_eq!(
            serde_json::to_value(&from_value).unwrap(),
            serde_json::to_value(&from_text).unwrap()
        );
        let bare = HistoryEvent::new(
            3,
            2,
            "t".into(),
            EventType::PassStateExited,
            None::<(&str, Value)>,
        );
        assert_eq!(bare.details(), None);
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({"id": 3, "previousEventId": 2, "timestamp": "t", "type": "PassStateExited"})
        );
    }
}

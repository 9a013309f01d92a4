//! The execution history: events shaped like GetExecutionHistory's
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>).

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::clock::{Clock, EventTime};

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
    /// The execution's redrive redrove a Map Run that had ended unsuccessfully
    /// (`mapRunRedrivenEventDetails`: `mapRunArn`, `redriveCount`).
    MapRunRedriven,
);

/// One history event, serialized as GetExecutionHistory's member: `id`, `previousEventId`,
/// `timestamp`, `type` and the single `<type>EventDetails` member, if any.
///
/// A state's two events are on the hot path of every execution that keeps its history: their
/// details keep the parts the state already has (its name, and its input or output as JSON text
/// shared by the state's exited event and the next state's entered event) and are written out
/// only when the event is read; other details are kept as the JSON text of their object.
/// [`HistoryEvent::details`] builds the object when asked. An event is 96 bytes (the payload's
/// handle into its block of texts is 32 of them): an execution's history is kept as long as the
/// execution, so its size is memory filled on every transition.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// `id`: the event's number in the execution, counting from 1.
    pub id: u64,
    /// `previousEventId`: the id of the event this one follows (0 for the first event).
    pub previous_event_id: u64,
    /// `timestamp`: when the event happened (in milliseconds; ISO 8601 in UTC when serialized).
    pub timestamp: EventTime,
    /// `type`: what happened.
    pub event_type: EventType,
    details: Option<EventDetails>,
}

/// An event's `<type>EventDetails` member.
#[derive(Debug, Clone)]
enum EventDetails {
    /// Any details object: the member's name and the object as JSON text.
    Json {
        key: Cow<'static, str>,
        json: Box<str>,
    },
    /// A state's entered or exited details.
    State(StateDetails),
}

/// `stateEnteredEventDetails` (`name`, `input`) or `stateExitedEventDetails` (`name`, `output`,
/// `assignedVariables`) as the state has them
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateEnteredEventDetails.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html>).
#[derive(Debug, Clone)]
pub(crate) struct StateDetails {
    /// Entered (`input`) or exited (`output`).
    pub entered: bool,
    /// The state's name.
    pub name: Arc<str>,
    /// The state's input or output as JSON text.
    pub payload: PayloadText,
    /// The variables an exiting state assigned, in assignment order (`None`: none; boxed, so
    /// that the many states that assign none carry one word for it: a boxed slice would be two).
    #[allow(clippy::box_collection)]
    pub assigned: Option<Box<Vec<(String, Value)>>>,
}

impl StateDetails {
    fn key(&self) -> &'static str {
        if self.entered {
            "stateEnteredEventDetails"
        } else {
            "stateExitedEventDetails"
        }
    }

    /// `input` or `output`, and the member saying it is not truncated.
    fn members(&self) -> (&'static str, &'static str) {
        if self.entered {
            ("input", "inputDetails")
        } else {
            ("output", "outputDetails")
        }
    }
}

impl Serialize for StateDetails {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        /// `{"truncated": false}`.
        struct NotTruncated;
        impl Serialize for NotTruncated {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("truncated", &false)?;
                m.end()
            }
        }
        /// Each variable's value as JSON text, in assignment order.
        struct Assigned<'a>(&'a [(String, Value)]);
        impl Serialize for Assigned<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, crate::error::to_json(v))))
            }
        }
        let (member, member_details) = self.members();
        let extra = if self.assigned.is_some() { 2 } else { 0 };
        let mut map = serializer.serialize_map(Some(3 + extra))?;
        map.serialize_entry("name", &*self.name)?;
        map.serialize_entry(member, &*self.payload)?;
        map.serialize_entry(member_details, &NotTruncated)?;
        if let Some(assigned) = &self.assigned {
            map.serialize_entry("assignedVariables", &Assigned(assigned))?;
            map.serialize_entry("assignedVariablesDetails", &NotTruncated)?;
        }
        map.end()
    }
}

impl HistoryEvent {
    /// An event with `details`, the `<type>EventDetails` member's name and value, if any.
    pub fn new(
        id: u64,
        previous_event_id: u64,
        timestamp: EventTime,
        event_type: EventType,
        details: Option<(impl Into<Cow<'static, str>>, Value)>,
    ) -> Self {
        HistoryEvent {
            id,
            previous_event_id,
            timestamp,
            event_type,
            details: details.map(|(key, value)| EventDetails::Json {
                key: key.into(),
                json: value.to_string().into_boxed_str(),
            }),
        }
    }

    /// The `*EventDetails` object, if the event has one (built from what the event keeps on
    /// every call: read the events you need once).
    pub fn details(&self) -> Option<Value> {
        Some(match self.details.as_ref()? {
            EventDetails::Json { json, .. } => {
                serde_json::from_str(json).unwrap_or_else(|_| Value::String(json.to_string()))
            }
            // The same object the history's serialization writes.
            EventDetails::State(state) => serde_json::to_value(state).unwrap_or(Value::Null),
        })
    }

    /// The name of the `*EventDetails` member (e.g. `stateEnteredEventDetails`), if any.
    pub fn details_key(&self) -> Option<&str> {
        self.details.as_ref().map(|d| match d {
            EventDetails::Json { key, .. } => key,
            EventDetails::State(state) => state.key(),
        })
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
        match &self.details {
            Some(EventDetails::Json { key, json }) => {
                let raw: &RawValue = serde_json::from_str(json).map_err(S::Error::custom)?;
                map.serialize_entry(&**key, raw)?;
            }
            Some(EventDetails::State(state)) => map.serialize_entry(state.key(), state)?,
            None => {}
        }
        map.end()
    }
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
    events: Arc<Mutex<Events>>,
    sink: Option<Arc<dyn EventSink>>,
}

/// Events in chunks of 256: recording one never moves the ones recorded before.
///
/// A vector would double and copy itself as the history grows, and each of those moves asks the
/// allocator for a block twice as large as the last (up to 2 MB for the 25,000 events a Standard
/// execution may have). On the KVM guests measured, an execution whose history crossed such a
/// size stalled for about 6 ms at the crossing, once in two executions through the endpoint:
/// 1.4 µs per state on average instead of 0.8 (docs/engine.md, "Speed"). Chunks of 24 KiB are
/// blocks the allocator serves from memory it already has.
///
/// ```
/// use asl_engine::LiveHistory;
///
/// let live = LiveHistory::new();
/// assert_eq!(live.with_events(|events| events.len()), 0);
/// assert!(live.take().is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct Events {
    /// Every chunk but the last is full.
    chunks: Vec<Vec<HistoryEvent>>,
}

impl Events {
    /// Events per chunk: 256 events of 96 bytes, 24 KiB.
    const CHUNK: usize = 256;

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * Self::CHUNK + last.len())
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The event at `index` (0 is the first event, id 1 for a new execution).
    pub fn get(&self, index: usize) -> Option<&HistoryEvent> {
        self.chunks
            .get(index / Self::CHUNK)?
            .get(index % Self::CHUNK)
    }

    /// The last event.
    pub fn last(&self) -> Option<&HistoryEvent> {
        self.chunks.last()?.last()
    }

    /// The events in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &HistoryEvent> {
        self.chunks.iter().flatten()
    }

    fn push(&mut self, event: HistoryEvent) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::CHUNK => chunk.push(event),
            _ => {
                let mut chunk = spare_chunks()
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(Self::CHUNK));
                chunk.push(event);
                self.chunks.push(chunk);
            }
        }
    }

    /// The events moved into one vector of their number; the emptied chunks are kept for the
    /// histories recorded next (up to [`SPARE_CHUNKS`]).
    fn into_vec(self) -> Vec<HistoryEvent> {
        let mut all = Vec::with_capacity(self.len());
        let mut emptied = Vec::with_capacity(self.chunks.len());
        for mut chunk in self.chunks {
            all.append(&mut chunk);
            emptied.push(chunk);
        }
        let mut spare = spare_chunks();
        let room = SPARE_CHUNKS.saturating_sub(spare.len());
        spare.extend(emptied.into_iter().take(room));
        all
    }
}

/// How many emptied chunks (24 KiB each, 1.2 MiB in all) are kept for the live histories recorded
/// next: enough for a 12,800-event history. An ended execution's events are moved into one
/// vector of their number, and the next execution records into memory in use already. Left to
/// the allocator, the next execution's chunks came from memory the system had to provide and
/// clear during the run (a profile of the endpoint's Pass chain on a KVM guest: 5% of its
/// samples).
const SPARE_CHUNKS: usize = 50;

fn spare_chunks() -> std::sync::MutexGuard<'static, Vec<Vec<HistoryEvent>>> {
    static SPARE: Mutex<Vec<Vec<HistoryEvent>>> = Mutex::new(Vec::new());
    SPARE.lock().unwrap_or_else(|e| e.into_inner())
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
    fn push(&self, events: &mut Events, event: HistoryEvent) {
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
    pub fn with_events<R>(&self, f: impl FnOnce(&Events) -> R) -> R {
        f(&self.lock())
    }

    /// A copy of the events so far, in id order.
    pub fn snapshot(&self) -> Vec<HistoryEvent> {
        self.lock().iter().cloned().collect()
    }

    /// Takes the events out (in id order, moved into a vector of their number), leaving the
    /// history empty: how the owner of the handle keeps an execution's events once it has ended.
    pub fn take(&self) -> Vec<HistoryEvent> {
        std::mem::take(&mut *self.lock()).into_vec()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Events> {
        // A panic while holding the lock cannot leave a half-pushed event: keep the events.
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A state's exit and the next state's entry ([`Recorder::emit_transition`]).
pub(crate) struct Transition<'a> {
    /// When the state exited (and the next one was entered).
    pub at: EventTime,
    /// The exited event's type and the state's name.
    pub exited: EventType,
    pub from: &'a Arc<str>,
    /// The variables the state assigned, in assignment order.
    pub assigned: Vec<(String, Value)>,
    /// The entered event's type and the next state's name.
    pub entered: EventType,
    pub to: &'a Arc<str>,
}

/// Numbers events (always: AWS error messages cite event ids), keeps them when history is on, and
/// enforces the history limit.
pub(crate) struct Recorder {
    enabled: bool,
    counter: AtomicU64,
    events: LiveHistory,
    /// Whether `events` is the caller's live history (which then keeps the events).
    live: bool,
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
            live: live.is_some(),
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
        self.record(prev, event_type, || {
            let details = details().map(|(key, value)| EventDetails::Json {
                key: Cow::Borrowed(key),
                json: value.to_string().into_boxed_str(),
            });
            (clock.event_time(), details)
        })
    }

    /// Records a state's entered or exited event that happened `at` ([`Recorder::emit`]
    /// otherwise): the caller reads the clock once per transition, for the state's exited event
    /// and the next state's entered event.
    pub fn emit_state(
        &self,
        at: EventTime,
        prev: &mut u64,
        event_type: EventType,
        details: impl FnOnce() -> StateDetails,
    ) -> u64 {
        self.record(prev, event_type, || {
            (at, Some(EventDetails::State(details())))
        })
    }

    /// Records the exited event of a state and the entered event of the one it goes to, both
    /// `at` and sharing the payload `payload` makes (the state's output, the next one's input),
    /// under one lock: what [`Recorder::emit_state`] twice records, with `proceed` (the
    /// execution's limits, checked before a state is entered) called in between.
    ///
    /// Returns the entered event's id (as [`Recorder::emit_state`] would), `None` when the exited
    /// event was refused at the history limit (nothing more is recorded), or `proceed`'s error.
    pub fn emit_transition<E>(
        &self,
        transition: Transition<'_>,
        prev: &mut u64,
        proceed: impl FnOnce() -> Result<(), E>,
        payload: impl FnOnce() -> PayloadText,
    ) -> Result<Option<u64>, E> {
        let Transition {
            at,
            exited,
            from,
            assigned,
            entered,
            to,
        } = transition;
        if self.full() {
            return Ok(None);
        }
        if !self.enabled {
            if self.number(prev, exited).is_none() {
                return Ok(None);
            }
            proceed()?;
            return Ok(Some(self.number(prev, entered).unwrap_or(*prev)));
        }
        let payload = payload();
        let mut events = self.events.lock();
        let details = StateDetails {
            entered: false,
            name: from.clone(),
            payload: payload.clone(),
            assigned: (!assigned.is_empty()).then(|| Box::new(assigned)),
        };
        if self
            .push_numbered(
                &mut events,
                prev,
                exited,
                at,
                Some(EventDetails::State(details)),
            )
            .is_none()
        {
            return Ok(None);
        }
        proceed()?;
        let details = StateDetails {
            entered: true,
            name: to.clone(),
            payload,
            assigned: None,
        };
        let id = self.push_numbered(
            &mut events,
            prev,
            entered,
            at,
            Some(EventDetails::State(details)),
        );
        Ok(Some(id.unwrap_or(*prev)))
    }

    fn record(
        &self,
        prev: &mut u64,
        event_type: EventType,
        event: impl FnOnce() -> (EventTime, Option<EventDetails>),
    ) -> u64 {
        if self.full() {
            return *prev;
        }
        if !self.enabled {
            return self.number(prev, event_type).unwrap_or(*prev);
        }
        let (timestamp, details) = event();
        let mut events = self.events.lock();
        self.push_numbered(&mut events, prev, event_type, timestamp, details)
            .unwrap_or(*prev)
    }

    /// Numbers an event that is not kept (history off) after `prev`; `None` past the limit.
    fn number(&self, prev: &mut u64, event_type: EventType) -> Option<u64> {
        let id = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        if self.refused(id, event_type) {
            return None;
        }
        *prev = id;
        Some(id)
    }

    /// Numbers and keeps an event after `prev`, under the lock `events` was taken with (so that
    /// the kept events are in id order even when Map iterations and Parallel branches record
    /// concurrently); `None` past the limit.
    fn push_numbered(
        &self,
        events: &mut Events,
        prev: &mut u64,
        event_type: EventType,
        timestamp: EventTime,
        details: Option<EventDetails>,
    ) -> Option<u64> {
        let id = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        if self.refused(id, event_type) {
            return None;
        }
        let event = HistoryEvent {
            id,
            previous_event_id: *prev,
            timestamp,
            event_type,
            details,
        };
        self.events.push(events, event);
        *prev = id;
        Some(id)
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
            clock.event_time(),
            EventType::ExecutionFailed,
            Some(("executionFailedEventDetails", details)),
        );
        self.events.push(&mut events, event);
    }

    /// The events kept, unless they are in the caller's live history: that one keeps showing
    /// them, and its owner takes them from it ([`LiveHistory::take`]) instead of a copy.
    pub fn take(&self) -> Vec<HistoryEvent> {
        if self.live {
            Vec::new()
        } else {
            self.events.take()
        }
    }
}

/// A state's input or output as JSON text, shared by the events that show it (the state's
/// exited event and the next state's entered event): a slice of a block of texts.
///
/// Every payload of every kept history stays as long as its execution, and a state writes one on
/// each transition. Each used to be an allocation of its own (a small JSON text took 32 bytes
/// of memory with the allocator's rounding); slices of blocks of 64 KiB take the text's length and
/// no call to the allocator, so an execution draws a third of the fresh memory it drew
/// (docs/engine.md, "Where the endpoint's time goes").
#[derive(Clone)]
pub(crate) struct PayloadText(bytes::Bytes);

impl PayloadText {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only `str`s are ever written into a payload's bytes.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The text's length in bytes (without reading it).
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::ops::Deref for PayloadText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for PayloadText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for PayloadText {
    fn from(text: &str) -> Self {
        PayloadText(bytes::Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for PayloadText {
    fn from(text: String) -> Self {
        PayloadText(bytes::Bytes::from(text))
    }
}

/// The size of the blocks payload texts are written into: a thread copies its texts into one
/// block until the next does not fit, then starts another; a text larger than a quarter of a
/// block gets a block of its own size. A block's memory is freed when no event shows any of its
/// texts any more.
const PAYLOAD_BLOCK: usize = 64 << 10;

/// `value` as the JSON text a state's entered or exited event keeps (and shares with the next
/// state's entered event): written into a buffer each thread keeps for it, then copied once into
/// the block of texts the thread is filling.
pub(crate) fn payload_text(value: &Value) -> PayloadText {
    use std::cell::RefCell;
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        static BLOCK: RefCell<bytes::BytesMut> = RefCell::new(bytes::BytesMut::new());
    }
    let text = BUFFER.with(|buffer| {
        let Ok(mut buffer) = buffer.try_borrow_mut() else {
            // Not reentrant (serializing a `Value` runs no code of the engine); kept total anyway.
            return PayloadText::from(crate::error::to_json(value));
        };
        buffer.clear();
        if serde_json::to_writer(&mut *buffer, value).is_err() {
            return PayloadText::from("");
        }
        let text = if buffer.len() > PAYLOAD_BLOCK / 4 {
            PayloadText(bytes::Bytes::copy_from_slice(&buffer))
        } else {
            BLOCK.with(|block| {
                let mut block = block.borrow_mut();
                if block.capacity() - block.len() < buffer.len() {
                    *block = bytes::BytesMut::with_capacity(PAYLOAD_BLOCK);
                }
                block.extend_from_slice(&buffer);
                PayloadText(block.split().freeze())
            })
        };
        // A thread keeps no more than 64 KiB for it after a large payload.
        if buffer.capacity() > 1 << 16 {
            *buffer = Vec::new();
        }
        text
    });
    debug_assert!(
        std::str::from_utf8(&text.0).is_ok(),
        "serde_json writes UTF-8"
    );
    text
}

/// `{"truncated": false}` as AWS attaches to payloads.
pub(crate) fn not_truncated() -> Value {
    serde_json::json!({"truncated": false})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AT: EventTime = EventTime::from_millis(1_796_375_107_042);

    /// Records a state's event through a recorder that keeps its history, as executions do.
    fn state_event(event_type: EventType, details: StateDetails) -> HistoryEvent {
        let recorder = Recorder::new(true, None, None, 6);
        let mut prev = 6;
        recorder.emit_state(AT, &mut prev, event_type, || details);
        recorder.take().pop().unwrap()
    }

    /// A state's details read back, and serialize, as the object AWS shows
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateEnteredEventDetails.html>,
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StateExitedEventDetails.html>),
    /// with names and payloads that need escaping.
    #[test]
    fn state_details_read_back_and_serialize_as_the_details_object() {
        let name = "Quote \" back\\slash\n tab\t \u{1F600} ü";
        let output = r#"{"a":"line\nbreak \"q\"","b":[1,2.5,null]}"#;
        let assigned = vec![
            ("total".to_string(), json!(3)),
            ("who".to_string(), json!({"n": "é\""})),
        ];
        let event = state_event(
            EventType::PassStateExited,
            StateDetails {
                entered: false,
                name: name.into(),
                payload: output.into(),
                assigned: Some(Box::new(assigned)),
            },
        );
        let expected = json!({
            "name": name,
            "output": output,
            "outputDetails": {"truncated": false},
            "assignedVariables": {"total": "3", "who": "{\"n\":\"é\\\"\"}"},
            "assignedVariablesDetails": {"truncated": false},
        });
        assert_eq!(event.details().unwrap(), expected);
        assert_eq!(event.details_key(), Some("stateExitedEventDetails"));
        let wire = serde_json::to_string(&event).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&wire).unwrap(),
            json!({
                "id": 7,
                "previousEventId": 6,
                "timestamp": "2026-12-04T09:05:07.042Z",
                "type": "PassStateExited",
                "stateExitedEventDetails": expected,
            })
        );
        // AWS's member order: name, output, outputDetails, then the variables.
        let order: Vec<usize> = [
            "\"name\"",
            "\"output\"",
            "\"outputDetails\"",
            "\"assignedVariables\"",
        ]
        .iter()
        .map(|m| wire.find(m).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{wire}");
    }

    /// Every event of every execution is kept as long as the execution: its size is memory filled
    /// on each state transition.
    #[test]
    fn a_history_event_is_96_bytes() {
        assert_eq!(std::mem::size_of::<HistoryEvent>(), 96);
    }

    #[test]
    fn events_from_values_and_from_state_parts_are_equal_and_serialize_alike() {
        let details = json!({"name": "S", "input": "{}", "inputDetails": {"truncated": false}});
        let from_value = HistoryEvent::new(
            7,
            6,
            AT,
            EventType::TaskStateEntered,
            Some(("stateEnteredEventDetails", details.clone())),
        );
        let from_parts = state_event(
            EventType::TaskStateEntered,
            StateDetails {
                entered: true,
                name: "S".into(),
                payload: "{}".into(),
                assigned: None,
            },
        );
        assert_eq!(from_value, from_parts);
        assert_eq!(
            serde_json::to_value(&from_value).unwrap(),
            serde_json::to_value(&from_parts).unwrap()
        );
        let bare = HistoryEvent::new(3, 2, AT, EventType::PassStateExited, None::<(&str, Value)>);
        assert_eq!(bare.details(), None);
        assert_eq!(
            serde_json::to_value(&bare).unwrap(),
            json!({
                "id": 3,
                "previousEventId": 2,
                "timestamp": "2026-12-04T09:05:07.042Z",
                "type": "PassStateExited"
            })
        );
    }

    /// The shared payload text is the value's JSON text, for small values, for one larger than
    /// the buffer a thread keeps, and for the small ones after it.
    #[test]
    fn payload_text_is_the_json_text_of_the_value() {
        let large = json!({"items": vec!["x".repeat(1024); 100], "n": 1});
        for value in [
            json!(null),
            json!({"a": [1, "\u{e9}\n"], "b": {}}),
            large,
            json!("after"),
        ] {
            assert_eq!(payload_text(&value).as_str(), crate::error::to_json(&value));
        }
    }

    /// Texts written one after the other share blocks: each keeps its own text while the thread
    /// goes on writing, across the end of a block, around a text too large for one, and when read
    /// on another thread.
    #[test]
    fn payload_texts_keep_their_text_across_blocks_and_threads() {
        let value = |i: usize| match i % 1000 {
            // Now and then a text larger than a quarter of a block.
            999 => json!({"big": "y".repeat(PAYLOAD_BLOCK / 3), "i": i}),
            _ => json!({"n": i, "s": "é\"".repeat(i % 7)}),
        };
        let n = 3 * PAYLOAD_BLOCK / 10;
        let texts: Vec<PayloadText> = (0..n).map(|i| payload_text(&value(i))).collect();
        let written: usize = texts.iter().map(PayloadText::len).sum();
        assert!(
            written > 2 * PAYLOAD_BLOCK,
            "only {written} bytes: one block"
        );
        let check = move || {
            for (i, text) in texts.iter().enumerate() {
                assert_eq!(text.as_str(), crate::error::to_json(&value(i)), "text {i}");
            }
        };
        std::thread::spawn(check).join().unwrap();
    }

    /// A live history longer than a chunk reads, iterates and is taken in id order, the last
    /// event included, while the recorder keeps appending.
    #[test]
    fn a_live_history_across_chunks_keeps_every_event_in_order() {
        let live = LiveHistory::new();
        let recorder = Recorder::new(true, None, Some(live.clone()), 0);
        let mut prev = 0;
        let n = Events::CHUNK * 2 + 3;
        for i in 0..n {
            let details = StateDetails {
                entered: i % 2 == 0,
                name: "P".into(),
                payload: format!("{{\"i\":{i}}}").into(),
                assigned: None,
            };
            recorder.emit_state(AT, &mut prev, EventType::PassStateEntered, || details);
            assert_eq!(live.len(), i + 1);
        }
        live.with_events(|events| {
            assert_eq!(events.len(), n);
            assert!(events.iter().map(|e| e.id).eq(1..=n as u64));
            assert_eq!(
                events.get(Events::CHUNK).map(|e| e.id),
                Some(Events::CHUNK as u64 + 1)
            );
            assert_eq!(events.last().map(|e| e.id), Some(n as u64));
            assert!(events.get(n).is_none());
        });
        assert_eq!(live.snapshot().len(), n);
        // The live history keeps the events: the recorder hands none back itself.
        assert!(recorder.take().is_empty());
        let taken = live.take();
        assert!(taken.iter().map(|e| e.id).eq(1..=n as u64));
        assert_eq!(
            taken[n - 1].details().unwrap()["input"],
            json!(format!("{{\"i\":{}}}", n - 1))
        );
        assert!(live.is_empty());
        // The next history records into the emptied chunks: only its own events.
        let next = LiveHistory::new();
        let recorder = Recorder::new(true, None, Some(next.clone()), 0);
        let mut prev = 0;
        for _ in 0..n {
            recorder.emit(
                &crate::clock::RealClock,
                &mut prev,
                EventType::PassStateEntered,
                || None,
            );
        }
        assert!(next.take().iter().map(|e| e.id).eq(1..=n as u64));
    }
}

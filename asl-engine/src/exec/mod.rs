//! The interpreter: runs a compiled machine state by state, with AWS's input/output pipeline
//! (InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath, or JSONata's
//! Arguments/Output/Assign), Retry/Catch, concurrent Map and Parallel, Wait, and the history.

mod choice;
pub(crate) mod errors;
mod io;
mod map;
mod map_run;
mod parallel;
mod task;
mod wait;

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use rand::Rng;
use serde_json::{json, Map, Value};
use workflow_dsl::model::ComparisonOperator as Op;

use crate::clock::{Clock, EventTime};
use crate::compile::{
    parse_timestamp, Assign, Catch, CompiledMachine, Cond, GlobTok, Graph, Kind, MapSpec, Node,
    NumSpec, Operand, OptPath, StrSpec, WaitSpec,
};
use crate::error::{names, to_json, Failure, Thrown};
use crate::history::{
    not_truncated, payload_text, EventType as E, PayloadText, Recorder, StateDetails, Transition,
};
use crate::jsonata::{self, JEnv};
use crate::jsonpath::{Path, Root};
use crate::mock::MockCase;
use crate::scope::Scope;
use crate::tasks::{Target, TaskContext, TaskError, TaskRegistry};
use crate::template::Resolver;
use crate::value::json_eq;

use map::{mocked_failure, MAP_NUMBER_FIELDS};

/// Facts about the execution, for the context object and the history.
pub(crate) struct ExecInfo {
    pub arn: String,
    pub name: String,
    pub input: Value,
    pub start: String,
    /// A redriven run's number and start (`Execution.RedriveCount`, `Execution.RedriveTime`).
    pub redrive: Option<(u32, String)>,
    pub role_arn: String,
    pub sm_arn: String,
    pub sm_name: String,
    pub region: String,
}

pub(crate) struct Run<'a> {
    pub registry: &'a TaskRegistry,
    pub callbacks: &'a crate::Callbacks,
    pub machine: &'a CompiledMachine,
    pub info: ExecInfo,
    pub clock: Arc<dyn Clock>,
    pub rec: Recorder,
    pub mock: Option<MockCase>,
    pub mock_calls: Mutex<HashMap<String, u32>>,
    pub deadline: Option<DateTime<Utc>>,
    pub cancel: Option<Arc<AtomicBool>>,
    pub timed_out: AtomicBool,
    pub aborted: AtomicBool,
    /// Resume at a top-level state (RedriveExecution) instead of StartAt.
    pub redrive: Option<crate::Redrive>,
    /// Resume an interrupted run where its history says it was.
    pub resume: Option<crate::resume::Resume>,
    /// TestState's probe of its state under test.
    pub probe: Option<Arc<crate::testing::StateProbe>>,
    /// What the top-level Map or Parallel state a redrive or a resume starts at did before:
    /// taken by the state's first run.
    pub before: Mutex<Option<Before>>,
}

/// What a redriven or resumed top-level Map or Parallel state did in earlier runs.
#[derive(Default)]
pub(crate) struct Before {
    /// The state's name.
    state: String,
    /// Its iterations or branches that succeeded, with their results (an inline Map, a Parallel).
    pub done: crate::resume::Done,
    /// Its Map Run that ended unsuccessfully, to redrive (a distributed Map).
    pub map_run: Option<String>,
}

impl Before {
    /// What `redrive` or `resume` say the state a run starts at did before.
    pub(crate) fn of(
        redrive: Option<&crate::Redrive>,
        resume: Option<&crate::resume::Resume>,
    ) -> Mutex<Option<Before>> {
        let found = match (resume, redrive) {
            (
                Some(crate::resume::Resume {
                    from: crate::resume::ResumeFrom::State { state, .. },
                    done,
                    map_run,
                    ..
                }),
                _,
            ) => Some(Before {
                state: state.clone(),
                done: done.clone(),
                map_run: map_run.clone(),
            }),
            (Some(_), _) => None,
            (None, Some(r)) => Some(Before {
                state: r.state.clone(),
                done: r.done.clone(),
                map_run: r.map_run.clone(),
            }),
            (None, None) => None,
        };
        Mutex::new(found.filter(|b| !b.done.is_empty() || b.map_run.is_some()))
    }
}

impl Run<'_> {
    /// What a redrive or a resume found `st`'s state did before, when `st` is the top-level
    /// state it starts at, run for the first time in this run (a Retry of the state runs all of
    /// it again).
    fn before(&self, st: &St<'_>) -> Before {
        let top = self.machine.graph.nodes.as_ptr_range();
        if !top.contains(&std::ptr::from_ref(st.node)) {
            return Before::default();
        }
        let mut slot = self.before.lock().unwrap_or_else(|e| e.into_inner());
        match slot.take() {
            Some(before) if *before.state == *st.node.name => before,
            other => {
                *slot = other;
                Before::default()
            }
        }
    }
}

/// One state being executed.
struct St<'n> {
    node: &'n Node,
    entered_id: u64,
    entered_time: EventTime,
    retry_count: u32,
    assigned: Vec<(String, Value)>,
    /// `$$.Task.Token` of a `.waitForTaskToken` task attempt.
    task_token: Option<String>,
}

/// A Map state's item as its ItemSelector sees it in the context object (`Map.Item`): `Index`,
/// `Value`, and `Source`, where the item came from: `STATE_DATA` for the state's input, else the
/// S3 URI of the object (or, for a listObjectsV2 reader, the bucket) its ItemReader read
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>).
#[derive(Clone, Copy)]
pub(crate) struct MapItem<'v> {
    pub index: usize,
    pub value: &'v Value,
    pub source: Option<&'v str>,
}

impl MapItem<'_> {
    fn to_json(self) -> Value {
        let mut item = json!({"Index": self.index, "Value": null});
        // Cloned, not through `json!`'s serializer.
        item["Value"] = self.value.clone();
        if let Some(source) = self.source {
            item["Source"] = json!(source);
        }
        item
    }
}

/// Path resolution for JSONPath fields: `$` is `input`, `$$` the context object, `$x` a variable.
struct PEnv<'e> {
    run: &'e Run<'e>,
    input: &'e Value,
    scope: &'e Scope,
    st: &'e St<'e>,
    item: Option<MapItem<'e>>,
    ctx: OnceCell<Value>,
}

impl Resolver for PEnv<'_> {
    fn resolve(&self, path: &Path) -> Result<Option<Cow<'_, Value>>, Thrown> {
        Ok(match &path.root {
            Root::Input => path.select(self.input),
            Root::Context => path.select(
                self.ctx
                    .get_or_init(|| self.run.context_value(self.st, self.item)),
            ),
            Root::Var(v) => match self.scope.get(v) {
                Some(val) => path.select(val),
                None => None,
            },
        })
    }
    fn input(&self) -> &Value {
        self.input
    }
}

type StepResult = Result<(Value, Option<usize>), Failure>;

/// Why a retry loop gave up on an attempt.
enum AttemptEnd {
    Done(Value),
    Failed(Thrown),
}

impl<'a> Run<'a> {
    fn emit(&self, prev: &mut u64, t: E, d: impl FnOnce() -> Option<(&'static str, Value)>) -> u64 {
        self.rec.emit(self.clock.as_ref(), prev, t, d)
    }

    fn penv<'e>(
        &'e self,
        input: &'e Value,
        scope: &'e Scope,
        st: &'e St<'e>,
        item: Option<MapItem<'e>>,
    ) -> PEnv<'e> {
        PEnv {
            run: self,
            input,
            scope,
            st,
            item,
            ctx: OnceCell::new(),
        }
    }

    /// TestState's probe, when `st` is its state under test (a top-level state, not one of the
    /// same name inside a Map or Parallel state).
    fn probe_of(&self, st: &St<'_>) -> Option<&crate::testing::StateProbe> {
        let p = self.probe.as_deref()?;
        let top = self
            .machine
            .graph
            .nodes
            .iter()
            .any(|n| std::ptr::eq(n, st.node));
        (top && *st.node.name == *p.state).then_some(p)
    }

    /// Records one TestState inspection field of the state under test.
    fn inspect(&self, st: &St<'_>, field: &str, value: impl FnOnce() -> Value) {
        if let Some(p) = self.probe_of(st) {
            p.record(field, value());
        }
    }

    /// The context object (`$$`, `$states.context`).
    fn context_value(&self, st: &St<'_>, item: Option<MapItem<'_>>) -> Value {
        // TestState's `context` replaces the execution's (Map and Task are still added).
        if let Some(given) = self.probe.as_deref().and_then(|p| p.context.as_ref()) {
            let mut c = given.clone();
            if let (Some(item), Some(o)) = (item, c.as_object_mut()) {
                o.insert("Map".into(), json!({"Item": item.to_json()}));
            }
            if let (Some(t), Some(o)) = (&st.task_token, c.as_object_mut()) {
                o.entry("Task").or_insert_with(|| json!({"Token": t}));
            }
            return c;
        }
        let mut c = json!({
            "Execution": {
                "Id": self.info.arn,
                "Input": null,
                "Name": self.info.name,
                "RoleArn": self.info.role_arn,
                "StartTime": self.info.start,
                "RedriveCount": self.info.redrive.as_ref().map_or(0, |r| r.0),
            },
            "State": {
                "EnteredTime": st.entered_time.to_string(),
                "Name": &*st.node.name,
                "RetryCount": st.retry_count,
            },
            "StateMachine": { "Id": self.info.sm_arn, "Name": self.info.sm_name },
        });
        // Cloned, not through `json!`'s serializer.
        c["Execution"]["Input"] = self.info.input.clone();
        // An Express execution cannot be redriven: its context has no RedriveCount (as AWS's
        // TestState answers, which runs a state as an Express execution).
        if self.info.arn.contains(":express:") {
            if let Some(e) = c["Execution"].as_object_mut() {
                e.remove("RedriveCount");
            }
        }
        // "The RedriveTime context object is only available if you've redriven an execution"
        // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
        if let (Some((_, time)), Some(e)) = (&self.info.redrive, c["Execution"].as_object_mut()) {
            e.insert("RedriveTime".into(), json!(time));
        }
        if let Some(item) = item {
            c["Map"] = json!({"Item": item.to_json()});
        }
        if let Some(t) = &st.task_token {
            c["Task"] = json!({"Token": t});
        }
        c
    }

    fn states_value(
        &self,
        input: &Value,
        st: &St<'_>,
        item: Option<MapItem<'_>>,
        result: Option<&Value>,
        error_output: Option<&Value>,
    ) -> Value {
        let mut m = Map::new();
        m.insert("input".into(), input.clone());
        m.insert("context".into(), self.context_value(st, item));
        if let Some(r) = result {
            m.insert("result".into(), r.clone());
        }
        if let Some(e) = error_output {
            m.insert("errorOutput".into(), e.clone());
        }
        Value::Object(m)
    }

    /// Runs the execution to its end and returns its output or failure.
    pub async fn run_machine(&self, input: Value) -> Result<Value, Failure> {
        self.run_execution(&self.machine.graph, input).await
    }

    /// Runs `graph` as a whole execution (its ExecutionStarted and end events recorded): the
    /// machine's top level, or a Map Run's item processor for one of its children.
    pub(crate) async fn run_execution(
        &self,
        graph: &Graph,
        input: Value,
    ) -> Result<Value, Failure> {
        let mut prev = self.rec.last_id();
        let mut scope = Scope::default();
        let state_index = |name: &str| {
            graph
                .nodes
                .iter()
                .position(|n| *n.name == *name)
                .unwrap_or(graph.start)
        };
        // Where the run starts, with what, and the id of the first state's Entered event when a
        // resumed run finds it entered already; `Err(output)`: a resumed run that had ended.
        let (start, input, entered) = match (&self.redrive, &self.resume) {
            (_, Some(resume)) => {
                for (name, value) in &resume.variables {
                    scope.set(name.clone(), value.clone());
                }
                match &resume.from {
                    crate::resume::ResumeFrom::State {
                        state,
                        input,
                        entered_event_id,
                    } => (Ok(state_index(state)), input.clone(), *entered_event_id),
                    crate::resume::ResumeFrom::End { output } => {
                        (Err(output.clone()), Value::Null, None)
                    }
                }
            }
            (None, None) => {
                self.emit(&mut prev, E::ExecutionStarted, || {
                    Some((
                        "executionStartedEventDetails",
                        json!({"input": to_json(&self.info.input), "inputDetails": not_truncated(), "roleArn": self.info.role_arn}),
                    ))
                });
                (Ok(graph.start), input, None)
            }
            (Some(redrive), None) => {
                self.emit(&mut prev, E::ExecutionRedriven, || {
                    Some((
                        "executionRedrivenEventDetails",
                        json!({"redriveCount": redrive.redrive_count}),
                    ))
                });
                for (name, value) in &redrive.variables {
                    scope.set(name.clone(), value.clone());
                }
                (Ok(state_index(&redrive.state)), redrive.input.clone(), None)
            }
        };
        if let Some(p) = &self.probe {
            for (name, value) in &p.variables {
                scope.set(name.clone(), value.clone());
            }
        }
        let fresh = self.redrive.is_none() && self.resume.is_none();
        let res = match start {
            Err(output) => Ok(output),
            Ok(_) if fresh && payload_too_large(&input) => {
                // In-process only: the endpoint refuses such an input before starting an execution.
                Err(Failure::new(
                    names::DATA_LIMIT_EXCEEDED,
                    "The execution input has a size exceeding the maximum number of bytes service limit.",
                ))
            }
            Ok(start) => {
                self.run_graph_from(graph, start, entered, input, &mut scope, &mut prev)
                    .await
            }
        };
        if self.rec.full() {
            // Event 25,000 was not ExecutionSucceeded: the execution fails at the history limit,
            // whatever its states were doing
            // (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>).
            let f = history_limit_failure();
            self.rec
                .emit_limit_failure(self.clock.as_ref(), failure_details(&f));
            return Err(f);
        }
        match &res {
            Ok(out) => {
                self.emit(&mut prev, E::ExecutionSucceeded, || {
                    Some((
                        "executionSucceededEventDetails",
                        json!({"output": to_json(out), "outputDetails": not_truncated()}),
                    ))
                });
            }
            Err(f) => {
                let t = if self.timed_out.load(Ordering::Relaxed) {
                    (E::ExecutionTimedOut, "executionTimedOutEventDetails")
                } else if self.aborted.load(Ordering::Relaxed) {
                    (E::ExecutionAborted, "executionAbortedEventDetails")
                } else {
                    (E::ExecutionFailed, "executionFailedEventDetails")
                };
                self.emit(&mut prev, t.0, || Some((t.1, failure_details(f))));
            }
        }
        res
    }

    fn check_limits(&self) -> Result<(), Failure> {
        if self.rec.full() {
            return Err(history_limit_failure());
        }
        if let Some(c) = &self.cancel {
            if c.load(Ordering::Relaxed) {
                self.aborted.store(true, Ordering::Relaxed);
                return Err(Failure {
                    error: Some("States.Aborted".into()),
                    cause: Some("The execution was aborted".into()),
                });
            }
        }
        if let Some(d) = self.deadline {
            if self.clock.now() > d {
                return Err(self.timeout_failure());
            }
        }
        Ok(())
    }

    /// The execution's `TimeoutSeconds` elapsed while a state was running (the run was dropped):
    /// records `ExecutionTimedOut` after the last event and returns the failure.
    pub(crate) fn timed_out_now(&self) -> Failure {
        let f = self.timeout_failure();
        let mut prev = self.rec.last_id();
        self.emit(&mut prev, E::ExecutionTimedOut, || {
            Some(("executionTimedOutEventDetails", failure_details(&f)))
        });
        f
    }

    pub(crate) fn timeout_failure(&self) -> Failure {
        self.timed_out.store(true, Ordering::Relaxed);
        Failure {
            error: Some(names::TIMEOUT.into()),
            cause: Some("The execution exceeded its TimeoutSeconds".into()),
        }
    }

    /// Runs one workflow level (the machine, a branch or a Map iteration) from its StartAt.
    fn run_graph<'g>(
        &'g self,
        graph: &'g Graph,
        input: Value,
        scope: &'g mut Scope,
        prev: &'g mut u64,
    ) -> BoxFuture<'g, Result<Value, Failure>> {
        self.run_graph_from(graph, graph.start, None, input, scope, prev)
    }

    /// Runs one workflow level from the state at index `start`; with `entered`, that state's
    /// Entered event was recorded before (a resumed run) and has that id.
    fn run_graph_from<'g>(
        &'g self,
        graph: &'g Graph,
        start: usize,
        entered: Option<u64>,
        input: Value,
        scope: &'g mut Scope,
        prev: &'g mut u64,
    ) -> BoxFuture<'g, Result<Value, Failure>> {
        Box::pin(async move {
            let mut idx = start;
            let mut input = input;
            let mut entered = entered;
            // The time the previous state exited: the next state was entered then (the clock is
            // read once per transition; the exited and entered events share the output's text,
            // serialized once, and are recorded together: `Recorder::emit_transition`).
            let mut exited_at: Option<EventTime> = None;
            // Whether the limits were checked when the previous state's exit recorded this
            // state's entered event (`entered`).
            let mut checked = false;
            loop {
                if !std::mem::take(&mut checked) {
                    self.check_limits()?;
                }
                let node = &graph.nodes[idx];
                let at = exited_at.take().unwrap_or_else(|| self.clock.event_time());
                let entered_id = match entered.take() {
                    Some(id) => id,
                    None => self
                        .rec
                        .emit_state(at, prev, node.entered, || StateDetails {
                            entered: true,
                            name: node.name.clone(),
                            payload: payload_text(&input),
                            assigned: None,
                        }),
                };
                let mut st = St {
                    node,
                    entered_id,
                    entered_time: at,
                    retry_count: 0,
                    assigned: Vec::new(),
                    task_token: None,
                };
                let (out, next) = self.run_state(&mut st, input, scope, prev).await?;
                // The state's output is within the payload quota (States.DataLimitExceeded, not
                // matched by States.ALL): checked where a state can make its output larger than
                // its input.
                let out_text: Option<PayloadText> = self.rec.enabled().then(|| payload_text(&out));
                let too_large = match &out_text {
                    Some(t) => t.len() > MAX_PAYLOAD_BYTES,
                    None => may_grow(node) && payload_too_large(&out),
                };
                if too_large {
                    return Err(data_limit_failure(&node.name));
                }
                if let Some(exited) = node.exited {
                    let at = self.clock.event_time();
                    let assigned = std::mem::take(&mut st.assigned);
                    match next {
                        // The exited and the next entered event under one lock, the limits
                        // checked in between as at the top of the loop (with history off
                        // `emit_transition` only numbers them).
                        Some(n) => {
                            let to = &graph.nodes[n];
                            let transition = Transition {
                                at,
                                exited,
                                from: &node.name,
                                assigned,
                                entered: to.entered,
                                to: &to.name,
                            };
                            entered = self.rec.emit_transition(
                                transition,
                                prev,
                                || self.check_limits(),
                                || out_text.unwrap_or_else(|| payload_text(&out)),
                            )?;
                            checked = entered.is_some();
                        }
                        None => {
                            self.rec.emit_state(at, prev, exited, || StateDetails {
                                entered: false,
                                name: node.name.clone(),
                                payload: out_text.unwrap_or_else(|| payload_text(&out)),
                                assigned: (!assigned.is_empty()).then(|| Box::new(assigned)),
                            });
                        }
                    }
                    exited_at = Some(at);
                }
                match next {
                    Some(n) => {
                        idx = n;
                        input = out;
                    }
                    None => return Ok(out),
                }
            }
        })
    }

    async fn run_state(
        &self,
        st: &mut St<'_>,
        raw: Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> StepResult {
        let node = st.node;
        let ctx_fail = |t: Thrown, st: &St<'_>| t.into_failure(&node.name, st.entered_id);
        match &node.kind {
            Kind::Pass { result } => {
                let out = self
                    .pass(st, raw, result.as_ref(), scope)
                    .map_err(|t| ctx_fail(t, st))?;
                Ok((out, node.next))
            }
            Kind::Choice { rules, default } => self
                .choice(st, raw, rules, *default, scope)
                .map_err(|t| ctx_fail(t, st)),
            Kind::Succeed => {
                let out = self
                    .passthrough(st, raw, scope)
                    .map_err(|t| ctx_fail(t, st))?;
                Ok((out, None))
            }
            Kind::Fail { error, cause } => Err(self.fail_state(st, &raw, error, cause, scope)),
            Kind::Wait(spec) => {
                let d = self
                    .wait_duration(st, &raw, spec, scope)
                    .map_err(|t| ctx_fail(t, st))?;
                if let Some(deadline) = self.deadline {
                    if self.clock.now() + d > deadline {
                        let left = (deadline - self.clock.now()).to_std().unwrap_or_default();
                        self.clock.sleep(left).await;
                        return Err(self.timeout_failure());
                    }
                }
                if !d.is_zero() {
                    self.clock.sleep(d.to_std().unwrap_or_default()).await;
                }
                let out = self
                    .passthrough(st, raw, scope)
                    .map_err(|t| ctx_fail(t, st))?;
                Ok((out, node.next))
            }
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map(_) => {
                self.with_retry(st, raw, scope, prev).await
            }
        }
    }

    // ---------- shared pipeline pieces ----------
}

pub(super) fn failure_details(f: &Failure) -> Value {
    let mut m = Map::new();
    if let Some(e) = &f.error {
        m.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &f.cause {
        m.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(m)
}

/// AWS's payload quota: a state's or task's input, output or result, and an execution's input,
/// at most 262,144 bytes of UTF-8 JSON text
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 262_144;

/// Whether `v` as compact JSON text is over [`MAX_PAYLOAD_BYTES`] (counted, not built; it stops
/// counting once over).
pub(crate) fn payload_too_large(v: &Value) -> bool {
    crate::value::json_len_exceeds(v, MAX_PAYLOAD_BYTES)
}

/// Whether a state's output can be larger than its input: InputPath and OutputPath only select,
/// so a JSONPath Choice, Wait or Succeed state and a Pass state without Result, Parameters or a
/// ResultPath cannot make a payload grow (their output needs no size check).
pub(super) fn may_grow(node: &Node) -> bool {
    let io = &node.io;
    if io.jsonata {
        return true;
    }
    match &node.kind {
        Kind::Choice { .. } | Kind::Wait(_) | Kind::Succeed => false,
        Kind::Pass { result } => {
            result.is_some()
                || io.parameters.is_some()
                || matches!(io.result_path, OptPath::Path(_))
        }
        _ => true,
    }
}

/// A state whose output is over the payload quota.
pub(super) fn data_limit_failure(state: &str) -> Failure {
    Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        format!("The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."),
    )
}

/// The failure of an execution that reached the history limit.
pub(super) fn history_limit_failure() -> Failure {
    Failure::new(names::RUNTIME, crate::history::HISTORY_LIMIT_CAUSE)
}

pub(super) fn invalid_path(p: &Path) -> Thrown {
    Thrown::runtime(
        names::RUNTIME,
        format!(
            "Invalid path '{}' : No results for path: {}",
            p.as_str(),
            p.normalized()
        ),
    )
}

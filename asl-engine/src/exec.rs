//! The interpreter: runs a compiled machine state by state, with AWS's input/output pipeline
//! (InputPath → Parameters → task → ResultSelector → ResultPath → OutputPath, or JSONata's
//! Arguments/Output/Assign), Retry/Catch, concurrent Map and Parallel, Wait, and the history.

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

use crate::clock::{format_time, Clock};
use crate::compile::{
    parse_timestamp, Assign, Catch, CompiledMachine, Cond, GlobTok, Graph, Kind, MapSpec, Node,
    NumSpec, Operand, OptPath, StrSpec, WaitSpec,
};
use crate::error::{names, to_json, Failure, Thrown};
use crate::history::{not_truncated, EventType as E, Recorder};
use crate::jsonata::{self, JEnv};
use crate::jsonpath::{Path, Root};
use crate::mock::MockCase;
use crate::scope::Scope;
use crate::tasks::{Target, TaskContext, TaskError, TaskRegistry};
use crate::template::Resolver;
use crate::value::json_eq;

/// Facts about the execution, for the context object and the history.
pub(crate) struct ExecInfo {
    pub arn: String,
    pub name: String,
    pub input: Value,
    pub start: String,
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
    /// TestState's probe of its state under test.
    pub probe: Option<Arc<crate::testing::StateProbe>>,
}

/// One state being executed.
struct St<'n> {
    node: &'n Node,
    entered_id: u64,
    entered_time: DateTime<Utc>,
    retry_count: u32,
    assigned: Vec<(String, Value)>,
    /// `$$.Task.Token` of a `.waitForTaskToken` task attempt.
    task_token: Option<String>,
}

/// Path resolution for JSONPath fields: `$` is `input`, `$$` the context object, `$x` a variable.
struct PEnv<'e> {
    run: &'e Run<'e>,
    input: &'e Value,
    scope: &'e Scope,
    st: &'e St<'e>,
    item: Option<(usize, &'e Value)>,
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
        item: Option<(usize, &'e Value)>,
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
    fn context_value(&self, st: &St<'_>, item: Option<(usize, &Value)>) -> Value {
        // TestState's `context` replaces the execution's (Map and Task are still added).
        if let Some(given) = self.probe.as_deref().and_then(|p| p.context.as_ref()) {
            let mut c = given.clone();
            if let (Some((i, v)), Some(o)) = (item, c.as_object_mut()) {
                o.insert("Map".into(), json!({"Item": {"Index": i, "Value": v}}));
            }
            if let (Some(t), Some(o)) = (&st.task_token, c.as_object_mut()) {
                o.entry("Task").or_insert_with(|| json!({"Token": t}));
            }
            return c;
        }
        let mut c = json!({
            "Execution": {
                "Id": self.info.arn,
                "Input": self.info.input,
                "Name": self.info.name,
                "RoleArn": self.info.role_arn,
                "StartTime": self.info.start,
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": format_time(&st.entered_time),
                "Name": &*st.node.name,
                "RetryCount": st.retry_count,
            },
            "StateMachine": { "Id": self.info.sm_arn, "Name": self.info.sm_name },
        });
        if let Some((i, v)) = item {
            c["Map"] = json!({"Item": {"Index": i, "Value": v}});
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
        item: Option<(usize, &Value)>,
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
        let mut prev = 0;
        let mut scope = Scope::default();
        let graph = &self.machine.graph;
        let (start, input) = match &self.redrive {
            None => {
                self.emit(&mut prev, E::ExecutionStarted, || {
                    Some((
                        "executionStartedEventDetails",
                        json!({"input": to_json(&self.info.input), "inputDetails": not_truncated(), "roleArn": self.info.role_arn}),
                    ))
                });
                (graph.start, input)
            }
            Some(redrive) => {
                self.emit(&mut prev, E::ExecutionRedriven, || {
                    Some((
                        "executionRedrivenEventDetails",
                        json!({"redriveCount": redrive.redrive_count}),
                    ))
                });
                for (name, value) in &redrive.variables {
                    scope.set(name.clone(), value.clone());
                }
                let start = graph
                    .nodes
                    .iter()
                    .position(|n| *n.name == *redrive.state)
                    .unwrap_or(graph.start);
                (start, redrive.input.clone())
            }
        };
        if let Some(p) = &self.probe {
            for (name, value) in &p.variables {
                scope.set(name.clone(), value.clone());
            }
        }
        let res = if self.redrive.is_none() && payload_too_large(&input) {
            // In-process only: the endpoint refuses such an input before starting an execution.
            Err(Failure::new(
                names::DATA_LIMIT_EXCEEDED,
                "The execution input has a size exceeding the maximum number of bytes service limit.",
            ))
        } else {
            self.run_graph_from(graph, start, input, &mut scope, &mut prev)
                .await
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
        self.run_graph_from(graph, graph.start, input, scope, prev)
    }

    /// Runs one workflow level from the state at index `start`.
    fn run_graph_from<'g>(
        &'g self,
        graph: &'g Graph,
        start: usize,
        input: Value,
        scope: &'g mut Scope,
        prev: &'g mut u64,
    ) -> BoxFuture<'g, Result<Value, Failure>> {
        Box::pin(async move {
            let mut idx = start;
            let mut input = input;
            loop {
                self.check_limits()?;
                let node = &graph.nodes[idx];
                let entered_id = self.emit(prev, node.entered, || {
                    Some((
                        "stateEnteredEventDetails",
                        json!({"name": &*node.name, "input": to_json(&input), "inputDetails": not_truncated()}),
                    ))
                });
                let mut st = St {
                    node,
                    entered_id,
                    entered_time: self.clock.now(),
                    retry_count: 0,
                    assigned: Vec::new(),
                    task_token: None,
                };
                let (out, next) = self.run_state(&mut st, input, scope, prev).await?;
                // The state's output is within the payload quota (States.DataLimitExceeded, not
                // matched by States.ALL): checked where a state can make its output larger than
                // its input.
                let out_text = self.rec.enabled().then(|| to_json(&out));
                let too_large = match &out_text {
                    Some(t) => t.len() > MAX_PAYLOAD_BYTES,
                    None => may_grow(node) && payload_too_large(&out),
                };
                if too_large {
                    return Err(data_limit_failure(&node.name));
                }
                if let Some(exited) = node.exited {
                    let assigned = std::mem::take(&mut st.assigned);
                    self.emit(prev, exited, || {
                        let output = out_text.unwrap_or_else(|| to_json(&out));
                        let mut d = json!({"name": &*node.name, "output": output, "outputDetails": not_truncated()});
                        if !assigned.is_empty() {
                            let vars: Map<String, Value> = assigned
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::String(to_json(v))))
                                .collect();
                            d["assignedVariables"] = Value::Object(vars);
                            d["assignedVariablesDetails"] = not_truncated();
                        }
                        Some(("stateExitedEventDetails", d))
                    });
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

    /// InputPath: `None` when the effective input is the raw input itself.
    fn input_path(&self, st: &St<'_>, raw: &Value, scope: &Scope) -> Result<Option<Value>, Thrown> {
        match &st.node.io.input_path {
            OptPath::Default => Ok(None),
            OptPath::Null => Ok(Some(Value::Object(Map::new()))),
            OptPath::Path(p) => {
                let env = self.penv(raw, scope, st, None);
                match env.resolve(p)? {
                    Some(v) => Ok(Some(v.into_owned())),
                    None => Err(invalid_path(p)),
                }
            }
        }
    }

    fn output_path(&self, st: &St<'_>, out: Value, scope: &Scope) -> Result<Value, Thrown> {
        match &st.node.io.output_path {
            OptPath::Default => Ok(out),
            OptPath::Null => Ok(Value::Object(Map::new())),
            OptPath::Path(p) => {
                let env = self.penv(&out, scope, st, None);
                match env.resolve(p)? {
                    Some(v) => Ok(v.into_owned()),
                    None => Err(invalid_path(p)),
                }
            }
        }
    }

    fn result_path(rp: &OptPath, raw: Value, result: Value) -> Result<Value, Thrown> {
        match rp {
            OptPath::Default => Ok(result),
            OptPath::Null => Ok(raw),
            OptPath::Path(p) => {
                let mut raw = raw;
                if !p.is_reference() || !p.set(&mut raw, result) {
                    return Err(Thrown::runtime(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!(
                            "Unable to apply ResultPath \"{}\" to input \"{}\"",
                            p.as_str(),
                            to_json(&raw)
                        ),
                    ));
                }
                Ok(raw)
            }
        }
    }

    /// Evaluates an Assign block, every value with the variables as they were on entering the
    /// state; [`Run::commit`] assigns them once the state's output is made (OutputPath and Output
    /// also see the variables as they were)
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
    fn assign(
        &self,
        st: &St<'_>,
        a: Option<&Assign>,
        dollar: &Value,
        jsonata_states: Option<&Value>,
        scope: &Scope,
    ) -> Result<Vec<(String, Value)>, Thrown> {
        let Some(a) = a else { return Ok(Vec::new()) };
        let mut values = Vec::new();
        match a {
            Assign::Path(fields) => {
                let env = self.penv(dollar, scope, st, None);
                for (k, t) in fields {
                    values.push((k.clone(), t.eval(&env)?));
                }
            }
            Assign::Jsonata(v) => {
                let states = jsonata_states.expect("JSONata assign gets $states");
                let env = JEnv { states, scope };
                let Value::Object(m) = v else {
                    return Err(Thrown::runtime(
                        names::QUERY_EVALUATION_ERROR,
                        "The Assign field must be a JSON object",
                    ));
                };
                for (k, x) in m {
                    values.push((
                        k.clone(),
                        jsonata::eval_template(x, &env, &format!("Assign/{k}"))?,
                    ));
                }
            }
        }
        Ok(values)
    }

    /// Assigns the values an Assign block evaluated to (the state's `assignedVariables`).
    fn commit(&self, st: &mut St<'_>, values: Vec<(String, Value)>, scope: &mut Scope) {
        for (k, v) in values {
            if self.rec.enabled() {
                st.assigned.push((k.clone(), v.clone()));
            }
            scope.set(k, v);
        }
    }

    // ---------- Pass, Succeed, Choice, Wait, Fail ----------

    fn pass(
        &self,
        st: &mut St<'_>,
        raw: Value,
        result: Option<&Value>,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let io = &st.node.io;
        if io.jsonata {
            return self.jsonata_finish(st, raw, None, scope);
        }
        let eff = self.input_path(st, &raw, scope)?;
        // With a Result, the input takes no part in the result: no input steps to show.
        if result.is_none() {
            self.inspect(st, "afterInputPath", || {
                eff.clone().unwrap_or_else(|| raw.clone())
            });
        }
        let res: Option<Value> = if let Some(r) = result {
            Some(r.clone())
        } else if let Some(p) = &io.parameters {
            let input = eff.as_ref().unwrap_or(&raw);
            let v = p.eval(&self.penv(input, scope, st, None))?;
            self.inspect(st, "afterParameters", || v.clone());
            Some(v)
        } else {
            eff
        };
        if let Some(r) = result {
            self.inspect(st, "result", || r.clone());
        }
        // A Pass state has no Parameters or ResultSelector step of its own to show otherwise.
        if result.is_none() {
            self.inspect(st, "afterParameters", || {
                res.clone().unwrap_or_else(|| raw.clone())
            });
        }
        self.inspect(st, "afterResultSelector", || {
            res.clone().unwrap_or_else(|| raw.clone())
        });
        let assigned = self.assign(
            st,
            io.assign.as_ref(),
            res.as_ref().unwrap_or(&raw),
            None,
            scope,
        )?;
        let out = match (&io.result_path, res) {
            (OptPath::Default, Some(r)) => r,
            (OptPath::Default, None) => raw,
            (OptPath::Null, _) => raw,
            (rp, r) => {
                let r = r.unwrap_or_else(|| raw.clone());
                Self::result_path(rp, raw, r)?
            }
        };
        self.inspect(st, "afterResultPath", || out.clone());
        let out = self.output_path(st, out, scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// States whose output is their effective input (Succeed, Wait): InputPath then OutputPath.
    fn passthrough(&self, st: &mut St<'_>, raw: Value, scope: &mut Scope) -> Result<Value, Thrown> {
        if st.node.io.jsonata {
            return self.jsonata_finish(st, raw, None, scope);
        }
        let eff = self.input_path(st, &raw, scope)?;
        let eff = eff.unwrap_or(raw);
        self.inspect(st, "afterInputPath", || eff.clone());
        let assigned = self.assign(st, st.node.io.assign.as_ref(), &eff, None, scope)?;
        let out = self.output_path(st, eff, scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// JSONata states: Assign and Output see `$states.input` and (for tasks) `$states.result`.
    fn jsonata_finish(
        &self,
        st: &mut St<'_>,
        raw: Value,
        result: Option<Value>,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let io = &st.node.io;
        if io.assign.is_none() && io.output.is_none() {
            return Ok(result.unwrap_or(raw));
        }
        let states = self.states_value(&raw, st, None, result.as_ref(), None);
        let out = match &io.output {
            Some(o) => jsonata::eval_template(
                o,
                &JEnv {
                    states: &states,
                    scope,
                },
                "Output",
            )?,
            None => result.unwrap_or(raw),
        };
        let assigned = self.assign(st, io.assign.as_ref(), &Value::Null, Some(&states), scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    fn choice(
        &self,
        st: &mut St<'_>,
        raw: Value,
        rules: &[crate::compile::Rule],
        default: Option<usize>,
        scope: &mut Scope,
    ) -> Result<(Value, Option<usize>), Thrown> {
        let io = &st.node.io;
        if io.jsonata {
            let states = self.states_value(&raw, st, None, None, None);
            let mut chosen = None;
            {
                let env = JEnv {
                    states: &states,
                    scope,
                };
                for (i, r) in rules.iter().enumerate() {
                    if self.eval_cond_jsonata(&r.cond, &env, i)? {
                        chosen = Some(r);
                        break;
                    }
                }
            }
            let (next, assign, output) = match chosen {
                Some(r) => (
                    r.next,
                    r.assign.as_ref(),
                    r.output.as_ref().or(io.output.as_ref()),
                ),
                None => match default {
                    Some(d) => (d, io.assign.as_ref(), io.output.as_ref()),
                    None => return Err(no_choice()),
                },
            };
            let out = match output {
                Some(o) => jsonata::eval_template(
                    o,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    "Output",
                )?,
                None => raw,
            };
            let assigned = self.assign(st, assign, &Value::Null, Some(&states), scope)?;
            self.commit(st, assigned, scope);
            return Ok((out, Some(next)));
        }
        let eff = self.input_path(st, &raw, scope)?.unwrap_or(raw);
        self.inspect(st, "afterInputPath", || eff.clone());
        let mut chosen = None;
        {
            let env = self.penv(&eff, scope, st, None);
            for r in rules {
                if eval_cond(&r.cond, &env)? {
                    chosen = Some(r);
                    break;
                }
            }
        }
        let (next, assign) = match chosen {
            Some(r) => (r.next, r.assign.as_ref()),
            None => match default {
                Some(d) => (d, io.assign.as_ref()),
                None => return Err(no_choice()),
            },
        };
        let assigned = self.assign(st, assign, &eff, None, scope)?;
        let out = self.output_path(st, eff, scope)?;
        self.commit(st, assigned, scope);
        Ok((out, Some(next)))
    }

    fn eval_cond_jsonata(&self, c: &Cond, env: &JEnv<'_>, i: usize) -> Result<bool, Thrown> {
        match c {
            Cond::Jsonata(v) => match v {
                Value::Bool(b) => Ok(*b),
                other => Ok(jsonata::eval_typed(
                    other,
                    env,
                    &format!("Choices/{i}/Condition"),
                    "boolean",
                )?
                .as_bool()
                .unwrap_or(false)),
            },
            _ => Err(Thrown::runtime(
                names::QUERY_EVALUATION_ERROR,
                "JSONata Choice rules must use Condition",
            )),
        }
    }

    fn wait_duration(
        &self,
        st: &St<'_>,
        raw: &Value,
        spec: &WaitSpec,
        scope: &Scope,
    ) -> Result<chrono::Duration, Thrown> {
        let jsonata = st.node.io.jsonata;
        let until = |t: DateTime<chrono::FixedOffset>| {
            let d = t.with_timezone(&Utc) - self.clock.now();
            d.max(chrono::Duration::zero())
        };
        match spec {
            WaitSpec::Seconds(n) => {
                let secs = self.num_spec(st, raw, n, scope, "Seconds")?;
                if secs < 0.0 {
                    return Err(Thrown::runtime(
                        if jsonata {
                            names::QUERY_EVALUATION_ERROR
                        } else {
                            names::RUNTIME
                        },
                        format!("The Seconds field must be a non-negative integer, but was {secs}"),
                    ));
                }
                Ok(chrono::Duration::milliseconds((secs * 1000.0) as i64))
            }
            WaitSpec::TimestampPath(p) => {
                let env = self.penv(raw, scope, st, None);
                let v = env.resolve(p)?.ok_or_else(|| invalid_path(p))?;
                match v.as_str().and_then(parse_timestamp) {
                    Some(t) => Ok(until(t)),
                    None => Err(Thrown::runtime(
                        names::RUNTIME,
                        format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            v.as_str().map(str::to_string).unwrap_or_else(|| to_json(&v))
                        ),
                    )),
                }
            }
            WaitSpec::Timestamp(s) => {
                let text = match s {
                    StrSpec::Lit(t) => t.clone(),
                    StrSpec::Expr(e) => {
                        let states = self.states_value(raw, st, None, None, None);
                        let v = jsonata::eval_template(
                            e,
                            &JEnv {
                                states: &states,
                                scope,
                            },
                            "Timestamp",
                        )?;
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| to_json(&v))
                    }
                    _ => String::new(),
                };
                match parse_timestamp(&text) {
                    Some(t) => Ok(until(t)),
                    None => Err(Thrown::runtime(
                        if jsonata { names::QUERY_EVALUATION_ERROR } else { names::RUNTIME },
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"),
                    )),
                }
            }
        }
    }

    /// A number field: literal, `*Path` (must be a non-negative integer) or JSONata.
    fn num_spec(
        &self,
        st: &St<'_>,
        raw: &Value,
        n: &NumSpec,
        scope: &Scope,
        field: &str,
    ) -> Result<f64, Thrown> {
        match n {
            NumSpec::Lit(x) => Ok(*x),
            NumSpec::Path(p) => {
                let env = self.penv(raw, scope, st, None);
                let v = env.resolve(p)?.ok_or_else(|| invalid_path(p))?;
                match v.as_ref() {
                    Value::Number(num) if num.as_u64().is_some() => Ok(num.as_u64().unwrap_or(0) as f64),
                    Value::Number(num) if num.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0) => {
                        Ok(num.as_f64().unwrap_or(0.0))
                    }
                    // A Map state's MaxConcurrencyPath, ToleratedFailureCountPath and
                    // ToleratedFailurePercentagePath take an integer written as a string too, as a
                    // workflow variable assigned "1" (AWS-recorded; the Map state's fields:
                    // <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html>,
                    // variables in them:
                    // <https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
                    Value::String(text)
                        if MAP_NUMBER_FIELDS.contains(&field)
                            && text.parse::<u64>().is_ok() =>
                    {
                        Ok(text.parse::<u64>().unwrap_or(0) as f64)
                    }
                    other => Err(Thrown::runtime(
                        names::RUNTIME,
                        format!(
                            "The {field}Path field refers to value \"{}\" which is not a valid integer: {}",
                            other.as_str().map(str::to_string).unwrap_or_else(|| to_json(other)),
                            p.as_str()
                        ),
                    )),
                }
            }
            NumSpec::Expr(e) => {
                let states = self.states_value(raw, st, None, None, None);
                let v = jsonata::eval_typed(
                    e,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    field,
                    "number",
                )?;
                Ok(v.as_f64().unwrap_or(0.0))
            }
        }
    }

    fn fail_state(
        &self,
        st: &St<'_>,
        raw: &Value,
        error: &StrSpec,
        cause: &StrSpec,
        scope: &Scope,
    ) -> Failure {
        if !st.node.io.jsonata {
            self.inspect(st, "afterInputPath", || raw.clone());
        }
        let eval = |s: &StrSpec, field: &str| -> Result<Option<String>, Thrown> {
            Ok(match s {
                StrSpec::None => None,
                StrSpec::Lit(t) => Some(t.clone()),
                StrSpec::Dyn(d) => {
                    let env = self.penv(raw, scope, st, None);
                    match d.eval(&env)? {
                        Some(Value::String(s)) => Some(s),
                        Some(other) => Some(to_json(&other)),
                        None => {
                            return Err(Thrown::runtime(
                                names::RUNTIME,
                                format!(
                                    "Invalid path '{}' : No results for path in field {field}Path",
                                    d.text()
                                ),
                            ))
                        }
                    }
                }
                StrSpec::Expr(e) => {
                    let states = self.states_value(raw, st, None, None, None);
                    let v = jsonata::eval_template(
                        e,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        field,
                    )?;
                    Some(
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| to_json(&v)),
                    )
                }
            })
        };
        let r = (|| {
            Ok::<_, Thrown>(Failure {
                error: eval(error, "Error")?,
                cause: eval(cause, "Cause")?,
            })
        })();
        match r {
            Ok(f) => f,
            Err(t) => t.into_failure(&st.node.name, st.entered_id),
        }
    }

    // ---------- Task, Map, Parallel: retry and catch ----------

    async fn with_retry(
        &self,
        st: &mut St<'_>,
        raw: Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> StepResult {
        let node = st.node;
        let mut counts = vec![0u32; node.retry.len()];
        loop {
            if let Kind::Task { resource, .. } = &node.kind {
                if resource.ends_with(".waitForTaskToken") {
                    st.task_token = Some(uuid::Uuid::new_v4().to_string());
                }
            }
            let end = match self.attempt(st, &raw, scope, prev).await {
                Ok(result) if node.catch.is_empty() => {
                    // Output processing errors are not retried; without catchers they fail the state.
                    return self
                        .finish(st, raw, result, scope)
                        .map(|out| (out, node.next))
                        .map_err(|t| t.into_failure(&node.name, st.entered_id));
                }
                Ok(result) => match self.finish(st, raw.clone(), result, scope) {
                    Ok(out) => AttemptEnd::Done(out),
                    Err(t) => {
                        let f = t.into_failure(&node.name, st.entered_id);
                        return self.catch_or_fail(st, raw, f, scope);
                    }
                },
                Err(t) => AttemptEnd::Failed(t),
            };
            match end {
                AttemptEnd::Done(out) => return Ok((out, node.next)),
                AttemptEnd::Failed(t) => {
                    // A stop requested while the task ran (a `.sync` child stopped with its
                    // parent) ends the execution here, not in a retrier or catcher.
                    if self
                        .cancel
                        .as_ref()
                        .is_some_and(|c| c.load(Ordering::Relaxed))
                    {
                        self.aborted.store(true, Ordering::Relaxed);
                    }
                    if self.timed_out.load(Ordering::Relaxed)
                        || self.aborted.load(Ordering::Relaxed)
                        || self.rec.full()
                    {
                        return Err(t.failure);
                    }
                    let f = t.into_failure(&node.name, st.entered_id);
                    let err = f.error.as_deref();
                    if let Some(i) = node
                        .retry
                        .iter()
                        .position(|r| error_matches(&r.errors, err))
                    {
                        let r = &node.retry[i];
                        if counts[i] < r.max_attempts {
                            let mut delay = r.interval * r.backoff.powi(counts[i] as i32);
                            if let Some(m) = r.max_delay {
                                delay = delay.min(m);
                            }
                            if r.jitter_full {
                                delay = rand::rng().random_range(0.0..=delay.max(0.0));
                            }
                            counts[i] += 1;
                            st.retry_count += 1;
                            if let Some(deadline) = self.deadline {
                                if self.clock.now()
                                    + chrono::Duration::milliseconds((delay * 1000.0) as i64)
                                    > deadline
                                {
                                    return Err(self.timeout_failure());
                                }
                            }
                            self.clock
                                .sleep(Duration::from_secs_f64(delay.max(0.0)))
                                .await;
                            continue;
                        }
                    }
                    return self.catch_or_fail(st, raw, f, scope);
                }
            }
        }
    }

    fn catch_or_fail(
        &self,
        st: &mut St<'_>,
        raw: Value,
        f: Failure,
        scope: &mut Scope,
    ) -> StepResult {
        let node = st.node;
        if self.rec.full() {
            return Err(f);
        }
        if let Some(p) = self.probe_of(st) {
            p.record_failure(&f);
        }
        let Some(c) = node
            .catch
            .iter()
            .find(|c| error_matches(&c.errors, f.error.as_deref()))
        else {
            return Err(f);
        };
        let out = self
            .apply_catch(st, c, raw, &f, scope)
            .map_err(|t| t.into_failure(&node.name, st.entered_id))?;
        Ok((out, Some(c.next)))
    }

    fn apply_catch(
        &self,
        st: &mut St<'_>,
        c: &Catch,
        raw: Value,
        f: &Failure,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let err_out = f.to_error_output();
        if st.node.io.jsonata {
            let states = self.states_value(&raw, st, None, None, Some(&err_out));
            let out = match &c.output {
                Some(o) => jsonata::eval_template(
                    o,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    "Output",
                )?,
                None => err_out.clone(),
            };
            let assigned =
                self.assign(st, c.assign.as_ref(), &Value::Null, Some(&states), scope)?;
            self.commit(st, assigned, scope);
            return Ok(out);
        }
        let assigned = self.assign(st, c.assign.as_ref(), &err_out, None, scope)?;
        let out = Self::result_path(&c.result_path, raw, err_out)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// ResultSelector, Assign, ResultPath and OutputPath (or JSONata's Assign and Output) after a
    /// successful attempt.
    fn finish(
        &self,
        st: &mut St<'_>,
        raw: Value,
        result: Value,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let io = &st.node.io;
        if !matches!(st.node.kind, Kind::Map(_)) {
            self.inspect(st, "result", || result.clone());
        }
        if io.jsonata {
            return self.jsonata_finish(st, raw, Some(result), scope);
        }
        let selected = match &io.result_selector {
            Some(t) => t.eval(&self.penv(&result, scope, st, None))?,
            None => result,
        };
        self.inspect(st, "afterResultSelector", || selected.clone());
        let assigned = self.assign(st, io.assign.as_ref(), &selected, None, scope)?;
        let out = Self::result_path(&io.result_path, raw, selected)?;
        self.inspect(st, "afterResultPath", || out.clone());
        let out = self.output_path(st, out, scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// One attempt of a Task, Map or Parallel state: its raw result.
    async fn attempt(
        &self,
        st: &St<'_>,
        raw: &Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let node = st.node;
        let io = &node.io;
        // The effective input: InputPath + Parameters (JSONPath) or Arguments (JSONata).
        let input: Value = if io.jsonata {
            match &io.arguments {
                Some(a) => {
                    let states = self.states_value(raw, st, None, None, None);
                    jsonata::eval_template(
                        a,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        "Arguments",
                    )?
                }
                None => raw.clone(),
            }
        } else {
            let eff = self.input_path(st, raw, scope)?;
            let eff_ref = eff.as_ref().unwrap_or(raw);
            self.inspect(st, "afterInputPath", || eff_ref.clone());
            match (&io.parameters, &node.kind) {
                (Some(p), Kind::Task { .. } | Kind::Parallel { .. }) => {
                    p.eval(&self.penv(eff_ref, scope, st, None))?
                }
                _ => eff.unwrap_or_else(|| raw.clone()),
            }
        };
        if payload_too_large(&input) {
            // "After Parameters processing, the input of a state is larger than the payload
            // size quota" (States.DataLimitExceeded,
            // <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
            return Err(Thrown::plain(data_limit_failure(&node.name)));
        }
        if !matches!(node.kind, Kind::Map(_)) {
            let field = if io.jsonata {
                "afterArguments"
            } else {
                "afterParameters"
            };
            self.inspect(st, field, || input.clone());
        }
        // TestState runs a mocked Map or Parallel state without its iterations or branches.
        let mocked = self
            .probe_of(st)
            .filter(|p| p.mock_iterations)
            .and(self.mock.as_ref())
            .filter(|m| m.mocks(&node.name))
            .map(|m| m.response(&node.name, 0).unwrap_or(Ok(Value::Null)));
        match &node.kind {
            Kind::Task {
                resource,
                timeout,
                heartbeat,
            } => {
                let timeout = match timeout {
                    Some(n) => Some(self.num_spec(st, raw, n, scope, "TimeoutSeconds")?),
                    None => None,
                };
                let heartbeat = match heartbeat {
                    Some(n) => Some(self.num_spec(st, raw, n, scope, "HeartbeatSeconds")?),
                    None => None,
                };
                self.task(st, resource, input, timeout, heartbeat, prev)
                    .await
            }
            Kind::Parallel { .. } if mocked.is_some() => {
                mocked.unwrap_or(Ok(Value::Null)).map_err(mocked_failure)
            }
            Kind::Parallel { branches } => self.parallel(st, branches, input, scope, prev).await,
            Kind::Map(spec) => self.map(st, spec, raw, input, scope, prev, mocked).await,
            _ => unreachable!("only Task, Map and Parallel states make attempts"),
        }
    }

    async fn task(
        &self,
        st: &St<'_>,
        resource: &str,
        input: Value,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let name = &*st.node.name;
        let mocked = self.mock.as_ref().filter(|m| m.mocks(name));
        if mocked.is_none() && is_activity(resource) {
            return self
                .activity(resource, input, timeout, heartbeat, prev)
                .await;
        }
        let target = self.registry.target(resource, &input);
        let is_lambda_target =
            matches!(target, Target::LambdaDirect(..) | Target::LambdaInvoke(..));
        let direct_lambda = mocked.is_none() && matches!(target, Target::LambdaDirect(..))
            || (mocked.is_some() && resource.starts_with("arn:aws:lambda:"));
        let (rtype, rname) = resource_parts(resource);
        if direct_lambda {
            self.emit(prev, E::LambdaFunctionScheduled, || {
                let mut d = json!({"resource": resource, "input": to_json(&input), "inputDetails": not_truncated()});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t as u64);
                }
                Some(("lambdaFunctionScheduledEventDetails", d))
            });
            self.emit(prev, E::LambdaFunctionStarted, || None);
        } else {
            self.emit(prev, E::TaskScheduled, || {
                let mut d = json!({"resourceType": rtype, "resource": rname, "region": self.info.region, "parameters": to_json(&input)});
                if let Some(t) = timeout {
                    d["timeoutInSeconds"] = json!(t as u64);
                }
                if let Some(h) = heartbeat {
                    d["heartbeatInSeconds"] = json!(h as u64);
                }
                Some(("taskScheduledEventDetails", d))
            });
            self.emit(prev, E::TaskStarted, || {
                Some((
                    "taskStartedEventDetails",
                    json!({"resourceType": rtype, "resource": rname}),
                ))
            });
        }
        // A `.waitForTaskToken` task waits for its token to be answered after the integration
        // returns (a mocked one takes the mock's response as the answer).
        let waiter = match (&st.task_token, mocked) {
            (Some(token), None) if resource.ends_with(".waitForTaskToken") => {
                Some((token.clone(), self.callbacks.register(token)))
            }
            _ => None,
        };
        // Dropped with this future (StopExecution, the machine's TimeoutSeconds), the token is
        // no longer waited on.
        let _registered = waiter.as_ref().map(|(token, _)| WaitingToken {
            callbacks: self.callbacks,
            token: token.clone(),
            timed_out: false,
        });
        let result: Result<Value, TaskError> = if let Some(m) = mocked {
            let attempt = {
                let mut calls = self.mock_calls.lock().expect("mock lock");
                let c = calls.entry(name.to_string()).or_insert(0);
                *c += 1;
                *c - 1
            };
            m.response(name, attempt).unwrap_or(Ok(Value::Null))
        } else {
            let ctx = TaskContext {
                resource: resource.to_string(),
                state_name: name.to_string(),
                execution_arn: self.info.arn.clone(),
                task_token: st.task_token.clone(),
                virtual_time: self.clock.is_virtual(),
                cancel: self.cancel.clone(),
            };
            let fut: BoxFuture<'_, Result<Value, TaskError>> = match target {
                Target::LambdaDirect(f) => f(input),
                Target::LambdaInvoke(f) => {
                    let payload = input.get("Payload").cloned().unwrap_or_else(|| json!({}));
                    let call = f(payload);
                    Box::pin(async move {
                        match call.await {
                            Ok(out) => Ok(lambda_invoke_response(out)),
                            Err(e) => Err(e),
                        }
                    })
                }
                Target::Handler(h) => {
                    let h = h.clone();
                    Box::pin(async move { h.invoke(input, &ctx).await })
                }
                Target::MissingLambda(fname) => Box::pin(async move {
                    Err(TaskError::new(
                        "Lambda.ResourceNotFoundException",
                        format!("Function not found: {fname} (no Rust handler is registered under that name)"),
                    ))
                }),
                Target::Unknown => {
                    let r = resource.to_string();
                    Box::pin(async move {
                        Err(TaskError::new(
                            names::RUNTIME,
                            format!("No task handler is registered for the resource '{r}'"),
                        ))
                    })
                }
            };
            // In-process handlers cannot send heartbeats, so HeartbeatSeconds bounds the whole call
            // (States.HeartbeatTimeout) when it is shorter than TimeoutSeconds (States.Timeout).
            let limit = match (timeout.filter(|t| *t > 0.0), heartbeat.filter(|h| *h > 0.0)) {
                (Some(t), Some(h)) if h < t => Some((h, names::HEARTBEAT_TIMEOUT)),
                (Some(t), _) => Some((t, names::TIMEOUT)),
                (None, Some(h)) => Some((h, names::HEARTBEAT_TIMEOUT)),
                (None, None) => None,
            };
            match limit {
                Some((t, error)) => {
                    match tokio::time::timeout(Duration::from_secs_f64(t), fut).await {
                        Ok(r) => r,
                        Err(_) => Err(TaskError::new(error, "")),
                    }
                }
                None => fut.await,
            }
        };
        // A task's result is within the payload quota: States.DataLimitExceeded otherwise
        // (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>); the cause
        // is the one AWS reports for a Lambda function's oversized result.
        let result = result.and_then(|out| {
            if payload_too_large(&out) {
                Err(TaskError::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!("The state/task '{resource}' returned a result with a size exceeding the maximum number of bytes service limit."),
                ))
            } else {
                Ok(out)
            }
        });
        // A callback's error and cause are the sender's, never wrapped as a Lambda error.
        let mut from_callback = false;
        let result = match (result, waiter) {
            (Ok(submitted), Some((token, waiter))) => {
                from_callback = true;
                self.emit(prev, E::TaskSubmitted, || {
                    Some(("taskSubmittedEventDetails", json!({"resourceType": rtype, "resource": rname, "output": to_json(&submitted), "outputDetails": not_truncated()})))
                });
                let timeout_at = self.deadline_after(timeout);
                self.wait_for_callback(&token, waiter, timeout_at, heartbeat)
                    .await
            }
            (Err(e), Some(_)) => Err(e),
            (result, None) => result,
        };
        match result {
            Ok(out) => {
                if direct_lambda {
                    self.emit(prev, E::LambdaFunctionSucceeded, || {
                        Some((
                            "lambdaFunctionSucceededEventDetails",
                            json!({"output": to_json(&out), "outputDetails": not_truncated()}),
                        ))
                    });
                } else {
                    self.emit(prev, E::TaskSucceeded, || {
                        Some(("taskSucceededEventDetails", json!({"resourceType": rtype, "resource": rname, "output": to_json(&out), "outputDetails": not_truncated()})))
                    });
                }
                Ok(out)
            }
            Err(e) => {
                let cause = if is_lambda_target
                    && mocked.is_none()
                    && !from_callback
                    && !e.error.starts_with("Lambda.")
                    && !e.error.starts_with("States.")
                {
                    to_json(&json!({"errorMessage": e.cause, "errorType": e.error}))
                } else {
                    e.cause.clone()
                };
                let timed_out = e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT;
                let (t, key) = match (direct_lambda, timed_out) {
                    (true, true) => (
                        E::LambdaFunctionTimedOut,
                        "lambdaFunctionTimedOutEventDetails",
                    ),
                    (true, false) => (E::LambdaFunctionFailed, "lambdaFunctionFailedEventDetails"),
                    (false, true) => (E::TaskTimedOut, "taskTimedOutEventDetails"),
                    (false, false) => (E::TaskFailed, "taskFailedEventDetails"),
                };
                self.emit(prev, t, || {
                    let mut d = json!({"error": e.error, "cause": cause});
                    if !direct_lambda {
                        d["resourceType"] = json!(rtype);
                        d["resource"] = json!(rname);
                    }
                    Some((key, d))
                });
                Err(Thrown::plain(Failure {
                    error: Some(e.error),
                    cause: if cause.is_empty() { None } else { Some(cause) },
                }))
            }
        }
    }

    /// Waits for the answer to `token`: SendTaskSuccess or SendTaskFailure, within
    /// `TimeoutSeconds` (States.Timeout) and with a heartbeat at least every `HeartbeatSeconds`
    /// (States.HeartbeatTimeout). On a virtual clock it waits for the answer without deadline.
    async fn wait_for_callback(
        &self,
        token: &str,
        waiter: crate::callbacks::Waiter,
        timeout_at: Option<tokio::time::Instant>,
        heartbeat: Option<f64>,
    ) -> Result<Value, TaskError> {
        use crate::callbacks::CallbackOutcome;
        use tokio::time::sleep_until;
        let after = |secs: Option<f64>| self.deadline_after(secs);
        let mut heartbeat_at = after(heartbeat);
        let crate::callbacks::Waiter {
            mut answer,
            heartbeat: beats,
        } = waiter;
        let never = || std::future::pending::<()>();
        // However the wait ends (an answer, a timeout, or the task dropped by StopExecution or
        // the machine's TimeoutSeconds), the token stops being waited on.
        let mut waiting = WaitingToken {
            callbacks: self.callbacks,
            token: token.to_string(),
            timed_out: false,
        };
        loop {
            // An answer that is ready wins over a timeout that is ready at the same moment.
            tokio::select! {
                biased;
                outcome = &mut answer => {
                    return match outcome {
                        Ok(CallbackOutcome::Success(output)) => Ok(output),
                        Ok(CallbackOutcome::Failure { error, cause }) => Err(TaskError::new(error, cause)),
                        Err(_) => Err(TaskError::new(names::RUNTIME, "the task token was dropped")),
                    };
                }
                _ = beats.notified() => heartbeat_at = after(heartbeat),
                _ = async { match heartbeat_at { Some(at) => sleep_until(at).await, None => never().await } } => {
                    waiting.timed_out = true;
                    return Err(TaskError::new(names::HEARTBEAT_TIMEOUT, ""));
                }
                _ = async { match timeout_at { Some(at) => sleep_until(at).await, None => never().await } } => {
                    waiting.timed_out = true;
                    return Err(TaskError::new(names::TIMEOUT, ""));
                }
            }
        }
    }

    /// The instant `secs` from now, for a positive `secs` on a real clock (a virtual clock waits
    /// for answers without deadline).
    fn deadline_after(&self, secs: Option<f64>) -> Option<tokio::time::Instant> {
        secs.filter(|s| *s > 0.0 && !self.clock.is_virtual())
            .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s))
    }

    /// An activity Task: queue the input and a token for the activity's workers, wait for a
    /// worker to take it (GetActivityTask) and then for its answer, as Step Functions does.
    async fn activity(
        &self,
        activity: &str,
        input: Value,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let token = uuid::Uuid::new_v4().to_string();
        let waiter = self.callbacks.register(&token);
        let mut registered = WaitingToken {
            callbacks: self.callbacks,
            token: token.clone(),
            timed_out: false,
        };
        let text = to_json(&input);
        let started = self
            .callbacks
            .schedule_activity(activity, &token, text.clone());
        self.emit(prev, E::ActivityScheduled, || {
            let mut d =
                json!({"resource": activity, "input": text, "inputDetails": not_truncated()});
            if let Some(t) = timeout {
                d["timeoutInSeconds"] = json!(t as u64);
            }
            if let Some(h) = heartbeat {
                d["heartbeatInSeconds"] = json!(h as u64);
            }
            Some(("activityScheduledEventDetails", d))
        });
        // TimeoutSeconds runs from the scheduling; HeartbeatSeconds from the start.
        let timeout_at = self.deadline_after(timeout);
        let worker = tokio::select! {
            biased;
            worker = started => worker.ok(),
            _ = async { match timeout_at { Some(at) => tokio::time::sleep_until(at).await, None => std::future::pending().await } } => None,
        };
        let result = match worker {
            Some(worker) => {
                self.emit(prev, E::ActivityStarted, || {
                    Some(("activityStartedEventDetails", json!({"workerName": worker})))
                });
                self.wait_for_callback(&token, waiter, timeout_at, heartbeat)
                    .await
            }
            None => {
                registered.timed_out = true;
                Err(TaskError::new(names::TIMEOUT, ""))
            }
        };
        match result {
            Ok(out) => {
                self.emit(prev, E::ActivitySucceeded, || {
                    Some((
                        "activitySucceededEventDetails",
                        json!({"output": to_json(&out), "outputDetails": not_truncated()}),
                    ))
                });
                Ok(out)
            }
            Err(e) => {
                let timed_out = e.error == names::TIMEOUT || e.error == names::HEARTBEAT_TIMEOUT;
                let (t, key) = if timed_out {
                    (E::ActivityTimedOut, "activityTimedOutEventDetails")
                } else {
                    (E::ActivityFailed, "activityFailedEventDetails")
                };
                self.emit(prev, t, || {
                    Some((key, json!({"error": e.error, "cause": e.cause})))
                });
                Err(Thrown::plain(Failure {
                    error: Some(e.error),
                    cause: if e.cause.is_empty() {
                        None
                    } else {
                        Some(e.cause)
                    },
                }))
            }
        }
    }

    async fn parallel(
        &self,
        st: &St<'_>,
        branches: &[Graph],
        input: Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let started = self.emit(prev, E::ParallelStateStarted, || None);
        let parent = Arc::new(std::mem::take(scope));
        let result = {
            let mut running = FuturesUnordered::new();
            for (i, g) in branches.iter().enumerate() {
                let parent = parent.clone();
                let input = input.clone();
                running.push(async move {
                    let mut scope = Scope::child(parent);
                    let mut p = started;
                    let r = self.run_graph(g, input, &mut scope, &mut p).await;
                    (i, r, p)
                });
            }
            let mut outs: Vec<Value> = vec![Value::Null; branches.len()];
            let mut failure = None;
            let mut last = started;
            while let Some((i, r, p)) = running.next().await {
                last = last.max(p);
                match r {
                    Ok(v) => outs[i] = v,
                    Err(f) => {
                        failure = Some(f);
                        break;
                    }
                }
            }
            *prev = last;
            match failure {
                None => Ok(Value::Array(outs)),
                Some(f) => Err(f),
            }
        };
        *scope = Arc::try_unwrap(parent).unwrap_or_default();
        match result {
            Ok(v) => {
                self.emit(prev, E::ParallelStateSucceeded, || None);
                Ok(v)
            }
            Err(f) => {
                self.emit(prev, E::ParallelStateFailed, || None);
                let _ = st;
                Err(Thrown::plain(f))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn map(
        &self,
        st: &St<'_>,
        spec: &MapSpec,
        raw: &Value,
        eff: Value,
        scope: &mut Scope,
        prev: &mut u64,
        mocked: Option<Result<Value, TaskError>>,
    ) -> Result<Value, Thrown> {
        let jsonata = st.node.io.jsonata;
        let probe = self.probe_of(st);
        let reader_data = probe.and_then(|p| p.map_item_reader_data.clone());
        // The items and the per-item inputs.
        let items: Vec<Value> = if let Some(data) = reader_data {
            data
        } else if jsonata {
            match &spec.items {
                Some(items) => {
                    let states = self.states_value(raw, st, None, None, None);
                    match jsonata::eval_typed(
                        items,
                        &JEnv {
                            states: &states,
                            scope,
                        },
                        "Items",
                        "array",
                    )? {
                        Value::Array(a) => a,
                        _ => unreachable!("eval_typed checked the type"),
                    }
                }
                None => match raw {
                    Value::Array(a) => a.clone(),
                    other => {
                        return Err(Thrown::runtime(
                            names::QUERY_EVALUATION_ERROR,
                            format!(
                                "Map state input must be an array but was: {}",
                                to_json(other)
                            ),
                        ))
                    }
                },
            }
        } else {
            let found = match &spec.items_path {
                Some(p) => {
                    let env = self.penv(&eff, scope, st, None);
                    env.resolve(p)?
                        .map(Cow::into_owned)
                        .ok_or_else(|| invalid_path(p))?
                }
                None => eff.clone(),
            };
            self.inspect(st, "afterItemsPath", || found.clone());
            match found {
                Value::Array(a) => a,
                other => {
                    return Err(Thrown::runtime(
                        names::RUNTIME,
                        format!(
                            "Map state input must be an array but was: {}",
                            to_json(&other)
                        ),
                    ))
                }
            }
        };
        let max_conc = match &spec.max_concurrency {
            Some(n) => self.num_spec(st, &eff, n, scope, "MaxConcurrency")? as usize,
            None => 0,
        };
        let tol_count = match &spec.tolerated_count {
            Some(n) => Some(self.num_spec(st, &eff, n, scope, "ToleratedFailureCount")?),
            None => None,
        };
        let tol_pct = match &spec.tolerated_percentage {
            Some(n) => Some(self.num_spec(st, &eff, n, scope, "ToleratedFailurePercentage")?),
            None => None,
        };
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            inputs.push(if let Some(t) = &spec.selector_path {
                let env = self.penv(&eff, scope, st, Some((i, item)));
                t.eval(&env)?
            } else if let Some(t) = &spec.selector_jsonata {
                let states = self.states_value(raw, st, Some((i, item)), None, None);
                jsonata::eval_template(
                    t,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    "ItemSelector",
                )?
            } else {
                item.clone()
            });
        }
        drop(items);
        let n = inputs.len();
        if probe.is_some() {
            if spec.selector_path.is_some() || spec.selector_jsonata.is_some() {
                self.inspect(st, "afterItemSelector", || Value::Array(inputs.clone()));
            }
            self.inspect(st, "maxConcurrency", || json!(max_conc));
            if let Some(c) = tol_count {
                self.inspect(st, "toleratedFailureCount", || json!(c as u64));
            }
            if let Some(p) = tol_pct {
                self.inspect(st, "toleratedFailurePercentage", || json!(p));
            }
        }
        if let Some(mocked) = mocked {
            // TestState: the mock is the Map's result, and `mapIterationFailureCount` iterations
            // failed (https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestStateConfiguration.html).
            let result = mocked.map_err(mocked_failure)?;
            let failures = probe
                .and_then(|p| p.map_iteration_failure_count)
                .unwrap_or(0) as f64;
            let by_count = tol_count.is_some_and(|c| failures <= c);
            let by_pct = tol_pct.is_some_and(|p| n > 0 && failures * 100.0 / n as f64 <= p);
            if (tol_count.is_some() || tol_pct.is_some()) && !(by_count || by_pct) {
                return Err(Thrown::plain(Failure::new(
                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                )));
            }
            return Ok(result);
        }
        let started = self.emit(prev, E::MapStateStarted, || {
            Some(("mapStateStartedEventDetails", json!({"length": n})))
        });
        let parent = Arc::new(std::mem::take(scope));
        let name = &*st.node.name;
        let limit = if max_conc == 0 { n.max(1) } else { max_conc };
        let result = {
            let mut queue = inputs.into_iter().enumerate();
            let mut running = FuturesUnordered::new();
            let mut outs: Vec<Value> = vec![Value::Null; n];
            let mut failures = 0usize;
            let mut first_failure: Option<Failure> = None;
            let mut last = started;
            let spawn = |i: usize, input: Value, parent: Arc<Scope>| async move {
                let mut p = started;
                self.emit(&mut p, E::MapIterationStarted, || {
                    Some((
                        "mapIterationStartedEventDetails",
                        json!({"name": name, "index": i}),
                    ))
                });
                let mut scope = Scope::child(parent);
                let r = self
                    .run_graph(&spec.processor, input, &mut scope, &mut p)
                    .await;
                let (t, key) = if r.is_ok() {
                    (
                        E::MapIterationSucceeded,
                        "mapIterationSucceededEventDetails",
                    )
                } else {
                    (E::MapIterationFailed, "mapIterationFailedEventDetails")
                };
                self.emit(&mut p, t, || Some((key, json!({"name": name, "index": i}))));
                (i, r, p)
            };
            for _ in 0..limit {
                if let Some((i, input)) = queue.next() {
                    running.push(spawn(i, input, parent.clone()));
                }
            }
            let tolerated = |failures: usize| -> bool {
                let by_count = tol_count.is_some_and(|c| failures as f64 <= c);
                let by_pct =
                    tol_pct.is_some_and(|p| n > 0 && (failures as f64 * 100.0 / n as f64) <= p);
                by_count || by_pct
            };
            let mut outcome: Result<(), Failure> = Ok(());
            while let Some((i, r, p)) = running.next().await {
                last = last.max(p);
                match r {
                    Ok(v) => outs[i] = v,
                    Err(f) => {
                        failures += 1;
                        outs[i] = f.to_error_output();
                        if first_failure.is_none() {
                            first_failure = Some(f.clone());
                        }
                        if !tolerated(failures) {
                            outcome = Err(if tol_count.is_some() || tol_pct.is_some() {
                                Failure::new(
                                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                    "The specified tolerated failure threshold was exceeded",
                                )
                            } else {
                                f
                            });
                            break;
                        }
                    }
                }
                if let Some((i, input)) = queue.next() {
                    running.push(spawn(i, input, parent.clone()));
                }
            }
            drop(running);
            *prev = last;
            outcome.map(|_| Value::Array(outs))
        };
        *scope = Arc::try_unwrap(parent).unwrap_or_default();
        match result {
            Ok(v) => {
                self.emit(prev, E::MapStateSucceeded, || None);
                Ok(v)
            }
            Err(f) => {
                self.emit(prev, E::MapStateFailed, || None);
                Err(Thrown::plain(f))
            }
        }
    }
}

fn failure_details(f: &Failure) -> Value {
    let mut m = Map::new();
    if let Some(e) = &f.error {
        m.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &f.cause {
        m.insert("cause".into(), Value::String(c.clone()));
    }
    Value::Object(m)
}

/// A mocked Map or Parallel state's error (TestState's `mock.errorOutput`).
fn mocked_failure(e: TaskError) -> Thrown {
    Thrown::plain(Failure {
        error: Some(e.error),
        cause: (!e.cause.is_empty()).then_some(e.cause),
    })
}

/// The Map state's number fields whose `*Path` may name an integer written as a string.
const MAP_NUMBER_FIELDS: [&str; 3] = [
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
];

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
fn may_grow(node: &Node) -> bool {
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
fn data_limit_failure(state: &str) -> Failure {
    Failure::new(
        names::DATA_LIMIT_EXCEEDED,
        format!("The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."),
    )
}

/// The failure of an execution that reached the history limit.
fn history_limit_failure() -> Failure {
    Failure::new(names::RUNTIME, crate::history::HISTORY_LIMIT_CAUSE)
}

fn invalid_path(p: &Path) -> Thrown {
    Thrown::runtime(
        names::RUNTIME,
        format!(
            "Invalid path '{}' : No results for path: {}",
            p.as_str(),
            p.normalized()
        ),
    )
}

fn no_choice() -> Thrown {
    Thrown::runtime(
        names::NO_CHOICE_MATCHED,
        "No Choice rule matched and the Choice state has no Default",
    )
}

/// Whether a Retry/Catch `ErrorEquals` list matches an error name
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>):
/// `States.ALL` matches everything but `States.Runtime` and `States.DataLimitExceeded`;
/// `States.TaskFailed` matches everything but timeouts; `States.Timeout` also matches heartbeat timeouts.
pub(crate) fn error_matches(list: &[String], error: Option<&str>) -> bool {
    let e = error.unwrap_or("");
    list.iter().any(|x| match x.as_str() {
        names::ALL => e != names::RUNTIME && e != names::DATA_LIMIT_EXCEEDED,
        names::TIMEOUT => e == names::TIMEOUT || e == names::HEARTBEAT_TIMEOUT,
        names::TASK_FAILED => {
            e != names::TIMEOUT
                && e != names::HEARTBEAT_TIMEOUT
                && e != names::RUNTIME
                && e != names::DATA_LIMIT_EXCEEDED
                && !e.is_empty()
        }
        other => other == e,
    })
}

/// Stops waiting on a task token when dropped (remembering a timeout, to answer TaskTimedOut).
struct WaitingToken<'a> {
    callbacks: &'a crate::Callbacks,
    token: String,
    timed_out: bool,
}

impl Drop for WaitingToken<'_> {
    fn drop(&mut self) {
        self.callbacks.forget(&self.token, self.timed_out);
    }
}

/// True for an activity ARN (`arn:<partition>:states:<region>:<account>:activity:<name>`).
fn is_activity(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    parts.len() == 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity"
}

/// `arn:aws:states:::lambda:invoke` → ("lambda", "invoke"); `...:::aws-sdk:dynamodb:getItem` →
/// ("aws-sdk:dynamodb", "getItem"), as TaskScheduled reports them.
fn resource_parts(resource: &str) -> (String, String) {
    if let Some(rest) = resource.strip_prefix("arn:aws:states:::") {
        let rest = rest
            .strip_suffix(".waitForTaskToken")
            .or_else(|| rest.strip_suffix(".sync:2"))
            .or_else(|| rest.strip_suffix(".sync"))
            .unwrap_or(rest);
        if let Some((t, r)) = rest.rsplit_once(':') {
            return (t.to_string(), r.to_string());
        }
    }
    if resource.starts_with("arn:aws:lambda:") {
        return ("lambda".into(), resource.to_string());
    }
    ("custom".into(), resource.to_string())
}

/// The result of `arn:aws:states:::lambda:invoke`: Lambda's Invoke response around the payload.
fn lambda_invoke_response(payload: Value) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "HttpHeaders": {
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    })
}

// ---------- Choice rules (JSONPath) ----------

fn eval_cond(c: &Cond, env: &PEnv<'_>) -> Result<bool, Thrown> {
    match c {
        Cond::And(cs) => {
            for c in cs {
                if !eval_cond(c, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Or(cs) => {
            for c in cs {
                if eval_cond(c, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::Not(c) => Ok(!eval_cond(c, env)?),
        Cond::Jsonata(_) => Err(Thrown::runtime(
            names::RUNTIME,
            "A Condition is only valid in a JSONata Choice state",
        )),
        Cond::Cmp { var, op, operand } => {
            let value = env.resolve(var)?;
            if *op == Op::IsPresent {
                let expect = matches!(operand, Operand::Value(Value::Bool(true)));
                return Ok(value.is_some() == expect);
            }
            let Some(value) = value else {
                return Err(Thrown::runtime(
                    names::RUNTIME,
                    format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        var.as_str()
                    ),
                ));
            };
            compare(&value, *op, operand, env)
        }
    }
}

fn compare(v: &Value, op: Op, operand: &Operand, env: &PEnv<'_>) -> Result<bool, Thrown> {
    use std::cmp::Ordering;
    let is_test = |b: bool| -> bool {
        let expect = matches!(operand, Operand::Value(Value::Bool(true)));
        b == expect
    };
    match op {
        Op::IsNull => return Ok(is_test(v.is_null())),
        Op::IsNumeric => return Ok(is_test(v.is_number())),
        Op::IsString => return Ok(is_test(v.is_string())),
        Op::IsBoolean => return Ok(is_test(v.is_boolean())),
        Op::IsTimestamp => return Ok(is_test(v.as_str().and_then(parse_timestamp).is_some())),
        Op::StringMatches => {
            let (Some(s), Operand::Glob(g)) = (v.as_str(), operand) else {
                return Ok(false);
            };
            return Ok(glob_match(g, &s.chars().collect::<Vec<_>>()));
        }
        _ => {}
    }
    // The other operand, literal or from a path.
    let other: Cow<'_, Value> = match operand {
        Operand::Value(x) => Cow::Borrowed(x),
        Operand::Path(p) => match env.resolve(p)? {
            Some(x) => x,
            None => {
                return Err(Thrown::runtime(
                    names::RUNTIME,
                    format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        p.as_str()
                    ),
                ))
            }
        },
        Operand::Timestamp(t) => {
            let (Some(a), Some(b)) = (v.as_str().and_then(parse_timestamp), t) else {
                return Ok(false);
            };
            return Ok(ord_matches(op, a.cmp(b)));
        }
        Operand::Glob(_) => return Ok(false),
    };
    let name = op.name();
    let ord: Option<Ordering> = if name.starts_with("String") {
        match (v, other.as_ref()) {
            (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
            _ => None,
        }
    } else if name.starts_with("Numeric") {
        match (v, other.as_ref()) {
            (Value::Number(a), Value::Number(b)) => {
                if json_eq(v, other.as_ref()) {
                    Some(Ordering::Equal)
                } else {
                    a.as_f64().partial_cmp(&b.as_f64())
                }
            }
            _ => None,
        }
    } else if name.starts_with("Boolean") {
        match (v, other.as_ref()) {
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        }
    } else if name.starts_with("Timestamp") {
        match (
            v.as_str().and_then(parse_timestamp),
            other.as_str().and_then(parse_timestamp),
        ) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        }
    } else {
        None
    };
    Ok(ord.is_some_and(|o| ord_matches(op, o)))
}

fn ord_matches(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    let n = op.name().trim_end_matches("Path");
    if n.ends_with("GreaterThanEquals") {
        o != Less
    } else if n.ends_with("LessThanEquals") {
        o != Greater
    } else if n.ends_with("GreaterThan") {
        o == Greater
    } else if n.ends_with("LessThan") {
        o == Less
    } else {
        o == Equal
    }
}

fn glob_match(p: &[GlobTok], s: &[char]) -> bool {
    // Iterative wildcard matching with backtracking to the last star.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(GlobTok::Lit(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
            }
            Some(GlobTok::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == GlobTok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::glob;

    #[test]
    fn string_matches() {
        let m = |p: &str, s: &str| glob_match(&glob(p), &s.chars().collect::<Vec<_>>());
        assert!(m("log-*.txt", "log-2024.txt"));
        assert!(!m("log-*.txt", "log-2024.csv"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
    }

    #[test]
    fn error_matching() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(error_matches(&l(&["States.ALL"]), Some("Custom")));
        assert!(!error_matches(&l(&["States.ALL"]), Some("States.Runtime")));
        assert!(!error_matches(
            &l(&["States.TaskFailed"]),
            Some("States.Timeout")
        ));
        assert!(error_matches(&l(&["A", "B"]), Some("B")));
    }
}

//! Resuming an interrupted execution from its history: where it was when its process died (the
//! top-level state it was in and the input that state received, or the state after the last one
//! it left, with that state's output), and the variables the states before had assigned. An
//! endpoint that journals every event as it is recorded ([`crate::history::EventSink`]) reads them
//! back after a restart, asks [`progress`] where the run was, and runs it on with
//! `ExecOptions::resume` (its history continued, no second `ExecutionStarted`). RedriveExecution
//! reads a closed run's history the same way ([`redrive_from`]) to know where the redrive starts.
//!
//! What runs again: the state that was running when the process died runs again from its start
//! (at-least-once for that state; an inline Map or a Parallel state runs again only the iterations
//! or branches that had not succeeded ([`Done`]), and a `.waitForTaskToken` task issues a new
//! token); the states it had left do not.

use serde_json::Value;

use std::collections::HashMap;

use crate::compile::{CompiledMachine, Graph, Kind, Node};

/// Where a resumed run starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ResumeFrom {
    /// Run the top-level state `state` with `input`. With `entered_event_id`, the state had been
    /// entered (its `*StateEntered` event is that one) and is not recorded as entered again.
    State {
        /// The top-level state's name.
        state: String,
        /// The input it receives.
        input: Value,
        /// The id of its `*StateEntered` event, when it was entered before the interruption.
        entered_event_id: Option<u64>,
    },
    /// The last state had ended the workflow: the execution succeeds with `output`.
    End {
        /// The execution's output.
        output: Value,
    },
}

/// How to resume an execution (`ExecOptions::resume`): its history has `ExecOptions::events_before`
/// events already; the run's events follow them.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    /// Where the run starts.
    pub from: ResumeFrom,
    /// The workflow variables in scope there (top-level `Assign`s of the states before).
    pub variables: Vec<(String, Value)>,
    /// When the run starts at an inline Map or a Parallel state that had run before: the results
    /// of its iterations or branches that succeeded then, by index ([`Done`]).
    pub done: Done,
    /// When the run starts at a distributed Map state whose Map Run ended unsuccessfully: that
    /// Map Run's ARN. A redrive redrives it (its unsuccessful children) instead of starting a new
    /// one (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html>).
    pub map_run: Option<String>,
}

/// The iterations of an inline Map state or the branches of a Parallel state that succeeded in an
/// earlier run of the state, with their results, by index. A redriven or resumed run of the state
/// runs only the others and puts these results where they were: "For workflows that include an
/// Inline Map or Parallel state, RedriveExecution API action reschedules and redrives only the
/// iterations and branches that failed or aborted"
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>).
pub type Done = std::collections::BTreeMap<usize, Value>;

/// What an execution's history says about its run.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// No event: the run never started (run it from the start).
    NotStarted,
    /// The run ended: its last event (`ExecutionSucceeded`, `ExecutionFailed`,
    /// `ExecutionTimedOut` or `ExecutionAborted`, as GetExecutionHistory shows it).
    Ended(Value),
    /// The run was interrupted: resume it so.
    Interrupted(Resume),
}

const ENDS: [&str; 4] = [
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionTimedOut",
    "ExecutionAborted",
];

/// A top-level state entered and not left yet.
struct Open {
    name: String,
    input: Value,
    id: u64,
}

fn parse_text(v: &Value) -> Value {
    v.as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// Where the run of `machine` recorded by `events` (GetExecutionHistory's members, in id order,
/// timestamps as text) was: the last top-level state entered and not exited runs again with the
/// input it entered with; after a state that exited, the state its transition names runs with its
/// output. A redriven run (`ExecutionRedriven`) continues from its own events. Nested states
/// (in a Map or Parallel state) do not count: an interrupted Map or Parallel state runs again.
pub fn progress(machine: &CompiledMachine, events: &[Value]) -> Progress {
    let scan = scan(&machine.graph, events);
    if let Some(end) = scan.ended {
        return Progress::Ended(end);
    }
    match scan.from {
        Some(from) => Progress::Interrupted(Resume {
            from,
            variables: scan.variables,
            done: scan.done,
            map_run: scan.map_run,
        }),
        None => Progress::NotStarted,
    }
}

/// Where a redrive of the closed run of `machine` recorded by `events` starts: where [`progress`]
/// would resume it had it not ended (the state that failed, timed out or was stopped runs again
/// with the input it entered with; a run stopped between two states goes on with the next one),
/// with the variables assigned before. `None` when no state was entered.
pub fn redrive_from(machine: &CompiledMachine, events: &[Value]) -> Option<Resume> {
    redrive_in(&machine.graph, events)
}

/// Where a redrive of the closed run of `graph` recorded by `events` starts ([`redrive_from`]):
/// from the start with `input` when no state was entered.
pub(crate) fn redrive_point(graph: &Graph, events: &[Value], input: Value) -> crate::Redrive {
    match redrive_in(graph, events) {
        Some(Resume {
            from: ResumeFrom::State { state, input, .. },
            variables,
            done,
            map_run,
        }) => crate::Redrive {
            state,
            input,
            variables,
            done,
            map_run,
            ..Default::default()
        },
        _ => crate::Redrive {
            state: graph.nodes[graph.start].name.to_string(),
            input,
            ..Default::default()
        },
    }
}

/// [`redrive_from`] for a run of `graph` (a distributed Map's item processor, for its children).
fn redrive_in(graph: &Graph, events: &[Value]) -> Option<Resume> {
    let scan = scan(graph, events);
    scan.from.map(|from| Resume {
        from,
        variables: scan.variables,
        done: scan.done,
        map_run: scan.map_run,
    })
}

/// What [`progress`] and [`redrive_from`] read from a history.
struct Scan {
    /// The run's last event, if it ended.
    ended: Option<Value>,
    /// Where the run was (`None`: no state entered, no start recorded).
    from: Option<ResumeFrom>,
    variables: Vec<(String, Value)>,
    /// The iterations or branches of the state `from` names that succeeded before.
    done: Done,
    /// The unsuccessful Map Run of the distributed Map state `from` names.
    map_run: Option<String>,
}

/// The top-level inline Map or Parallel state being read, and its iterations or branches that
/// succeeded so far.
struct Parts<'g> {
    name: String,
    /// The id of the state's `*StateEntered` event in the run being read.
    entered_id: u64,
    kind: PartsKind<'g>,
    done: Done,
}

enum PartsKind<'g> {
    /// An inline Map: its `MapIterationSucceeded` events name it and the iteration's index; the
    /// event before one is the iteration's last state's exit, with the iteration's result.
    Map,
    /// A distributed Map: the ARN of its Map Run (`MapRunStarted`, `MapRunRedriven`), and
    /// whether the Map Run's last end was a success (then it is not redriven).
    MapRun {
        arn: Option<String>,
        succeeded: bool,
    },
    /// A Parallel state: a branch's events follow one another by `previousEventId` from the
    /// state's first `ParallelStateStarted`; a branch succeeded when one of its end states exited.
    Parallel {
        branches: &'g [Graph],
        /// The names of each branch's end states.
        ends: Vec<Vec<&'g str>>,
        started: Option<u64>,
        /// Event id -> the branch it belongs to.
        member: HashMap<u64, usize>,
    },
}

impl<'g> Parts<'g> {
    /// The tracker of `node`'s parts, when its events tell them apart: `None` for a state that is
    /// not an inline Map or a Parallel state, or whose nested states share names that would make
    /// its events ambiguous (those run again whole).
    fn of(node: &'g Node, entered_id: u64) -> Option<Self> {
        let kind = match &node.kind {
            Kind::Map(spec) if spec.distributed.is_some() => PartsKind::MapRun {
                arn: None,
                succeeded: false,
            },
            Kind::Map(spec) => {
                let mut nested = Vec::new();
                nested_names(&spec.processor, &mut nested);
                (!nested.contains(&&*node.name)).then_some(PartsKind::Map)?
            }
            Kind::Parallel { branches } => {
                let starts: Vec<&str> = branches.iter().map(|b| &*b.nodes[b.start].name).collect();
                if (1..starts.len()).any(|i| starts[..i].contains(&starts[i])) {
                    return None;
                }
                let mut ends = Vec::with_capacity(branches.len());
                for branch in branches {
                    let mut nested = Vec::new();
                    for n in &branch.nodes {
                        nested_in(n, &mut nested);
                    }
                    let names: Vec<&str> = branch
                        .nodes
                        .iter()
                        .filter(|n| {
                            n.next.is_none()
                                && !matches!(n.kind, Kind::Fail { .. } | Kind::Choice { .. })
                        })
                        .map(|n| &*n.name)
                        .collect();
                    if names
                        .iter()
                        .any(|e| nested.contains(e) || *e == &*node.name)
                    {
                        return None;
                    }
                    ends.push(names);
                }
                PartsKind::Parallel {
                    branches,
                    ends,
                    started: None,
                    member: HashMap::new(),
                }
            }
            _ => return None,
        };
        Some(Parts {
            name: node.name.to_string(),
            entered_id,
            kind,
            done: Done::new(),
        })
    }

    /// The same state entered again by a redrive (`entered_id`): what succeeded before is kept.
    fn reentered(&mut self, entered_id: u64) {
        self.entered_id = entered_id;
        if let PartsKind::Parallel {
            started, member, ..
        } = &mut self.kind
        {
            *started = None;
            member.clear();
        }
    }

    /// Reads one event of the state's run (`events`: the whole history, in id order).
    fn observe(&mut self, event: &Value, kind: &str, events: &[Value]) {
        let id = event["id"].as_u64().unwrap_or_default();
        let previous = event["previousEventId"].as_u64().unwrap_or_default();
        match &mut self.kind {
            PartsKind::MapRun { arn, succeeded } => match kind {
                "MapRunStarted" | "MapRunRedriven" => {
                    let key = if kind == "MapRunStarted" {
                        "mapRunStartedEventDetails"
                    } else {
                        "mapRunRedrivenEventDetails"
                    };
                    *arn = event[key]["mapRunArn"].as_str().map(str::to_string);
                    *succeeded = false;
                }
                "MapRunSucceeded" => *succeeded = true,
                _ => {}
            },
            PartsKind::Map => {
                let key = match kind {
                    "MapIterationSucceeded" => "mapIterationSucceededEventDetails",
                    "MapIterationFailed" => "mapIterationFailedEventDetails",
                    "MapIterationAborted" => "mapIterationAbortedEventDetails",
                    _ => return,
                };
                let details = &event[key];
                let (Some(name), Some(index)) =
                    (details["name"].as_str(), details["index"].as_u64())
                else {
                    return;
                };
                if name != self.name {
                    return;
                }
                let index = index as usize;
                let last = (kind == "MapIterationSucceeded")
                    .then(|| by_id(events, previous))
                    .flatten()
                    .and_then(|e| e.get("stateExitedEventDetails"));
                match last {
                    Some(exit) => {
                        self.done.insert(index, parse_text(&exit["output"]));
                    }
                    None => {
                        self.done.remove(&index);
                    }
                }
            }
            PartsKind::Parallel {
                branches,
                ends,
                started,
                member,
            } => {
                if kind == "ParallelStateStarted" && previous == self.entered_id {
                    *started = Some(id);
                    return;
                }
                let Some(started) = *started else { return };
                let branch = if previous == started {
                    let name = event["stateEnteredEventDetails"]["name"].as_str();
                    match branches
                        .iter()
                        .position(|b| Some(&*b.nodes[b.start].name) == name)
                    {
                        Some(b) => b,
                        None => return,
                    }
                } else {
                    match member.get(&previous) {
                        Some(&b) => b,
                        None => return,
                    }
                };
                member.insert(id, branch);
                if let Some(exit) = event.get("stateExitedEventDetails") {
                    let name = exit["name"].as_str().unwrap_or_default();
                    if ends[branch].contains(&name) {
                        self.done.insert(branch, parse_text(&exit["output"]));
                    }
                }
            }
        }
    }
}

/// The names of the states nested in `node` (in its Map processor or Parallel branches, at any
/// depth).
fn nested_in<'g>(node: &'g Node, out: &mut Vec<&'g str>) {
    match &node.kind {
        Kind::Map(spec) => nested_names(&spec.processor, out),
        Kind::Parallel { branches } => {
            for b in branches {
                nested_names(b, out);
            }
        }
        _ => {}
    }
}

/// The names of `graph`'s states and of every state nested in them.
fn nested_names<'g>(graph: &'g Graph, out: &mut Vec<&'g str>) {
    for n in &graph.nodes {
        out.push(&n.name);
        nested_in(n, out);
    }
}

/// The event whose id is `id` (`events` in id order).
fn by_id(events: &[Value], id: u64) -> Option<&Value> {
    events
        .binary_search_by_key(&id, |e| e["id"].as_u64().unwrap_or_default())
        .ok()
        .map(|i| &events[i])
}

fn scan(graph: &Graph, events: &[Value]) -> Scan {
    let node_of = |name: &str| graph.nodes.iter().find(|n| &*n.name == name);
    let mut ended: Option<&Value> = None;
    let mut started_input: Option<Value> = None;
    let mut variables: Vec<(String, Value)> = Vec::new();
    let mut open: Option<Open> = None;
    // A top-level state that exited: (the state as entered, its output, whether it had failed).
    let mut after: Option<(Open, Value, bool)> = None;
    // The top-level Map/Parallel state whose inner events are being read.
    let mut container: Option<String> = None;
    // What of the last top-level inline Map or Parallel state entered succeeded.
    let mut parts: Option<Parts> = None;
    let mut previous_type = "";
    for event in events {
        let kind = event["type"].as_str().unwrap_or_default();
        let before = std::mem::replace(&mut previous_type, kind);
        match kind {
            "ExecutionStarted" | "ExecutionRedriven" => {
                ended = None;
                container = None;
                if kind == "ExecutionStarted" {
                    started_input =
                        Some(parse_text(&event["executionStartedEventDetails"]["input"]));
                }
                continue;
            }
            k if ENDS.contains(&k) => {
                ended = Some(event);
                container = None;
                // A state that failed with States.DataLimitExceeded runs again whole, "including
                // the branches/iterations that were successful in the original execution attempt"
                // (https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html).
                let error = event["executionFailedEventDetails"]["error"].as_str();
                if error == Some(crate::error::names::DATA_LIMIT_EXCEEDED) {
                    parts = None;
                }
                // A Map Run that failed with a JSON data interpolation error (States.Runtime) is
                // not redriven either: the redrive starts a new one (redrive-map-run.html).
                if error == Some(crate::error::names::RUNTIME) {
                    if let Some(PartsKind::MapRun { arn, .. }) = parts.as_mut().map(|p| &mut p.kind)
                    {
                        *arn = None;
                    }
                }
                continue;
            }
            _ => {}
        }
        if container.is_some() {
            if let Some(parts) = parts.as_mut() {
                parts.observe(event, kind, events);
            }
        }
        if let Some(details) = event.get("stateEnteredEventDetails") {
            let name = details["name"].as_str().unwrap_or_default();
            if container.is_some() {
                continue;
            }
            if let Some(node) = node_of(name) {
                let id = event["id"].as_u64().unwrap_or_default();
                open = Some(Open {
                    name: name.to_string(),
                    input: parse_text(&details["input"]),
                    id,
                });
                after = None;
                if matches!(node.kind, Kind::Map(_) | Kind::Parallel { .. }) {
                    container = Some(name.to_string());
                }
                // A redrive entering the state again keeps what succeeded in it before.
                match parts.as_mut() {
                    Some(p) if before == "ExecutionRedriven" && p.name == name => p.reentered(id),
                    _ => parts = Parts::of(node, id),
                }
            }
        } else if let Some(details) = event.get("stateExitedEventDetails") {
            let name = details["name"].as_str().unwrap_or_default();
            if container.as_deref().is_some_and(|c| c != name) {
                continue;
            }
            let Some(entered) = open.take_if(|o| o.name == name) else {
                continue;
            };
            container = None;
            for (var, text) in details["assignedVariables"]
                .as_object()
                .into_iter()
                .flatten()
            {
                variables.retain(|(v, _)| v != var);
                variables.push((var.clone(), parse_text(text)));
            }
            let failed = before.ends_with("Failed") || before.ends_with("TimedOut");
            after = Some((entered, parse_text(&details["output"]), failed));
        }
    }
    let ended = ended.cloned();
    let not_started = |variables| Scan {
        ended: ended.clone(),
        from: None,
        variables,
        done: Done::new(),
        map_run: None,
    };
    // What succeeded in the state the run starts at, when it is the one `parts` read.
    let done_in = |name: &str| {
        let parts = parts.as_ref().filter(|p| p.name == name);
        let map_run = match parts.map(|p| &p.kind) {
            Some(PartsKind::MapRun {
                arn,
                succeeded: false,
            }) => arn.clone(),
            _ => None,
        };
        (parts.map(|p| p.done.clone()).unwrap_or_default(), map_run)
    };
    let (mut done, mut map_run) = (Done::new(), None);
    let from = match (open, after) {
        (Some(open), _) => {
            (done, map_run) = done_in(&open.name);
            ResumeFrom::State {
                state: open.name,
                input: open.input,
                entered_event_id: Some(open.id),
            }
        }
        (None, Some((entered, output, failed))) => {
            let node = node_of(&entered.name);
            match node {
                // Where a Choice went, or which catcher took a failure, is not in the exit event
                // (the journal writes an exit together with the next event, so this only follows a
                // torn write): the state runs again.
                Some(n) if failed || matches!(n.kind, Kind::Choice { .. }) => {
                    (done, map_run) = done_in(&entered.name);
                    ResumeFrom::State {
                        state: entered.name,
                        input: entered.input,
                        entered_event_id: Some(entered.id),
                    }
                }
                Some(n) => match n.next {
                    Some(next) => ResumeFrom::State {
                        state: graph.nodes[next].name.to_string(),
                        input: output,
                        entered_event_id: None,
                    },
                    None => ResumeFrom::End { output },
                },
                None => return not_started(variables),
            }
        }
        (None, None) => match started_input {
            // Started, no state entered yet.
            Some(input) => ResumeFrom::State {
                state: graph.nodes[graph.start].name.to_string(),
                input,
                entered_event_id: None,
            },
            None => return not_started(variables),
        },
    };
    Scan {
        ended,
        from: Some(from),
        variables,
        done,
        map_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn machine(def: &str) -> CompiledMachine {
        let m: workflow_dsl::model::StateMachine = serde_json::from_str(def).unwrap();
        CompiledMachine::new(&m).unwrap()
    }

    const THREE: &str = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
        "M": {"Type": "Map", "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}, "Next": "C"},
        "C": {"Type": "Pass", "End": true}}}"#;

    fn ev(id: u64, kind: &str, details: Value) -> Value {
        let mut e = json!({"id": id, "previousEventId": id - 1, "type": kind});
        if let Value::Object(d) = details {
            e.as_object_mut().unwrap().extend(d);
        }
        e
    }
    fn entered(id: u64, kind: &str, name: &str, input: &str) -> Value {
        ev(
            id,
            kind,
            json!({"stateEnteredEventDetails": {"name": name, "input": input}}),
        )
    }
    fn exited(id: u64, kind: &str, name: &str, output: &str) -> Value {
        ev(
            id,
            kind,
            json!({"stateExitedEventDetails": {"name": name, "output": output, "assignedVariables": {"x": "1"}}}),
        )
    }

    #[test]
    fn the_open_state_runs_again_and_nested_events_do_not_count() {
        let m = machine(THREE);
        let events = vec![
            ev(
                1,
                "ExecutionStarted",
                json!({"executionStartedEventDetails": {"input": "{\"a\":1}"}}),
            ),
            entered(2, "PassStateEntered", "A", "{\"a\":1}"),
            exited(3, "PassStateExited", "A", "[1,2]"),
            entered(4, "MapStateEntered", "M", "[1,2]"),
            ev(5, "MapStateStarted", json!({})),
            entered(6, "PassStateEntered", "C", "1"),
            exited(7, "PassStateExited", "C", "1"),
        ];
        assert_eq!(
            progress(&m, &events),
            Progress::Interrupted(Resume {
                from: ResumeFrom::State {
                    state: "M".into(),
                    input: json!([1, 2]),
                    entered_event_id: Some(4)
                },
                variables: vec![("x".into(), json!(1))],
                done: Done::new(),
                map_run: None,
            })
        );
        // Only the start: StartAt with the execution's input.
        assert_eq!(
            progress(&m, &events[..1]),
            Progress::Interrupted(Resume {
                from: ResumeFrom::State {
                    state: "A".into(),
                    input: json!({"a": 1}),
                    entered_event_id: None
                },
                variables: vec![],
                done: Done::new(),
                map_run: None,
            })
        );
        // After an exit (torn write of the next event): the next state with that output.
        match progress(&m, &events[..3]) {
            Progress::Interrupted(Resume {
                from: ResumeFrom::State { state, input, .. },
                ..
            }) => assert_eq!((state.as_str(), input), ("M", json!([1, 2]))),
            other => panic!("{other:?}"),
        }
        assert_eq!(progress(&m, &[]), Progress::NotStarted);
    }

    #[test]
    fn an_ended_run_and_the_end_state() {
        let m = machine(THREE);
        let mut events = vec![
            ev(1, "ExecutionStarted", json!({})),
            entered(2, "PassStateEntered", "C", "5"),
            exited(3, "PassStateExited", "C", "5"),
        ];
        assert_eq!(
            progress(&m, &events),
            Progress::Interrupted(Resume {
                from: ResumeFrom::End { output: json!(5) },
                variables: vec![("x".into(), json!(1))],
                done: Done::new(),
                map_run: None,
            })
        );
        let end = ev(4, "ExecutionSucceeded", json!({}));
        events.push(end.clone());
        assert_eq!(progress(&m, &events), Progress::Ended(end));
        // A redrive after the end resumes again.
        events.push(ev(5, "ExecutionRedriven", json!({})));
        assert!(matches!(progress(&m, &events), Progress::Interrupted(_)));
    }

    /// A redrive goes on from where the closed run was: a run stopped between two states with
    /// the next one (not from StartAt), a failed one with the state that failed, a nested state
    /// named like a top-level one not taken for it.
    #[test]
    fn a_redrive_goes_on_where_the_closed_run_was() {
        let m = machine(THREE);
        let started = ev(
            1,
            "ExecutionStarted",
            json!({"executionStartedEventDetails": {"input": "{\"a\":1}"}}),
        );
        // Stopped after A exited, before M was entered.
        let stopped_between = vec![
            started.clone(),
            entered(2, "PassStateEntered", "A", "{\"a\":1}"),
            exited(3, "PassStateExited", "A", "[1,2]"),
            ev(4, "ExecutionAborted", json!({})),
        ];
        assert_eq!(
            progress(&m, &stopped_between),
            Progress::Ended(stopped_between[3].clone())
        );
        assert_eq!(
            redrive_from(&m, &stopped_between),
            Some(Resume {
                from: ResumeFrom::State {
                    state: "M".into(),
                    input: json!([1, 2]),
                    entered_event_id: None
                },
                variables: vec![("x".into(), json!(1))],
                done: Done::new(),
                map_run: None,
            })
        );
        // Failed in M, whose iteration ran a state named C like the top-level one.
        let failed_in_map = vec![
            started.clone(),
            entered(2, "PassStateEntered", "A", "{\"a\":1}"),
            exited(3, "PassStateExited", "A", "[1,2]"),
            entered(4, "MapStateEntered", "M", "[1,2]"),
            entered(5, "PassStateEntered", "C", "1"),
            ev(6, "MapStateFailed", json!({})),
            ev(7, "ExecutionFailed", json!({})),
        ];
        assert!(matches!(
            redrive_from(&m, &failed_in_map),
            Some(Resume { from: ResumeFrom::State { ref state, ref input, .. }, .. })
                if state == "M" && *input == json!([1, 2])
        ));
        // Stopped before any state: from the start, with the execution's input.
        let stopped_at_once = vec![started, ev(2, "ExecutionAborted", json!({}))];
        assert!(matches!(
            redrive_from(&m, &stopped_at_once),
            Some(Resume { from: ResumeFrom::State { ref state, ref input, .. }, .. })
                if state == "A" && *input == json!({"a": 1})
        ));
        assert_eq!(redrive_from(&m, &[]), None);
    }

    /// What succeeded in an inline Map or a Parallel state is kept for its redrive, across
    /// redrives; a state that failed with States.DataLimitExceeded keeps nothing.
    #[test]
    fn the_iterations_and_branches_that_succeeded_are_kept_for_a_redrive() {
        let m = machine(
            r#"{"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}, "Next": "P"},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}},
                {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "End": true}}}]}}}"#,
        );
        let after = |id: u64, prev: u64, kind: &str, details: Value| {
            let mut e = ev(id, kind, details);
            e["previousEventId"] = json!(prev);
            e
        };
        let iteration = |id, prev, kind: &str, index: u64| {
            let key = format!("{}{}EventDetails", kind[..1].to_lowercase(), &kind[1..]);
            after(
                id,
                prev,
                kind,
                json!({ key: {"name": "M", "index": index} }),
            )
        };
        let failed = |id, error: &str| {
            ev(
                id,
                "ExecutionFailed",
                json!({"executionFailedEventDetails": {"error": error}}),
            )
        };
        let mut events = vec![
            ev(1, "ExecutionStarted", json!({})),
            entered(2, "MapStateEntered", "M", "[1,2,3]"),
            ev(3, "MapStateStarted", json!({})),
            iteration(4, 3, "MapIterationStarted", 0),
            entered(5, "PassStateEntered", "B", "1"),
            exited(6, "PassStateExited", "B", "10"),
            iteration(7, 6, "MapIterationSucceeded", 0),
            iteration(8, 3, "MapIterationStarted", 1),
            entered(9, "PassStateEntered", "B", "2"),
            iteration(10, 9, "MapIterationFailed", 1),
            ev(11, "MapStateFailed", json!({})),
            failed(12, "States.TaskFailed"),
        ];
        let done = |events: &[Value]| redrive_from(&m, events).map(|r| r.done);
        assert_eq!(done(&events), Some(Done::from([(0, json!(10))])));
        // The first redrive ran iterations 2 (succeeded) and 1 (failed again).
        events.extend([
            ev(13, "ExecutionRedriven", json!({})),
            entered(14, "MapStateEntered", "M", "[1,2,3]"),
            ev(15, "MapStateStarted", json!({})),
            iteration(16, 15, "MapIterationStarted", 2),
            entered(17, "PassStateEntered", "B", "3"),
            exited(18, "PassStateExited", "B", "30"),
            iteration(19, 18, "MapIterationSucceeded", 2),
            iteration(20, 15, "MapIterationStarted", 1),
            iteration(21, 20, "MapIterationFailed", 1),
            ev(22, "MapStateFailed", json!({})),
        ]);
        let mut twice = events.clone();
        twice.push(failed(23, "States.TaskFailed"));
        assert_eq!(
            done(&twice),
            Some(Done::from([(0, json!(10)), (2, json!(30))]))
        );
        let mut too_large = events;
        too_large.push(failed(23, "States.DataLimitExceeded"));
        assert_eq!(done(&too_large), Some(Done::new()));

        // Parallel: branch X ended (its output kept), Y did not.
        let parallel = vec![
            ev(1, "ExecutionStarted", json!({})),
            entered(2, "ParallelStateEntered", "P", "{}"),
            ev(3, "ParallelStateStarted", json!({})),
            after(
                4,
                3,
                "PassStateEntered",
                json!({"stateEnteredEventDetails": {"name": "X", "input": "{}"}}),
            ),
            after(
                5,
                3,
                "PassStateEntered",
                json!({"stateEnteredEventDetails": {"name": "Y", "input": "{}"}}),
            ),
            after(
                6,
                4,
                "PassStateExited",
                json!({"stateExitedEventDetails": {"name": "X", "output": "\"x\""}}),
            ),
            ev(7, "ParallelStateFailed", json!({})),
            failed(8, "States.TaskFailed"),
        ];
        assert_eq!(done(&parallel), Some(Done::from([(0, json!("x"))])));
        // Y's exit would be attributed to its branch by its chain, not by order.
        let mut both = parallel[..6].to_vec();
        both.push(after(
            7,
            5,
            "PassStateExited",
            json!({"stateExitedEventDetails": {"name": "Y", "output": "\"y\""}}),
        ));
        both.push(failed(8, "States.Runtime"));
        assert_eq!(
            done(&both),
            Some(Done::from([(0, json!("x")), (1, json!("y"))]))
        );
    }
}

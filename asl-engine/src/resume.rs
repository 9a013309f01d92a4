//! Resuming an interrupted execution from its history: where it was when its process died (the
//! top-level state it was in and the input that state received, or the state after the last one
//! it left, with that state's output), and the variables the states before had assigned. An
//! endpoint that journals every event as it is recorded ([`crate::history::EventSink`]) reads them
//! back after a restart, asks [`progress`] where the run was, and runs it on with
//! `ExecOptions::resume` (its history continued, no second `ExecutionStarted`).
//!
//! What runs again: the state that was running when the process died runs again from its start
//! (at-least-once for that state; a Map or Parallel state runs again as a whole, and a
//! `.waitForTaskToken` task issues a new token); the states it had left do not.

use serde_json::Value;

use crate::compile::{CompiledMachine, Kind};

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
}

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
    let graph = &machine.graph;
    let node_of = |name: &str| graph.nodes.iter().find(|n| &*n.name == name);
    let mut ended: Option<&Value> = None;
    let mut started_input: Option<Value> = None;
    let mut variables: Vec<(String, Value)> = Vec::new();
    let mut open: Option<Open> = None;
    // A top-level state that exited: (the state as entered, its output, whether it had failed).
    let mut after: Option<(Open, Value, bool)> = None;
    // The top-level Map/Parallel state whose inner events are being read.
    let mut container: Option<String> = None;
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
                continue;
            }
            _ => {}
        }
        if let Some(details) = event.get("stateEnteredEventDetails") {
            let name = details["name"].as_str().unwrap_or_default();
            if container.is_some() {
                continue;
            }
            if let Some(node) = node_of(name) {
                open = Some(Open {
                    name: name.to_string(),
                    input: parse_text(&details["input"]),
                    id: event["id"].as_u64().unwrap_or_default(),
                });
                after = None;
                if matches!(node.kind, Kind::Map(_) | Kind::Parallel { .. }) {
                    container = Some(name.to_string());
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
    if let Some(end) = ended {
        return Progress::Ended(end.clone());
    }
    let from = match (open, after) {
        (Some(open), _) => ResumeFrom::State {
            state: open.name,
            input: open.input,
            entered_event_id: Some(open.id),
        },
        (None, Some((entered, output, failed))) => {
            let node = node_of(&entered.name);
            match node {
                // Where a Choice went, or which catcher took a failure, is not in the exit event
                // (the journal writes an exit together with the next event, so this only follows a
                // torn write): the state runs again.
                Some(n) if failed || matches!(n.kind, Kind::Choice { .. }) => ResumeFrom::State {
                    state: entered.name,
                    input: entered.input,
                    entered_event_id: Some(entered.id),
                },
                Some(n) => match n.next {
                    Some(next) => ResumeFrom::State {
                        state: graph.nodes[next].name.to_string(),
                        input: output,
                        entered_event_id: None,
                    },
                    None => ResumeFrom::End { output },
                },
                None => return Progress::NotStarted,
            }
        }
        (None, None) => match started_input {
            // Started, no state entered yet.
            Some(input) => ResumeFrom::State {
                state: graph.nodes[graph.start].name.to_string(),
                input,
                entered_event_id: None,
            },
            None => return Progress::NotStarted,
        },
    };
    Progress::Interrupted(Resume { from, variables })
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
            })
        );
        let end = ev(4, "ExecutionSucceeded", json!({}));
        events.push(end.clone());
        assert_eq!(progress(&m, &events), Progress::Ended(end));
        // A redrive after the end resumes again.
        events.push(ev(5, "ExecutionRedriven", json!({})));
        assert!(matches!(progress(&m, &events), Progress::Interrupted(_)));
    }
}

//! Resuming an interrupted execution from its history: where it was when its process died (the
//! top-level state it was in and the input that state received, or the state after the last one
//! it left, with that state's output), and the variables the states before had assigned. An
//! endpoint that journals every event as it is recorded ([`crate::history::EventSink`]) reads them
//! back after a restart, asks [`progress`] where the run was, and runs it on with
//! `ExecOptions::resume` (its history continued, no second `ExecutionStarted`). RedriveExecution
//! reads a closed run's history the same way ([`redrive_from`]) to know where the redrive starts.
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
    let scan = scan(machine, events);
    if let Some(end) = scan.ended {
        return Progress::Ended(end);
    }
    match scan.from {
        Some(from) => Progress::Interrupted(Resume {
            from,
            variables: scan.variables,
        }),
        None => Progress::NotStarted,
    }
}

/// Where a redrive of the closed run of `machine` recorded by `events` starts: where [`progress`]
/// would resume it had it not ended (the state that failed, timed out or was stopped runs again
/// with the input it entered with; a run stopped between two states goes on with the next one),
/// with the variables assigned before. `None` when no state was entered.
pub fn redrive_from(machine: &CompiledMachine, events: &[Value]) -> Option<Resume> {
    let scan = scan(machine, events);
    scan.from.map(|from| Resume {
        from,
        variables: scan.variables,
    })
}

/// What [`progress`] and [`redrive_from`] read from a history.
struct Scan {
    /// The run's last event, if it ended.
    ended: Option<Value>,
    /// Where the run was (`None`: no state entered, no start recorded).
    from: Option<ResumeFrom>,
    variables: Vec<(String, Value)>,
}

fn scan(machine: &CompiledMachine, events: &[Value]) -> Scan {
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
    let ended = ended.cloned();
    let not_started = |variables| Scan {
        ended: ended.clone(),
        from: None,
        variables,
    };
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
}

//! What a JSONata state's expressions may refer to: the `$states` fields each field can read,
//! no `$$` (ASL's rules, refused when the state machine is created), and, as lint, functions
//! that do not exist and `$states.context` fields the context object does not have
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).

use serde_json::Value;

use super::{At, Validator};
use crate::jsonata::{self, References};
use crate::model::{QueryLanguage, State, States};

/// Which `$states` fields a field of a state may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    /// `input` and `context` (Arguments, Items, Condition, a Choice rule's Output...).
    InputAndContext,
    /// ... and `result`: the top-level Output and Assign of Task, Map and Parallel states.
    Result,
    /// ... and `errorOutput`: a Catcher's Output and Assign.
    ErrorOutput,
}

/// Every `{% %}` expression of `state` (not of its nested workflows) with its field and what
/// that field may read.
fn state_expressions(state: &State) -> Vec<(String, String, Reads)> {
    let Ok(Value::Object(fields)) = serde_json::to_value(state) else {
        return Vec::new();
    };
    let has_result = matches!(state, State::Task(_) | State::Map(_) | State::Parallel(_));
    let mut out = Vec::new();
    for (key, value) in &fields {
        match key.as_str() {
            "Branches" | "ItemProcessor" | "Iterator" | "Comment" => {}
            "Output" | "Assign" if has_result => collect(value, key, Reads::Result, &mut out),
            "Catch" => {
                let Value::Array(catchers) = value else {
                    continue;
                };
                for (i, catcher) in catchers.iter().enumerate() {
                    let Value::Object(catcher) = catcher else {
                        continue;
                    };
                    for (field, value) in catcher {
                        let reads = if field == "Output" || field == "Assign" {
                            Reads::ErrorOutput
                        } else {
                            Reads::InputAndContext
                        };
                        collect(value, &format!("Catch[{i}].{field}"), reads, &mut out);
                    }
                }
            }
            _ => collect(value, key, Reads::InputAndContext, &mut out),
        }
    }
    out
}

fn collect(value: &Value, field: &str, reads: Reads, out: &mut Vec<(String, String, Reads)>) {
    for (suffix, inner) in jsonata::expressions(value) {
        out.push((format!("{field}{suffix}"), inner.to_owned(), reads));
    }
}

/// ASL's rules on what a JSONata state's expressions refer to, refused by AWS when the state
/// machine is created: `$states.result` only in the Output and Assign of Task, Map and Parallel
/// states, `$states.errorOutput` only in a Catcher's, no other `$states` field, no `$$`.
pub(crate) fn check_state(v: &mut Validator, at: &At, state: &State) {
    if !at.jsonata() {
        return;
    }
    for (field, expression, reads) in state_expressions(state) {
        let found: References = jsonata::references(&expression);
        if !found.root.is_empty() {
            v.report(
                at,
                &field,
                format!(
                    "{field}: a JSONata expression cannot read $$ (JSONPath's context object); \
                     read $states.context instead"
                ),
            );
        }
        for reference in &found.states {
            let Some(part) = reference.path.first() else {
                continue;
            };
            let problem = match (part.as_str(), reads) {
                ("input" | "context", _) => None,
                ("result", Reads::Result) | ("errorOutput", Reads::ErrorOutput) => None,
                ("result", _) => Some(
                    "$states.result is only available in the Output and Assign of Task, Map and \
                     Parallel states (Arguments runs before the result exists)"
                        .to_owned(),
                ),
                ("errorOutput", _) => Some(
                    "$states.errorOutput is only available in the Output and Assign of a Catch"
                        .to_owned(),
                ),
                (other, _) => Some(format!(
                    "$states has no field '{other}'; it has input, result, errorOutput and context"
                )),
            };
            if let Some(problem) = problem {
                v.report(
                    at,
                    &field,
                    format!("{field} reads {}: {problem}", reference.text()),
                );
            }
        }
    }
}

/// The fields of the context object (`$states.context` in JSONata, `$$` in JSONPath) with the
/// fields below them; `None`: any content (the execution input, a Map item).
/// <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>
pub(crate) const CONTEXT_FIELDS: &[(&str, Option<&[&str]>)] = &[
    (
        "Execution",
        Some(&[
            "Id",
            "Input",
            "Name",
            "RoleArn",
            "StartTime",
            "RedriveCount",
            "RedriveStatus",
            "RedriveTime",
        ]),
    ),
    ("State", Some(&["EnteredTime", "Name", "RetryCount"])),
    ("StateMachine", Some(&["Id", "Name"])),
    ("Task", Some(&["Token"])),
    ("Map", Some(&["Item"])),
];

/// What is wrong with `$states.context.<path>`, if anything.
fn context_problem(path: &[String]) -> Option<String> {
    let first = path.first()?;
    let Some((_, below)) = CONTEXT_FIELDS.iter().find(|(name, _)| name == first) else {
        let names: Vec<&str> = CONTEXT_FIELDS.iter().map(|(n, _)| *n).collect();
        return Some(format!(
            "the context object has no field '{first}'; it has {}",
            names.join(", ")
        ));
    };
    let (Some(second), Some(below)) = (path.get(1), below) else {
        return None;
    };
    if below.contains(&second.as_str()) {
        return None;
    }
    Some(format!(
        "the context object's {first} has no field '{second}'; it has {}",
        below.join(", ")
    ))
}

/// Lint of every JSONata expression of the document: calls of functions that do not exist in
/// Step Functions (`$eval` included: AWS leaves it out) and context fields that do not exist.
/// Both fail at run time with `States.QueryEvaluationError`.
pub(crate) fn lint(v: &mut Validator, states: &States, top_ql: QueryLanguage) {
    lint_states(v, "", states, top_ql);
}

fn lint_states(v: &mut Validator, prefix: &str, states: &States, top_ql: QueryLanguage) {
    for (name, state) in states {
        let language = state.query_language().unwrap_or(top_ql);
        let scope = super::Scope {
            prefix: prefix.to_owned(),
            kind: super::ScopeKind::Top,
            express: false,
        };
        let at = At {
            name,
            loc: format!("{prefix}States.{name}"),
            ql: language,
            scope: &scope,
            states,
        };
        if language == QueryLanguage::JSONata {
            for (field, expression, _) in state_expressions(state) {
                let found = jsonata::references(&expression);
                for call in &found.unknown_functions {
                    let message = if call.name == "eval" {
                        format!(
                            "{field} calls $eval, which Step Functions does not provide; use \
                             $parse to read JSON text"
                        )
                    } else {
                        format!(
                            "{field} calls ${}, which is neither a JSONata function nor one \
                             Step Functions adds (at position {})",
                            call.name, call.position
                        )
                    };
                    v.report(&at, &field, message);
                }
                for reference in &found.states {
                    if reference.path.first().map(String::as_str) != Some("context") {
                        continue;
                    }
                    if let Some(problem) = context_problem(&reference.path[1..]) {
                        v.report(
                            &at,
                            &field,
                            format!("{field} reads {}: {problem}", reference.text()),
                        );
                    }
                }
            }
        }
        let subs = super::sub_workflow_locations(state);
        for (field, sub) in subs {
            lint_states(
                v,
                &format!("{prefix}States.{name}.{field}."),
                &sub.states,
                top_ql,
            );
        }
    }
}

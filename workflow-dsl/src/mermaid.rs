//! A Mermaid flowchart (`flowchart TD`) of any ASL document, for review: one node per state with
//! its type, Choice/Default/Catch edges labelled, Parallel branches and Map processors drawn as
//! nested subgraphs, start and end markers. The output only depends on the document.
//!
//! ```
//! use serde_json::json;
//! use workflow_dsl::{mermaid, StateMachine};
//!
//! let machine = StateMachine::from_value(json!({
//!     "StartAt": "Hello",
//!     "States": { "Hello": { "Type": "Pass", "End": true } }
//! })).unwrap();
//! assert_eq!(
//!     mermaid::mermaid(&machine),
//!     "flowchart TD\n    start((Start))\n    stop((End))\n    start --> s0\n    s0[\"Hello<br/>Pass\"]\n    s0 --> stop\n"
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::model::{ChoiceCondition, ChoiceRule, ComparisonOperator, State, StateMachine, States};

/// The flowchart of `machine`, ending with a newline.
pub fn mermaid(machine: &StateMachine) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str("    start((Start))\n    stop((End))\n");
    graph(
        &mut out,
        1,
        "s",
        &machine.start_at,
        &machine.states,
        "start",
        "stop",
    );
    out
}

/// Escapes text for a quoted Mermaid label.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn graph(
    out: &mut String,
    depth: usize,
    prefix: &str,
    start_at: &str,
    states: &States,
    start_id: &str,
    end_id: &str,
) {
    let pad = "    ".repeat(depth);
    let ids: BTreeMap<&str, String> = states
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), format!("{prefix}{i}")))
        .collect();
    let id_of = |name: &str| -> String {
        ids.get(name)
            .cloned()
            .unwrap_or_else(|| format!("{prefix}missing_{}", sanitize(name)))
    };
    let _ = writeln!(out, "{pad}{start_id} --> {}", id_of(start_at));
    for (name, state) in states {
        let id = id_of(name);
        let label = format!("{}<br/>{}", escape(name), state.type_name());
        match state {
            State::Choice(_) => {
                let _ = writeln!(out, "{pad}{id}{{\"{label}\"}}");
            }
            State::Succeed(_) => {
                let _ = writeln!(out, "{pad}{id}([\"{label}\"])");
            }
            State::Fail(f) => {
                let label = match &f.error {
                    Some(error) => format!("{label}: {}", escape(error)),
                    None => label,
                };
                let _ = writeln!(out, "{pad}{id}[[\"{label}\"]]");
            }
            State::Parallel(p) => {
                let _ = writeln!(out, "{pad}subgraph {id} [\"{label}\"]");
                let _ = writeln!(out, "{pad}    direction TB");
                for (i, branch) in p.branches.iter().enumerate() {
                    let branch_id = format!("{id}_b{i}");
                    let _ = writeln!(out, "{pad}    subgraph {branch_id} [\"Branch {}\"]", i + 1);
                    let start = format!("{branch_id}_start");
                    let end = format!("{branch_id}_end");
                    let _ = writeln!(out, "{pad}        {start}(( ))");
                    let _ = writeln!(out, "{pad}        {end}(( ))");
                    graph(
                        out,
                        depth + 2,
                        &format!("{branch_id}_s"),
                        &branch.start_at,
                        &branch.states,
                        &start,
                        &end,
                    );
                    let _ = writeln!(out, "{pad}    end");
                }
                let _ = writeln!(out, "{pad}end");
            }
            State::Map(m) => {
                let _ = writeln!(out, "{pad}subgraph {id} [\"{label}\"]");
                let _ = writeln!(out, "{pad}    direction TB");
                if let Some(processor) = m.item_processor.as_ref().or(m.iterator.as_ref()) {
                    let start = format!("{id}_start");
                    let end = format!("{id}_end");
                    let _ = writeln!(out, "{pad}    {start}(( ))");
                    let _ = writeln!(out, "{pad}    {end}(( ))");
                    graph(
                        out,
                        depth + 1,
                        &format!("{id}_s"),
                        &processor.start_at,
                        &processor.states,
                        &start,
                        &end,
                    );
                }
                let _ = writeln!(out, "{pad}end");
            }
            _ => {
                let _ = writeln!(out, "{pad}{id}[\"{label}\"]");
            }
        }
        // Edges.
        if let (Some(next), _) = state.next_and_end() {
            let _ = writeln!(out, "{pad}{id} -->|\"Next\"| {}", id_of(next));
        } else if state.next_and_end().1 == Some(true) || matches!(state, State::Succeed(_)) {
            let _ = writeln!(out, "{pad}{id} --> {end_id}");
        }
        if let State::Choice(c) = state {
            for rule in &c.choices {
                if let Some(next) = &rule.next {
                    let _ = writeln!(
                        out,
                        "{pad}{id} -->|\"{}\"| {}",
                        escape(&condition(rule)),
                        id_of(next)
                    );
                }
            }
            if let Some(default) = &c.default {
                let _ = writeln!(out, "{pad}{id} -->|\"Default\"| {}", id_of(default));
            }
        }
        for catcher in state.catchers() {
            let _ = writeln!(
                out,
                "{pad}{id} -.->|\"Catch {}\"| {}",
                escape(&catcher.error_equals.join(", ")),
                id_of(&catcher.next)
            );
        }
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn operand(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// A short human-readable form of a rule's condition, e.g. `$.total > 100 and $.vip == true`.
pub fn condition(rule: &ChoiceRule) -> String {
    match &rule.condition {
        ChoiceCondition::And(rules) => join(rules, " and "),
        ChoiceCondition::Or(rules) => join(rules, " or "),
        ChoiceCondition::Not(rule) => format!("not ({})", condition(rule)),
        ChoiceCondition::Jsonata(value) => match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        ChoiceCondition::Missing { variable } => {
            format!("{} (no condition)", variable.as_deref().unwrap_or("?"))
        }
        ChoiceCondition::Comparison {
            variable,
            operator,
            operand: value,
        } => {
            use ComparisonOperator as Op;
            let name = operator.name().trim_end_matches("Path");
            let rhs = if operator.is_path() {
                value.as_str().unwrap_or("?").to_owned()
            } else {
                operand(value)
            };
            if operator.is_type_test() {
                let yes = value.as_bool().unwrap_or(true);
                let what = match operator {
                    Op::IsNull => "null",
                    Op::IsPresent => "present",
                    Op::IsNumeric => "numeric",
                    Op::IsString => "a string",
                    Op::IsBoolean => "a boolean",
                    _ => "a timestamp",
                };
                return format!("{variable} is {}{what}", if yes { "" } else { "not " });
            }
            let symbol = if name.ends_with("LessThanEquals") {
                "<="
            } else if name.ends_with("GreaterThanEquals") {
                ">="
            } else if name.ends_with("LessThan") {
                "<"
            } else if name.ends_with("GreaterThan") {
                ">"
            } else if name.ends_with("Matches") {
                "matches"
            } else {
                "=="
            };
            format!("{variable} {symbol} {rhs}")
        }
    }
}

fn join(rules: &[ChoiceRule], separator: &str) -> String {
    rules
        .iter()
        .map(|r| match r.condition {
            ChoiceCondition::And(_) | ChoiceCondition::Or(_) => format!("({})", condition(r)),
            _ => condition(r),
        })
        .collect::<Vec<_>>()
        .join(separator)
}

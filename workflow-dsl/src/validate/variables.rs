//! Workflow variables across states: every variable a state reads must be assigned on some path
//! before it, in its own scope or an enclosing one
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
//!
//! The rules, as AWS documents them: a state reads the values its variables had when it was
//! entered (its own `Assign` takes effect when it leaves); each Parallel branch and inline Map
//! iteration has a scope of its own that reads the enclosing scopes, and what it assigns is not
//! visible outside it; a distributed Map's child workflows read no outer variable.
//!
//! The check is a "may be assigned" data flow over each workflow's graph: a read is reported
//! only when no path at all assigns the variable before the state (a variable assigned on one
//! branch of a Choice and read after it is accepted, as AWS accepts it).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{At, Validator};
use crate::jsonata;
use crate::model::{QueryLanguage, State, States, SubWorkflow};
use crate::paths::{self, Root};

/// One read of a variable: where (a location below the state) and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Read {
    pub name: String,
    pub field: String,
    pub text: String,
}

/// The variables read by `state` itself (not by its nested branches or processor), in any
/// field: JSONata expressions `{% %}`, JSONPath `.$` values, `...Path` fields and Choice
/// `Variable`s that start with `$name`.
pub(crate) fn reads(state: &State, language: QueryLanguage) -> Vec<Read> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(state) else {
        return Vec::new();
    };
    for nested in [
        "Branches",
        "ItemProcessor",
        "Iterator",
        "Comment",
        "Type",
        "Next",
    ] {
        fields.remove(nested);
    }
    let mut out = Vec::new();
    for (key, value) in &fields {
        walk(value, key, key, language, &mut out);
    }
    out
}

fn walk(value: &Value, key: &str, at: &str, language: QueryLanguage, out: &mut Vec<Read>) {
    match value {
        Value::String(text) => {
            if jsonata::is_expression(text) {
                if language == QueryLanguage::JSONata {
                    let inner = &text[2..text.len() - 2];
                    for reference in jsonata::references(inner).variables {
                        out.push(Read {
                            name: reference.name.clone(),
                            field: at.to_owned(),
                            text: reference.text(),
                        });
                    }
                }
            } else if language == QueryLanguage::JSONPath && is_path_field(key) {
                for path in jsonpath_reads(text) {
                    if let Ok((Root::Variable(name), _)) = paths::parse(&path) {
                        out.push(Read {
                            name,
                            field: at.to_owned(),
                            text: path,
                        });
                    }
                }
            }
        }
        Value::Object(map) => {
            for (child_key, child) in map {
                if child_key == "Comment" {
                    continue;
                }
                walk(
                    child,
                    child_key,
                    &format!("{at}.{child_key}"),
                    language,
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, key, &format!("{at}[{i}]"), language, out);
            }
        }
        _ => {}
    }
}

/// Keys whose string value is evaluated as a JSONPath (or an intrinsic function) in JSONPath
/// states. `ResultPath` is a reference path into the input and never reads a variable.
fn is_path_field(key: &str) -> bool {
    key.ends_with(".$") || key == "Variable" || (key.ends_with("Path") && key != "ResultPath")
}

fn jsonpath_reads(text: &str) -> Vec<String> {
    if text.starts_with("States.") {
        crate::intrinsics::referenced_paths(text)
    } else {
        vec![text.to_owned()]
    }
}

/// The variable names an `Assign` object sets (`name.$` keys in JSONPath).
fn assigned_names(assign: Option<&Value>) -> Vec<String> {
    match assign {
        Some(Value::Object(map)) => map
            .keys()
            .map(|k| k.strip_suffix(".$").unwrap_or(k).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn state_assign(state: &State) -> Option<&Value> {
    match state {
        State::Pass(s) => s.assign.as_ref(),
        State::Task(s) => s.assign.as_ref(),
        State::Choice(s) => s.assign.as_ref(),
        State::Wait(s) => s.assign.as_ref(),
        State::Parallel(s) => s.assign.as_ref(),
        State::Map(s) => s.assign.as_ref(),
        State::Succeed(_) | State::Fail(_) => None,
    }
}

/// The transitions of `state` with the variables each one assigns.
fn edges(state: &State) -> Vec<(String, Vec<String>)> {
    let own = assigned_names(state_assign(state));
    let mut out = Vec::new();
    if let (Some(next), _) = state.next_and_end() {
        out.push((next.to_owned(), own.clone()));
    }
    if let State::Choice(choice) = state {
        for rule in &choice.choices {
            if let Some(next) = &rule.next {
                let mut names = own.clone();
                names.extend(assigned_names(rule.assign.as_ref()));
                out.push((next.clone(), names));
            }
        }
        if let Some(default) = &choice.default {
            out.push((default.clone(), own.clone()));
        }
    }
    for catcher in state.catchers() {
        out.push((
            catcher.next.clone(),
            assigned_names(catcher.assign.as_ref()),
        ));
    }
    out
}

/// Where a variable is assigned: the scope (empty: the top level) and the state.
#[derive(Debug, Clone)]
struct Assignment {
    scope: String,
    state: String,
}

/// Every assignment of the document, by variable name.
fn assignments(prefix: &str, states: &States, out: &mut BTreeMap<String, Vec<Assignment>>) {
    for (name, state) in states {
        let mut names = assigned_names(state_assign(state));
        if let State::Choice(choice) = state {
            for rule in &choice.choices {
                names.extend(assigned_names(rule.assign.as_ref()));
            }
        }
        for catcher in state.catchers() {
            names.extend(assigned_names(catcher.assign.as_ref()));
        }
        for variable in names {
            out.entry(variable).or_default().push(Assignment {
                scope: prefix.to_owned(),
                state: name.clone(),
            });
        }
        for (i, sub) in state.sub_workflows().into_iter().enumerate() {
            let label = match state {
                State::Parallel(_) => format!("{prefix}{name} (branch {})/", i + 1),
                _ => format!("{prefix}{name}/"),
            };
            assignments(&label, &sub.states, out);
        }
    }
}

/// One workflow of the document being checked.
struct Workflow<'m> {
    /// Scope label: empty at the top, `Map/` or `Parallel (branch 2)/` inside.
    scope: String,
    states: &'m States,
    start_at: &'m str,
    /// Variables of the enclosing scopes readable here.
    outer: BTreeSet<String>,
    /// Location prefix (`States.P.Branches[0].`), as the validator writes it.
    loc: String,
    /// A distributed Map's child workflow: no outer variable is readable.
    isolated: bool,
}

/// Checks every read of every workflow of the document; problems go to `v`.
pub(crate) fn check(v: &mut Validator, top: &States, start_at: &str, top_ql: QueryLanguage) {
    let mut all = BTreeMap::new();
    assignments("", top, &mut all);
    let workflow = Workflow {
        scope: String::new(),
        states: top,
        start_at,
        outer: BTreeSet::new(),
        loc: String::new(),
        isolated: false,
    };
    check_workflow(v, &workflow, top_ql, &all);
}

fn check_workflow(
    v: &mut Validator,
    workflow: &Workflow,
    top_ql: QueryLanguage,
    all: &BTreeMap<String, Vec<Assignment>>,
) {
    // Fixed point of "may be assigned on entry".
    let mut before: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    if workflow.states.contains_key(workflow.start_at) {
        before.insert(workflow.start_at, BTreeSet::new());
    }
    let mut todo: Vec<&str> = vec![workflow.start_at];
    while let Some(name) = todo.pop() {
        let Some(state) = workflow.states.get(name) else {
            continue;
        };
        let entry = before.get(name).cloned().unwrap_or_default();
        for (target, assigned) in edges(state) {
            let Some((target, _)) = workflow.states.get_key_value(target.as_str()) else {
                continue;
            };
            let mut out = entry.clone();
            out.extend(assigned);
            let known = before.contains_key(target.as_str());
            let slot = before.entry(target.as_str()).or_default();
            let size = slot.len();
            slot.extend(out);
            if !known || slot.len() != size {
                todo.push(target.as_str());
            }
        }
    }
    for (name, state) in workflow.states {
        let Some(entry) = before.get(name.as_str()) else {
            continue; // unreachable: reported elsewhere
        };
        let language = state.query_language().unwrap_or(top_ql);
        let at = At {
            name,
            loc: format!("{}States.{name}", workflow.loc),
            ql: language,
            scope: &super::Scope {
                prefix: workflow.loc.clone(),
                kind: super::ScopeKind::Top,
                express: false,
            },
            states: workflow.states,
        };
        let mut reported = BTreeSet::new();
        for read in reads(state, language) {
            if entry.contains(&read.name) || workflow.outer.contains(&read.name) {
                continue;
            }
            if !reported.insert((read.name.clone(), read.field.clone())) {
                continue;
            }
            let message = unassigned_message(&read, name, workflow, all);
            v.report(&at, &read.field, message);
        }
        // Nested workflows read this scope's variables as they are on entering the state.
        let mut inner_outer = workflow.outer.clone();
        inner_outer.extend(entry.iter().cloned());
        for (i, sub) in state.sub_workflows().into_iter().enumerate() {
            let (label, field) = match state {
                State::Parallel(_) => (
                    format!("{}{name} (branch {})/", workflow.scope, i + 1),
                    format!("Branches[{i}]"),
                ),
                State::Map(m) if m.item_processor.is_some() => (
                    format!("{}{name}/", workflow.scope),
                    "ItemProcessor".to_owned(),
                ),
                _ => (format!("{}{name}/", workflow.scope), "Iterator".to_owned()),
            };
            let isolated = is_distributed(sub);
            let nested = Workflow {
                scope: label,
                states: &sub.states,
                start_at: &sub.start_at,
                outer: if isolated {
                    BTreeSet::new()
                } else {
                    inner_outer.clone()
                },
                loc: format!("{}States.{name}.{field}.", workflow.loc),
                isolated,
            };
            check_workflow(v, &nested, top_ql, all);
        }
    }
}

fn is_distributed(sub: &SubWorkflow) -> bool {
    sub.processor_config
        .as_ref()
        .and_then(|c| c.mode.as_deref())
        == Some("DISTRIBUTED")
}

fn unassigned_message(
    read: &Read,
    state: &str,
    workflow: &Workflow,
    all: &BTreeMap<String, Vec<Assignment>>,
) -> String {
    let text = &read.text;
    let variable = &read.name;
    let Some(places) = all.get(variable) else {
        return format!(
            "{} reads {text}, but no state assigns the variable '{variable}'; assign it with \
             Assign in a state before '{state}' (or fix the name)",
            read.field
        );
    };
    let in_scope = |a: &Assignment| workflow.scope.starts_with(&a.scope);
    if workflow.isolated
        && places
            .iter()
            .any(|a| a.scope != workflow.scope && in_scope(a))
    {
        return format!(
            "{} reads {text}, but a distributed Map's child workflow cannot read the variables \
             of the workflow around it; pass the value in ItemSelector",
            read.field
        );
    }
    if let Some(inner) = places.iter().find(|a| !in_scope(a)) {
        let scope = inner.scope.trim_end_matches('/');
        return format!(
            "{} reads {text}, but '{variable}' is only assigned inside '{scope}' (by '{}'); \
             variables assigned in a Parallel branch or a Map iteration are not visible outside \
             it: return the value in the branch's Output instead",
            read.field, inner.state
        );
    }
    if places
        .iter()
        .all(|a| a.state == state && a.scope == workflow.scope)
    {
        return format!(
            "{} reads {text}, but '{variable}' is only assigned by '{state}' itself; a state \
             reads the values its variables had when it was entered, so assign it in an earlier \
             state",
            read.field
        );
    }
    format!(
        "{} reads {text}, but no path to '{state}' assigns '{variable}' before it (it is \
         assigned by {}); assign it on the way to '{state}'",
        read.field,
        places
            .iter()
            .map(|a| format!("'{}'", a.state))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The variables a state assigns (its own Assign, its Choice rules' and its catchers').
fn assigned_by(state: &State) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = assigned_names(state_assign(state))
        .into_iter()
        .map(|n| ("Assign".to_owned(), n))
        .collect();
    if let State::Choice(choice) = state {
        for (i, rule) in choice.choices.iter().enumerate() {
            for name in assigned_names(rule.assign.as_ref()) {
                out.push((format!("Choices[{i}].Assign"), name));
            }
        }
    }
    for (i, catcher) in state.catchers().iter().enumerate() {
        for name in assigned_names(catcher.assign.as_ref()) {
            out.push((format!("Catch[{i}].Assign"), name));
        }
    }
    out
}

/// ASL: "states in inner scopes MUST NOT assign to a variable with the same name as a variable
/// in an outer scope" (<https://states-language.net/spec.html>; the AWS guide says the same at
/// <https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
pub(crate) fn check_shadowing(v: &mut Validator, top: &States, top_ql: QueryLanguage) {
    shadowing(v, top, "", &BTreeSet::new(), top_ql);
}

fn shadowing(
    v: &mut Validator,
    states: &States,
    loc: &str,
    outer: &BTreeSet<String>,
    top_ql: QueryLanguage,
) {
    let own: BTreeSet<String> = states
        .values()
        .flat_map(assigned_by)
        .map(|(_, name)| name)
        .collect();
    let scope = super::Scope {
        prefix: loc.to_owned(),
        kind: super::ScopeKind::Top,
        express: false,
    };
    for (name, state) in states {
        let at = At {
            name,
            loc: format!("{loc}States.{name}"),
            ql: state.query_language().unwrap_or(top_ql),
            scope: &scope,
            states,
        };
        for (field, variable) in assigned_by(state) {
            if outer.contains(&variable) {
                v.report(
                    &at,
                    &field,
                    format!(
                        "{field} assigns '{variable}', a variable of an enclosing scope; a state \
                         in a Parallel branch or Map iteration cannot assign a variable of the \
                         workflow around it (rename it, or return the value in Output)"
                    ),
                );
            }
        }
        let mut inner_outer = outer.clone();
        inner_outer.extend(own.iter().cloned());
        let subs = super::sub_workflow_locations(state);
        for (field, sub) in subs {
            shadowing(
                v,
                &sub.states,
                &format!("{loc}States.{name}.{field}."),
                &inner_outer,
                top_ql,
            );
        }
    }
}

//! Static checks of an ASL document: the rules of the Amazon States Language specification
//! (<https://states-language.net/spec.html>) and the limits AWS Step Functions adds
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html>).
//!
//! [`validate`] walks the document once, in document order (top-level fields, then each state in
//! the order of `States`, descending into Parallel branches and Map processors where they appear),
//! so the problems come back in a stable order a reader can follow in the file.

mod assign;
mod choice;
mod errors;
mod expressions;
mod fields;
mod names;
mod paths;
mod states;
mod time;
mod variables;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::model::{QueryLanguage, State, StateMachine, States, SubWorkflow};

pub use errors::is_predefined_error;
pub use paths::INTRINSIC_FUNCTIONS;

/// One rule violation found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Name of the state the problem is in; `None` for top-level fields (`StartAt`, `Version`...).
    pub state: Option<String>,
    /// Where the problem is, as a dotted path into the document, e.g. `States.A.Retry[0]`.
    pub location: String,
    /// What is wrong, in words a workflow author understands.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, "State '{state}': {}", self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Settings of a validation run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The state machine is of type EXPRESS: `.sync` and `.waitForTaskToken` integrations,
    /// activities and Distributed Map states are refused
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html>).
    pub express: bool,
}

/// Checks `machine` against every rule of the specification, as for a STANDARD workflow.
/// An empty result means the document is valid.
pub fn validate(machine: &StateMachine) -> Vec<Problem> {
    validate_with(machine, &Options::default())
}

/// Checks `machine` with explicit [`Options`].
pub fn validate_with(machine: &StateMachine, options: &Options) -> Vec<Problem> {
    let mut declared: HashMap<&str, Vec<String>> = HashMap::new();
    collect_names("", &machine.states, &mut declared);
    let mut v = Validator {
        top_ql: machine.query_language.unwrap_or(QueryLanguage::JSONPath),
        problems: Vec::new(),
        declared,
        seen: HashMap::new(),
    };
    v.top_level(machine);
    let scope = Scope {
        prefix: String::new(),
        kind: ScopeKind::Top,
        express: options.express,
    };
    v.workflow(&scope, &machine.start_at, &machine.states, "StartAt");
    let top_ql = v.top_ql;
    variables::check_shadowing(&mut v, &machine.states, top_ql);
    v.problems
}

/// Mistakes AWS accepts when the state machine is created but that fail every execution
/// reaching them (with `States.QueryEvaluationError` or `States.Runtime`): a variable read where
/// no path has assigned it, a variable of a Parallel branch or Map iteration read outside it, a
/// call of a function JSONata and Step Functions do not define (`$eval` included), a
/// `$states.context` field that does not exist. [`crate::emit::emit`] refuses them;
/// `workflow validate` reports them as warnings.
pub fn lint(machine: &StateMachine) -> Vec<Problem> {
    let mut declared: HashMap<&str, Vec<String>> = HashMap::new();
    collect_names("", &machine.states, &mut declared);
    let mut v = Validator {
        top_ql: machine.query_language.unwrap_or(QueryLanguage::JSONPath),
        problems: Vec::new(),
        declared,
        seen: HashMap::new(),
    };
    let top_ql = v.top_ql;
    variables::check(&mut v, &machine.states, &machine.start_at, top_ql);
    expressions::lint(&mut v, &machine.states, top_ql);
    v.problems
}

/// Records, for every state name, the prefixes of the workflows that declare it (document order).
fn collect_names<'m>(prefix: &str, states: &'m States, out: &mut HashMap<&'m str, Vec<String>>) {
    for (name, state) in states {
        out.entry(name.as_str())
            .or_default()
            .push(prefix.to_owned());
        for (label, sub) in sub_workflow_locations(state) {
            collect_names(&format!("{prefix}States.{name}.{label}."), &sub.states, out);
        }
    }
}

/// Nested workflows of a state with the field they sit in (`Branches[0]`, `ItemProcessor`...).
fn sub_workflow_locations(state: &State) -> Vec<(String, &SubWorkflow)> {
    match state {
        State::Parallel(p) => p
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("Branches[{i}]"), b))
            .collect(),
        State::Map(m) => {
            let mut out = Vec::new();
            if let Some(p) = &m.item_processor {
                out.push(("ItemProcessor".to_owned(), p));
            }
            if let Some(p) = &m.iterator {
                out.push(("Iterator".to_owned(), p));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Which kind of workflow a list of states belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Top,
    Branch,
    Processor,
}

/// One workflow being checked: the top level, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// Location prefix of the workflow: empty at the top, `States.P.Branches[0].` in a branch.
    pub prefix: String,
    pub kind: ScopeKind,
    /// Runs as an Express workflow (the whole machine, or an EXPRESS distributed Map child).
    pub express: bool,
}

impl Scope {
    fn describe(&self) -> &'static str {
        match self.kind {
            ScopeKind::Top => "the top level of the state machine",
            ScopeKind::Branch => "this Parallel branch",
            ScopeKind::Processor => "this Map state's ItemProcessor",
        }
    }
}

/// The state being checked.
pub(crate) struct At<'a> {
    pub name: &'a str,
    /// Location of the state, e.g. `States.P.Branches[0].States.A`.
    pub loc: String,
    /// The query language in force for this state.
    pub ql: QueryLanguage,
    pub scope: &'a Scope,
    pub states: &'a States,
}

impl At<'_> {
    pub fn jsonata(&self) -> bool {
        self.ql == QueryLanguage::JSONata
    }
}

pub(crate) struct Validator<'m> {
    pub top_ql: QueryLanguage,
    pub problems: Vec<Problem>,
    /// Every state name of the document with the prefixes of the workflows declaring it.
    declared: HashMap<&'m str, Vec<String>>,
    /// Names already walked, with the location of their first declaration.
    seen: HashMap<&'m str, String>,
}

impl<'m> Validator<'m> {
    /// Records a problem about the state `at`, in its field `field` (empty: the state itself).
    pub fn report(&mut self, at: &At, field: &str, message: impl Into<String>) {
        let location = if field.is_empty() {
            at.loc.clone()
        } else {
            format!("{}.{field}", at.loc)
        };
        self.problems.push(Problem {
            state: Some(at.name.to_owned()),
            location,
            message: message.into(),
        });
    }

    /// Records a problem outside any state.
    pub fn report_top(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            state: None,
            location: location.into(),
            message: message.into(),
        });
    }

    fn top_level(&mut self, machine: &StateMachine) {
        if let Some(version) = &machine.version {
            if version != "1.0" {
                self.report_top(
                    "Version",
                    format!("Version is '{version}'; the only ASL version is \"1.0\""),
                );
            }
        }
        if machine.timeout_seconds == Some(0) {
            self.report_top(
                "TimeoutSeconds",
                "TimeoutSeconds must be a positive integer (the maximum run time of the state machine, in seconds)",
            );
        }
        for key in machine.extra.keys() {
            let message = fields::unknown_top_level_field(key);
            self.report_top(key.clone(), message);
        }
    }

    /// Checks one workflow (`StartAt` + `States`) and everything nested in it.
    fn workflow(&mut self, scope: &Scope, start_at: &str, states: &'m States, start_field: &str) {
        let start_loc = format!("{}{start_field}", scope.prefix);
        if states.is_empty() {
            self.report_top(
                format!("{}States", scope.prefix),
                format!(
                    "States of {} is empty; a workflow needs at least one state",
                    scope.describe()
                ),
            );
        }
        if !states.contains_key(start_at) {
            let message = self.missing_target_message("StartAt", start_at, scope, states);
            self.report_top(start_loc, message);
        }
        let reachable = reachable(start_at, states);
        for (name, state) in states {
            let at = At {
                name,
                loc: format!("{}States.{name}", scope.prefix),
                ql: state.query_language().unwrap_or(self.top_ql),
                scope,
                states,
            };
            self.state_name(&at);
            // JSONPath may host JSONata states, not the other way round
            // (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
            if self.top_ql == QueryLanguage::JSONata
                && state.query_language() == Some(QueryLanguage::JSONPath)
            {
                self.report(
                    &at,
                    "QueryLanguage",
                    "a JSONPath state is not allowed when the workflow's top-level QueryLanguage is \
                     JSONata; set \"QueryLanguage\": \"JSONPath\" at the top level and \
                     \"JSONata\" on the JSONata states instead"
                        .to_owned(),
                );
            }
            if states.contains_key(start_at) && !reachable.contains(name.as_str()) {
                self.report(
                    &at,
                    "",
                    format!(
                        "state is unreachable: neither StartAt nor any Next, Default or Catch of {} leads to it",
                        scope.describe()
                    ),
                );
            }
            self.state(&at, state);
        }
    }

    /// Name rules: length, control characters, uniqueness across the whole document.
    fn state_name(&mut self, at: &At) {
        if let Some(message) = names::name_problem(at.name) {
            self.report(at, "", message);
        }
        // The `At` borrows a key of `States`, which lives as long as the machine.
        let name: &'m str = self
            .declared
            .get_key_value(at.name)
            .map(|(k, _)| *k)
            .expect("every name was collected");
        match self.seen.get(name) {
            Some(first) => {
                let message = format!(
                    "state name '{}' is already used at {first}; state names must be unique across the whole state machine, Parallel branches and Map processors included",
                    at.name
                );
                self.report(at, "", message);
            }
            None => {
                self.seen.insert(name, at.loc.clone());
            }
        }
    }

    /// Checks that `target` (the value of `field`) names a state of the same workflow.
    pub fn check_target(&mut self, at: &At, field: &str, target: &str) {
        if at.states.contains_key(target) {
            return;
        }
        let message = self.missing_target_message(field, target, at.scope, at.states);
        self.report(at, field, message);
    }

    fn missing_target_message(
        &self,
        field: &str,
        target: &str,
        scope: &Scope,
        states: &States,
    ) -> String {
        let what = field.rsplit('.').next().unwrap_or(field);
        if let Some(prefixes) = self.declared.get(target) {
            let elsewhere = prefixes
                .first()
                .map(|p| {
                    if p.is_empty() {
                        "the top level".to_owned()
                    } else {
                        p.trim_end_matches('.').to_owned()
                    }
                })
                .unwrap_or_default();
            return format!(
                "{what} '{target}' names a state outside {} (it is declared in {elsewhere}); \
                 states can only transition to states of the same workflow, and Parallel branches and Map processors are closed workflows",
                scope.describe()
            );
        }
        let mut message = format!(
            "{what} '{target}' does not name any state of {}",
            scope.describe()
        );
        if let Some(close) = names::suggest(target, states.keys().map(String::as_str)) {
            message.push_str(&format!(" (did you mean '{close}'?)"));
        }
        message
    }

    /// Checks nested workflows of a Parallel or Map state.
    pub fn nested(&mut self, at: &At, field: &str, sub: &'m SubWorkflow, kind: ScopeKind) {
        let express = at.scope.express
            || sub
                .processor_config
                .as_ref()
                .and_then(|c| c.execution_type.as_deref())
                == Some("EXPRESS");
        let scope = Scope {
            prefix: format!("{}.{field}.", at.loc),
            kind,
            express,
        };
        for key in sub.extra.keys() {
            let message = fields::unknown_sub_workflow_field(key, kind);
            self.report(at, &format!("{field}.{key}"), message);
        }
        if let (Some(_), ScopeKind::Branch) = (&sub.processor_config, kind) {
            self.report(
                at,
                &format!("{field}.ProcessorConfig"),
                "ProcessorConfig is only allowed in a Map state's ItemProcessor, not in a Parallel branch",
            );
        }
        self.workflow(&scope, &sub.start_at, &sub.states, "StartAt");
    }
}

/// Names of the states reachable from `start_at` through Next, Choice targets, Default and Catch.
fn reachable<'a>(start_at: &'a str, states: &'a States) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut todo = vec![start_at];
    while let Some(name) = todo.pop() {
        let Some(state) = states.get(name) else {
            continue;
        };
        if !seen.insert(name) {
            continue;
        }
        todo.extend(state.successors());
    }
    seen
}

//! Emission: builds a workflow, checks it (builder mistakes, ASL rules, paths against schemas)
//! and renders the review outputs: canonical JSON with `${Name}` placeholders for SAM
//! `DefinitionSubstitutions`, and a Mermaid flowchart.
//!
//! ```
//! use workflow_dsl::builder::{workflow, Pass};
//! use workflow_dsl::emit::emit;
//!
//! let flow = workflow::<String>("Says hello").pass(Pass::new("Hello"));
//! let emitted = emit(flow).unwrap();
//! assert!(emitted.json.ends_with("}\n"));
//! assert!(emitted.mermaid.starts_with("flowchart TD\n"));
//! ```

use std::fmt;

use crate::builder::{Built, IntoWorkflow};
use crate::model::StateMachine;
use crate::paths::{self, PathError};
use crate::validate::{self, Problem};

/// The outputs of a successful emission.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    /// The ASL document.
    pub asl: StateMachine,
    /// Canonical pretty JSON (two-space indent, stable order, trailing newline).
    pub json: String,
    /// Mermaid flowchart of the same graph.
    pub mermaid: String,
    /// The `${Name}` placeholders the JSON uses, sorted: the keys SAM
    /// `DefinitionSubstitutions` must define.
    pub substitutions: Vec<String>,
}

/// One reason a workflow cannot be emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmitProblem {
    /// A builder mistake (unreachable state, duplicate name, catch-all twice, ...).
    Build(String),
    /// A rule of the ASL specification, or a mistake AWS accepts but every run reaching it
    /// fails on ([`validate::lint`]: a variable read where no path assigns it...).
    Spec(Problem),
    /// A path that does not fit the data, or a declared type that does not.
    Path(PathError),
}

impl fmt::Display for EmitProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitProblem::Build(message) => f.write_str(message),
            EmitProblem::Spec(problem) => write!(f, "{problem}"),
            EmitProblem::Path(error) => write!(f, "{error}"),
        }
    }
}

/// Why a workflow cannot be emitted: every problem found, each saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct EmitError {
    /// The problems found, each saying what to fix.
    pub problems: Vec<EmitProblem>,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the workflow cannot be emitted ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// Builds `workflow`, checks it and renders JSON and Mermaid.
pub fn emit(workflow: impl IntoWorkflow) -> Result<Emitted, EmitError> {
    emit_built(workflow.build())
}

/// Checks an already built workflow and renders it.
pub fn emit_built(built: Built) -> Result<Emitted, EmitError> {
    let mut problems: Vec<EmitProblem> = Vec::new();
    for message in built.problems() {
        let problem = EmitProblem::Build(message.clone());
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    problems.extend(
        validate::validate(&built.machine)
            .into_iter()
            .chain(validate::lint(&built.machine))
            .map(EmitProblem::Spec),
    );
    problems.extend(
        paths::check_built(&built)
            .into_iter()
            .map(EmitProblem::Path),
    );
    if !problems.is_empty() {
        return Err(EmitError { problems });
    }
    Ok(render(built.machine))
}

/// Renders any document (no checks): JSON, Mermaid and placeholders.
pub fn render(machine: StateMachine) -> Emitted {
    let json = machine.to_pretty_json();
    let mermaid = crate::mermaid::mermaid(&machine);
    let substitutions = placeholders(&json);
    Emitted {
        asl: machine,
        json,
        mermaid,
        substitutions,
    }
}

/// The distinct `${Name}` placeholders of `text`, sorted.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders(r#"{"a": "${B}", "c": "${A_1}", "d": "${B}", "e": "$${x y}"}"#),
            ["A_1", "B"]
        );
    }
}

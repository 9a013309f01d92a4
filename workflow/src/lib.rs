//! The project's workflow definitions and the `workflow` command line that emits, checks,
//! validates and formats them.
//!
//! [`project_workflows`] is the single list of the project's workflows: `cargo run -p workflow`
//! writes each of them to `generated/<name>.asl.json` and `generated/<name>.mmd`.
// The CLI argument docs are `--help` text (clap), where `<out>/<name>` means a placeholder,
// not an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

/// The README's Rust examples ("Write your own workflow"), compiled and run as doctests so the
/// front page cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub mod cli;
pub mod examples;
pub mod local;
pub mod workflows;

use workflow_dsl::StateMachine;

/// Every workflow of the project, with its name (written in kebab-case under `generated/`).
///
/// # Panics
///
/// When a workflow cannot be emitted (a builder mistake, an ASL rule, a path that does not fit
/// the data): the message lists every problem. The tests emit every workflow, so this cannot
/// reach a release.
pub fn project_workflows() -> Vec<(&'static str, StateMachine)> {
    vec![(
        workflows::order_processing::NAME,
        emit_checked(workflows::order_processing()),
    )]
}

fn emit_checked(workflow: impl workflow_dsl::builder::IntoWorkflow) -> StateMachine {
    match workflow_dsl::emit::emit(workflow) {
        Ok(emitted) => emitted.asl,
        Err(error) => panic!("{error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_project_workflow_is_valid() {
        for (name, machine) in project_workflows() {
            let problems = workflow_dsl::validate::validate(&machine);
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
    }

    #[test]
    fn every_example_workflow_is_valid_and_lint_free() {
        for (name, machine) in examples::example_workflows() {
            let problems = workflow_dsl::validate::validate(&machine);
            assert!(problems.is_empty(), "{name}: {problems:?}");
            let lint = workflow_dsl::validate::lint(&machine);
            assert!(lint.is_empty(), "{name}: {lint:?}");
        }
    }

    #[test]
    fn project_workflow_names_are_unique_kebab_case() {
        let names: Vec<String> = project_workflows()
            .iter()
            .map(|(n, _)| cli::kebab_case(n))
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
    }
}

//! The project's workflow definitions and the `workflow` command line that emits, checks,
//! validates and formats them.
//!
//! [`project_workflows`] is the single list of the project's workflows: `cargo run -p workflow`
//! writes each of them to `generated/<name>.asl.json` and `generated/<name>.mmd`.

pub mod cli;
pub mod local;
pub mod workflows;

use workflow_dsl::StateMachine;

/// Every workflow of the project, with its name (written in kebab-case under `generated/`).
pub fn project_workflows() -> Vec<(&'static str, StateMachine)> {
    vec![("hello", workflows::hello())]
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

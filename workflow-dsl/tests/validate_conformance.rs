//! Every definition of the conformance corpus was accepted by AWS Step Functions, so the validator
//! must find no problem in any of them; and the lint (mistakes AWS accepts but that fail at run
//! time) must not flag a definition whose recorded execution succeeded.

use std::path::PathBuf;

use serde_json::Value;
use workflow_dsl::validate::{lint, validate};
use workflow_dsl::StateMachine;

/// Definitions AWS accepted although a rule of the specification forbids them, with the reason.
/// The validator follows the specification for these, so they are expected to report exactly
/// the listed problems.
const KNOWN_DEVIATIONS: &[(&str, &str)] = &[];

fn corpus() -> Vec<(String, Value)> {
    cases()
        .into_iter()
        .map(|case| {
            (
                case["id"].as_str().unwrap().to_owned(),
                case["definition"].clone(),
            )
        })
        .collect()
}

fn cases() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/asl");
    let mut out = Vec::new();
    for family in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus at {}: {e}", dir.display()))
    {
        for case in std::fs::read_dir(family.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(case.unwrap().path()).unwrap();
            let case: Value = serde_json::from_str(&text).unwrap();
            out.push(case);
        }
    }
    out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    out
}

#[test]
fn lint_flags_only_definitions_whose_recorded_run_failed() {
    let cases = cases();
    let mut flagged_failures = Vec::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let id = case["id"].as_str().unwrap();
        let machine = StateMachine::from_value(case["definition"].clone()).unwrap();
        let found: Vec<String> = lint(&machine).iter().map(|p| p.to_string()).collect();
        if found.is_empty() {
            continue;
        }
        if case["expected"]["status"] == "SUCCEEDED" {
            wrong.push(format!("{id}:\n    {}", found.join("\n    ")));
        } else {
            flagged_failures.push(id.to_owned());
        }
    }
    assert!(
        wrong.is_empty(),
        "the lint flags definitions AWS ran successfully:\n{}",
        wrong.join("\n")
    );
    // AWS's recorded runs of undefined variable reads fail (States.QueryEvaluationError): the
    // lint must see those.
    assert!(
        flagged_failures
            .iter()
            .any(|id| id.contains("undefined_reference")),
        "the lint misses the corpus's undefined variable reads; flagged: {flagged_failures:?}"
    );
}

#[test]
fn every_definition_accepted_by_aws_has_no_problem() {
    let cases = corpus();
    assert!(
        cases.len() >= 200,
        "expected the whole corpus, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (id, definition) in &cases {
        let machine =
            StateMachine::from_value(definition.clone()).unwrap_or_else(|e| panic!("{id}: {e}"));
        let problems: Vec<String> = validate(&machine).iter().map(|p| p.to_string()).collect();
        let expected: Vec<&str> = KNOWN_DEVIATIONS
            .iter()
            .filter(|(case, _)| case == id)
            .map(|(_, problem)| *problem)
            .collect();
        if problems != expected {
            failures.push(format!("{id}:\n    {}", problems.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} definitions accepted by AWS were reported invalid:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

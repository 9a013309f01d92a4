//! Every definition of the conformance corpus was accepted by AWS Step Functions, so the validator
//! must find no problem in any of them.

use std::path::PathBuf;

use serde_json::Value;
use workflow_dsl::validate::validate;
use workflow_dsl::StateMachine;

/// Definitions AWS accepted although a rule of the specification forbids them, with the reason.
/// The validator follows the specification for these, so they are expected to report exactly
/// the listed problems.
const KNOWN_DEVIATIONS: &[(&str, &str)] = &[];

fn corpus() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/asl");
    let mut out = Vec::new();
    for family in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus at {}: {e}", dir.display()))
    {
        for case in std::fs::read_dir(family.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(case.unwrap().path()).unwrap();
            let case: Value = serde_json::from_str(&text).unwrap();
            out.push((
                case["id"].as_str().unwrap().to_owned(),
                case["definition"].clone(),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
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

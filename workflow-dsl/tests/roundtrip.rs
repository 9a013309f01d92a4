//! Every definition of the conformance corpus (recorded against AWS) parses and re-emits as an equal JSON value.

use std::path::PathBuf;

use serde_json::Value;
use workflow_dsl::StateMachine;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/asl")
}

fn corpus_definitions() -> Vec<(String, Value)> {
    let dir = corpus_dir();
    let mut out = Vec::new();
    for family in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance corpus at {}: {e}", dir.display()))
    {
        let family = family.unwrap().path();
        for case in std::fs::read_dir(&family).unwrap() {
            let path = case.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
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
fn every_conformance_definition_round_trips_to_an_equal_json_value() {
    let cases = corpus_definitions();
    assert!(
        cases.len() >= 200,
        "expected the whole corpus, found {}",
        cases.len()
    );
    for (id, definition) in cases {
        let machine =
            StateMachine::from_value(definition.clone()).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            machine.to_value(),
            definition,
            "{id}: re-emitted document differs"
        );
        let reparsed = StateMachine::from_json(&machine.to_pretty_json()).unwrap();
        assert_eq!(
            reparsed, machine,
            "{id}: pretty form does not parse back to the same model"
        );
    }
}

#[test]
fn explicit_nulls_and_absent_fields_stay_apart() {
    let doc = serde_json::json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "InputPath": null, "ResultPath": null, "OutputPath": "$", "Result": null, "Next": "B"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": "$.r",
                  "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 2, "JitterStrategy": "FULL"}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": "C"}], "End": true},
            "C": {"Type": "Fail", "Error": "E", "Cause": "c"}
        }
    });
    let machine = StateMachine::from_value(doc.clone()).unwrap();
    assert_eq!(machine.to_value(), doc);
}

#[test]
fn unknown_fields_are_kept_for_the_validator() {
    let doc = serde_json::json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Resultt": 1, "End": true}}
    });
    let machine = StateMachine::from_value(doc.clone()).unwrap();
    assert!(machine.states["A"].extra().contains_key("Resultt"));
    assert_eq!(machine.to_value(), doc);
}

#[test]
fn every_listed_state_type_parses_into_the_variant_of_that_name() {
    use workflow_dsl::model::State;
    for name in State::TYPE_NAMES {
        let lone =
            serde_json::json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
        let mut json = serde_json::json!({"Type": name});
        match name {
            "Task" => json["Resource"] = "arn:aws:states:::lambda:invoke".into(),
            "Wait" => json["Seconds"] = 1.into(),
            "Choice" => {
                json["Choices"] =
                    serde_json::json!([{"Variable": "$.x", "IsPresent": true, "Next": "P"}]);
            }
            "Parallel" => json["Branches"] = serde_json::json!([lone]),
            "Map" => json["ItemProcessor"] = lone,
            _ => {}
        }
        if !matches!(name, "Choice" | "Succeed" | "Fail") {
            json["End"] = true.into();
        }
        let state: State = serde_json::from_value(json)
            .unwrap_or_else(|e| panic!("a {name} state does not parse: {e}"));
        assert_eq!(state.type_name(), name);
    }
    let unknown: Result<State, _> = serde_json::from_value(serde_json::json!({"Type": "Loop"}));
    assert!(unknown.is_err(), "an unknown Type parsed: {unknown:?}");
}

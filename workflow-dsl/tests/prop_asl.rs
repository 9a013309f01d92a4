//! Property tests of the ASL parser and validator: arbitrary JSON and ASL-shaped documents
//! never make `StateMachine::from_value`, `validate` or `to_value` panic; whatever parses
//! re-emits as the same JSON value; generated valid machines validate clean and round-trip.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use workflow_dsl::validate::validate;
use workflow_dsl::StateMachine;

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        ".{0,10}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Strings that look like what ASL fields hold: paths, intrinsics, JSONata, names, junk.
fn asl_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$".to_string()),
        "\\$(\\.[a-z]{1,4}|\\[[0-9*]{1,2}\\]|\\[\\?\\(@\\.[a-z]\\)\\]|\\.\\.){0,4}",
        "\\$\\$\\.(Execution|State|Map)\\.[A-Za-z]{1,6}",
        "States\\.(Format|Array|MathAdd|StringToJson|JsonToString|Hash|UUID)\\(['$a-z0-9, .{}]{0,16}\\)",
        "\\{% [$a-z.+ 0-9()]{0,12} %\\}",
        "States\\.(ALL|TaskFailed|Timeout|Runtime|[A-Za-z]{1,6})",
        "[A-Z][a-z]{0,5}",
        ".{0,12}",
    ]
}

const TYPES: [&str; 10] = [
    "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "Nope", "",
];

/// A field value of an ASL state, keyed by field name.
fn field_value(name: &'static str, names: Vec<String>) -> BoxedStrategy<Value> {
    let name_ref = prop::sample::select(names.clone()).prop_map(Value::String);
    match name {
        "Type" => prop::sample::select(TYPES.to_vec())
            .prop_map(|t| json!(t))
            .boxed(),
        "Next" | "Default" => prop_oneof![4 => name_ref, 1 => any_json()].boxed(),
        "End" => prop_oneof![any::<bool>().prop_map(Value::Bool), any_json()].boxed(),
        "InputPath" | "OutputPath" | "ResultPath" | "ItemsPath" | "SecondsPath"
        | "TimestampPath" | "Resource" | "Error" | "Cause" | "Timestamp" => {
            prop_oneof![4 => asl_string().prop_map(Value::String), 1 => any_json()].boxed()
        }
        "Seconds" | "TimeoutSeconds" | "HeartbeatSeconds" | "MaxConcurrency" => prop_oneof![
            (-5i64..100_000).prop_map(|n| json!(n)),
            any_json()
        ]
        .boxed(),
        "Parameters" | "Result" | "ResultSelector" | "Arguments" | "Output" | "Assign" => {
            prop::collection::btree_map(
                prop_oneof!["[a-z]{1,4}", "[a-z]{1,4}\\.\\$"],
                prop_oneof![asl_string().prop_map(Value::String), any_json()],
                0..4,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect()))
            .boxed()
        }
        "Choices" => prop::collection::vec(
            (
                asl_string(),
                prop::sample::select(vec![
                    "NumericEquals",
                    "StringEquals",
                    "BooleanEquals",
                    "IsPresent",
                    "NumericLessThanPath",
                    "TimestampEquals",
                    "Nope",
                ]),
                any_json(),
                prop::sample::select(names.clone()),
            )
                .prop_map(|(var, op, value, next)| {
                    json!({"Variable": var, op: value, "Next": next})
                }),
            0..3,
        )
        .prop_map(Value::Array)
        .boxed(),
        "Retry" | "Catch" => prop::collection::vec(
            (
                prop::collection::vec(asl_string(), 0..3),
                prop::sample::select(names),
                prop_oneof![(0i64..10).prop_map(|n| json!(n)), any_json()],
            )
                .prop_map(|(errors, next, n)| {
                    json!({"ErrorEquals": errors, "Next": next, "MaxAttempts": n, "IntervalSeconds": n})
                }),
            0..3,
        )
        .prop_map(Value::Array)
        .boxed(),
        _ => any_json().boxed(),
    }
}

const FIELDS: [&str; 26] = [
    "Type",
    "Next",
    "End",
    "Comment",
    "InputPath",
    "OutputPath",
    "ResultPath",
    "Parameters",
    "Result",
    "ResultSelector",
    "Resource",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Choices",
    "Default",
    "Retry",
    "Catch",
    "Error",
    "Cause",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "ItemsPath",
    "MaxConcurrency",
    "Assign",
];

/// One state object with a random subset of ASL fields (always with some `Type`).
fn state(names: Vec<String>) -> impl Strategy<Value = Value> {
    prop::sample::subsequence(FIELDS.to_vec(), 1..8).prop_flat_map(move |fields| {
        let mut fields = fields;
        if !fields.contains(&"Type") {
            fields.push("Type");
        }
        let strategies: Vec<(&'static str, BoxedStrategy<Value>)> = fields
            .into_iter()
            .map(|f| (f, field_value(f, names.clone())))
            .collect();
        strategies
            .into_iter()
            .map(|(f, s)| s.prop_map(move |v| (f, v)))
            .collect::<Vec<_>>()
            .prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            })
    })
}

/// A document with `StartAt` and 1–5 ASL-shaped states.
fn asl_document() -> impl Strategy<Value = Value> {
    prop::collection::vec("[A-Z][a-z]{0,6}", 1..5).prop_flat_map(|raw| {
        let names: Vec<String> = raw
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}{i}"))
            .collect();
        let states = prop::collection::vec(state(names.clone()), names.len());
        (
            prop::sample::select(names.clone()),
            states,
            prop::option::of(prop_oneof![
                Just(json!("JSONPath")),
                Just(json!("JSONata")),
                any_json()
            ]),
        )
            .prop_map(move |(start, states, ql)| {
                let mut doc = Map::new();
                doc.insert("StartAt".into(), json!(start));
                doc.insert(
                    "States".into(),
                    Value::Object(names.iter().cloned().zip(states).collect()),
                );
                if let Some(ql) = ql {
                    doc.insert("QueryLanguage".into(), ql);
                }
                Value::Object(doc)
            })
    })
}

/// A valid machine: a chain of Pass/Wait/Choice states ending in Succeed or Fail.
fn valid_machine() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((0u8..3, any_json(), 0i64..1000), 0..6),
        any::<bool>(),
        "[A-Za-z][A-Za-z0-9 _-]{0,20}",
    )
        .prop_map(|(steps, succeed, prefix)| {
            let mut states = Map::new();
            let name = |i: usize| format!("{prefix}{i}");
            let last = steps.len();
            for (i, (kind, payload, n)) in steps.into_iter().enumerate() {
                let next = name(i + 1);
                let state = match kind {
                    0 => json!({"Type": "Pass", "Result": payload, "ResultPath": "$.r", "Next": next}),
                    1 => json!({"Type": "Wait", "Seconds": n, "Next": next}),
                    _ => json!({
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.n", "NumericEquals": n, "Next": next}],
                        "Default": next,
                    }),
                };
                states.insert(name(i), state);
            }
            let end = if succeed {
                json!({"Type": "Succeed"})
            } else {
                json!({"Type": "Fail", "Error": "Generated", "Cause": "by proptest"})
            };
            states.insert(name(last), end);
            json!({"StartAt": name(0), "States": states})
        })
}

/// Parses, validates and re-emits: whatever parses re-parses from its emitted form to an
/// equal model, and a document that validates clean re-emits as the same JSON value.
fn check_round_trip(value: &Value) -> Result<(), TestCaseError> {
    if let Ok(machine) = StateMachine::from_value(value.clone()) {
        let problems = validate(&machine);
        let emitted = machine.to_value();
        if problems.is_empty() {
            prop_assert_eq!(&emitted, value, "a valid document re-emitted differently");
        }
        let again = StateMachine::from_value(emitted).expect("re-emitted document parses");
        prop_assert_eq!(again, machine);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_json_never_panics(value in any_json()) {
        check_round_trip(&value)?;
    }

    #[test]
    fn asl_shaped_documents_never_panic_and_round_trip(value in asl_document()) {
        check_round_trip(&value)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        if let Ok(machine) = StateMachine::from_json(&text) {
            let _ = validate(&machine);
        }
    }

    #[test]
    fn generated_valid_machines_validate_clean_and_round_trip(value in valid_machine()) {
        let machine = StateMachine::from_value(value.clone()).expect("generated machine parses");
        let problems = validate(&machine);
        prop_assert!(problems.is_empty(), "{:?} for {}", problems, value);
        prop_assert_eq!(machine.to_value(), value.clone());
        let text = machine.to_pretty_json();
        let reparsed = StateMachine::from_json(&text).expect("pretty JSON parses");
        // Exact for fractional numbers too: the workspace's serde_json has `float_roundtrip`
        // (without it 254355.50081147958 came back as 254355.5008114796).
        prop_assert_eq!(reparsed, machine);
    }
}

/// The ASL-shaped generator is not vacuous: a fair share of its documents parse, and the
/// parsed ones reach the validator.
#[test]
fn asl_shaped_documents_often_parse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = asl_document();
    let (mut parsed, mut valid) = (0, 0);
    for _ in 0..256 {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        if let Ok(machine) = StateMachine::from_value(value) {
            parsed += 1;
            if validate(&machine).is_empty() {
                valid += 1;
            }
        }
    }
    eprintln!("{parsed} of 256 ASL-shaped documents parsed, {valid} validated clean");
    assert!(parsed >= 25, "only {parsed} of 256 parsed");
}

//! Object key order. AWS keeps the order keys were written or built in (`States.JsonToString`
//! prints them so); the engine does with its `preserve-order` feature and sorts them without it
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html#asl-intrsc-func-json-manipulate>).

use asl_engine::{Engine, ExecOptions, ExecutionStatus};
use serde_json::Value;
use workflow_dsl::model::StateMachine;

/// The machine and input as JSON text, so that their key order is the written one.
async fn json_to_string() -> String {
    let definition = r#"{"StartAt": "S", "States": {"S": {"Type": "Pass",
        "Parameters": {"zeta": 1, "alpha.$": "$.b", "mid": {"y": 1, "x": 2}},
        "ResultPath": "$.built", "Next": "T"},
        "T": {"Type": "Pass", "Parameters": {
            "input.$": "States.JsonToString($.given)",
            "built.$": "States.JsonToString($.built)"}, "End": true}}}"#;
    let input: Value =
        serde_json::from_str(r#"{"given": {"b": 1, "a": {"d": 2, "c": 3}}, "b": "B"}"#)
            .expect("JSON");
    let m = StateMachine::from_json(definition).expect("valid ASL");
    let r = Engine::default()
        .execute(&m, input, ExecOptions::virtual_time())
        .await
        .expect("compiles");
    match r.status {
        ExecutionStatus::Succeeded { output } => {
            format!(
                "{} {}",
                output["input"].as_str().unwrap_or(""),
                output["built"].as_str().unwrap_or("")
            )
        }
        other => panic!("expected success, got {other:?}"),
    }
}

#[cfg(feature = "preserve-order")]
#[tokio::test]
async fn json_to_string_keeps_insertion_order_with_preserve_order() {
    assert_eq!(
        json_to_string().await,
        r#"{"b":1,"a":{"d":2,"c":3}} {"zeta":1,"alpha":"B","mid":{"y":1,"x":2}}"#
    );
}

#[cfg(not(feature = "preserve-order"))]
#[tokio::test]
async fn json_to_string_sorts_keys_without_preserve_order() {
    assert_eq!(
        json_to_string().await,
        r#"{"a":{"c":3,"d":2},"b":1} {"alpha":"B","mid":{"x":2,"y":1},"zeta":1}"#
    );
}

//! The `order-processing` workflow as emitted: JSON and Mermaid snapshots (every change shows up
//! in `cargo insta review`), and the properties the SAM template and the steps rely on.

use serde_json::Value;
use workflow::workflows::order_processing::{self, states};
use workflow_dsl::emit::emit;
use workflow_dsl::model::State;
use workflow_dsl::typed::StepErrors;

#[test]
fn order_processing_matches_the_snapshots() {
    let emitted = emit(order_processing::order_processing()).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!("order_processing_asl_json", emitted.json);
    insta::assert_snapshot!("order_processing_mermaid", emitted.mermaid);
}

#[test]
fn the_placeholders_are_the_template_substitutions() {
    let emitted = emit(order_processing::order_processing()).unwrap();
    assert_eq!(
        emitted.substitutions,
        [
            "NotifyOrderFunctionArn",
            "PersistOrderFunctionArn",
            "ProcessPaymentFunctionArn",
            "RecordFailureFunctionArn",
            "ValidateOrderFunctionArn",
        ]
    );
}

#[test]
fn every_task_has_a_timeout_and_retries_transient_errors_with_full_jitter() {
    let emitted = emit(order_processing::order_processing()).unwrap();
    let mut tasks = 0;
    for (name, state) in &emitted.asl.states {
        let State::Task(task) = state else { continue };
        tasks += 1;
        assert!(task.timeout_seconds.is_some(), "{name}: no TimeoutSeconds");
        let retried: Vec<&str> = task
            .retry
            .iter()
            .flat_map(|r| r.error_equals.iter().map(String::as_str))
            .collect();
        let transient = steps::PersistError::transient();
        for error in transient.iter().map(|e| e.name()).chain([
            "Lambda.ServiceException",
            "Lambda.TooManyRequestsException",
            "States.Timeout",
        ]) {
            assert!(retried.contains(&error), "{name} does not retry {error}");
        }
        let json = serde_json::to_value(&task.retry).unwrap();
        for retrier in json.as_array().unwrap() {
            assert_eq!(retrier["JitterStrategy"], "FULL", "{name}: {retrier}");
        }
    }
    assert_eq!(tasks, 6);
}

#[test]
fn the_order_steps_catch_everything_into_record_failure_at_dollar_failure() {
    let emitted = emit(order_processing::order_processing()).unwrap();
    for name in [states::VALIDATE, states::PAY, states::PERSIST] {
        let State::Task(task) = &emitted.asl.states[name] else {
            panic!("{name} is a Task")
        };
        let last = task.catch.last().expect("a catcher");
        assert_eq!(last.error_equals, ["States.ALL"], "{name}");
        for catcher in &task.catch {
            assert_eq!(catcher.next, states::RECORD_FAILURE, "{name}");
            assert_eq!(
                catcher.result_path,
                Some(Some(format!("$.{}", steps::model::FAILURE_FIELD))),
                "{name}"
            );
        }
    }
    let State::Fail(fail) = &emitted.asl.states[states::FAILED] else {
        panic!("Order failed is a Fail state")
    };
    assert_eq!(fail.error_path.as_deref(), Some("$.failureError"));
    assert_eq!(fail.cause_path.as_deref(), Some("$.failureReason"));
}

#[test]
fn the_committed_definition_is_what_the_code_emits() {
    let committed: Value =
        serde_json::from_str(include_str!("../../generated/order-processing.asl.json")).unwrap();
    let emitted = emit(order_processing::order_processing()).unwrap();
    assert_eq!(
        committed,
        serde_json::from_str::<Value>(&emitted.json).unwrap(),
        "generated/order-processing.asl.json is stale: run `cargo run -p workflow`"
    );
}

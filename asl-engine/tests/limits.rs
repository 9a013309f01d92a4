//! AWS's limits on an execution: the 25,000-event history quota and the 262,144-byte payload
//! quota (`States.DataLimitExceeded`, which `States.ALL` and `States.TaskFailed` do not match).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use asl_engine::{Engine, EventType, ExecOptions, ExecutionStatus, TaskRegistry};
use serde_json::{json, Value};
use workflow_dsl::model::StateMachine;

fn machine(v: Value) -> StateMachine {
    StateMachine::from_value(v).expect("valid ASL")
}

/// A Pass/Choice loop that counts to `n` and then succeeds: 1 + 4n + 2 + 1 events.
fn counting_loop(n: u64) -> StateMachine {
    machine(json!({
        "StartAt": "Inc",
        "States": {
            "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Check"},
            "Check": {"Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": n, "Next": "Done"}],
                "Default": "Inc"},
            "Done": {"Type": "Succeed"}
        }
    }))
}

fn failure(status: &ExecutionStatus) -> (Option<&str>, Option<&str>) {
    match status {
        ExecutionStatus::Failed { error, cause } => (error.as_deref(), cause.as_deref()),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A runaway Pass/Choice loop fails at AWS's history quota: event 25,000 is ExecutionFailed with
/// States.Runtime
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
#[tokio::test]
async fn a_runaway_loop_fails_at_the_history_limit_bp_history_limit() {
    let m = machine(json!({
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Result": {"spin": true}, "Next": "Loop"},
            "Loop": {"Type": "Choice",
                "Choices": [{"Variable": "$.spin", "BooleanEquals": false, "Next": "End"}],
                "Default": "Spin"},
            "End": {"Type": "Succeed"}
        }
    }));
    let r = Engine::default()
        .execute(&m, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    let (error, cause) = failure(&r.status);
    assert_eq!(error, Some("States.Runtime"));
    assert_eq!(
        cause,
        Some("The execution reached the maximum number of history events (25000).")
    );
    assert_eq!(r.history.len(), 25_000);
    let last = r.history.last().unwrap();
    assert_eq!(last.event_type, EventType::ExecutionFailed);
    assert_eq!((last.id, last.previous_event_id), (25_000, 24_999));
    assert_eq!(
        last.details().unwrap()["error"],
        json!("States.Runtime"),
        "{last:?}"
    );
    assert!(r
        .history
        .iter()
        .enumerate()
        .all(|(i, e)| e.id == i as u64 + 1));
    // The 24,999th event is the last one the loop recorded.
    assert_eq!(r.history[24_998].event_type, EventType::PassStateExited);
}

/// Event 25,000 may be ExecutionSucceeded: the execution then succeeds; one event more and it
/// fails (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html>).
#[tokio::test]
async fn execution_succeeded_may_be_event_25000_bp_history_limit() {
    // 1 + 4 * 6249 + 2 + 1 = 25,000 events.
    let r = Engine::default()
        .execute(
            &counting_loop(6249),
            json!({"n": 0}),
            ExecOptions::virtual_time(),
        )
        .await
        .unwrap();
    assert_eq!(
        r.status,
        ExecutionStatus::Succeeded {
            output: json!({"n": 6249})
        }
    );
    assert_eq!(r.history.len(), 25_000);
    assert_eq!(
        r.history.last().unwrap().event_type,
        EventType::ExecutionSucceeded
    );
    // 25,004 events needed: fails at 25,000.
    let r = Engine::default()
        .execute(
            &counting_loop(6250),
            json!({"n": 0}),
            ExecOptions::virtual_time(),
        )
        .await
        .unwrap();
    assert_eq!(failure(&r.status).0, Some("States.Runtime"));
    assert_eq!(r.history.len(), 25_000);
}

/// The limit holds without a kept history too (events are numbered either way), and can be
/// lifted (Express workflows have no history quota).
#[tokio::test]
async fn the_history_limit_holds_without_history_and_can_be_lifted() {
    let quiet = ExecOptions {
        history: false,
        ..ExecOptions::virtual_time()
    };
    let r = Engine::default()
        .execute(&counting_loop(7000), json!({"n": 0}), quiet.clone())
        .await
        .unwrap();
    assert_eq!(failure(&r.status).0, Some("States.Runtime"));
    let unlimited = ExecOptions {
        history_limit: None,
        ..quiet
    };
    let r = Engine::default()
        .execute(&counting_loop(7000), json!({"n": 0}), unlimited)
        .await
        .unwrap();
    assert_eq!(
        r.status,
        ExecutionStatus::Succeeded {
            output: json!({"n": 7000})
        }
    );
}

/// A state whose output is over 262,144 bytes fails with States.DataLimitExceeded
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
#[tokio::test]
async fn a_state_output_over_the_payload_quota_fails_with_data_limit_exceeded() {
    let m = machine(json!({
        "StartAt": "Twice",
        "States": {"Twice": {"Type": "Pass",
            "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": true}}
    }));
    // {"a":"…","b":"…"}: 15 bytes around the two strings.
    let fits = "x".repeat((262_144 - 15) / 2);
    let r = Engine::default()
        .execute(&m, json!({"s": fits}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert!(
        matches!(r.status, ExecutionStatus::Succeeded { .. }),
        "{:?}",
        r.status.name()
    );
    let over = "x".repeat((262_144 - 15) / 2 + 1);
    let r = Engine::default()
        .execute(&m, json!({"s": over}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(failure(&r.status).0, Some("States.DataLimitExceeded"));
}

/// A task result over the quota is States.DataLimitExceeded, which neither `States.ALL` nor
/// `States.TaskFailed` matches: not retried, not caught
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
#[tokio::test]
async fn data_limit_exceeded_is_not_caught_by_states_all() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut reg = TaskRegistry::new();
    let counted = calls.clone();
    reg.register_lambda("big", move |input: Value| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let n = input["n"].as_u64().unwrap_or(0) as usize;
            Ok(json!({"blob": "y".repeat(n)}))
        }
    });
    let m = machine(json!({
        "StartAt": "Big",
        "States": {
            "Big": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:big",
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"},
                          {"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let engine = Engine::new(reg);
    let r = engine
        .execute(&m, json!({"n": 300_000}), ExecOptions::virtual_time())
        .await
        .unwrap();
    let (error, cause) = failure(&r.status);
    assert_eq!(error, Some("States.DataLimitExceeded"));
    assert!(
        cause.is_some_and(|c| c.contains("size exceeding the maximum number of bytes")),
        "{cause:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "not retried");
    assert!(
        !r.history
            .iter()
            .any(|e| e.event_type == EventType::PassStateEntered),
        "not caught"
    );
    // A small result goes through the same state.
    let r = engine
        .execute(&m, json!({"n": 10}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert!(matches!(r.status, ExecutionStatus::Succeeded { .. }));
}

/// An execution input over the quota fails in-process (the endpoint refuses it at StartExecution).
#[tokio::test]
async fn an_execution_input_over_the_quota_fails_in_process() {
    let m = machine(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    let r = Engine::default()
        .execute(
            &m,
            json!({"s": "z".repeat(262_144)}),
            ExecOptions::virtual_time(),
        )
        .await
        .unwrap();
    assert_eq!(failure(&r.status).0, Some("States.DataLimitExceeded"));
}

/// `ExecOptions::max_execution_seconds` bounds an execution like a shorter `TimeoutSeconds` would
/// (the endpoint sets 300 for Express workflows,
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
#[tokio::test]
async fn max_execution_seconds_times_an_execution_out() {
    let wait = |secs: u64| {
        machine(
            json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": secs, "End": true}}}),
        )
    };
    let bounded = ExecOptions {
        max_execution_seconds: Some(300),
        ..ExecOptions::virtual_time()
    };
    let r = Engine::default()
        .execute(&wait(301), json!({}), bounded.clone())
        .await
        .unwrap();
    match &r.status {
        ExecutionStatus::TimedOut { error, .. } => {
            assert_eq!(error.as_deref(), Some("States.Timeout"))
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let r = Engine::default()
        .execute(&wait(299), json!({}), bounded)
        .await
        .unwrap();
    assert!(matches!(r.status, ExecutionStatus::Succeeded { .. }));
    let r = Engine::default()
        .execute(&wait(301), json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert!(matches!(r.status, ExecutionStatus::Succeeded { .. }));
}

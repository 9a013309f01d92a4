//! Task dispatch, Retry/Catch, timeouts, mocks, Map/Parallel concurrency, the context object and the
//! history, on in-process Lambda handlers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use asl_engine::{
    Engine, EventType, ExecOptions, ExecutionStatus, MockConfig, TaskError, TaskRegistry,
};
use serde_json::{json, Value};
use workflow_dsl::model::StateMachine;

fn machine(v: Value) -> StateMachine {
    StateMachine::from_value(v).expect("valid ASL")
}

fn output(status: &ExecutionStatus) -> &Value {
    match status {
        ExecutionStatus::Succeeded { output } => output,
        other => panic!("expected success, got {other:?}"),
    }
}

#[tokio::test]
async fn lambda_invoke_and_direct_arn_dispatch_to_registered_handlers() {
    let mut reg = TaskRegistry::new();
    reg.register_lambda("validate-order", |input| async move {
        Ok(json!({"valid": true, "orderId": input["orderId"]}))
    });
    reg.register_lambda("pay", |input| async move {
        Ok(json!({"paid": input["validated"]["valid"]}))
    });
    let m = machine(json!({
        "StartAt": "Validate",
        "States": {
            "Validate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${ValidateOrderFunctionArn}", "Payload.$": "$"},
                "ResultSelector": {"valid.$": "$.Payload.valid", "status.$": "$.StatusCode"},
                "ResultPath": "$.validated",
                "Next": "Pay"
            },
            "Pay": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:pay",
                "ResultPath": "$.payment",
                "End": true
            }
        }
    }));
    let r = Engine::new(reg)
        .execute(&m, json!({"orderId": "o-1"}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(
        output(&r.status),
        &json!({"orderId": "o-1", "validated": {"valid": true, "status": 200}, "payment": {"paid": true}})
    );
    let types: Vec<EventType> = r.history.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        vec![
            EventType::ExecutionStarted,
            EventType::TaskStateEntered,
            EventType::TaskScheduled,
            EventType::TaskStarted,
            EventType::TaskSucceeded,
            EventType::TaskStateExited,
            EventType::TaskStateEntered,
            EventType::LambdaFunctionScheduled,
            EventType::LambdaFunctionStarted,
            EventType::LambdaFunctionSucceeded,
            EventType::TaskStateExited,
            EventType::ExecutionSucceeded,
        ]
    );
    for (i, e) in r.history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert_eq!(e.previous_event_id, i as u64);
    }
    let scheduled = serde_json::to_value(&r.history[2]).unwrap();
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resourceType"],
        "lambda"
    );
    assert_eq!(scheduled["taskScheduledEventDetails"]["resource"], "invoke");
}

#[tokio::test]
async fn retry_with_backoff_then_success_uses_virtual_time() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let mut reg = TaskRegistry::new();
    reg.register_lambda("flaky", move |_| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < 2 {
                Err(TaskError::new("Busy", "try again"))
            } else {
                Ok(json!({"attempt": n}))
            }
        }
    });
    let m = machine(json!({
        "StartAt": "Call",
        "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:flaky",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 100, "BackoffRate": 2.0, "MaxAttempts": 3}],
            "End": true
        }}
    }));
    let started = Instant::now();
    let r = Engine::new(reg)
        .execute(&m, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "virtual time must not sleep"
    );
    assert_eq!(output(&r.status), &json!({"attempt": 2}));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // 100 s + 200 s of virtual backoff between the first and the last attempt.
    let ts: Vec<chrono::DateTime<chrono::Utc>> = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::LambdaFunctionScheduled)
        .map(|e| e.timestamp.to_datetime())
        .collect();
    assert_eq!(ts.len(), 3);
    assert_eq!((ts[2] - ts[0]).num_seconds(), 300);
}

#[tokio::test]
async fn catch_puts_error_output_at_result_path() {
    let mut reg = TaskRegistry::new();
    reg.register_lambda("pay", |_| async {
        Err(TaskError::new("PaymentDeclined", "card declined"))
    });
    let m = machine(json!({
        "StartAt": "Pay",
        "States": {
            "Pay": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "pay", "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "End": true
            },
            "Failed": {"Type": "Pass", "End": true}
        }
    }));
    let r = Engine::new(reg)
        .execute(&m, json!({"orderId": "o-2"}), ExecOptions::virtual_time())
        .await
        .unwrap();
    let out = output(&r.status);
    assert_eq!(out["orderId"], "o-2");
    assert_eq!(out["error"]["Error"], "PaymentDeclined");
    let cause: Value = serde_json::from_str(out["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(
        cause,
        json!({"errorMessage": "card declined", "errorType": "PaymentDeclined"})
    );
}

#[tokio::test]
async fn unregistered_lambda_fails_with_resource_not_found() {
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:nope", "End": true}}
    }));
    let r = Engine::default()
        .execute(&m, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    match r.status {
        ExecutionStatus::Failed { error, .. } => {
            assert_eq!(error.as_deref(), Some("Lambda.ResourceNotFoundException"))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn task_timeout_raises_states_timeout() {
    let mut reg = TaskRegistry::new();
    reg.register_lambda("slow", |_| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(json!({}))
    });
    let m = machine(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:slow", "TimeoutSeconds": 1,
                  "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], "End": true},
            "Late": {"Type": "Pass", "Result": "timed out", "End": true}
        }
    }));
    let r = Engine::new(reg)
        .execute(&m, json!({}), ExecOptions::default())
        .await
        .unwrap();
    assert_eq!(output(&r.status), &json!("timed out"));
    assert!(r
        .history
        .iter()
        .any(|e| e.event_type == EventType::LambdaFunctionTimedOut));
}

#[tokio::test]
async fn execution_timeout_with_virtual_wait() {
    let m = machine(json!({
        "TimeoutSeconds": 5,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}
    }));
    let started = Instant::now();
    let r = Engine::default()
        .execute(&m, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(r.status, ExecutionStatus::TimedOut { .. }),
        "{:?}",
        r.status
    );
    assert_eq!(
        r.history.last().unwrap().event_type,
        EventType::ExecutionTimedOut
    );
}

#[tokio::test]
async fn virtual_wait_advances_the_context_clock() {
    let m = machine(json!({
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime", "name.$": "$$.State.Name",
                   "exec.$": "$$.Execution.Name", "sm.$": "$$.StateMachine.Name", "input.$": "$$.Execution.Input"}, "End": true}
        }
    }));
    let start: chrono::DateTime<chrono::Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
    let opts = ExecOptions {
        start_time: Some(start),
        execution_name: Some("run-1".into()),
        state_machine_name: Some("Orders".into()),
        ..ExecOptions::virtual_time()
    };
    let r = Engine::default()
        .execute(&m, json!({"x": 1}), opts)
        .await
        .unwrap();
    assert_eq!(
        output(&r.status),
        &json!({"entered": "2024-01-01T01:00:00.000Z", "name": "P", "exec": "run-1", "sm": "Orders", "input": {"x": 1}})
    );
    assert!(r.execution_arn.ends_with(":execution:Orders:run-1"));
}

#[tokio::test]
async fn mock_config_drives_task_results_per_attempt() {
    let cfg = MockConfig::from_json(
        r#"{"StateMachines": {"Order": {"TestCases": {"FlakyPay": {"Pay": "PayFlaky"}}}},
            "MockedResponses": {"PayFlaky": {
              "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
              "2": {"Return": {"StatusCode": 200, "Payload": {"paymentId": "p-1"}}}}}}"#,
    )
    .unwrap();
    let m = machine(json!({
        "StartAt": "Pay",
        "States": {"Pay": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "pay", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 3}],
            "OutputPath": "$.Payload",
            "End": true
        }}
    }));
    let opts = ExecOptions {
        mock: Some(cfg.test_case("Order", "FlakyPay").unwrap()),
        ..ExecOptions::virtual_time()
    };
    // No handler registered: the mock answers.
    let r = Engine::default()
        .execute(&m, json!({}), opts)
        .await
        .unwrap();
    assert_eq!(output(&r.status), &json!({"paymentId": "p-1"}));
    let failed = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::TaskFailed)
        .count();
    assert_eq!(failed, 2);
}

#[tokio::test]
async fn map_iterations_run_concurrently() {
    let mut reg = TaskRegistry::new();
    reg.register_lambda("work", |v| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(json!(v.as_i64().unwrap_or(0) * 2))
    });
    let m = machine(json!({
        "StartAt": "M",
        "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
            "ItemProcessor": {"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:work", "End": true}}},
            "End": true
        }}
    }));
    let started = Instant::now();
    let r = Engine::new(reg)
        .execute(&m, json!({"items": [1, 2, 3, 4]}), ExecOptions::default())
        .await
        .unwrap();
    assert_eq!(output(&r.status), &json!([2, 4, 6, 8]));
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "4 x 300 ms must overlap, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn map_tolerated_failures_and_threshold() {
    let m = |count: u64| {
        machine(json!({
            "StartAt": "M",
            "States": {"M": {
                "Type": "Map", "ToleratedFailureCount": count,
                "ItemProcessor": {"StartAt": "C", "States": {
                    "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "Bad"}], "Default": "Ok"},
                    "Bad": {"Type": "Fail", "Error": "TooBig", "Cause": "item > 1"},
                    "Ok": {"Type": "Pass", "End": true}
                }},
                "End": true
            }}
        }))
    };
    let engine = Engine::default();
    let ok = engine
        .execute(&m(2), json!([1, 2, 3]), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(
        output(&ok.status),
        &json!([1, {"Error": "TooBig", "Cause": "item > 1"}, {"Error": "TooBig", "Cause": "item > 1"}])
    );
    let bad = engine
        .execute(&m(1), json!([1, 2, 3]), ExecOptions::virtual_time())
        .await
        .unwrap();
    match bad.status {
        ExecutionStatus::Failed { error, .. } => {
            assert_eq!(
                error.as_deref(),
                Some("States.ExceedToleratedFailureThreshold")
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn parallel_branch_failure_is_caught() {
    let m = machine(json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "BranchBroke", "Cause": "b"}}}
            ], "Catch": [{"ErrorEquals": ["BranchBroke"], "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Pass", "End": true}
        }
    }));
    let r = Engine::default()
        .execute(&m, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(
        output(&r.status),
        &json!({"Error": "BranchBroke", "Cause": "b"})
    );
    assert!(r
        .history
        .iter()
        .any(|e| e.event_type == EventType::ParallelStateFailed));
}

#[test]
fn sync_convenience_runs_without_a_runtime() {
    let m = machine(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, $.b)"}, "End": true}}
    }));
    let r = Engine::default()
        .execute_sync(
            &m,
            json!({"a": 2, "b": 3}),
            ExecOptions {
                history: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(output(&r.status), &json!({"sum": 5}));
    assert!(r.history.is_empty());
}

#[tokio::test]
async fn jsonata_task_arguments_output_and_assign() {
    let mut reg = TaskRegistry::new();
    reg.register_lambda("double", |v| async move {
        Ok(json!({"n": v["n"].as_i64().unwrap_or(0) * 2}))
    });
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Arguments": {"FunctionName": "double", "Payload": {"n": "{% $states.input.value %}"}},
                  "Assign": {"doubled": "{% $states.result.Payload.n %}"},
                  "Output": {"result": "{% $states.result.Payload.n %}"},
                  "Next": "U"},
            "U": {"Type": "Pass", "Output": "{% $doubled + $states.input.result %}", "End": true}
        }
    }));
    let r = Engine::new(reg)
        .execute(&m, json!({"value": 21}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(output(&r.status), &json!(84));
}

#[tokio::test]
async fn heartbeat_seconds_bound_in_process_handlers() {
    let mut reg = TaskRegistry::new();
    reg.register_lambda("silent", |_| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(json!({}))
    });
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "silent", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 60, "HeartbeatSeconds": 1, "End": true}}
    }));
    let r = Engine::new(reg)
        .execute(&m, json!({}), ExecOptions::default())
        .await
        .unwrap();
    match r.status {
        ExecutionStatus::Failed { error, .. } => {
            assert_eq!(error.as_deref(), Some("States.HeartbeatTimeout"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_definitions_are_rejected_at_compile_time() {
    let engine = Engine::default();
    for def in [
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "not a path"}, "End": true}}}),
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope($)"}, "End": true}}}),
    ] {
        assert!(engine.compile(&machine(def.clone())).is_err(), "{def}");
    }
}

/// The shape of the shop's order workflow: validate -> pay -> persist -> notify, any failure caught
/// and recorded. Handlers are in-process Rust closures matched through SAM-style placeholders.
#[tokio::test]
async fn order_workflow_shape_with_failure_path() {
    let m = machine(json!({
        "StartAt": "ValidateOrder",
        "States": {
            "ValidateOrder": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${ValidateOrderFunctionArn}", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "RecordFailure"}],
                "Next": "ProcessPayment"},
            "ProcessPayment": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${ProcessPaymentFunctionArn}", "Payload.$": "$"},
                "ResultSelector": {"paymentId.$": "$.Payload.paymentId"}, "ResultPath": "$.payment",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "RecordFailure"}],
                "Next": "Notify"},
            "Notify": {"Type": "Pass", "Parameters": {"orderId.$": "$.orderId", "status": "COMPLETED",
                "paymentId.$": "$.payment.paymentId"}, "End": true},
            "RecordFailure": {"Type": "Pass", "Parameters": {"orderId.$": "$.orderId", "status": "FAILED",
                "error.$": "$.failure.Error"}, "Next": "Failed"},
            "Failed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "the order could not be completed"}
        }
    }));
    let mut reg = TaskRegistry::new();
    reg.register_lambda("validate-order", |o| async move {
        if o["items"].as_array().is_some_and(|i| !i.is_empty()) {
            Ok(o)
        } else {
            Err(TaskError::new("ValidationError", "the order has no items"))
        }
    });
    reg.register_lambda("process-payment", |o| async move {
        if o["paymentToken"] == "tok_declined" {
            Err(TaskError::new("PaymentDeclined", "card declined"))
        } else {
            Ok(json!({"paymentId": format!("pay-{}", o["orderId"].as_str().unwrap_or(""))}))
        }
    });
    let engine = Engine::new(reg);
    let ok = engine
        .execute(
            &m,
            json!({"orderId": "o-1", "items": [{"productId": "p"}], "paymentToken": "tok_ok"}),
            ExecOptions::virtual_time(),
        )
        .await
        .unwrap();
    assert_eq!(
        output(&ok.status),
        &json!({"orderId": "o-1", "status": "COMPLETED", "paymentId": "pay-o-1"})
    );
    let declined = engine
        .execute(&m, json!({"orderId": "o-2", "items": [{"productId": "p"}], "paymentToken": "tok_declined"}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(
        declined.status,
        ExecutionStatus::Failed {
            error: Some("OrderFailed".into()),
            cause: Some("the order could not be completed".into())
        }
    );
    let recorded = declined
        .history
        .iter()
        .find(|e| {
            e.event_type == EventType::PassStateExited
                && e.details().is_some_and(|d| d["name"] == "RecordFailure")
        })
        .expect("RecordFailure ran");
    let out: Value =
        serde_json::from_str(recorded.details().unwrap()["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        out,
        json!({"orderId": "o-2", "status": "FAILED", "error": "PaymentDeclined"})
    );
}

#[tokio::test]
async fn jsonpath_runtime_errors_name_the_state_and_event() {
    let engine = Engine::default();
    let run = |def: Value, input: Value| {
        let engine = engine.clone();
        async move {
            match engine
                .execute(&machine(def), input, ExecOptions::virtual_time())
                .await
                .unwrap()
                .status
            {
                ExecutionStatus::Failed { error, cause } => (error.unwrap(), cause.unwrap()),
                other => panic!("{other:?}"),
            }
        }
    };
    let (e, c) = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": true}}}),
        json!({"a": 1}),
    )
    .await;
    assert_eq!(e, "States.Runtime");
    assert_eq!(c, "An error occurred while executing the state 'P' (entered at the event id #2). The JSONPath '$.missing' specified for the field 'x.$' could not be found in the input '{\"a\":1}'");
    let (e, _) = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.x.y", "End": true}}}),
        json!("text"),
    )
    .await;
    assert_eq!(e, "States.ResultPathMatchFailure");
    let (e, _) = run(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "D"}]}, "D": {"Type": "Succeed"}}}),
        json!({"n": 2}),
    )
    .await;
    assert_eq!(e, "States.NoChoiceMatched");
    let (e, _) = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"x.$": "States.ArrayGetItem($.a, 5)"}, "End": true}}}),
        json!({"a": [1]}),
    )
    .await;
    assert_eq!(e, "States.IntrinsicFailure");
}

mod typed_steps {
    //! A typed step (`workflow_dsl::step::Step`) registered with `register_step`: its errors reach
    //! Retry/Catch as a failed Lambda's do, and a malformed input is the step's own error.

    use super::*;
    use workflow_dsl::step::{Step, StepError};
    use workflow_dsl::typed::StepErrors;

    workflow_dsl::step_errors! {
        enum ChargeError { Declined = "PaymentDeclined", #[transient] Busy, BadInput }
    }

    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Charge {
        cents: i64,
    }

    struct ChargeCard;
    impl Step for ChargeCard {
        const NAME: &'static str = "charge-card";
        type Input = Charge;
        type Output = Charge;
        type Error = ChargeError;
        type Ports = AtomicUsize;

        async fn run(
            charge: Charge,
            calls: &AtomicUsize,
        ) -> Result<Charge, StepError<ChargeError>> {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(ChargeError::Busy.because("provider busy"));
            }
            if charge.cents > 100 {
                return Err(ChargeError::Declined.because("card declined"));
            }
            Ok(charge)
        }

        fn malformed_input(reason: String) -> StepError<ChargeError> {
            ChargeError::BadInput.because(reason)
        }
    }

    fn charge_machine() -> StateMachine {
        machine(json!({
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "${ChargeCardFunctionArn}", "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "End": true
                },
                "Failed": {"Type": "Pass", "End": true}
            }
        }))
    }

    async fn run(input: Value) -> (Value, usize) {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut reg = TaskRegistry::new();
        reg.register_step::<ChargeCard>(calls.clone());
        let r = Engine::new(reg)
            .execute(&charge_machine(), input, ExecOptions::virtual_time())
            .await
            .unwrap();
        (output(&r.status).clone(), calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_transient_error_is_retried_and_the_output_is_the_steps() {
        let (out, calls) = run(json!({"cents": 50})).await;
        assert_eq!(out, json!({"cents": 50}));
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn a_step_error_is_caught_with_the_lambda_error_object_as_cause() {
        let (out, _) = run(json!({"cents": 500})).await;
        assert_eq!(out["error"]["Error"], "PaymentDeclined");
        let cause: Value = serde_json::from_str(out["error"]["Cause"].as_str().unwrap()).unwrap();
        assert_eq!(
            cause,
            json!({"errorMessage": "card declined", "errorType": "PaymentDeclined"})
        );
        assert_eq!(
            ChargeError::from_name("PaymentDeclined"),
            Some(ChargeError::Declined)
        );
    }

    #[tokio::test]
    async fn a_malformed_input_is_the_steps_own_error_without_its_values() {
        let (out, calls) = run(json!({"cents": "a secret 4242"})).await;
        assert_eq!(out["error"]["Error"], "BadInput");
        assert!(!out["error"]["Cause"].as_str().unwrap().contains("4242"));
        assert_eq!(calls, 0, "the handler never ran");
    }
}

/// A `.waitForTaskToken` task waits after its integration returns, until its token is answered:
/// success gives the task its result, failure its error; heartbeats keep it alive.
#[tokio::test]
async fn wait_for_task_token_tasks_wait_for_their_answer() {
    use asl_engine::{CallbackOutcome, Callbacks};
    use std::sync::{Arc, OnceLock};
    let callbacks: Arc<OnceLock<Arc<Callbacks>>> = Arc::new(OnceLock::new());
    let mut reg = TaskRegistry::new();
    let cb = callbacks.clone();
    // A worker that answers later: heartbeats for 1.5 s (HeartbeatSeconds is 1), then answers.
    reg.register_lambda("worker", move |payload: Value| {
        let cb = cb.clone();
        async move {
            let token = payload["token"].as_str().unwrap().to_string();
            let outcome = if payload["fail"] == true {
                CallbackOutcome::Failure {
                    error: "Worker.Refused".into(),
                    cause: "not today".into(),
                }
            } else {
                CallbackOutcome::Success(json!({"approved": payload["n"]}))
            };
            tokio::spawn(async move {
                let callbacks = cb.get().unwrap();
                for _ in 0..5 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    callbacks.heartbeat(&token).unwrap();
                }
                callbacks.answer(&token, outcome).unwrap();
            });
            // The integration's own answer (Lambda's) is not the task's result.
            Ok(json!({"submitted": true}))
        }
    });
    let engine = Engine::new(reg);
    callbacks.set(engine.callbacks().clone()).unwrap();
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n", "fail.$": "$.fail"}},
            "TimeoutSeconds": 30, "HeartbeatSeconds": 1, "End": true}}
    }));
    let options = || ExecOptions {
        history: true,
        ..ExecOptions::default()
    };
    let r = engine
        .execute(&m, json!({"n": 7, "fail": false}), options())
        .await
        .unwrap();
    assert_eq!(output(&r.status), &json!({"approved": 7}));
    let types: Vec<&str> = r.history.iter().map(|e| e.event_type.as_str()).collect();
    assert!(
        types
            .windows(2)
            .any(|w| w == ["TaskSubmitted", "TaskSucceeded"]),
        "{types:?}"
    );
    let r = engine
        .execute(&m, json!({"n": 1, "fail": true}), options())
        .await
        .unwrap();
    match r.status {
        ExecutionStatus::Failed { error, cause } => {
            assert_eq!(error.as_deref(), Some("Worker.Refused"));
            assert_eq!(cause.as_deref(), Some("not today"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(engine.callbacks().waiting(), 0);
}

/// Without heartbeats, `HeartbeatSeconds` ends the wait with States.HeartbeatTimeout, and the
/// token then answers TaskTimedOut.
#[tokio::test]
async fn an_unanswered_token_times_out() {
    use asl_engine::{CallbackError, CallbackOutcome};
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let mut reg = TaskRegistry::new();
    let keep = seen.clone();
    reg.register_lambda("forgetful", move |payload: Value| {
        let keep = keep.clone();
        async move {
            *keep.lock().unwrap() = payload["token"].as_str().map(str::to_string);
            Ok(json!({}))
        }
    });
    let engine = Engine::new(reg);
    let m = machine(json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "forgetful", "Payload": {"token.$": "$$.Task.Token"}},
            "HeartbeatSeconds": 1, "End": true}}
    }));
    let r = engine
        .execute(&m, json!({}), ExecOptions::default())
        .await
        .unwrap();
    match r.status {
        ExecutionStatus::Failed { error, .. } => {
            assert_eq!(error.as_deref(), Some("States.HeartbeatTimeout"))
        }
        other => panic!("{other:?}"),
    }
    let token = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        engine
            .callbacks()
            .answer(&token, CallbackOutcome::Success(json!(1))),
        Err(CallbackError::TaskTimedOut)
    );
}

/// An activity task no worker takes ends at `TimeoutSeconds` with States.Timeout.
#[tokio::test]
async fn an_activity_nobody_works_on_times_out() {
    let engine = Engine::new(TaskRegistry::new());
    let m = machine(json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:idle",
            "TimeoutSeconds": 1, "End": true}}
    }));
    let options = ExecOptions {
        history: true,
        ..ExecOptions::default()
    };
    let r = engine.execute(&m, json!({}), options).await.unwrap();
    match &r.status {
        ExecutionStatus::Failed { error, .. } => {
            assert_eq!(error.as_deref(), Some("States.Timeout"))
        }
        other => panic!("{other:?}"),
    }
    let types: Vec<&str> = r.history.iter().map(|e| e.event_type.as_str()).collect();
    assert!(
        types.contains(&"ActivityScheduled") && types.contains(&"ActivityTimedOut"),
        "{types:?}"
    );
    assert_eq!(engine.callbacks().waiting(), 0);
}

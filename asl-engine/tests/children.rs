//! Child executions in-process: `states:startExecution` Tasks (request-response, `.sync`,
//! `.sync:2`, `.waitForTaskToken`) start executions of machines registered with
//! `Engine::with_machines` / `LocalRunner::child_machine` on the same engine
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html>).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use asl_engine::children::StateMachines;
use asl_engine::testing::LocalRunner;
use asl_engine::{CallbackOutcome, Callbacks, Engine, ExecOptions, ExecutionStatus, TaskRegistry};
use serde_json::{json, Value};
use workflow_dsl::model::StateMachine;

const CHILD_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

fn machine(v: Value) -> StateMachine {
    serde_json::from_value(v).expect("a state machine")
}

/// A parent whose one Task starts `child` on `resource` with `parameters`.
fn parent(resource: &str, parameters: Value) -> StateMachine {
    machine(json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": true}}}))
}

fn child_ok() -> StateMachine {
    machine(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"y": 2}, "End": true}}}),
    )
}

fn child_fails() -> StateMachine {
    machine(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}}),
    )
}

fn params(name: &str) -> Value {
    json!({"StateMachineArn": CHILD_ARN, "Name": name,
           "Input": {"x": 1, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}})
}

async fn run(
    child: StateMachine,
    parent: StateMachine,
) -> (asl_engine::ExecutionResult, StateMachines) {
    let machines = StateMachines::new();
    machines.add("child", &child).unwrap();
    let engine = Engine::with_machines(TaskRegistry::new(), machines.clone());
    let result = engine
        .execute(&parent, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    (result, machines)
}

fn output(r: &asl_engine::ExecutionResult) -> &Value {
    match &r.status {
        ExecutionStatus::Succeeded { output } => output,
        other => panic!("the parent did not succeed: {other:?}"),
    }
}

/// Waits (in real time, bounded by attempts, no timing asserted) for a child to close.
async fn closed(machines: &StateMachines, arn: &str) -> Value {
    for _ in 0..500 {
        if let Some(d) = machines.describe(arn) {
            if d["status"] != "RUNNING" {
                return d;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the child {arn} did not close");
}

#[tokio::test]
async fn request_response_returns_the_start_and_the_child_runs_with_the_parent_id() {
    let (result, machines) = run(
        child_ok(),
        parent("arn:aws:states:::states:startExecution", params("c1")),
    )
    .await;
    let out = output(&result);
    let child_arn = "arn:aws:states:us-east-1:123456789012:execution:child:c1";
    assert_eq!(out["ExecutionArn"], json!(child_arn));
    assert!(out["StartDate"].is_i64(), "epoch milliseconds: {out}");
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());
    let d = closed(&machines, child_arn).await;
    assert_eq!(d["status"], json!("SUCCEEDED"));
    let input: Value = serde_json::from_str(d["input"].as_str().unwrap()).unwrap();
    assert_eq!(
        input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        json!(result.execution_arn)
    );
}

#[tokio::test]
async fn sync_returns_the_child_description_with_output_as_text() {
    let (result, _) = run(
        child_ok(),
        parent("arn:aws:states:::states:startExecution.sync", params("c2")),
    )
    .await;
    let out = output(&result);
    assert_eq!(out["Status"], json!("SUCCEEDED"));
    assert_eq!(out["Output"], json!("{\"y\":2}"));
    assert_eq!(out["OutputDetails"], json!({"Included": true}));
    assert!(out["Input"].is_string());
    assert!(out["StartDate"].is_i64() && out["StopDate"].is_i64());
    assert_eq!(
        out["ExecutionArn"],
        json!("arn:aws:states:us-east-1:123456789012:execution:child:c2")
    );
    assert_eq!(out["StateMachineArn"], json!(CHILD_ARN));
}

#[tokio::test]
async fn sync2_returns_the_child_output_as_json() {
    let (result, _) = run(
        child_ok(),
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            params("c3"),
        ),
    )
    .await;
    assert_eq!(output(&result)["Output"], json!({"y": 2}));
    // The child's input is JSON too (`.sync:2` answers the description's data as JSON).
    assert!(output(&result)["Input"].is_object(), "{}", output(&result));
}

#[tokio::test]
async fn a_failed_sync_child_fails_the_parent_with_states_task_failed_and_its_description() {
    for resource in [
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::states:startExecution.sync:2",
    ] {
        let (result, _) = run(child_fails(), parent(resource, params("c4"))).await;
        let ExecutionStatus::Failed { error, cause } = &result.status else {
            panic!("the parent should fail: {:?}", result.status);
        };
        assert_eq!(error.as_deref(), Some("States.TaskFailed"));
        let cause: Value = serde_json::from_str(cause.as_deref().unwrap()).unwrap();
        assert_eq!(cause["Status"], json!("FAILED"));
        assert_eq!(cause["Error"], json!("Boom"));
        assert_eq!(cause["Cause"], json!("bad"));
    }
}

#[tokio::test]
async fn refused_starts_are_step_functions_exceptions() {
    let missing =
        json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:nope"});
    let (result, _) = run(
        child_ok(),
        parent("arn:aws:states:::states:startExecution.sync", missing),
    )
    .await;
    assert!(
        matches!(&result.status, ExecutionStatus::Failed { error: Some(e), .. }
        if e == "StepFunctions.StateMachineDoesNotExistException")
    );

    let bad_name = json!({"StateMachineArn": CHILD_ARN, "Name": "not a name"});
    let (result, _) = run(
        child_ok(),
        parent("arn:aws:states:::states:startExecution", bad_name),
    )
    .await;
    assert!(
        matches!(&result.status, ExecutionStatus::Failed { error: Some(e), .. }
        if e == "StepFunctions.InvalidNameException")
    );

    // The same name twice: the second start of a closed execution is refused, and catchable.
    let twice = machine(json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
              "Parameters": {"StateMachineArn": CHILD_ARN, "Name": "same"}, "ResultPath": null, "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
              "Parameters": {"StateMachineArn": CHILD_ARN, "Name": "same"},
              "Catch": [{"ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"], "Next": "Caught"}],
              "End": true},
        "Caught": {"Type": "Pass", "End": true}}}));
    let (result, _) = run(child_ok(), twice).await;
    let out = output(&result);
    assert_eq!(
        out["Error"],
        json!("StepFunctions.ExecutionAlreadyExistsException")
    );
    assert!(out["Cause"]
        .as_str()
        .unwrap()
        .contains("execution:child:same"));
}

#[tokio::test]
async fn wait_for_task_token_waits_for_the_token_the_child_answers() {
    // The child's one Task answers the token it was given (as a worker would, SendTaskSuccess).
    let callbacks: Arc<OnceLock<Arc<Callbacks>>> = Arc::new(OnceLock::new());
    let mut registry = TaskRegistry::new();
    let cb = callbacks.clone();
    registry.register_lambda("answer", move |input: Value| {
        let cb = cb.clone();
        async move {
            let token = input["token"].as_str().unwrap_or_default().to_string();
            let answered = cb.get().map(|c| {
                c.answer(
                    &token,
                    CallbackOutcome::Success(json!({"answered": input["x"]})),
                )
            });
            Ok(json!({"answered": answered.is_some_and(|r| r.is_ok())}))
        }
    });
    let child = machine(json!({"StartAt": "Answer", "States": {
        "Answer": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:answer", "End": true}}}));
    let machines = StateMachines::new();
    machines.add("child", &child).unwrap();
    let engine = Engine::with_machines(registry, machines.clone());
    callbacks.set(engine.callbacks().clone()).ok();
    let parent = parent(
        "arn:aws:states:::states:startExecution.waitForTaskToken",
        json!({"StateMachineArn": CHILD_ARN, "Name": "cb",
               "Input": {"x": 7, "token.$": "$$.Task.Token"}}),
    );
    let result = engine
        .execute(&parent, json!({}), ExecOptions::virtual_time())
        .await
        .unwrap();
    assert_eq!(output(&result), &json!({"answered": 7}));
    let submitted = result
        .history
        .iter()
        .find(|e| e.event_type == asl_engine::EventType::TaskSubmitted)
        .expect("the start is submitted before the wait");
    let details = serde_json::to_value(submitted).unwrap();
    let out: Value = serde_json::from_str(
        details["taskSubmittedEventDetails"]["output"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        out["ExecutionArn"],
        json!("arn:aws:states:us-east-1:123456789012:execution:child:cb")
    );
}

#[tokio::test]
async fn local_runner_runs_child_machines() {
    let runner = LocalRunner::for_machine(parent(
        "arn:aws:states:::states:startExecution.sync:2",
        json!({"StateMachineArn": CHILD_ARN, "Input": {}}),
    ))
    .child_machine("child", &child_ok())
    .unwrap();
    let outcome = runner.run_json(json!({})).await;
    assert!(outcome.succeeded(), "{:?}", outcome.status());
    let out: Value = outcome.output().unwrap();
    assert_eq!(out["Output"], json!({"y": 2}));
    assert_eq!(runner.child_executions().len(), 1);
}

#[tokio::test]
async fn stopping_a_parent_stops_its_sync_child_at_the_child_next_transition() {
    use std::sync::atomic::{AtomicBool, Ordering};
    // The child's first Task holds until the test has asked the parent to stop.
    let entered = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let mut registry = TaskRegistry::new();
    let (e, r) = (entered.clone(), release.clone());
    registry.register_lambda("hold", move |input: Value| {
        let (e, r) = (e.clone(), r.clone());
        async move {
            e.notify_one();
            r.notified().await;
            Ok(input)
        }
    });
    let child = machine(json!({"StartAt": "Hold", "States": {
        "Hold": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hold", "Next": "After"},
        "After": {"Type": "Pass", "End": true}}}));
    let machines = StateMachines::new();
    machines.add("child", &child).unwrap();
    let engine = Engine::with_machines(registry, machines.clone());
    let cancel = Arc::new(AtomicBool::new(false));
    let options = ExecOptions {
        cancel: Some(cancel.clone()),
        ..ExecOptions::virtual_time()
    };
    let parent = parent(
        "arn:aws:states:::states:startExecution.sync",
        json!({"StateMachineArn": CHILD_ARN, "Name": "held"}),
    );
    let run = tokio::spawn(async move { engine.execute(&parent, json!({}), options).await });
    entered.notified().await;
    cancel.store(true, Ordering::Relaxed);
    release.notify_one();
    let result = run.await.unwrap().unwrap();
    assert_eq!(result.status, ExecutionStatus::Aborted);
    let d = closed(
        &machines,
        "arn:aws:states:us-east-1:123456789012:execution:child:held",
    )
    .await;
    assert_eq!(d["status"], json!("ABORTED"));
}

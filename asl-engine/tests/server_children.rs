//! Child executions through the endpoint with the unchanged `aws-sdk-sfn` client: a
//! `states:startExecution` Task starts a normal execution of a machine registered on the server
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html>), which
//! ListExecutions, DescribeExecution and GetExecutionHistory see; stopping a `.sync` parent stops
//! its child (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-sync>).

use std::time::Duration;

use asl_engine::server::ServerConfig;
use asl_engine::TaskRegistry;
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};

mod support;
use support::{client, serve_on_loopback, unique_name as name, wait_done};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

async fn start_server() -> Client {
    client(&serve_on_loopback(TaskRegistry::new(), ServerConfig::default()).await)
}

async fn create(c: &Client, name: &str, def: &Value) -> String {
    c.create_state_machine()
        .name(name)
        .definition(def.to_string())
        .role_arn(ROLE)
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

/// A parent whose one Task starts the child on `resource` with `parameters`.
fn parent(resource: &str, parameters: Value) -> Value {
    json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": true}}})
}

fn child_params(child_arn: &str) -> Value {
    json!({"StateMachineArn": child_arn,
           "Input": {"x": 1, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}})
}

const CHILD_OK: &str =
    r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"y": 2}, "End": true}}}"#;

async fn describe(c: &Client, arn: &str) -> DescribeExecutionOutput {
    c.describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap()
}

/// Polls until the machine has an execution; its ARN.
async fn first_execution(c: &Client, machine_arn: &str) -> String {
    for _ in 0..500 {
        let l = c
            .list_executions()
            .state_machine_arn(machine_arn)
            .send()
            .await
            .unwrap();
        if let Some(e) = l.executions.first() {
            return e.execution_arn.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no execution of {machine_arn} started");
}

async fn run_parent(c: &Client, def: Value) -> (String, DescribeExecutionOutput) {
    let parent_arn = create(c, &name("parent"), &def).await;
    let exec = c
        .start_execution()
        .state_machine_arn(parent_arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let d = wait_done(c, &exec).await;
    (exec, d)
}

fn output_of(d: &DescribeExecutionOutput) -> Value {
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{d:?}");
    serde_json::from_str(d.output.as_deref().unwrap()).unwrap()
}

#[tokio::test]
async fn request_response_starts_a_child_visible_to_the_api_with_the_parent_id() {
    let c = start_server().await;
    let child = create(&c, &name("child"), &serde_json::from_str(CHILD_OK).unwrap()).await;
    let (parent_exec, d) = run_parent(
        &c,
        parent(
            "arn:aws:states:::states:startExecution",
            child_params(&child),
        ),
    )
    .await;
    let out = output_of(&d);
    let child_exec = out["ExecutionArn"].as_str().unwrap().to_string();
    assert!(out["StartDate"].is_i64());
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert_eq!(first_execution(&c, &child).await, child_exec);
    let cd = wait_done(&c, &child_exec).await;
    assert_eq!(cd.status, ExecutionStatus::Succeeded);
    let input: Value = serde_json::from_str(cd.input.as_deref().unwrap()).unwrap();
    assert_eq!(
        input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        json!(parent_exec)
    );
    let history = c
        .get_execution_history()
        .execution_arn(&child_exec)
        .send()
        .await
        .unwrap();
    assert!(history.events.len() >= 4);
}

#[tokio::test]
async fn sync_and_sync2_return_the_child_description() {
    let c = start_server().await;
    let child = create(&c, &name("child"), &serde_json::from_str(CHILD_OK).unwrap()).await;
    let (_, d) = run_parent(
        &c,
        parent(
            "arn:aws:states:::states:startExecution.sync",
            child_params(&child),
        ),
    )
    .await;
    let out = output_of(&d);
    assert_eq!(out["Status"], json!("SUCCEEDED"));
    assert_eq!(out["Output"], json!("{\"y\":2}"));
    assert!(
        out["Input"].is_string(),
        "`.sync` answers the input as JSON text: {out}"
    );
    assert_eq!(out["StateMachineArn"], json!(child));
    assert!(out["StartDate"].is_i64() && out["StopDate"].is_i64());

    let (_, d) = run_parent(
        &c,
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            child_params(&child),
        ),
    )
    .await;
    let out = output_of(&d);
    assert_eq!(out["Output"], json!({"y": 2}));
    assert!(
        out["Input"].is_object(),
        "`.sync:2` answers the input as JSON: {out}"
    );
}

#[tokio::test]
async fn a_failed_sync_child_fails_the_parent_with_states_task_failed() {
    let c = start_server().await;
    let failing =
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}});
    let child = create(&c, &name("child"), &failing).await;
    let (_, d) = run_parent(
        &c,
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            child_params(&child),
        ),
    )
    .await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(d.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["Status"], json!("FAILED"));
    assert_eq!(cause["Error"], json!("Boom"));
    assert_eq!(
        cause["ExecutionArn"],
        json!(first_execution(&c, &child).await)
    );
}

#[tokio::test]
async fn a_missing_child_machine_is_state_machine_does_not_exist() {
    let c = start_server().await;
    let (_, d) = run_parent(
        &c,
        parent(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:nope"}),
        ),
    )
    .await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        d.error.as_deref(),
        Some("StepFunctions.StateMachineDoesNotExistException")
    );
}

#[tokio::test]
async fn wait_for_task_token_waits_for_send_task_success_with_the_token_in_the_child_input() {
    let c = start_server().await;
    let waiting =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let child = create(&c, &name("child"), &waiting).await;
    let parent_machine = create(
        &c,
        &name("parent"),
        &parent(
            "arn:aws:states:::states:startExecution.waitForTaskToken",
            json!({"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}}),
        ),
    )
    .await;
    let parent_exec = c
        .start_execution()
        .state_machine_arn(parent_machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let child_exec = first_execution(&c, &child).await;
    let input: Value =
        serde_json::from_str(describe(&c, &child_exec).await.input.as_deref().unwrap()).unwrap();
    let token = input["token"].as_str().unwrap();
    // The token may be sent while the parent is still submitting; retry until it is waited on.
    let mut sent = false;
    for _ in 0..500 {
        if c.send_task_success()
            .task_token(token)
            .output(r#"{"done": true}"#)
            .send()
            .await
            .is_ok()
        {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sent, "the parent never waited on the token");
    let d = wait_done(&c, &parent_exec).await;
    assert_eq!(output_of(&d), json!({"done": true}));
    // The child is not tied to the callback: it still runs until stopped.
    assert_eq!(
        describe(&c, &child_exec).await.status,
        ExecutionStatus::Running
    );
    c.stop_execution()
        .execution_arn(&child_exec)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn stopping_a_sync_parent_stops_its_child() {
    let c = start_server().await;
    let waiting =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let child = create(&c, &name("child"), &waiting).await;
    let parent_machine = create(
        &c,
        &name("parent"),
        &parent(
            "arn:aws:states:::states:startExecution.sync",
            json!({"StateMachineArn": child}),
        ),
    )
    .await;
    let parent_exec = c
        .start_execution()
        .state_machine_arn(parent_machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let child_exec = first_execution(&c, &child).await;
    c.stop_execution()
        .execution_arn(&parent_exec)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wait_done(&c, &parent_exec).await.status,
        ExecutionStatus::Aborted
    );
    assert_eq!(
        wait_done(&c, &child_exec).await.status,
        ExecutionStatus::Aborted
    );
}

#[tokio::test]
async fn a_child_runs_on_a_version_by_its_arn() {
    let c = start_server().await;
    let n = name("child");
    let created = c
        .create_state_machine()
        .name(&n)
        .definition(CHILD_OK)
        .role_arn(ROLE)
        .publish(true)
        .send()
        .await
        .unwrap();
    let version = created.state_machine_version_arn.unwrap();
    let (_, d) = run_parent(
        &c,
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            json!({"StateMachineArn": version}),
        ),
    )
    .await;
    let out = output_of(&d);
    assert_eq!(out["Output"], json!({"y": 2}));
    assert_eq!(out["StateMachineVersionArn"], json!(version));
}

#[tokio::test]
async fn a_sync_task_that_times_out_stops_its_child() {
    let c = start_server().await;
    let waiting =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}});
    let child = create(&c, &name("child"), &waiting).await;
    let def = json!({"StartAt": "Start", "States": {"Start": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn": child}, "TimeoutSeconds": 1, "End": true}}});
    let (_, d) = run_parent(&c, def).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.Timeout"));
    let child_exec = first_execution(&c, &child).await;
    assert_eq!(
        wait_done(&c, &child_exec).await.status,
        ExecutionStatus::Aborted
    );
}

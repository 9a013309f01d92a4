//! `workflow serve --state-dir` survives `kill -9`: the real binary is killed in the middle of a
//! Wait state and started again on the same directory; the execution resumes under its ARN and
//! succeeds, finished executions are still described, and StartExecution keeps AWS's name rules.
#![cfg(unix)]

mod support;

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{json, Value};
use support::{history, temp_dir, wait_done, write, Serve};

const SLOW: &str = r#"{"StartAt": "Greet", "States": {
    "Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('hello {}', $.who)"}, "Next": "Hold"},
    "Hold": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
    "Done": {"Type": "Pass", "Parameters": {"msg.$": "$.greeting", "done": true}, "End": true}}}"#;

const QUICK: &str = r#"{"StartAt": "Echo", "States": {
    "Echo": {"Type": "Pass", "Parameters": {"echo.$": "$.who"}, "End": true}}}"#;

fn output(d: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput) -> Value {
    serde_json::from_str(d.output.as_deref().expect("an output")).unwrap()
}

#[tokio::test]
async fn a_killed_endpoint_resumes_its_executions_on_the_same_state_dir() {
    let dir = temp_dir("serve-restart");
    let state = dir.join("state");
    let slow = write(&dir, "slow.asl.json", SLOW);
    let quick = write(&dir, "quick.asl.json", QUICK);
    let state_arg = state.display().to_string();
    let args = [
        "--in-memory",
        "--state-dir",
        &state_arg,
        "--definition",
        &format!("slow={}", slow.display()),
        "--definition",
        &format!("quick={}", quick.display()),
    ];

    let first = Serve::start(&args);
    assert_eq!(first.first["resumed"], 0);
    let (slow_arn, quick_arn) = (first.machine_arn("slow"), first.machine_arn("quick"));
    let c = first.client().await;
    let quick_exec = c
        .start_execution()
        .state_machine_arn(&quick_arn)
        .name("quick-1")
        .input(r#"{"who": "q"}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let quick_done = wait_done(&c, &quick_exec, 10).await;
    assert_eq!(quick_done.status, ExecutionStatus::Succeeded);

    let input = r#"{"who": "world"}"#;
    let started = c
        .start_execution()
        .state_machine_arn(&slow_arn)
        .name("slow-1")
        .input(input)
        .send()
        .await
        .unwrap();
    let slow_exec = started.execution_arn.clone();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mid = c
        .describe_execution()
        .execution_arn(&slow_exec)
        .send()
        .await
        .unwrap();
    assert_eq!(mid.status, ExecutionStatus::Running, "killed mid-Wait");
    first.kill_9();

    // Same directory, same --definition names: same machine ARNs, the execution resumed.
    let second = Serve::start(&args);
    assert_eq!(second.machine_arn("slow"), slow_arn);
    assert_eq!(second.machine_arn("quick"), quick_arn);
    assert_eq!(second.first["resumed"], 1, "{}", second.first);
    let c = second.client().await;

    // StartExecution with the same name and input of the RUNNING execution returns it.
    let again = c
        .start_execution()
        .state_machine_arn(&slow_arn)
        .name("slow-1")
        .input(input)
        .send()
        .await
        .unwrap();
    assert_eq!(again.execution_arn, slow_exec);
    assert_eq!(again.start_date, started.start_date);
    let other = c
        .start_execution()
        .state_machine_arn(&slow_arn)
        .name("slow-1")
        .input(r#"{"who": "someone else"}"#)
        .send()
        .await
        .unwrap_err();
    assert!(other.into_service_error().is_execution_already_exists());

    let before_restart = c
        .describe_execution()
        .execution_arn(&quick_exec)
        .send()
        .await
        .unwrap();
    assert_eq!(before_restart.status, ExecutionStatus::Succeeded);
    assert_eq!(before_restart.output, quick_done.output);
    assert_eq!(before_restart.start_date, quick_done.start_date);
    assert_eq!(before_restart.stop_date, quick_done.stop_date);

    let done = wait_done(&c, &slow_exec, 15).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done), json!({"msg": "hello world", "done": true}));
    assert_eq!(done.execution_arn, slow_exec);
    assert_eq!(done.name.as_deref(), Some("slow-1"));
    assert_eq!(done.input.as_deref(), Some(input));
    assert_eq!(done.start_date, started.start_date);
    let events = history(&c, &slow_exec).await;
    assert!(events
        .iter()
        .any(|e| e.r#type == HistoryEventType::WaitStateExited));
    assert_eq!(
        events.last().unwrap().r#type,
        HistoryEventType::ExecutionSucceeded
    );
    second.kill_9();

    // A third start: the finished execution is described as it ended, nothing is resumed, and
    // its name cannot be reused (it is closed).
    let third = Serve::start(&args);
    assert_eq!(third.first["resumed"], 0);
    let c = third.client().await;
    let d = c
        .describe_execution()
        .execution_arn(&slow_exec)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.output, done.output);
    assert_eq!(d.stop_date, done.stop_date);
    assert_eq!(history(&c, &slow_exec).await.len(), events.len());
    let listed = c
        .list_executions()
        .state_machine_arn(&slow_arn)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = listed.executions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["slow-1"]);
    let closed = c
        .start_execution()
        .state_machine_arn(&slow_arn)
        .name("slow-1")
        .input(input)
        .send()
        .await
        .unwrap_err();
    assert!(closed.into_service_error().is_execution_already_exists());

    // The fault routes exist only with --fault-injection.
    assert_eq!(third.http("GET", "/_local/faults", "").0, 404);
    drop(third);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unusable_state_dir_is_an_error() {
    let dir = temp_dir("serve-bad-state");
    let file = write(&dir, "not-a-dir", "x");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["serve", "--port", "0", "--in-memory", "--state-dir"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot use the state directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

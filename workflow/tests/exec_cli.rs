//! Runs `workflow exec` on ASL files: success, failure, invalid definition, mock configuration.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn exec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .arg("exec")
        .args(args)
        .output()
        .expect("the workflow binary runs")
}

/// The single stdout line as JSON.
fn line(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {text}\nstderr: {}", stderr(output));
    serde_json::from_str(lines[0]).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A file in a fresh temporary directory.
fn temp_file(name: &str, content: &str) -> String {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "workflow-exec-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn a_successful_execution_prints_its_output() {
    let def = temp_file(
        "ok.asl.json",
        r#"{"StartAt": "Greet", "States": {"Greet": {"Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.name)"}, "End": true}}}"#,
    );
    let out = exec(&["--definition", &def, "--input", r#"{"name": "Ada"}"#]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        line(&out),
        json!({"status": "SUCCEEDED", "output": {"greeting": "Hello, Ada!"}})
    );
}

#[test]
fn input_can_come_from_a_file() {
    let def = temp_file(
        "echo.asl.json",
        r#"{"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}}"#,
    );
    let input = temp_file("input.json", r#"{"from": "file"}"#);
    let out = exec(&["--definition", &def, "--input", &format!("@{input}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(line(&out)["output"], json!({"from": "file"}));
}

#[test]
fn a_failed_execution_exits_zero_with_a_failed_line() {
    let def = temp_file(
        "fail.asl.json",
        r#"{"StartAt": "Wait", "States": {
            "Wait": {"Type": "Wait", "Seconds": 3600, "Next": "Boom"},
            "Boom": {"Type": "Fail", "Error": "OrderRejected", "Cause": "out of stock"}}}"#,
    );
    // The hour-long Wait takes no time on the virtual clock.
    let out = exec(&["--definition", &def, "--virtual-time"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        line(&out),
        json!({"status": "FAILED", "error": "OrderRejected", "cause": "out of stock"})
    );
}

#[test]
fn an_unmocked_unknown_lambda_fails_the_task_clearly() {
    let def = temp_file(
        "lambda.asl.json",
        r#"{"StartAt": "Call", "States": {"Call": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:no-such-function", "End": true}}}"#,
    );
    let out = exec(&["--definition", &def, "--in-memory"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let l = line(&out);
    assert_eq!(l["status"], "FAILED");
    assert_eq!(l["error"], "Lambda.ResourceNotFoundException");
    assert!(
        l["cause"].as_str().unwrap().contains("no-such-function"),
        "{l}"
    );
}

#[test]
fn an_invalid_definition_exits_2_with_the_problems() {
    let def = temp_file(
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#,
    );
    let out = exec(&["--definition", &def]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains("State 'A'") && err.contains("Nowhere"),
        "{err}"
    );

    let out = exec(&["--definition", &temp_file("x.json", "{not json")]);
    assert_eq!(out.status.code(), Some(2));
}

const PAY: &str = r#"{"StartAt": "Pay", "States": {
    "Pay": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "process-payment", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["PaymentDeclined"], "Next": "Declined"}],
        "End": true},
    "Declined": {"Type": "Fail", "Error": "PaymentDeclined", "Cause": "the card was declined"}}}"#;

const MOCKS: &str = r#"{
  "StateMachines": {"Orders": {"TestCases": {
      "HappyPath": {"Pay": "PayOk"},
      "ThrottledThenOk": {"Pay": "PayThrottledOnce"},
      "Declined": {"Pay": "PayDeclined"}}}},
  "MockedResponses": {
    "PayOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"paymentId": "p-1"}}}},
    "PayThrottledOnce": {
      "0": {"Throw": {"Error": "Throttled", "Cause": "slow down"}},
      "1": {"Return": {"StatusCode": 200, "Payload": {"paymentId": "p-2"}}}},
    "PayDeclined": {"0": {"Throw": {"Error": "PaymentDeclined", "Cause": "card declined"}}}}}"#;

#[test]
fn mock_config_test_cases_drive_the_tasks() {
    let def = temp_file("orders.asl.json", PAY);
    let mocks = temp_file("MockConfigFile.json", MOCKS);
    let run = |case: &str| {
        exec(&[
            "--definition",
            &def,
            "--mock-config",
            &mocks,
            "--test-case",
            case,
            "--virtual-time",
        ])
    };
    let out = run("HappyPath");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        line(&out),
        json!({"status": "SUCCEEDED", "output": {"paymentId": "p-1"}})
    );
    assert_eq!(
        line(&run("ThrottledThenOk"))["output"],
        json!({"paymentId": "p-2"})
    );
    assert_eq!(
        line(&run("Declined")),
        json!({"status": "FAILED", "error": "PaymentDeclined", "cause": "the card was declined"})
    );

    let out = run("NoSuchCase");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("NoSuchCase"), "{}", stderr(&out));

    // --state-machine must name a machine of the file.
    let out = exec(&[
        "--definition",
        &def,
        "--mock-config",
        &mocks,
        "--test-case",
        "HappyPath",
        "--state-machine",
        "Other",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

//! Runs `workflow serve` on a free port, talks the Step Functions JSON 1.0 protocol to it, and
//! stops it with SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One request over plain HTTP/1.1: (status, JSON body).
fn call(endpoint: &str, operation: &str, body: &Value) -> (u16, Value) {
    let mut stream = TcpStream::connect(endpoint.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.to_string();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AWSStepFunctions.{operation}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or("null");
    (status, serde_json::from_str(json).unwrap())
}

#[cfg(unix)]
#[test]
fn serve_creates_machines_runs_executions_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("workflow-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("hello.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass",
            "Parameters": {"msg.$": "States.Format('hi {}', $.who)"}, "End": true}}}"#,
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["serve", "--port", "0", "--in-memory"])
        .arg("--definition")
        .arg(format!("hello={}", def.display()))
        .arg("--express")
        .arg(format!("hello-express={}", def.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let first: Value = serde_json::from_str(&first).expect("the first line is JSON");
    let endpoint = first["endpoint"].as_str().unwrap().to_owned();
    let arn = first["stateMachines"]["hello"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:states:") && arn.ends_with(":123456789012:stateMachine:hello"),
        "{arn}"
    );

    let (status, started) = call(
        &endpoint,
        "StartExecution",
        &json!({"stateMachineArn": arn, "input": "{\"who\": \"you\"}"}),
    );
    assert_eq!(status, 200, "{started}");
    let exec_arn = started["executionArn"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    let described = loop {
        let (_, d) = call(
            &endpoint,
            "DescribeExecution",
            &json!({"executionArn": exec_arn}),
        );
        if d["status"] != "RUNNING" || Instant::now() > deadline {
            break d;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    assert_eq!(described["output"], json!("{\"msg\":\"hi you\"}"));

    let express = first["stateMachines"]["hello-express"].as_str().unwrap();
    let (status, sync) = call(
        &endpoint,
        "StartSyncExecution",
        &json!({"stateMachineArn": express, "input": "{\"who\": \"sync\"}"}),
    );
    assert_eq!(status, 200, "{sync}");
    assert_eq!(sync["output"], json!("{\"msg\":\"hi sync\"}"));

    let (status, err) = call(
        &endpoint,
        "DescribeStateMachine",
        &json!({"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:nope"}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        err["__type"],
        "com.amazonaws.swf.service.v2.model#StateMachineDoesNotExist"
    );

    let pid = server.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_an_invalid_definition() {
    let dir = std::env::temp_dir().join(format!("workflow-serve-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let def = dir.join("bad.asl.json");
    std::fs::write(&def, r#"{"StartAt": "A", "States": {}}"#).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["serve", "--port", "0", "--in-memory", "--definition"])
        .arg(format!("bad={}", def.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Invalid State Machine Definition"));
}

//! Durable resume of the endpoint's executions (`ServerConfig::state_dir`), driven through
//! `aws-sdk-sfn`: each running execution's history events are appended to its event log as they
//! happen, and a new endpoint on what a killed one left resumes the execution at the state it was
//! in (the Tasks it had finished are not called again), its history continued and its start date
//! (and so its `TimeoutSeconds`) kept; a second endpoint on a directory in use is refused.
//!
//! A kill is simulated by copying the directory while the execution is blocked in a Task (what a
//! SIGKILL at that moment leaves: the journal's files are whole or renamed in place, the event log
//! is appended one line per write); the real `kill -9` of `workflow serve` is tested in
//! `workflow/tests/serve_restart.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl_engine::server::{ServerConfig, StepFunctions};
use asl_engine::TaskRegistry;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, StateMachineType};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};

mod support;
use support::{client, serve_service_on_loopback, wait_done};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

/// Init assigns a variable; T1 and T2 count; Hold blocks on the first endpoint; T3 counts; Done
/// reads the variable.
const STEPS: &str = r#"{"StartAt": "Init", "States": {
    "Init": {"Type": "Pass", "Assign": {"greeting.$": "$.who"}, "Next": "T1"},
    "T1": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:count", "Parameters": {"step": "t1", "n.$": "$.n"}, "Next": "T2"},
    "T2": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:count", "Parameters": {"step": "t2", "n.$": "$.n"}, "Next": "Hold"},
    "Hold": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hold", "Parameters": {"step": "hold", "n.$": "$.n"}, "Next": "T3"},
    "T3": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:count", "Parameters": {"step": "t3", "n.$": "$.n"}, "Next": "Done"},
    "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "who.$": "$greeting"}, "End": true}}}"#;

/// Calls per step, shared by the endpoints of a test.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<HashMap<String, usize>>>);

impl Calls {
    fn count(&self, input: &Value) -> i64 {
        let step = input["step"].as_str().unwrap_or("?").to_string();
        *self.0.lock().unwrap().entry(step).or_default() += 1;
        input["n"].as_i64().unwrap_or(0)
    }
    fn of(&self, step: &str) -> usize {
        self.0.lock().unwrap().get(step).copied().unwrap_or(0)
    }
}

/// `count` adds 1 to `n`; `hold` adds 100, or never answers when `blocking` (the kill happens
/// while it is in flight).
fn registry(calls: &Calls, blocking: bool) -> TaskRegistry {
    let mut r = TaskRegistry::new();
    let c = calls.clone();
    r.register_lambda("count", move |input: Value| {
        let n = c.count(&input);
        async move { Ok(json!({"n": n + 1})) }
    });
    let c = calls.clone();
    r.register_lambda("hold", move |input: Value| {
        let n = c.count(&input);
        async move {
            if blocking {
                std::future::pending::<()>().await;
            }
            Ok(json!({"n": n + 100}))
        }
    });
    r
}

fn temp_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("engine-{tag}-{}", uuid::Uuid::new_v4().simple()))
}

/// Opens the service on `dir` and serves it on a free port: (SDK client, resumed count).
async fn start(dir: &Path, registry: TaskRegistry) -> (Client, usize) {
    let config = ServerConfig {
        state_dir: Some(dir.to_path_buf()),
        ..ServerConfig::default()
    };
    let (service, resumed) = StepFunctions::open(registry, config).unwrap();
    let endpoint = serve_service_on_loopback(service).await;
    (client(&endpoint), resumed)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn create(c: &Client, name: &str, def: &str) -> String {
    c.create_state_machine()
        .name(name)
        .definition(def)
        .role_arn(ROLE)
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn history(c: &Client, arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_execution_history()
            .execution_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}

fn count(events: &[aws_sdk_sfn::types::HistoryEvent], t: HistoryEventType) -> usize {
    events.iter().filter(|e| e.r#type == t).count()
}

/// Ids 1..=n in order, each event after the one before it, one ExecutionStarted.
fn assert_coherent(events: &[aws_sdk_sfn::types::HistoryEvent]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id, i as i64 + 1, "ids are 1..n in order: {events:#?}");
        assert!(e.previous_event_id < e.id);
    }
    assert_eq!(count(events, HistoryEventType::ExecutionStarted), 1);
    assert_eq!(events[0].r#type, HistoryEventType::ExecutionStarted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_at_the_state_it_was_in_and_finished_tasks_do_not_run_again() {
    let calls = Calls::default();
    let dir = temp_dir("resume-a");
    let (a, _) = start(&dir, registry(&calls, true)).await;
    let sm = create(&a, "steps", STEPS).await;
    let started = a
        .start_execution()
        .state_machine_arn(&sm)
        .name("run")
        .input(r#"{"who": "ann", "n": 0}"#)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn.clone();
    wait_until("Hold to be called", || calls.of("hold") == 1).await;
    let before = history(&a, &arn).await;
    assert_coherent(&before);
    assert_eq!(count(&before, HistoryEventType::LambdaFunctionSucceeded), 2);

    // The event log has the events so far; a kill now leaves it as it is.
    let log = dir.join("executions/exec-000000000000.events.jsonl");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), before.len(), "{logged}");

    // The directory is locked while the first endpoint runs.
    let refused = StepFunctions::open(
        registry(&calls, false),
        ServerConfig {
            state_dir: Some(dir.clone()),
            ..ServerConfig::default()
        },
    )
    .err()
    .expect("a second endpoint on the same directory is refused");
    assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock);
    assert!(
        refused.to_string().contains(&dir.display().to_string())
            && refused.to_string().contains(".lock"),
        "{refused}"
    );

    let killed = temp_dir("resume-a-killed");
    copy_dir(&dir, &killed);
    // A line torn by the kill is ignored.
    let killed_log = killed.join("executions/exec-000000000000.events.jsonl");
    let mut torn = std::fs::read_to_string(&killed_log).unwrap();
    torn.push_str(r#"{"id": 99, "type": "TaskStateEnt"#);
    std::fs::write(&killed_log, torn).unwrap();

    let (b, resumed) = start(&killed, registry(&calls, false)).await;
    assert_eq!(resumed, 1);
    let done = wait_done(&b, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    // 0 +1 (T1) +1 (T2) +100 (Hold) +1 (T3); the variable assigned before the kill is kept.
    assert_eq!(
        serde_json::from_str::<Value>(done.output.as_deref().unwrap()).unwrap(),
        json!({"n": 103, "who": "ann"})
    );
    assert_eq!(done.execution_arn, arn);
    assert_eq!(done.start_date, started.start_date);
    // The Tasks that had finished ran once; the one in flight ran again.
    assert_eq!(
        (
            calls.of("t1"),
            calls.of("t2"),
            calls.of("hold"),
            calls.of("t3")
        ),
        (1, 1, 2, 1)
    );

    // The history goes on from where it was: the events before the kill, then the Hold task
    // scheduled again (not entered again), then the rest.
    let after = history(&b, &arn).await;
    assert_coherent(&after);
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(count(&after, HistoryEventType::TaskStateEntered), 4);
    assert_eq!(count(&after, HistoryEventType::LambdaFunctionScheduled), 5);
    assert_eq!(count(&after, HistoryEventType::LambdaFunctionSucceeded), 4);
    assert_eq!(
        after.last().unwrap().r#type,
        HistoryEventType::ExecutionSucceeded
    );
    // Closed: the record has the history, the event log is gone; a third start resumes nothing.
    assert!(!killed_log.exists());
    let third = temp_dir("resume-a-third");
    copy_dir(&killed, &third);
    let (c, resumed) = start(&third, registry(&calls, false)).await;
    assert_eq!(resumed, 0);
    assert_eq!(history(&c, &arn).await, after);
    let described = c
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status, ExecutionStatus::Succeeded);
    assert_eq!(described.start_date, started.start_date);
    assert_eq!(described.stop_date, done.stop_date);
    for d in [&dir, &killed, &third] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// AWS counts `TimeoutSeconds` from the execution's start
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html>): a resumed
/// execution times out at its original start plus the timeout, not a full timeout after the
/// restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_execution_keeps_its_timeout_from_the_original_start() {
    let calls = Calls::default();
    let dir = temp_dir("resume-timeout");
    let (a, _) = start(&dir, registry(&calls, true)).await;
    let def = r#"{"TimeoutSeconds": 2, "StartAt": "Hold", "States": {
        "Hold": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hold", "Parameters": {"step": "hold", "n": 0}, "End": true}}}"#;
    let sm = create(&a, "slow", def).await;
    let arn = a
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap()
        .execution_arn;
    wait_until("Hold to be called", || calls.of("hold") == 1).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let killed = temp_dir("resume-timeout-killed");
    copy_dir(&dir, &killed);
    // Blocking again after the restart: only the timeout ends it.
    let (b, resumed) = start(&killed, registry(&calls, true)).await;
    assert_eq!(resumed, 1);
    let done = wait_done(&b, &arn).await;
    assert_eq!(done.status, ExecutionStatus::TimedOut, "{done:?}");
    let ran = done.stop_date.unwrap().as_secs_f64() - done.start_date.as_secs_f64();
    assert!(
        (1.9..3.0).contains(&ran),
        "timed out {ran} s after the original start (2 s expected; a restarted timeout would be 3.2 s)"
    );
    let events = history(&b, &arn).await;
    assert_coherent(&events);
    assert_eq!(
        events.last().unwrap().r#type,
        HistoryEventType::ExecutionTimedOut
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
}

/// The process died after the execution's last event was logged but before its record was
/// rewritten: the restart closes it as the log says it ended, and runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_whose_log_shows_its_end_is_closed_not_run() {
    let calls = Calls::default();
    let dir = temp_dir("resume-ended");
    let (a, _) = start(&dir, registry(&calls, false)).await;
    let sm = create(&a, "steps", STEPS).await;
    let arn = a
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"who": "bo", "n": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = wait_done(&a, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let events = history(&a, &arn).await;
    // Rebuild what the kill would leave: the record as started (RUNNING, with its definition),
    // the whole history in the event log.
    let crashed = temp_dir("resume-ended-crashed");
    copy_dir(&dir, &crashed);
    let record_path = crashed.join("executions/exec-000000000000.json");
    let mut record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record_path).unwrap()).unwrap();
    let logged: Vec<String> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(logged.len(), events.len());
    let r = record.as_object_mut().unwrap();
    for k in ["history", "output", "stop"] {
        r.remove(k);
    }
    r.insert("status".into(), json!("RUNNING"));
    r.insert("definition".into(), json!(STEPS));
    std::fs::write(&record_path, record.to_string()).unwrap();
    std::fs::write(
        crashed.join("executions/exec-000000000000.events.jsonl"),
        logged.join("\n") + "\n",
    )
    .unwrap();
    let calls_before = calls.of("t1");

    let (b, resumed) = start(&crashed, registry(&calls, false)).await;
    assert_eq!(resumed, 0);
    let d = b
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.output, done.output);
    assert_eq!(d.stop_date, done.stop_date);
    assert_eq!(history(&b, &arn).await, events);
    assert_eq!(calls.of("t1"), calls_before, "nothing ran again");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&crashed);
}

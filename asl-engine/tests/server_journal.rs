//! The endpoint's state directory (`ServerConfig::state_dir`) driven through `aws-sdk-sfn`: what a
//! killed endpoint leaves on disk is reloaded by a new one, which answers for closed executions
//! as before, resumes the RUNNING ones under their ARN and keeps StartExecution's name rules.
//!
//! A kill is simulated by copying the directory while an execution is RUNNING (the files are
//! written with a temp file and a rename, so a copy is what a SIGKILL at that moment leaves); a
//! restart on the same directory is a start on a copy too, since the directory stays locked while
//! the first endpoint of the test process is alive. Resuming at the interrupted state is tested in
//! `server_resume.rs`; the real `kill -9` of `workflow serve` in `workflow/tests/serve_restart.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use asl_engine::server::{MachineType, ServerConfig, StepFunctions};
use asl_engine::{TaskError, TaskRegistry};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};

mod support;
use support::{client, serve_service_on_loopback, wait_done};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

const DOUBLE: &str = r#"{"StartAt": "Double", "States": {
    "Double": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true}}}"#;

const WAIT_THEN_DOUBLE: &str = r#"{"StartAt": "Hold", "States": {
    "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Double"},
    "Double": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true}}}"#;

const LONG_WAIT: &str =
    r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": true}}}"#;

fn registry() -> TaskRegistry {
    let mut r = TaskRegistry::new();
    r.register_lambda("double", |input: Value| async move {
        match input.get("n").and_then(Value::as_i64) {
            Some(n) => Ok(json!({"n": n * 2})),
            None => Err(TaskError::new("MissingNumber", "input has no n")),
        }
    });
    r
}

fn temp_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("engine-{tag}-{}", uuid::Uuid::new_v4().simple()))
}

/// Opens the service on `dir`, serves it on a free port; (SDK client, resumed count, service).
async fn start(dir: &Path) -> (Client, usize, StepFunctions) {
    let config = ServerConfig {
        state_dir: Some(dir.to_path_buf()),
        ..ServerConfig::default()
    };
    let (service, resumed) = StepFunctions::open(registry(), config).unwrap();
    let endpoint = serve_service_on_loopback(service.clone()).await;
    (client(&endpoint), resumed, service)
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

async fn start_exec(c: &Client, sm: &str, name: &str, input: &str) -> (String, i64) {
    let out = c
        .start_execution()
        .state_machine_arn(sm)
        .name(name)
        .input(input)
        .send()
        .await
        .unwrap();
    (out.execution_arn, out.start_date.to_millis().unwrap())
}

async fn history(c: &Client, arn: &str) -> Vec<String> {
    c.get_execution_history()
        .execution_arn(arn)
        .send()
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| format!("{} {} {:?}", e.id, e.r#type.as_str(), e.timestamp))
        .collect()
}

async fn listed(c: &Client, sm: &str) -> Vec<(String, String)> {
    c.list_executions()
        .state_machine_arn(sm)
        .send()
        .await
        .unwrap()
        .executions
        .iter()
        .map(|e| (e.name.clone(), e.status.as_str().to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_answers_for_closed_executions_and_resumes_running_ones() {
    let dir = temp_dir("journal-a");
    let (a, resumed, _service_a) = start(&dir).await;
    assert_eq!(resumed, 0);
    let double = create(&a, "double", DOUBLE).await;
    let held = create(&a, "held", WAIT_THEN_DOUBLE).await;
    let long = create(&a, "long", LONG_WAIT).await;

    let (done, _) = start_exec(&a, &double, "done", r#"{"n": 21}"#).await;
    let before = wait_done(&a, &done).await;
    assert_eq!(before.status, ExecutionStatus::Succeeded);
    let done_history = history(&a, &done).await;
    assert!(done_history.len() >= 5, "{done_history:?}");

    let (stopped, _) = start_exec(&a, &long, "stopped", "{}").await;
    a.stop_execution()
        .execution_arn(&stopped)
        .error("Manual")
        .send()
        .await
        .unwrap();
    let (running, running_start) = start_exec(&a, &held, "running", r#"{"n": 5}"#).await;

    // What a kill now leaves behind: "running" is RUNNING on disk.
    let killed = temp_dir("journal-a-killed");
    copy_dir(&dir, &killed);
    let (b, resumed, _service_b) = start(&killed).await;
    assert_eq!(resumed, 1, "the RUNNING execution is resumed");

    // The machines came back under the same ARNs.
    let d = b
        .describe_state_machine()
        .state_machine_arn(&held)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition, WAIT_THEN_DOUBLE);

    // Closed executions answer as before the kill.
    let after = b
        .describe_execution()
        .execution_arn(&done)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status, ExecutionStatus::Succeeded);
    assert_eq!(after.output.as_deref(), Some(r#"{"n":42}"#));
    assert_eq!(after.output, before.output);
    assert_eq!(after.start_date, before.start_date);
    assert_eq!(after.stop_date, before.stop_date);
    assert_eq!(history(&b, &done).await, done_history);
    let s = b
        .describe_execution()
        .execution_arn(&stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(s.status, ExecutionStatus::Aborted);
    assert_eq!(s.error.as_deref(), Some("Manual"));
    assert_eq!(
        listed(&b, &double).await,
        [("done".to_owned(), "SUCCEEDED".to_owned())]
    );

    // The resumed execution keeps its ARN, name, input and start date, and AWS's name rules:
    // same name and input while RUNNING is the same execution, anything else already exists.
    let r = b
        .describe_execution()
        .execution_arn(&running)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Running);
    assert_eq!(r.name.as_deref(), Some("running"));
    assert_eq!(r.input.as_deref(), Some(r#"{"n": 5}"#));
    assert_eq!(r.start_date.to_millis().unwrap(), running_start);
    let (again, again_start) = start_exec(&b, &held, "running", r#"{"n": 5}"#).await;
    assert_eq!(
        (again.as_str(), again_start),
        (running.as_str(), running_start)
    );
    let other_input = b
        .start_execution()
        .state_machine_arn(&held)
        .name("running")
        .input(r#"{"n": 6}"#)
        .send()
        .await
        .unwrap_err();
    assert!(other_input
        .into_service_error()
        .is_execution_already_exists());
    let closed = b
        .start_execution()
        .state_machine_arn(&double)
        .name("done")
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .unwrap_err();
    assert!(closed.into_service_error().is_execution_already_exists());

    let finished = wait_done(&b, &running).await;
    assert_eq!(finished.status, ExecutionStatus::Succeeded);
    assert_eq!(finished.output.as_deref(), Some(r#"{"n":10}"#));
    assert_eq!(finished.start_date.to_millis().unwrap(), running_start);

    // A third start on that directory (a copy: `b` holds its lock) finds it SUCCEEDED and
    // resumes nothing.
    let third = temp_dir("journal-a-third");
    copy_dir(&killed, &third);
    let (c, resumed, _service_c) = start(&third).await;
    assert_eq!(resumed, 0);
    let d = c
        .describe_execution()
        .execution_arn(&running)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.output.as_deref(), Some(r#"{"n":10}"#));
    assert_eq!(history(&c, &running).await, history(&b, &running).await);
    // New executions after a restart do not collide with the journaled ones.
    let (next, _) = start_exec(&c, &double, "next", r#"{"n": 1}"#).await;
    assert_eq!(
        wait_done(&c, &next).await.status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        listed(&c, &double).await,
        [
            ("next".to_owned(), "SUCCEEDED".to_owned()),
            ("done".to_owned(), "SUCCEEDED".to_owned())
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
    let _ = std::fs::remove_dir_all(&third);
}

/// A redriven run interrupted by a kill resumes as that redrive: its context object still has
/// `Execution.RedriveCount` and `Execution.RedriveTime`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html>).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_redrive_is_still_that_redrive() {
    let dir = temp_dir("journal-redrive");
    let (a, _, _service_a) = start(&dir).await;
    let machine = create(
        &a,
        "held-redrive",
        r#"{"StartAt": "Hold", "States": {
            "Hold": {"Type": "Wait", "Seconds": 2, "Next": "Context"},
            "Context": {"Type": "Pass", "End": true, "Parameters": {
                "count.$": "$$.Execution.RedriveCount", "time.$": "$$.Execution.RedriveTime"}}}}"#,
    )
    .await;
    let (exec, _) = start_exec(&a, &machine, "redriven", "{}").await;
    a.stop_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let redrive_date = a
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap()
        .redrive_date;
    // What a kill leaves behind while the redriven run waits.
    let killed = temp_dir("journal-redrive-killed");
    copy_dir(&dir, &killed);
    let (b, resumed, _service_b) = start(&killed).await;
    assert_eq!(resumed, 1);
    let done = wait_done(&b, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.redrive_count(), Some(1));
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["count"], json!(1), "{output}");
    let time = chrono::DateTime::parse_from_rfc3339(output["time"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{output}: {e}"))
        .timestamp_millis();
    // The endpoint's dates are seconds with a fraction: read back, a millisecond may be lost.
    assert!(
        (time - redrive_date.to_millis().unwrap()).abs() <= 1,
        "{output}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
}

#[tokio::test]
async fn torn_and_foreign_files_are_ignored_and_put_replaces_a_definition() {
    let dir = temp_dir("journal-b");
    {
        let (a, _, service) = start(&dir).await;
        let arn = service
            .put_state_machine("m", DOUBLE, MachineType::Standard, None)
            .unwrap();
        let (e, _) = start_exec(&a, &arn, "e", r#"{"n": 2}"#).await;
        assert_eq!(wait_done(&a, &e).await.status, ExecutionStatus::Succeeded);
    }
    // The restart: on a copy (the first endpoint still holds the directory's lock).
    let first = dir;
    let dir = temp_dir("journal-b-restart");
    copy_dir(&first, &dir);
    let _ = std::fs::remove_dir_all(&first);
    let execs = dir.join("executions");
    std::fs::write(
        execs.join("exec-000000000099.json.tmp"),
        b"{\"seq\": 99, \"ar",
    )
    .unwrap();
    std::fs::write(execs.join("exec-000000000098.json"), b"not json").unwrap();
    std::fs::write(dir.join("machines.json.tmp"), b"{").unwrap();
    // A RUNNING execution whose definition no longer compiles: kept, closed as FAILED.
    let broken = json!({
        "seq": 97, "arn": "arn:aws:states:us-east-1:123456789012:execution:m:broken",
        "machineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "machineName": "m",
        "name": "broken", "input": "{}", "status": "RUNNING", "start": "2026-11-25T10:00:00Z",
        "roleArn": ROLE, "definition": r#"{"StartAt": "X", "States": {}}"#,
    });
    std::fs::write(execs.join("exec-000000000097.json"), broken.to_string()).unwrap();

    let (b, resumed, service) = start(&dir).await;
    assert_eq!(resumed, 0);
    let arn = service
        .put_state_machine("m", WAIT_THEN_DOUBLE, MachineType::Standard, None)
        .unwrap();
    assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:stateMachine:m");
    let d = b
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition, WAIT_THEN_DOUBLE);
    assert_eq!(
        listed(&b, &arn).await,
        [
            ("broken".to_owned(), "FAILED".to_owned()),
            ("e".to_owned(), "SUCCEEDED".to_owned())
        ]
    );
    let d = b
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:m:broken")
        .send()
        .await
        .unwrap();
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
    let again = b
        .start_execution()
        .state_machine_arn(&arn)
        .name("broken")
        .input("{}")
        .send()
        .await
        .unwrap_err();
    assert!(again.into_service_error().is_execution_already_exists());
    assert!(!execs.join("exec-000000000099.json.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn without_a_state_dir_nothing_is_written() {
    let dir = temp_dir("journal-none");
    let service = StepFunctions::new(
        registry(),
        ServerConfig {
            state_dir: Some(dir.clone()),
            ..ServerConfig::default()
        },
    );
    service
        .create_state_machine("m", DOUBLE, MachineType::Standard, None)
        .unwrap();
    assert!(
        !dir.exists(),
        "StepFunctions::new keeps everything in memory"
    );
}

/// Tags, versions and aliases are journaled with their machine: after a restart on the same
/// directory they are described as before, and the alias still routes to its version.
#[tokio::test]
async fn tags_versions_and_aliases_survive_a_restart() {
    use aws_sdk_sfn::types::{RoutingConfigurationListItem, Tag};
    let dir = temp_dir("versions");
    let one = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": true}}}"#;
    let (arn, v1, alias) = {
        let (c, _, _) = start(&dir).await;
        let created = c
            .create_state_machine()
            .name("kept")
            .definition(one)
            .role_arn(ROLE)
            .publish(true)
            .version_description("first")
            .tags(Tag::builder().key("team").value("shop").build())
            .send()
            .await
            .unwrap();
        let arn = created.state_machine_arn().to_string();
        let v1 = created.state_machine_version_arn().unwrap().to_string();
        let alias = c
            .create_state_machine_alias()
            .name("live")
            .routing_configuration(
                RoutingConfigurationListItem::builder()
                    .state_machine_version_arn(&v1)
                    .weight(100)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .state_machine_alias_arn;
        (arn, v1, alias)
    };
    let restarted = temp_dir("versions-restart");
    copy_dir(&dir, &restarted);
    let _ = std::fs::remove_dir_all(&dir);
    let dir = restarted;
    let (c, _, _) = start(&dir).await;
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), Some("team"));
    let version = c
        .describe_state_machine()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(version.description(), Some("first"));
    let described = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.routing_configuration()[0].state_machine_version_arn(),
        v1
    );
    let exec = c
        .start_execution()
        .state_machine_arn(&alias)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.state_machine_version_arn(), Some(v1.as_str()));
    // The next version number continues after the journaled ones.
    c.update_state_machine()
        .state_machine_arn(&arn)
        .definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#)
        .publish(true)
        .send()
        .await
        .unwrap();
    let versions = c
        .list_state_machine_versions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions.state_machine_versions()[0].state_machine_version_arn(),
        format!("{arn}:2")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Map Runs of a closed execution, and their children, as one endpoint answers for them.
async fn map_run_view(c: &Client, execution: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let runs = c
        .list_map_runs()
        .execution_arn(execution)
        .send()
        .await
        .unwrap()
        .map_runs;
    for r in runs {
        let d = c
            .describe_map_run()
            .map_run_arn(&r.map_run_arn)
            .send()
            .await
            .unwrap();
        seen.push(format!(
            "{} {} {:?} {:?} {:?}",
            d.map_run_arn,
            d.status.as_str(),
            d.stop_date.map(|t| t.to_millis().unwrap()),
            d.execution_counts,
            d.item_counts
        ));
        let mut children = c
            .list_executions()
            .map_run_arn(&r.map_run_arn)
            .send()
            .await
            .unwrap()
            .executions;
        children.sort_by(|a, b| a.execution_arn.cmp(&b.execution_arn));
        for child in children {
            let d = c
                .describe_execution()
                .execution_arn(&child.execution_arn)
                .send()
                .await
                .unwrap();
            seen.push(format!(
                "{} {} {:?} {:?} {:?}",
                d.execution_arn,
                d.status.as_str(),
                d.input,
                d.output,
                d.stop_date.map(|t| t.to_millis().unwrap())
            ));
            seen.extend(history(c, &child.execution_arn).await);
        }
    }
    seen
}

/// A distributed Map's Map Runs are journaled with their closed execution
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html>):
/// after a restart, ListMapRuns, DescribeMapRun, ListExecutions by `mapRunArn` and each child's
/// DescribeExecution and GetExecutionHistory answer as before; a Map Run that was running when
/// its execution was stopped is ABORTED, with its children.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_runs_and_their_children_survive_a_restart() {
    let map = |child: Value| {
        json!({"StartAt": "Each", "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Child",
                "States": {"Child": child}
            },
            "End": true
        }}})
        .to_string()
    };
    let dir = temp_dir("journal-map-runs");
    let (a, _, _service_a) = start(&dir).await;
    let doubles = create(
        &a,
        "doubles",
        &map(json!({"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true})),
    )
    .await;
    let held = create(
        &a,
        "held",
        &map(json!({"Type": "Wait", "Seconds": 300, "End": true})),
    )
    .await;
    let (done, _) = start_exec(
        &a,
        &doubles,
        "done",
        r#"{"items": [{"n": 1}, {"n": 2}, {"n": 3}]}"#,
    )
    .await;
    assert_eq!(
        wait_done(&a, &done).await.status,
        ExecutionStatus::Succeeded
    );
    let (stopped, _) = start_exec(&a, &held, "stopped", r#"{"items": [1, 2]}"#).await;
    for _ in 0..200 {
        let runs = a
            .list_map_runs()
            .execution_arn(&stopped)
            .send()
            .await
            .unwrap()
            .map_runs;
        if let Some(r) = runs.first() {
            let children = a
                .list_executions()
                .map_run_arn(&r.map_run_arn)
                .send()
                .await
                .unwrap()
                .executions;
            if children.len() == 2 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop_execution()
        .execution_arn(&stopped)
        .send()
        .await
        .unwrap();
    let before = map_run_view(&a, &done).await;
    let child_lines = before
        .iter()
        .filter(|l| l.contains(":execution:doubles/"))
        .count();
    assert_eq!(child_lines, 3, "{before:#?}");
    assert!(
        before.iter().any(|l| l.contains(" ExecutionSucceeded ")),
        "{before:#?}"
    );
    assert!(before[0].contains(" SUCCEEDED "), "{}", before[0]);

    // A restart on (a copy of) the directory.
    let copy = temp_dir("journal-map-runs-b");
    copy_dir(&dir, &copy);
    let (b, _, _service_b) = start(&copy).await;
    assert_eq!(map_run_view(&b, &done).await, before);
    let aborted = map_run_view(&b, &stopped).await;
    assert!(aborted[0].contains(" ABORTED "), "{aborted:#?}");
    let children: Vec<&String> = aborted
        .iter()
        .filter(|l| l.contains(":execution:held/"))
        .collect();
    assert_eq!(children.len(), 2, "{aborted:#?}");
    assert!(
        children.iter().all(|l| l.contains(" ABORTED ")),
        "{aborted:#?}"
    );
    assert!(
        aborted.last().unwrap().contains(" ExecutionAborted "),
        "{aborted:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&copy);
}

/// A Map Run is journaled when it ends: a kill after it, while its execution goes on, leaves it on
/// disk, and the restarted endpoint answers for it (and resumes the execution after its Map state).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_run_that_ended_before_a_kill_is_kept() {
    let def = json!({"StartAt": "Each", "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Double",
                "States": {"Double": {"Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                    "End": true}}
            },
            "Next": "Hold"
        },
        "Hold": {"Type": "Wait", "Seconds": 300, "End": true}
    }})
    .to_string();
    let dir = temp_dir("journal-map-run-kill");
    let (a, _, _service_a) = start(&dir).await;
    let sm = create(&a, "then-hold", &def).await;
    let (exec, _) = start_exec(&a, &sm, "held", r#"{"items": [{"n": 1}, {"n": 2}]}"#).await;
    let mut ended = false;
    for _ in 0..200 {
        let runs = a
            .list_map_runs()
            .execution_arn(&exec)
            .send()
            .await
            .unwrap()
            .map_runs;
        if let Some(r) = runs.first() {
            let d = a
                .describe_map_run()
                .map_run_arn(&r.map_run_arn)
                .send()
                .await
                .unwrap();
            if d.status.as_str() == "SUCCEEDED" {
                ended = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ended, "the Map Run did not end");
    let before = map_run_view(&a, &exec).await;
    // The kill: a copy of the directory while the execution waits.
    let killed = temp_dir("journal-map-run-kill-b");
    copy_dir(&dir, &killed);
    let (b, resumed, _service_b) = start(&killed).await;
    assert_eq!(resumed, 1);
    assert_eq!(map_run_view(&b, &exec).await, before);
    b.stop_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
}

/// A kill after RedriveExecution answered but before the redriven run recorded
/// `ExecutionRedriven` (the event log still ends with the stopped run's `ExecutionAborted`): the
/// restarted endpoint runs the redrive, once, rather than closing the execution as it had ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_killed_before_it_ran_runs_after_a_restart() {
    let dir = temp_dir("journal-redrive-early");
    let (a, _, _service_a) = start(&dir).await;
    let machine = create(
        &a,
        "early-redrive",
        r#"{"StartAt": "Hold", "States": {
            "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Context"},
            "Context": {"Type": "Pass", "End": true, "Parameters": {
                "count.$": "$$.Execution.RedriveCount"}}}}"#,
    )
    .await;
    let (exec, _) = start_exec(&a, &machine, "early", "{}").await;
    a.stop_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    a.redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let killed = temp_dir("journal-redrive-early-killed");
    copy_dir(&dir, &killed);
    // What the log held before the redriven run recorded its first event.
    let logs: Vec<PathBuf> = std::fs::read_dir(killed.join("executions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".events.jsonl"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let text = std::fs::read_to_string(&logs[0]).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| !l.contains("\"ExecutionRedriven\""))
        .collect();
    assert!(
        kept.last().unwrap().contains("\"ExecutionAborted\""),
        "{text}"
    );
    std::fs::write(&logs[0], kept.join("\n") + "\n").unwrap();
    let (b, resumed, _service_b) = start(&killed).await;
    assert_eq!(resumed, 1);
    let done = wait_done(&b, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.redrive_count(), Some(1));
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output["count"], json!(1), "{output}");
    let events = history(&b, &exec).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.contains(" ExecutionRedriven "))
            .count(),
        1,
        "{events:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
}

/// A kill while a Parallel state runs: after the restart the branch that had ended is not run
/// again (its result, read from the history, stays in its place); the branch in flight runs again
/// from its start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_parallel_state_runs_again_only_the_branches_that_had_not_ended() {
    let def = json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Double", "States": {"Double": {"Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                "Parameters": {"n": 21}, "End": true}}},
            {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 1, "End": true}}}
        ]}
    }})
    .to_string();
    let dir = temp_dir("journal-parallel-kill");
    let (a, _, _service_a) = start(&dir).await;
    let sm = create(&a, "fan", &def).await;
    let (exec, _) = start_exec(&a, &sm, "fan", "{}").await;
    let mut branch_done = false;
    for _ in 0..200 {
        if history(&a, &exec)
            .await
            .iter()
            .any(|e| e.contains(" TaskStateExited "))
        {
            branch_done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(branch_done, "the Task branch did not end");
    // The kill: a copy of the directory while the other branch waits.
    let killed = temp_dir("journal-parallel-kill-b");
    copy_dir(&dir, &killed);
    let (b, resumed, _service_b) = start(&killed).await;
    assert_eq!(resumed, 1);
    let done = wait_done(&b, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let output: Value = serde_json::from_str(done.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!([{"n": 42}, {}]));
    let events = history(&b, &exec).await;
    let count = |t: &str| {
        events
            .iter()
            .filter(|e| e.contains(&format!(" {t} ")))
            .count()
    };
    assert_eq!(count("LambdaFunctionScheduled"), 1, "{events:#?}");
    assert_eq!(count("WaitStateEntered"), 2, "{events:#?}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&killed);
}

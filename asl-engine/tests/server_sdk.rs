//! The local Step Functions endpoint driven by the unchanged `aws-sdk-sfn` client over HTTP.

use std::time::Duration;

use asl_engine::server::ServerConfig;
use asl_engine::{TaskError, TaskRegistry};
use aws_sdk_sfn::types::{
    ExecutionStatus, InspectionLevel, StateMachineType, SyncExecutionStatus, TestExecutionStatus,
    ValidateStateMachineDefinitionResultCode,
};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};

mod support;
use support::{client, client_in, serve_on_loopback, unique_name as name, wait_done};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

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

async fn start_server() -> String {
    start_server_with(registry()).await
}

/// An endpoint on a free loopback port dispatching to `registry`; its URL.
async fn start_server_with(registry: TaskRegistry) -> String {
    serve_on_loopback(registry, ServerConfig::default()).await
}

const DOUBLE: &str = r#"{"StartAt": "Double", "States": {
    "Double": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
               "Catch": [{"ErrorEquals": ["MissingNumber"], "Next": "Bad"}], "End": true},
    "Bad": {"Type": "Fail", "Error": "NoNumber", "Cause": "no n in the input"}}}"#;

const WAIT: &str =
    r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "End": true}}}"#;

async fn create(c: &Client, name: &str, def: &str, t: StateMachineType) -> String {
    c.create_state_machine()
        .name(name)
        .definition(def)
        .role_arn(ROLE)
        .r#type(t)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

#[tokio::test]
async fn state_machine_lifecycle() {
    let c = client(&start_server().await);
    let n = name("machine");
    let arn = create(&c, &n, DOUBLE, StateMachineType::Standard).await;
    assert_eq!(
        arn,
        format!("arn:aws:states:us-east-1:123456789012:stateMachine:{n}")
    );

    // Idempotent create; a different definition under the same name is refused.
    assert_eq!(
        create(&c, &n, DOUBLE, StateMachineType::Standard).await,
        arn
    );
    let err = c
        .create_state_machine()
        .name(&n)
        .definition(WAIT)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_state_machine_already_exists());

    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.name, n);
    assert_eq!(d.definition, DOUBLE);
    assert_eq!(d.role_arn, ROLE);
    assert_eq!(d.r#type, StateMachineType::Standard);

    let upd = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(WAIT)
        .send()
        .await
        .unwrap();
    assert!(upd.revision_id.is_some());
    let d = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition, WAIT);

    let other = create(&c, &name("other"), WAIT, StateMachineType::Express).await;
    let mut listed = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_state_machines()
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.state_machines.len() <= 1);
        listed.extend(page.state_machines.into_iter().map(|m| m.state_machine_arn));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert!(
        listed.contains(&arn) && listed.contains(&other),
        "{listed:?}"
    );

    c.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let err = c
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_state_machine_does_not_exist());
}

#[tokio::test]
async fn errors_have_aws_shapes() {
    let c = client(&start_server().await);
    let unknown = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
    let err = c
        .describe_state_machine()
        .state_machine_arn(unknown)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_does_not_exist(), "{err:?}");
    assert!(err.meta().message().unwrap().contains(unknown));

    let err = c
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:nope:x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");

    let err = c
        .describe_execution()
        .execution_arn("not-an-arn")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_arn(), "{err:?}");

    let err = c
        .create_state_machine()
        .name(name("bad"))
        .definition(r#"{"StartAt": "Missing", "States": {"A": {"Type": "Pass", "End": true}}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_definition(), "{err:?}");
    assert!(err.meta().message().unwrap().contains("Missing"), "{err:?}");

    let err = c
        .create_state_machine()
        .name("has space")
        .definition(WAIT)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_name(), "{err:?}");
}

#[tokio::test]
async fn executions_run_in_the_background() {
    let c = client(&start_server().await);
    let sm = create(&c, &name("double"), DOUBLE, StateMachineType::Standard).await;

    let ok = c
        .start_execution()
        .state_machine_arn(&sm)
        .name("ok")
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .unwrap();
    assert!(ok.execution_arn.ends_with(":ok"));
    let d = wait_done(&c, &ok.execution_arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(d.output.as_deref().unwrap()).unwrap(),
        json!({"n": 42})
    );
    assert_eq!(d.input.as_deref(), Some(r#"{"n": 21}"#));
    assert!(d.stop_date.is_some());

    let bad = c
        .start_execution()
        .state_machine_arn(&sm)
        .input("{}")
        .send()
        .await
        .unwrap();
    let d = wait_done(&c, &bad.execution_arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("NoNumber"));
    assert_eq!(d.cause.as_deref(), Some("no n in the input"));

    let failed = c
        .list_executions()
        .state_machine_arn(&sm)
        .status_filter(ExecutionStatus::Failed)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.executions.len(), 1);
    assert_eq!(failed.executions[0].execution_arn, bad.execution_arn);
    let all = c
        .list_executions()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    assert_eq!(all.executions.len(), 2);
    // Newest first.
    assert_eq!(all.executions[0].execution_arn, bad.execution_arn);

    let err = c
        .start_execution()
        .state_machine_arn(&sm)
        .input("not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_execution_input(), "{err:?}");
}

#[tokio::test]
async fn start_execution_is_idempotent_by_name_and_stop_aborts() {
    let c = client(&start_server().await);
    let sm = create(&c, &name("wait"), WAIT, StateMachineType::Standard).await;
    let start = || {
        c.start_execution()
            .state_machine_arn(&sm)
            .name("same")
            .input(r#"{"a": 1}"#)
    };
    let first = start().send().await.unwrap();
    let again = start().send().await.unwrap();
    assert_eq!(first.execution_arn, again.execution_arn);
    assert_eq!(first.start_date, again.start_date);

    let err = start()
        .input(r#"{"a": 2}"#)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_already_exists(), "{err:?}");

    let d = c
        .describe_execution()
        .execution_arn(&first.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Running);

    c.stop_execution()
        .execution_arn(&first.execution_arn)
        .error("Operator")
        .cause("stopped by the test")
        .send()
        .await
        .unwrap();
    let d = c
        .describe_execution()
        .execution_arn(&first.execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(d.error.as_deref(), Some("Operator"));

    // A closed execution's name cannot be reused, even with the same input.
    let err = start().send().await.unwrap_err().into_service_error();
    assert!(err.is_execution_already_exists(), "{err:?}");

    let h = c
        .get_execution_history()
        .execution_arn(&first.execution_arn)
        .send()
        .await
        .unwrap();
    let types: Vec<String> = h
        .events
        .iter()
        .map(|e| e.r#type.as_str().to_owned())
        .collect();
    // The events recorded before the stop are kept (the Wait state's entry, if the run got
    // there), the abort after them.
    assert_eq!(types.first().map(String::as_str), Some("ExecutionStarted"));
    assert_eq!(types.last().map(String::as_str), Some("ExecutionAborted"));
    assert!(
        types[1..types.len() - 1]
            .iter()
            .all(|t| t == "WaitStateEntered"),
        "{types:?}"
    );
}

#[tokio::test]
async fn history_pages_forward_and_backward() {
    let c = client(&start_server().await);
    let def = r#"{"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Pass", "Result": {"done": true}, "End": true}}}"#;
    let sm = create(&c, &name("passes"), def, StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&sm)
        .send()
        .await
        .unwrap();
    wait_done(&c, &exec.execution_arn).await;

    let all = c
        .get_execution_history()
        .execution_arn(&exec.execution_arn)
        .send()
        .await
        .unwrap()
        .events;
    // Started, 3 x (entered, exited), succeeded.
    assert_eq!(all.len(), 8);
    assert_eq!(all[0].r#type.as_str(), "ExecutionStarted");
    assert_eq!(all[7].r#type.as_str(), "ExecutionSucceeded");
    assert!(all.windows(2).all(|w| w[1].id == w[0].id + 1));
    let details = all[1].state_entered_event_details.as_ref().unwrap();
    assert_eq!(details.name, "A");
    let out = all[7].execution_succeeded_event_details.as_ref().unwrap();
    assert_eq!(out.output.as_deref(), Some(r#"{"done":true}"#));
    assert!(all[0].timestamp.secs() > 1_600_000_000);

    for reverse in [false, true] {
        let mut ids = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let page = c
                .get_execution_history()
                .execution_arn(&exec.execution_arn)
                .max_results(3)
                .reverse_order(reverse)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            pages += 1;
            assert!(page.events.len() <= 3);
            ids.extend(page.events.iter().map(|e| e.id));
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(pages, 3);
        let mut expected: Vec<i64> = (1..=8).collect();
        if reverse {
            expected.reverse();
        }
        assert_eq!(ids, expected);
    }

    let err = c
        .get_execution_history()
        .execution_arn(&exec.execution_arn)
        .next_token("garbage")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_token(), "{err:?}");
}

#[tokio::test]
async fn sync_execution_on_an_express_machine() {
    let c = client(&start_server().await);
    let express = create(&c, &name("express"), DOUBLE, StateMachineType::Express).await;
    let r = c
        .start_sync_execution()
        .state_machine_arn(&express)
        .input(r#"{"n": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, SyncExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(r.output.as_deref().unwrap()).unwrap(),
        json!({"n": 10})
    );
    assert!(r.execution_arn.contains(":express:"));

    let r = c
        .start_sync_execution()
        .state_machine_arn(&express)
        .input("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, SyncExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("NoNumber"));

    // The execution's context object names it by that Express ARN, without a RedriveCount.
    let context = r#"{"StartAt": "C", "States": {"C": {"Type": "Pass",
        "Parameters": {"execution.$": "$$.Execution"}, "End": true}}}"#;
    let express_ctx = create(&c, &name("express-ctx"), context, StateMachineType::Express).await;
    let r = c
        .start_sync_execution()
        .state_machine_arn(&express_ctx)
        .send()
        .await
        .unwrap();
    let out: Value = serde_json::from_str(r.output.as_deref().unwrap()).unwrap();
    assert_eq!(out["execution"]["Id"], json!(r.execution_arn));
    assert!(out["execution"].get("RedriveCount").is_none(), "{out}");

    let standard = create(&c, &name("standard"), DOUBLE, StateMachineType::Standard).await;
    let err = c
        .start_sync_execution()
        .state_machine_arn(&standard)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_type_not_supported(), "{err:?}");
}

/// StopExecution, GetExecutionHistory and RedriveExecution are "not supported by EXPRESS state
/// machines", nor is DescribeExecution unless a Map Run started the execution
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>,
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>):
/// an Express execution's ARN gets InvalidArn, and the execution runs on.
#[tokio::test]
async fn execution_operations_refuse_an_express_execution_as_aws_does() {
    let c = client(&start_server().await);
    let express = create(&c, &name("express-async"), WAIT, StateMachineType::Express).await;
    let arn = c
        .start_execution()
        .state_machine_arn(&express)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert!(arn.contains(":express:"), "{arn}");
    let expected = "Invalid Arn: 'Resource type not valid in this context: express'";
    let stop = c.stop_execution().execution_arn(&arn).send().await;
    let stop = stop.unwrap_err().into_service_error();
    assert!(stop.is_invalid_arn(), "{stop:?}");
    assert_eq!(stop.meta().message(), Some(expected));
    let history = c.get_execution_history().execution_arn(&arn).send().await;
    let history = history.unwrap_err().into_service_error();
    assert!(history.is_invalid_arn(), "{history:?}");
    assert_eq!(history.meta().message(), Some(expected));
    let redrive = c.redrive_execution().execution_arn(&arn).send().await;
    let redrive = redrive.unwrap_err().into_service_error();
    assert!(redrive.is_invalid_arn(), "{redrive:?}");
    let describe = c.describe_execution().execution_arn(&arn).send().await;
    let describe = describe.unwrap_err().into_service_error();
    assert!(describe.is_invalid_arn(), "{describe:?}");
    let machine = c
        .describe_state_machine_for_execution()
        .execution_arn(&arn)
        .send()
        .await;
    let machine = machine.unwrap_err().into_service_error();
    assert!(machine.is_invalid_arn(), "{machine:?}");
}

#[tokio::test]
async fn validate_definition_reports_diagnostics() {
    let c = client(&start_server().await);
    let ok = c
        .validate_state_machine_definition()
        .definition(DOUBLE)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.result, ValidateStateMachineDefinitionResultCode::Ok);
    assert!(ok.diagnostics.is_empty());

    let bad = c
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.result, ValidateStateMachineDefinitionResultCode::Fail);
    assert!(!bad.diagnostics.is_empty());
    let d = &bad.diagnostics[0];
    assert_eq!(d.code, "SCHEMA_VALIDATION_FAILED");
    assert!(
        d.location.as_deref().unwrap().starts_with("/States/A"),
        "{d:?}"
    );

    let json = c
        .validate_state_machine_definition()
        .definition("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.diagnostics[0].code, "INVALID_JSON_DESCRIPTION");
}

#[tokio::test]
async fn test_state_runs_one_state() {
    let c = client(&start_server().await);
    let pass = c
        .test_state()
        .definition(r#"{"Type": "Pass", "Parameters": {"x.$": "$.a"}, "ResultPath": "$.r", "Next": "After"}"#)
        .input(r#"{"a": 7}"#)
        .role_arn(ROLE)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(pass.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(pass.next_state.as_deref(), Some("After"));
    assert_eq!(
        serde_json::from_str::<Value>(pass.output.as_deref().unwrap()).unwrap(),
        json!({"a": 7, "r": {"x": 7}})
    );
    assert!(pass.inspection_data.is_some());

    let task = r#"{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}], "Next": "Done"}"#;
    let caught = c
        .test_state()
        .definition(task)
        .input("{}")
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(caught.status, Some(TestExecutionStatus::CaughtError));
    assert_eq!(caught.next_state.as_deref(), Some("Handle"));
    assert_eq!(caught.error.as_deref(), Some("MissingNumber"));

    let retried = r#"{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
        "Retry": [{"ErrorEquals": ["MissingNumber"]}], "End": true}"#;
    let r = c
        .test_state()
        .definition(retried)
        .input("{}")
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Retriable));

    let fail = c
        .test_state()
        .definition(r#"{"Type": "Fail", "Error": "E", "Cause": "C"}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(fail.status, Some(TestExecutionStatus::Failed));
    assert_eq!(fail.error.as_deref(), Some("E"));
    assert!(fail.next_state.is_none());
}

#[tokio::test]
async fn raw_protocol_errors() {
    let endpoint = start_server().await;
    let http = |target: &'static str, body: &'static str| {
        let endpoint = endpoint.clone();
        async move {
            let stream = tokio::net::TcpStream::connect(endpoint.trim_start_matches("http://"))
                .await
                .unwrap();
            raw_post(stream, target, body).await
        }
    };
    let (status, body) = http("AWSStepFunctions.NoSuchThing", "{}").await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"), "{body}");
    let (status, body) = http("AWSStepFunctions.ListStateMachines", "{oops").await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, body) = http("AWSStepFunctions.DescribeStateMachine", "{}").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("com.amazonaws.swf.service.v2.model#ValidationException"),
        "{body}"
    );
}

/// A minimal HTTP/1.1 POST (the test avoids adding an HTTP client dependency).
async fn raw_post(mut stream: tokio::net::TcpStream, target: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

/// ARNs follow the region (and its partition) the client signed for, as AWS's do.
#[tokio::test]
async fn arns_name_the_region_and_partition_of_the_request() {
    let endpoint = start_server().await;
    for (region, partition) in [
        ("us-west-2", "aws"),
        ("cn-northwest-1", "aws-cn"),
        ("us-isob-east-1", "aws-iso-b"),
    ] {
        let c = client_in(&endpoint, region);
        let arn = create(&c, &name("regional"), DOUBLE, StateMachineType::Standard).await;
        assert!(
            arn.starts_with(&format!(
                "arn:{partition}:states:{region}:123456789012:stateMachine:"
            )),
            "{arn}"
        );
        let exec = c
            .start_execution()
            .state_machine_arn(&arn)
            .input(r#"{"n": 2}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        assert!(
            exec.starts_with(&format!(
                "arn:{partition}:states:{region}:123456789012:execution:"
            )),
            "{exec}"
        );
        assert_eq!(
            wait_done(&c, &exec).await.status,
            ExecutionStatus::Succeeded
        );
    }
}

/// TagResource, UntagResource, ListTagsForResource and `tags` on create, with AWS's errors.
#[tokio::test]
async fn tags_are_kept_listed_and_removed() {
    use aws_sdk_sfn::types::Tag;
    let c = client(&start_server().await);
    let arn = c
        .create_state_machine()
        .name(name("tagged"))
        .definition(WAIT)
        .role_arn(ROLE)
        .tags(Tag::builder().key("team").value("shop").build())
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    c.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("stage").value("dev").build())
        .tags(Tag::builder().key("team").value("payments").build())
        .send()
        .await
        .unwrap();
    let listed = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = listed
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("stage".to_string(), "dev".to_string()),
            ("team".to_string(), "payments".to_string())
        ]
    );
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    let listed = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.tags().len(), 1);

    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
    let err = c
        .list_tags_for_resource()
        .resource_arn(missing)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");
    let mut too_many = c.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        too_many = too_many.tags(Tag::builder().key(format!("k{i}")).value("v").build());
    }
    let err = too_many.send().await.unwrap_err().into_service_error();
    assert!(err.is_too_many_tags(), "{err:?}");
    let listed = c
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.tags().len(),
        1,
        "a refused TagResource changes nothing"
    );
}

/// Encryption, logging and tracing configurations are kept and described; AWS's defaults
/// otherwise. DescribeStateMachineForExecution answers the definition the execution ran.
#[tokio::test]
async fn configurations_and_the_machine_of_an_execution_are_described() {
    use aws_sdk_sfn::types::{EncryptionConfiguration, EncryptionType};
    let c = client(&start_server().await);
    let plain = create(&c, &name("plain"), DOUBLE, StateMachineType::Standard).await;
    let d = c
        .describe_state_machine()
        .state_machine_arn(&plain)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.encryption_configuration().map(|e| e.r#type()),
        Some(&EncryptionType::AwsOwnedKey)
    );
    assert!(d.logging_configuration().is_some() && d.tracing_configuration().is_some());
    let kms = c
        .create_state_machine()
        .name(name("kms"))
        .definition(WAIT)
        .role_arn(ROLE)
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .r#type(EncryptionType::CustomerManagedKmsKey)
                .kms_key_id("alias/shop")
                .kms_data_key_reuse_period_seconds(300)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let d = c
        .describe_state_machine()
        .state_machine_arn(&kms)
        .send()
        .await
        .unwrap();
    let e = d.encryption_configuration().unwrap();
    assert_eq!(e.kms_key_id(), Some("alias/shop"));
    assert_eq!(e.kms_data_key_reuse_period_seconds(), Some(300));
    let err = c
        .create_state_machine()
        .name(name("kms-no-key"))
        .definition(WAIT)
        .role_arn(ROLE)
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .r#type(EncryptionType::CustomerManagedKmsKey)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    // The execution's machine is the definition it started with, not a later update.
    let exec = c
        .start_execution()
        .state_machine_arn(&plain)
        .input(r#"{"n": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    wait_done(&c, &exec).await;
    let first_revision = c
        .describe_state_machine()
        .state_machine_arn(&plain)
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    c.update_state_machine()
        .state_machine_arn(&plain)
        .definition(WAIT)
        .send()
        .await
        .unwrap();
    let ran = c
        .describe_state_machine_for_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(ran.state_machine_arn(), plain);
    assert_eq!(ran.definition(), DOUBLE);
    assert_eq!(ran.revision_id(), Some(first_revision.as_str()));
    assert_eq!(ran.role_arn(), ROLE);
    let err = c
        .describe_state_machine_for_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:nope:x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");
}

/// Request validation with AWS's codes and messages.
#[tokio::test]
async fn requests_are_validated_as_aws_validates_them() {
    let c = client(&start_server().await);
    let err = c
        .create_state_machine()
        .name("x".repeat(81))
        .definition(WAIT)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err
        .meta()
        .message()
        .unwrap()
        .contains("Member must have length less than or equal to 80"));
    let err = c
        .create_state_machine()
        .name(name("short-account"))
        .definition(WAIT)
        .role_arn("arn:aws:iam::1234:role/test")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_arn(), "{err:?}");
    let err = c
        .create_state_machine()
        .name(name("description-alone"))
        .definition(WAIT)
        .role_arn(ROLE)
        .version_description("v1")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");

    // A page token belongs to the request that issued it.
    let arn = create(&c, &name("paged"), DOUBLE, StateMachineType::Standard).await;
    for _ in 0..3 {
        let exec = c
            .start_execution()
            .state_machine_arn(&arn)
            .input(r#"{"n": 1}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        wait_done(&c, &exec).await;
    }
    let page = c
        .list_executions()
        .state_machine_arn(&arn)
        .status_filter(ExecutionStatus::Succeeded)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let token = page.next_token().expect("a next page").to_string();
    let next = c
        .list_executions()
        .state_machine_arn(&arn)
        .status_filter(ExecutionStatus::Succeeded)
        .max_results(1)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(next.executions().len(), 1);
    let err = c
        .list_executions()
        .state_machine_arn(&arn)
        .status_filter(ExecutionStatus::Failed)
        .next_token(&token)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_token(), "{err:?}");
}

const PASS_ONE: &str =
    r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": 1}, "End": true}}}"#;
const PASS_TWO: &str =
    r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": 2}, "End": true}}}"#;

/// Versions: publish on create and update and by PublishStateMachineVersion (idempotent per
/// revision, guarded by revisionId), list newest first, run a version, delete it.
#[tokio::test]
async fn versions_are_immutable_snapshots_that_executions_can_run() {
    let c = client(&start_server().await);
    let created = c
        .create_state_machine()
        .name(name("versioned"))
        .definition(PASS_ONE)
        .role_arn(ROLE)
        .publish(true)
        .version_description("first")
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_string();
    let v1 = created.state_machine_version_arn().unwrap().to_string();
    assert_eq!(v1, format!("{arn}:1"));
    // Publishing the same revision again answers the same version.
    let again = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_version_arn(), v1);
    let updated = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(PASS_TWO)
        .publish(true)
        .send()
        .await
        .unwrap();
    let v2 = updated.state_machine_version_arn().unwrap().to_string();
    assert_eq!(v2, format!("{arn}:2"));
    let err = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .revision_id("not-the-current-one")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    let listed = c
        .list_state_machine_versions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = listed
        .state_machine_versions()
        .iter()
        .map(|v| v.state_machine_version_arn())
        .collect();
    assert_eq!(arns, [v2.as_str(), v1.as_str()]);
    let d = c
        .describe_state_machine()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(d.definition(), PASS_ONE);
    assert_eq!(d.description(), Some("first"));

    // A version runs its own definition, whatever the latest revision is.
    let exec = c
        .start_execution()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.output(), Some(r#"{"v":1}"#));
    assert_eq!(done.state_machine_version_arn(), Some(v1.as_str()));
    let by_version = c
        .list_executions()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(by_version.executions().len(), 1);
    let by_v2 = c
        .list_executions()
        .state_machine_arn(&v2)
        .send()
        .await
        .unwrap();
    assert!(by_v2.executions().is_empty());

    c.delete_state_machine_version()
        .state_machine_version_arn(&v1)
        .send()
        .await
        .unwrap();
    let err = c
        .start_execution()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_state_machine_does_not_exist(), "{err:?}");
    // Numbers are never reused.
    c.update_state_machine()
        .state_machine_arn(&arn)
        .definition(PASS_ONE)
        .send()
        .await
        .unwrap();
    let v3 = c
        .publish_state_machine_version()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(v3.state_machine_version_arn(), format!("{arn}:3"));
}

/// Aliases route executions to versions by weight; a version an alias routes to cannot be
/// deleted; bad routing is refused as AWS refuses it.
#[tokio::test]
async fn aliases_route_executions_by_weight() {
    use aws_sdk_sfn::types::RoutingConfigurationListItem;
    let route = |version: &str, weight: i32| {
        RoutingConfigurationListItem::builder()
            .state_machine_version_arn(version)
            .weight(weight)
            .build()
            .unwrap()
    };
    let c = client(&start_server().await);
    let created = c
        .create_state_machine()
        .name(name("aliased"))
        .definition(PASS_ONE)
        .role_arn(ROLE)
        .publish(true)
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_string();
    let v1 = created.state_machine_version_arn().unwrap().to_string();
    let v2 = c
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(PASS_TWO)
        .publish(true)
        .send()
        .await
        .unwrap()
        .state_machine_version_arn
        .unwrap();
    let alias = c
        .create_state_machine_alias()
        .name("live")
        .description("production traffic")
        .routing_configuration(route(&v1, 100))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn;
    assert_eq!(alias, format!("{arn}:live"));
    let exec = c
        .start_execution()
        .state_machine_arn(&alias)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.output(), Some(r#"{"v":1}"#));
    assert_eq!(done.state_machine_alias_arn(), Some(alias.as_str()));
    assert_eq!(done.state_machine_version_arn(), Some(v1.as_str()));

    // A canary: 50/50 over 200 executions reaches both versions.
    c.update_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .routing_configuration(route(&v1, 50))
        .routing_configuration(route(&v2, 50))
        .send()
        .await
        .unwrap();
    let d = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    assert_eq!(d.routing_configuration().len(), 2);
    assert_eq!(d.description(), Some("production traffic"));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let exec = c
            .start_execution()
            .state_machine_arn(&alias)
            .send()
            .await
            .unwrap()
            .execution_arn;
        let d = wait_done(&c, &exec).await;
        seen.insert(d.state_machine_version_arn().unwrap().to_string());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "both versions get traffic");
    let through_alias = c
        .list_executions()
        .state_machine_arn(&alias)
        .send()
        .await
        .unwrap();
    assert!(through_alias.executions().len() >= 2);

    let err = c
        .delete_state_machine_version()
        .state_machine_version_arn(&v2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    for bad in [
        vec![route(&v1, 60), route(&v2, 60)],
        vec![route(&v1, 50), route(&v1, 50)],
        vec![route(&arn, 100)],
    ] {
        let err = c
            .create_state_machine_alias()
            .name("bad")
            .set_routing_configuration(Some(bad))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_validation_exception(), "{err:?}");
    }
    let listed = c
        .list_state_machine_aliases()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.state_machine_aliases().len(), 1);
    c.delete_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    let err = c
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");
    // With the alias gone, its versions can go.
    c.delete_state_machine_version()
        .state_machine_version_arn(&v2)
        .send()
        .await
        .unwrap();
}

/// Callbacks through the endpoint: a `.waitForTaskToken` task hands its token to a worker,
/// which answers with SendTaskHeartbeat and SendTaskSuccess or SendTaskFailure.
#[tokio::test]
async fn wait_for_task_token_tasks_are_answered_through_the_api() {
    use std::sync::{Arc, Mutex};
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut registry = registry();
    let keep = tokens.clone();
    registry.register_lambda("request-approval", move |payload: Value| {
        let keep = keep.clone();
        async move {
            keep.lock()
                .unwrap()
                .push(payload["token"].as_str().unwrap().to_string());
            Ok(json!({"queued": true}))
        }
    });
    let c = client(&start_server_with(registry).await);
    let approval = r#"{"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "request-approval", "Payload": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 30, "End": true}}}"#;
    let arn = create(&c, &name("approval"), approval, StateMachineType::Standard).await;
    let next_token = || async {
        for _ in 0..200 {
            if let Some(t) = tokens.lock().unwrap().pop() {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no task token was handed out");
    };

    let approved = c
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = next_token().await;
    c.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    let running = c
        .describe_execution()
        .execution_arn(&approved)
        .send()
        .await
        .unwrap();
    assert_eq!(
        running.status,
        ExecutionStatus::Running,
        "it waits for the answer"
    );
    let err = c
        .send_task_success()
        .task_token(&token)
        .output("not json")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_output(), "{err:?}");
    c.send_task_success()
        .task_token(&token)
        .output(r#"{"approved": true}"#)
        .send()
        .await
        .unwrap();
    let done = wait_done(&c, &approved).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"approved":true}"#));
    let history = c
        .get_execution_history()
        .execution_arn(&approved)
        .send()
        .await
        .unwrap();
    let types: Vec<String> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect();
    assert!(types.iter().any(|t| t == "TaskSubmitted"), "{types:?}");
    // The token is spent.
    let err = c
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_task_does_not_exist(), "{err:?}");

    let refused = c
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = next_token().await;
    c.send_task_failure()
        .task_token(&token)
        .error("Approval.Denied")
        .cause("over budget")
        .send()
        .await
        .unwrap();
    let done = wait_done(&c, &refused).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("Approval.Denied"));
    assert_eq!(done.cause(), Some("over budget"));

    let err = c
        .send_task_heartbeat()
        .task_token("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_token(), "{err:?}");
    let err = c
        .send_task_heartbeat()
        .task_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_task_does_not_exist(), "{err:?}");
}

/// Activities: a worker long-polls GetActivityTask, gets the task's input and token, and
/// answers; the history shows ActivityScheduled, ActivityStarted and the outcome.
#[tokio::test]
async fn activity_workers_take_tasks_and_answer_them() {
    use aws_sdk_sfn::types::Tag;
    let c = client(&start_server().await);
    let created = c
        .create_activity()
        .name(name("review"))
        .tags(Tag::builder().key("team").value("ops").build())
        .send()
        .await
        .unwrap();
    let activity = created.activity_arn().to_string();
    assert!(activity.contains(":activity:"), "{activity}");
    let again = c
        .create_activity()
        .name(activity.rsplit(':').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.activity_arn(),
        activity,
        "CreateActivity is idempotent by name"
    );
    let described = c
        .describe_activity()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), activity.rsplit(':').next().unwrap());
    let tags = c
        .list_tags_for_resource()
        .resource_arn(&activity)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].value(), Some("ops"));
    let listed = c.list_activities().send().await.unwrap();
    assert!(listed
        .activities()
        .iter()
        .any(|a| a.activity_arn() == activity));

    let definition = json!({"StartAt": "Review", "States": {"Review": {"Type": "Task",
        "Resource": activity, "TimeoutSeconds": 60, "HeartbeatSeconds": 30, "End": true}}})
    .to_string();
    let arn = create(
        &c,
        &name("reviewed"),
        &definition,
        StateMachineType::Standard,
    )
    .await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(r#"{"doc": 42}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let task = c
        .get_activity_task()
        .activity_arn(&activity)
        .worker_name("worker-1")
        .send()
        .await
        .unwrap();
    let token = task.task_token().expect("a task").to_string();
    assert_eq!(
        serde_json::from_str::<Value>(task.input().unwrap()).unwrap(),
        json!({"doc": 42})
    );
    c.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    c.send_task_success()
        .task_token(&token)
        .output(r#"{"verdict": "ok"}"#)
        .send()
        .await
        .unwrap();
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some(r#"{"verdict":"ok"}"#));
    let history = c
        .get_execution_history()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let types: Vec<String> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect();
    for expected in ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"] {
        assert!(types.iter().any(|t| t == expected), "{expected}: {types:?}");
    }
    let started = history
        .events()
        .iter()
        .find_map(|e| e.activity_started_event_details())
        .unwrap();
    assert_eq!(started.worker_name(), Some("worker-1"));

    // A failing worker fails the execution with its error and cause.
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let task = c
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    c.send_task_failure()
        .task_token(task.task_token().unwrap())
        .error("Review.Rejected")
        .cause("typos")
        .send()
        .await
        .unwrap();
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.error(), Some("Review.Rejected"));

    c.delete_activity()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap();
    let err = c
        .get_activity_task()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_activity_does_not_exist(), "{err:?}");
    let err = c
        .describe_activity()
        .activity_arn(&activity)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_activity_does_not_exist(), "{err:?}");
}

/// How the first call of [`register_unlucky_once`]'s Lambda ends.
enum FirstCall {
    /// With the error `Flaky.Down`.
    Fails,
    /// Never.
    Hangs,
}

/// Registers Lambda `name`, which answers `{"seen": <its input>}` but for its first call (ended
/// as `first` says); returns the number of calls so far.
fn register_unlucky_once(
    registry: &mut TaskRegistry,
    name: &str,
    first: FirstCall,
) -> std::sync::Arc<std::sync::atomic::AtomicU32> {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let hangs = matches!(first, FirstCall::Hangs);
    registry.register_lambda(name, move |input: Value| {
        let counter = counter.clone();
        async move {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                if hangs {
                    std::future::pending::<()>().await;
                }
                return Err(TaskError::new("Flaky.Down", "first call fails"));
            }
            Ok(json!({"seen": input}))
        }
    });
    calls
}

/// RedriveExecution: a failed execution runs again from the state that failed, with the input it
/// entered that state with and the variables assigned before; the states before are not re-run.
#[tokio::test]
async fn redrive_resumes_a_failed_execution_at_the_failed_state() {
    use std::sync::atomic::Ordering;
    let mut registry = registry();
    let calls = register_unlucky_once(&mut registry, "flaky", FirstCall::Fails);
    let c = client(&start_server_with(registry).await);
    let definition = r#"{"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Assign": {"greeting": "hi"}, "Parameters": {"n.$": "$.n"}, "Next": "Call"},
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                 "Parameters": {"n.$": "$.n", "g.$": "$greeting"}, "End": true}}}"#;
    let arn = create(
        &c,
        &name("redriven"),
        definition,
        StateMachineType::Standard,
    )
    .await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(r#"{"n": 5}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let failed = wait_done(&c, &exec).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(
        failed.redrive_status().map(|s| s.as_str()),
        Some("REDRIVABLE")
    );

    let redriven = c
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert!(redriven.redrive_date.secs() > 0);
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        serde_json::from_str::<Value>(done.output().unwrap()).unwrap(),
        json!({"seen": {"n": 5, "g": "hi"}})
    );
    assert_eq!(done.redrive_count(), Some(1));
    assert!(done.redrive_date().is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let history = c
        .get_execution_history()
        .execution_arn(&exec)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let types: Vec<String> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect();
    let redriven_at = types
        .iter()
        .position(|t| t == "ExecutionRedriven")
        .expect("ExecutionRedriven");
    assert_eq!(
        types.iter().filter(|t| *t == "PassStateEntered").count(),
        1,
        "Prepare is not re-run: {types:?}"
    );
    assert!(types[..redriven_at].contains(&"ExecutionFailed".to_string()));
    assert_eq!(types.last().map(String::as_str), Some("ExecutionSucceeded"));
    let ids: Vec<i64> = history.events().iter().map(|e| e.id()).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids continue: {ids:?}"
    );

    // A succeeded execution is not redrivable.
    let err = c
        .redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_not_redrivable(), "{err:?}");
    let err = c
        .redrive_execution()
        .execution_arn("arn:aws:states:us-east-1:123456789012:execution:nope:x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");
}

/// A stopped (ABORTED) execution is redrivable, as AWS's are: it runs again from the state it was
/// stopped in, with the input that state was entered with; the states before are not re-run
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>:
/// "These include failed, aborted, or timed out executions").
#[tokio::test]
async fn redrive_resumes_an_aborted_execution_at_the_state_it_was_stopped_in() {
    use std::sync::atomic::Ordering;
    let mut registry = registry();
    // The first call does not return: the execution is stopped while it waits.
    let calls = register_unlucky_once(&mut registry, "stuck_once", FirstCall::Hangs);
    let c = client(&start_server_with(registry).await);
    let definition = r#"{"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Assign": {"greeting": "hi"}, "Parameters": {"n.$": "$.n"}, "Next": "Call"},
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:stuck_once",
                 "Parameters": {"n.$": "$.n", "g.$": "$greeting",
                                "redriveCount.$": "$$.Execution.RedriveCount",
                                "startTime.$": "$$.Execution.StartTime"},
                 "ResultSelector": {"seen.$": "$.seen", "redriveTime.$": "$$.Execution.RedriveTime"},
                 "End": true}}}"#;
    let arn = create(&c, &name("stopped"), definition, StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(r#"{"n": 7}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    // Stopped once the task is running.
    for _ in 0..200 {
        if history_types(&c, &exec)
            .await
            .iter()
            .any(|t| t == "LambdaFunctionStarted")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    c.stop_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let stopped = c
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(
        stopped.redrive_status().map(|s| s.as_str()),
        Some("REDRIVABLE"),
        "{stopped:?}"
    );
    assert_eq!(stopped.redrive_status_reason(), None);

    c.redrive_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let done = wait_done(&c, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    // The context object of the redriven run: RedriveCount 1, RedriveTime the redrive's date
    // (present only once redriven), StartTime still the execution's
    // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let seen = &output["seen"];
    assert_eq!(
        (&seen["n"], &seen["g"], &seen["redriveCount"]),
        (&json!(7), &json!("hi"), &json!(1)),
        "{output}"
    );
    let time = |field: &Value| {
        chrono::DateTime::parse_from_rfc3339(field.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{field}: {e}"))
            .timestamp_millis()
    };
    // The dates the endpoint answers are seconds with a fraction: read back as a float, they
    // may come out a millisecond short.
    let millis = |d: &aws_smithy_types::DateTime| d.to_millis().unwrap();
    let same = |a: i64, b: i64| (a - b).abs() <= 1;
    assert!(
        same(time(&seen["startTime"]), millis(&stopped.start_date)),
        "{output}"
    );
    let redrive_date = millis(done.redrive_date().unwrap());
    assert!(same(time(&output["redriveTime"]), redrive_date), "{output}");
    assert!(redrive_date >= millis(&stopped.start_date));
    assert_eq!(done.redrive_count(), Some(1));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let types = history_types(&c, &exec).await;
    let aborted_at = types.iter().position(|t| t == "ExecutionAborted");
    let redriven_at = types.iter().position(|t| t == "ExecutionRedriven");
    assert!(
        matches!((aborted_at, redriven_at), (Some(a), Some(r)) if r == a + 1),
        "the redrive follows the abort: {types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| *t == "PassStateEntered").count(),
        1,
        "Prepare is not re-run: {types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| *t == "TaskStateEntered").count(),
        2,
        "Call runs again: {types:?}"
    );
    assert_eq!(types.last().map(String::as_str), Some("ExecutionSucceeded"));
}

/// A running execution says why it cannot be redriven, in AWS's words
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>,
/// `redriveStatusReason`), and RedriveExecution refuses it.
#[tokio::test]
async fn a_running_execution_says_why_it_cannot_be_redriven() {
    let c = client(&start_server().await);
    let arn = create(&c, &name("running"), WAIT, StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_not_redrivable(&c, &exec, "Execution is RUNNING and cannot be redriven").await;
    c.stop_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
}

/// An execution that failed at the history limit has no room for a redrive's events: not
/// redrivable, with AWS's reason (`redriveStatusReason` of
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>).
#[tokio::test]
async fn an_execution_failed_at_the_history_limit_is_not_redrivable() {
    let c = client(&start_server().await);
    let runaway = r#"{"StartAt": "Spin", "States": {
        "Spin": {"Type": "Pass", "Result": {"spin": true}, "Next": "Loop"},
        "Loop": {"Type": "Choice",
                 "Choices": [{"Variable": "$.spin", "BooleanEquals": false, "Next": "End"}],
                 "Default": "Spin"},
        "End": {"Type": "Succeed"}}}"#;
    let arn = create(&c, &name("runaway"), runaway, StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let failed = wait_done(&c, &exec).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    assert_eq!(failed.error(), Some("States.Runtime"));
    assert_not_redrivable(&c, &exec, "Execution history event limit exceeded").await;
}

/// DescribeExecution says `exec` is NOT_REDRIVABLE for `reason`, and RedriveExecution refuses it.
async fn assert_not_redrivable(c: &Client, exec: &str, reason: &str) {
    let d = c
        .describe_execution()
        .execution_arn(exec)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.redrive_status().map(|s| s.as_str()),
        Some("NOT_REDRIVABLE")
    );
    assert_eq!(d.redrive_status_reason(), Some(reason));
    let err = c
        .redrive_execution()
        .execution_arn(exec)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_not_redrivable(), "{err:?}");
}

/// The event types of an execution's history so far, in order.
async fn history_types(c: &Client, exec: &str) -> Vec<String> {
    c.get_execution_history()
        .execution_arn(exec)
        .max_results(1000)
        .send()
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.r#type.as_str().to_string())
        .collect()
}

/// Polls the history of a RUNNING execution until its last event is `last` (bounded; no timing is
/// asserted).
async fn history_until(c: &Client, exec: &str, last: &str) -> Vec<String> {
    for _ in 0..500 {
        let types = history_types(c, exec).await;
        if types.last().map(String::as_str) == Some(last) {
            return types;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the history of {exec} never ended with {last}");
}

/// GetExecutionHistory of a RUNNING execution shows its events as they happen, paged
/// (`maxResults`, `nextToken`), reversed and without data like a closed one's
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html>).
#[tokio::test]
async fn get_execution_history_of_a_running_execution_shows_its_events_so_far() {
    let c = client(&start_server().await);
    let activity = c
        .create_activity()
        .name(name("live"))
        .send()
        .await
        .unwrap()
        .activity_arn;
    let definition = json!({"StartAt": "Prep", "States": {
        "Prep": {"Type": "Pass", "Result": {"doc": 7}, "Next": "Review"},
        "Review": {"Type": "Task", "Resource": activity, "End": true}}})
    .to_string();
    let arn = create(&c, &name("live"), &definition, StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(r#"{"in": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let task = c
        .get_activity_task()
        .activity_arn(&activity)
        .worker_name("w")
        .send()
        .await
        .unwrap();
    let token = task.task_token.expect("the activity task was handed out");
    let so_far = history_until(&c, &exec, "ActivityStarted").await;
    assert_eq!(
        so_far,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted"
        ]
    );
    let d = c
        .describe_execution()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Running);

    // Pages of 4 while running: ids 1-4, then 5-6 and no token.
    let first = c
        .get_execution_history()
        .execution_arn(&exec)
        .max_results(4)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let second = c
        .get_execution_history()
        .execution_arn(&exec)
        .max_results(4)
        .set_next_token(first.next_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        second.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        [5, 6]
    );
    assert!(second.next_token.is_none());
    // Newest first.
    let newest = c
        .get_execution_history()
        .execution_arn(&exec)
        .reverse_order(true)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        newest
            .events
            .iter()
            .map(|e| e.r#type.as_str())
            .collect::<Vec<_>>(),
        ["ActivityStarted", "ActivityScheduled"]
    );
    // With and without execution data.
    let with_data = c
        .get_execution_history()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let exited = with_data.events[2].state_exited_event_details.as_ref();
    assert_eq!(
        exited.and_then(|d| d.output.as_deref()),
        Some(r#"{"doc":7}"#)
    );
    let without = c
        .get_execution_history()
        .execution_arn(&exec)
        .include_execution_data(false)
        .send()
        .await
        .unwrap();
    let exited = without.events[2].state_exited_event_details.as_ref();
    assert_eq!(exited.map(|d| d.name.as_str()), Some("Prep"));
    assert_eq!(exited.and_then(|d| d.output.as_deref()), None);

    c.send_task_success()
        .task_token(token)
        .output(r#"{"ok": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wait_done(&c, &exec).await.status,
        ExecutionStatus::Succeeded
    );
    let all = history_types(&c, &exec).await;
    assert_eq!(&all[..6], &so_far[..], "the live events stay as they were");
    assert_eq!(
        &all[6..],
        ["ActivitySucceeded", "TaskStateExited", "ExecutionSucceeded"]
    );
}

/// StopExecution keeps the events recorded before the stop; ExecutionAborted follows them
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>).
#[tokio::test]
async fn a_stopped_execution_keeps_the_events_before_the_stop() {
    let c = client(&start_server().await);
    let def = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 300, "End": true}}}"#;
    let arn = create(&c, &name("stop-live"), def, StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap()
        .execution_arn;
    history_until(&c, &exec, "WaitStateEntered").await;
    c.stop_execution()
        .execution_arn(&exec)
        .error("Halted")
        .send()
        .await
        .unwrap();
    assert_eq!(
        history_types(&c, &exec).await,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "ExecutionAborted"
        ]
    );
}

/// StartExecution refuses an input over 262,144 bytes (the `input` member's length constraint)
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>).
#[tokio::test]
async fn start_execution_refuses_an_input_over_the_payload_quota() {
    let c = client(&start_server().await);
    let arn = create(&c, &name("big-in"), WAIT, StateMachineType::Standard).await;
    let fits = json!({"s": "x".repeat(262_144 - 8)}).to_string();
    assert_eq!(fits.len(), 262_144);
    let started = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(&fits)
        .send()
        .await;
    assert!(started.is_ok(), "{started:?}");
    let too_big = json!({"s": "x".repeat(262_144 - 7)}).to_string();
    let err = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(too_big)
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().map(|r| r.status().as_u16());
    let err = err.into_service_error();
    assert_eq!(raw, Some(400));
    assert_eq!(
        aws_sdk_sfn::error::ProvideErrorMetadata::code(&err),
        Some("ValidationException")
    );
}

/// An Express workflow runs at most 5 minutes, then fails with States.Timeout; a Standard one with
/// the same definition waits on (virtual time here, so no test waits)
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>).
#[tokio::test]
async fn an_express_execution_times_out_after_five_minutes() {
    let config = ServerConfig {
        virtual_time: true,
        ..ServerConfig::default()
    };
    let c = client(&serve_on_loopback(registry(), config).await);
    let wait = |secs: u64| {
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": secs, "End": true}}})
            .to_string()
    };
    let long = create(&c, &name("slow"), &wait(301), StateMachineType::Express).await;
    let r = c
        .start_sync_execution()
        .state_machine_arn(&long)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, SyncExecutionStatus::TimedOut);
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    let short = create(&c, &name("quick"), &wait(299), StateMachineType::Express).await;
    let r = c
        .start_sync_execution()
        .state_machine_arn(&short)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, SyncExecutionStatus::Succeeded);
    let standard = create(&c, &name("patient"), &wait(301), StateMachineType::Standard).await;
    let exec = c
        .start_execution()
        .state_machine_arn(&standard)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(
        wait_done(&c, &exec).await.status,
        ExecutionStatus::Succeeded
    );
}

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html and
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_MapRunExecutionCounts.html
// ("aborted": children "stopped by the user or by Step Functions because the Map Run failed"):
// a Map Run's child execution is stopped on its own, in the middle of a Wait; it ends ABORTED with
// the stop's error and cause, its history ends with ExecutionAborted, the Map Run counts it as
// aborted while its siblings keep running, and stopping it again changes nothing.
#[tokio::test]
async fn a_map_run_child_is_stopped_on_its_own() {
    let c = client(&start_server().await);
    let def = json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Hold",
            "States": {"Hold": {"Type": "Wait", "Seconds": 30, "End": true}}
        },
        "ToleratedFailureCount": 3,
        "End": true
    }}});
    let sm = create(
        &c,
        &name("stop-child"),
        &def.to_string(),
        StateMachineType::Standard,
    )
    .await;
    let parent = c
        .start_execution()
        .state_machine_arn(&sm)
        .input(r#"{"items": [1, 2, 3]}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    // The Map Run and its three children, all waiting.
    let mut children = Vec::new();
    let mut map_run = String::new();
    for _ in 0..200 {
        let runs = c
            .list_map_runs()
            .execution_arn(&parent)
            .send()
            .await
            .unwrap()
            .map_runs;
        if let Some(r) = runs.first() {
            map_run = r.map_run_arn.clone();
            children = c
                .list_executions()
                .map_run_arn(&map_run)
                .send()
                .await
                .unwrap()
                .executions;
            if children.len() == 3 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(children.len(), 3, "the Map Run's children did not start");
    let child = children[0].execution_arn.clone();
    let stopped = c
        .stop_execution()
        .execution_arn(&child)
        .error("Halted")
        .cause("stopped by the test")
        .send()
        .await
        .unwrap()
        .stop_date;
    let d = c
        .describe_execution()
        .execution_arn(&child)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(d.error.as_deref(), Some("Halted"));
    assert_eq!(d.cause.as_deref(), Some("stopped by the test"));
    assert_eq!(d.stop_date, Some(stopped));
    let history = c
        .get_execution_history()
        .execution_arn(&child)
        .reverse_order(true)
        .max_results(1)
        .send()
        .await
        .unwrap()
        .events;
    let last = &history[0];
    assert_eq!(
        last.r#type,
        aws_sdk_sfn::types::HistoryEventType::ExecutionAborted
    );
    let details = last.execution_aborted_event_details.as_ref().unwrap();
    assert_eq!(details.error.as_deref(), Some("Halted"));
    assert_eq!(details.cause.as_deref(), Some("stopped by the test"));
    // The siblings still wait; the Map Run counts one aborted child.
    let counts = c
        .describe_map_run()
        .map_run_arn(&map_run)
        .send()
        .await
        .unwrap()
        .execution_counts
        .unwrap();
    assert_eq!((counts.aborted, counts.running), (1, 2));
    for sibling in &children[1..] {
        let d = c
            .describe_execution()
            .execution_arn(&sibling.execution_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(d.status, ExecutionStatus::Running);
    }
    // Stopping it again answers the same stop date.
    let again = c
        .stop_execution()
        .execution_arn(&child)
        .send()
        .await
        .unwrap()
        .stop_date;
    assert_eq!(again, stopped);
    // An unknown child is not found.
    let unknown = format!("{}x", child);
    let err = c
        .stop_execution()
        .execution_arn(unknown)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_execution_does_not_exist(), "{err:?}");
    // Stopping the parent aborts the children still running (as its run is dropped, just after
    // StopExecution answers); their histories end with the abort.
    c.stop_execution()
        .execution_arn(&parent)
        .send()
        .await
        .unwrap();
    for sibling in &children[1..] {
        let arn = &sibling.execution_arn;
        assert_eq!(wait_done(&c, arn).await.status, ExecutionStatus::Aborted);
        let last = c
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(1)
            .send()
            .await
            .unwrap()
            .events;
        assert_eq!(
            last[0].r#type,
            aws_sdk_sfn::types::HistoryEventType::ExecutionAborted
        );
    }
}

/// Registers Lambda `name`, which answers `{"done": <its input>}`, but fails (`Flaky.Down`) the
/// first call with an input that has `"fail_once": true`; returns every input it was called with.
fn register_worker(
    registry: &mut TaskRegistry,
    name: &str,
) -> std::sync::Arc<std::sync::Mutex<Vec<Value>>> {
    use std::sync::{Arc, Mutex};
    let calls: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = calls.clone();
    registry.register_lambda(name, move |input: Value| {
        let seen = seen.clone();
        async move {
            let first = {
                let mut seen = seen.lock().unwrap();
                let first = !seen.contains(&input);
                seen.push(input.clone());
                first
            };
            if first && input["fail_once"] == json!(true) {
                return Err(TaskError::new("Flaky.Down", "first call fails"));
            }
            Ok(json!({"done": input}))
        }
    });
    calls
}

/// Redrives `exec` (FAILED) and waits for it to succeed; answers its output and the types of the
/// events the redriven run recorded (after `ExecutionRedriven`).
async fn redrive_to_success(c: &Client, exec: &str) -> (Value, Vec<String>) {
    c.redrive_execution()
        .execution_arn(exec)
        .send()
        .await
        .unwrap();
    let done = wait_done(c, exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let history = c
        .get_execution_history()
        .execution_arn(exec)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let types: Vec<String> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect();
    let at = types
        .iter()
        .position(|t| t == "ExecutionRedriven")
        .expect("ExecutionRedriven");
    (
        serde_json::from_str(done.output().unwrap()).unwrap(),
        types[at..].to_vec(),
    )
}

/// RedriveExecution of an execution that failed in a Parallel state runs again only the branches
/// that did not succeed; the others' results stay in their places
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html>:
/// "For workflows that include an Inline Map or Parallel state, RedriveExecution API action
/// reschedules and redrives only the iterations and branches that failed or aborted").
#[tokio::test]
async fn redrive_runs_again_only_the_parallel_branches_that_did_not_succeed() {
    let mut registry = registry();
    let calls = register_worker(&mut registry, "worker");
    let c = client(&start_server_with(registry).await);
    let worker = "arn:aws:lambda:us-east-1:123456789012:function:worker";
    let definition = json!({"StartAt": "Fan", "States": {
        "Fan": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": worker,
                "Parameters": {"branch": "a"}, "End": true}}},
            // Fails once, after the other two branches are done.
            {"StartAt": "Later", "States": {
                "Later": {"Type": "Wait", "Seconds": 1, "Next": "B"},
                "B": {"Type": "Task", "Resource": worker,
                    "Parameters": {"branch": "b", "fail_once": true}, "End": true}}},
            {"StartAt": "C0", "States": {
                "C0": {"Type": "Pass", "Result": {"branch": "c"}, "Next": "C1"},
                "C1": {"Type": "Task", "Resource": worker, "End": true}}}
        ]}
    }});
    let arn = create(
        &c,
        &name("redrive-parallel"),
        &definition.to_string(),
        StateMachineType::Standard,
    )
    .await;
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input("{}")
        .send()
        .await
        .unwrap()
        .execution_arn;
    let failed = wait_done(&c, &exec).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    assert_eq!(calls.lock().unwrap().len(), 3);

    let (output, redriven) = redrive_to_success(&c, &exec).await;
    assert_eq!(
        output,
        json!([
            {"done": {"branch": "a"}},
            {"done": {"branch": "b", "fail_once": true}},
            {"done": {"branch": "c"}}
        ])
    );
    // Branches A and C did not run again: one more call, B's.
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(calls[3], json!({"branch": "b", "fail_once": true}));
    let entered = |t: &str| redriven.iter().filter(|x| *x == t).count();
    assert_eq!(entered("ParallelStateEntered"), 1, "{redriven:?}");
    assert_eq!(entered("TaskStateEntered"), 1, "{redriven:?}");
    assert_eq!(entered("PassStateEntered"), 0, "{redriven:?}");
    assert_eq!(entered("WaitStateEntered"), 1, "{redriven:?}");
}

/// RedriveExecution of an execution that failed in an inline Map state runs again only the
/// iterations that did not succeed (the one that failed and the ones that never started); the
/// others' results stay at their indexes.
#[tokio::test]
async fn redrive_runs_again_only_the_map_iterations_that_did_not_succeed() {
    let mut registry = registry();
    let calls = register_worker(&mut registry, "worker");
    let c = client(&start_server_with(registry).await);
    let definition = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
            "ItemProcessor": {"StartAt": "Work", "States": {
                "Work": {"Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:worker",
                    "End": true}}}}
    }});
    let arn = create(
        &c,
        &name("redrive-map"),
        &definition.to_string(),
        StateMachineType::Standard,
    )
    .await;
    let items = json!([{"i": 0}, {"i": 1}, {"i": 2, "fail_once": true}, {"i": 3}]);
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(items.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    let failed = wait_done(&c, &exec).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    // One at a time: items 0 and 1 succeeded, 2 failed, 3 never started.
    assert_eq!(calls.lock().unwrap().len(), 3);

    let (output, redriven) = redrive_to_success(&c, &exec).await;
    let expected: Vec<Value> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"done": i}))
        .collect();
    assert_eq!(output, Value::Array(expected));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(&calls[3..], &items.as_array().unwrap()[2..], "{calls:?}");
    let started: Vec<&String> = redriven
        .iter()
        .filter(|t| *t == "MapIterationStarted")
        .collect();
    assert_eq!(started.len(), 2, "{redriven:?}");
}

/// The parent's redrive redrives the Map Run its distributed Map state failed in, as AWS does
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-map-run.html>): the same Map
/// Run (`MapRunRedriven` in the parent's history, its `redriveCount` 1), the children that
/// succeeded are not run again, the one that failed runs again (a STANDARD child is redriven:
/// same ARN, its history continued from the state that failed; an EXPRESS child starts again from
/// its first state under the same ARN), and the one that never started starts.
async fn a_parents_redrive_redrives_its_map_run(execution_type: &str) {
    let mut registry = registry();
    let calls = register_worker(&mut registry, "worker");
    let c = client(&start_server_with(registry).await);
    let definition = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                "StartAt": "Prep", "States": {
                    "Prep": {"Type": "Pass", "Next": "Work"},
                    "Work": {"Type": "Task",
                        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:worker",
                        "End": true}}}}
    }});
    let arn = create(
        &c,
        &name("redrive-map-run"),
        &definition.to_string(),
        StateMachineType::Standard,
    )
    .await;
    let items = json!([{"i": 0}, {"i": 1, "fail_once": true}, {"i": 2}]);
    let exec = c
        .start_execution()
        .state_machine_arn(&arn)
        .input(items.to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    let failed = wait_done(&c, &exec).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    // One child at a time: 0 succeeded, 1 failed (the Map Run fails), 2 never started.
    assert_eq!(calls.lock().unwrap().len(), 2);
    let runs = c
        .list_map_runs()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap()
        .map_runs;
    assert_eq!(runs.len(), 1);
    let map_run = runs[0].map_run_arn.clone();
    let children = |c: Client, map_run: String| async move {
        c.list_executions()
            .map_run_arn(map_run)
            .send()
            .await
            .unwrap()
            .executions
    };
    let failed_child = children(c.clone(), map_run.clone())
        .await
        .into_iter()
        .find(|e| e.status == ExecutionStatus::Failed)
        .expect("the failed child")
        .execution_arn;

    let (output, redriven) = redrive_to_success(&c, &exec).await;
    let expected: Vec<Value> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"done": i}))
        .collect();
    assert_eq!(output, Value::Array(expected));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(&calls[2..], &items.as_array().unwrap()[1..], "{calls:?}");
    assert!(
        redriven.contains(&"MapRunRedriven".to_string()),
        "{redriven:?}"
    );
    assert!(
        !redriven.contains(&"MapRunStarted".to_string()),
        "{redriven:?}"
    );

    // The same Map Run, redriven once, with three children that succeeded.
    let runs = c
        .list_map_runs()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap()
        .map_runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].map_run_arn, map_run);
    let d = c
        .describe_map_run()
        .map_run_arn(&map_run)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status.as_str(), "SUCCEEDED");
    assert_eq!(d.redrive_count, Some(1));
    assert!(d.redrive_date.is_some());
    let counts = d.execution_counts.unwrap();
    assert_eq!(
        (counts.succeeded, counts.failed, counts.total),
        (3, 0, 3),
        "{counts:?}"
    );
    assert_eq!(children(c.clone(), map_run.clone()).await.len(), 3);

    // The child that failed: the same execution, succeeded now.
    let child = c
        .describe_execution()
        .execution_arn(&failed_child)
        .send()
        .await
        .unwrap();
    assert_eq!(child.status, ExecutionStatus::Succeeded, "{child:?}");
    let history: Vec<String> = c
        .get_execution_history()
        .execution_arn(&failed_child)
        .send()
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.r#type.as_str().to_string())
        .collect();
    let count = |t: &str| history.iter().filter(|x| *x == t).count();
    if execution_type == "STANDARD" {
        assert_eq!(child.redrive_count, Some(1));
        assert!(child.redrive_date.is_some());
        // Continued from Work: Prep is not entered again.
        assert_eq!(count("ExecutionRedriven"), 1, "{history:?}");
        assert_eq!(count("ExecutionFailed"), 1, "{history:?}");
        assert_eq!(count("PassStateEntered"), 1, "{history:?}");
        assert_eq!(count("TaskStateEntered"), 2, "{history:?}");
    } else {
        assert_eq!(child.redrive_count.unwrap_or(0), 0);
        // Started again from Prep, its history the new run's.
        assert_eq!(count("ExecutionRedriven"), 0, "{history:?}");
        assert_eq!(count("ExecutionFailed"), 0, "{history:?}");
        assert_eq!(count("PassStateEntered"), 1, "{history:?}");
    }
    assert_eq!(
        history.last().map(String::as_str),
        Some("ExecutionSucceeded")
    );
}

#[tokio::test]
async fn a_parents_redrive_redrives_its_map_run_of_standard_children() {
    a_parents_redrive_redrives_its_map_run("STANDARD").await;
}

#[tokio::test]
async fn a_parents_redrive_restarts_the_failed_express_children_of_its_map_run() {
    a_parents_redrive_redrives_its_map_run("EXPRESS").await;
}

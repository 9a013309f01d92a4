//! TestState's 2025 fields (mocks with `fieldValidationMode`, `context`, `variables`,
//! `stateConfiguration`, inspection data, mocked Map, Parallel and callback states) through the
//! endpoint, with the unchanged `aws-sdk-sfn` client and with raw JSON 1.0 requests
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html>).

use asl_engine::server::ServerConfig;
use asl_engine::TaskRegistry;
use aws_sdk_sfn::operation::test_state::{TestStateError, TestStateOutput};
use aws_sdk_sfn::types::{
    InspectionLevel, MockErrorOutput, MockInput, MockResponseValidationMode, TestExecutionStatus,
    TestStateConfiguration,
};
use serde_json::{json, Value};

mod support;
use support::{client, serve_on_loopback};

async fn start_server() -> String {
    serve_on_loopback(TaskRegistry::new(), ServerConfig::default()).await
}

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

fn result(r: &str) -> MockInput {
    MockInput::builder().result(r).build()
}

fn result_in(r: &str, mode: &str) -> MockInput {
    MockInput::builder()
        .result(r)
        .field_validation_mode(MockResponseValidationMode::from(mode))
        .build()
}

fn error_output(error: &str, cause: &str) -> MockInput {
    MockInput::builder()
        .error_output(MockErrorOutput::builder().error(error).cause(cause).build())
        .build()
}

fn json_of(s: Option<&str>) -> Value {
    serde_json::from_str(s.expect("a JSON string")).expect("valid JSON")
}

/// The error code and message of a refused request.
fn refusal(
    r: Result<TestStateOutput, aws_sdk_sfn::error::SdkError<TestStateError>>,
) -> (String, String) {
    let e = r.expect_err("the request is refused").into_service_error();
    let meta = aws_sdk_sfn::error::ProvideErrorMetadata::meta(&e);
    (
        meta.code().unwrap_or_default().to_string(),
        meta.message().unwrap_or_default().to_string(),
    )
}

const LAMBDA_INVOKE: &str = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "End": true}"#;
const START_EXECUTION: &str = r#"{"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
    "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:t"}, "End": true}"#;

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html:
// STRICT (default) needs the required fields and checks the present ones, PRESENT checks the
// present ones, NONE checks nothing.
#[tokio::test]
async fn mock_field_validation_mode_strict_present_none() {
    let c = client(&start_server().await);
    let send =
        |def: &'static str, mock: MockInput| c.test_state().definition(def).mock(mock).send();
    let (code, msg) = refusal(send(LAMBDA_INVOKE, result(r#"{"StatusCode": "200"}"#)).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "Mock result schema validation error: Field 'StatusCode' must be a number"
    );
    let (_, msg) = refusal(
        send(
            LAMBDA_INVOKE,
            result_in(r#"{"StatusCode": "200"}"#, "PRESENT"),
        )
        .await,
    );
    assert!(msg.contains("'StatusCode' must be a number"), "{msg}");
    let none = send(LAMBDA_INVOKE, result_in(r#"{"StatusCode": "200"}"#, "NONE"))
        .await
        .unwrap();
    assert_eq!(none.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(
        json_of(none.output.as_deref()),
        json!({"StatusCode": "200"})
    );

    let (_, msg) = refusal(send(START_EXECUTION, result("{}")).await);
    assert_eq!(
        msg,
        "Mock result schema validation error: Required field 'ExecutionArn' is missing"
    );
    let present = send(START_EXECUTION, result_in("{}", "PRESENT"))
        .await
        .unwrap();
    assert_eq!(present.status, Some(TestExecutionStatus::Succeeded));
    let ok = send(
        START_EXECUTION,
        result(r#"{"ExecutionArn": "arn:x", "StartDate": "2025-01-01T00:00:00Z", "Extra": 1}"#),
    )
    .await
    .unwrap();
    assert_eq!(ok.status, Some(TestExecutionStatus::Succeeded));

    // A Lambda function ARN's result is the function's own payload: no API shape to check.
    let direct = c
        .test_state()
        .definition(r#"{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": true}"#)
        .mock(result(r#"{"StatusCode": "not a number"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status, Some(TestExecutionStatus::Succeeded));
}

// API_TestStateConfiguration.html: retrierRetryCount is the number of retries already made by
// the retrier that applies to the mocked error; API_InspectionErrorDetails.html: retryIndex and
// retryBackoffIntervalSeconds.
#[tokio::test]
async fn retrier_retry_count_gives_retriable_with_backoff_then_failed() {
    let c = client(&start_server().await);
    let def = r#"{"QueryLanguage": "JSONata", "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "foo", "Payload": "{% $states.input.v %}"},
        "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
        "End": true}"#;
    let run = |count: i32| {
        c.test_state()
            .definition(def)
            .input(r#"{"v": "bar"}"#)
            .inspection_level(InspectionLevel::Debug)
            .state_configuration(
                TestStateConfiguration::builder()
                    .retrier_retry_count(count)
                    .build(),
            )
            .mock(error_output(
                "MockException",
                "Mock the cause of the error.",
            ))
            .send()
    };
    let below = run(4).await.unwrap();
    assert_eq!(below.status, Some(TestExecutionStatus::Retriable));
    assert_eq!(below.error.as_deref(), Some("MockException"));
    assert!(below.output.is_none() && below.next_state.is_none());
    let data = below.inspection_data.unwrap();
    let details = data.error_details.unwrap();
    assert_eq!(details.retry_index, Some(0));
    assert_eq!(details.retry_backoff_interval_seconds, Some(16));
    assert_eq!(
        json_of(data.after_arguments.as_deref()),
        json!({"FunctionName": "foo", "Payload": "bar"})
    );

    let exhausted = run(5).await.unwrap();
    assert_eq!(exhausted.status, Some(TestExecutionStatus::Failed));
    let details = exhausted.inspection_data.unwrap().error_details.unwrap();
    assert_eq!(details.retry_index, Some(0));
    assert_eq!(details.retry_backoff_interval_seconds, None);
}

// API_TestState.html: CAUGHT_ERROR, nextState the catcher's Next; catchIndex
// (API_InspectionErrorDetails.html).
#[tokio::test]
async fn caught_error_reports_catch_index_next_state_and_output() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
        "Catch": [{"ErrorEquals": ["Other"], "Next": "A"},
                  {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "B"}],
        "Next": "Done"}"#;
    let r = c
        .test_state()
        .definition(def)
        .input(r#"{"keep": 1}"#)
        .inspection_level(InspectionLevel::Trace)
        .mock(error_output("Boom", "it broke"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::CaughtError));
    assert_eq!(r.next_state.as_deref(), Some("B"));
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (Some("Boom"), Some("it broke"))
    );
    assert_eq!(
        json_of(r.output.as_deref()),
        json!({"keep": 1, "err": {"Error": "Boom", "Cause": "it broke"}})
    );
    let details = r.inspection_data.unwrap().error_details.unwrap();
    assert_eq!(details.catch_index, Some(1));
}

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_InspectionData.html: the
// input and each step of the JSONPath pipeline.
#[tokio::test]
async fn debug_inspection_data_shows_each_jsonpath_step() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.order",
        "Parameters": {"FunctionName": "price", "Payload": {"id.$": "$.id"}},
        "ResultSelector": {"total.$": "$.Payload.total"},
        "ResultPath": "$.priced",
        "OutputPath": "$.priced",
        "Next": "Ship"}"#;
    let mocked = r#"{"StatusCode": 200, "Payload": {"total": 42}}"#;
    let r = c
        .test_state()
        .definition(def)
        .input(r#"{"order": {"id": "o-1"}, "other": true}"#)
        .inspection_level(InspectionLevel::Debug)
        // Lambda Invoke's model has Payload as a blob (text): a JSON payload passes only unchecked.
        .mock(result_in(mocked, "NONE"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(r.next_state.as_deref(), Some("Ship"));
    assert_eq!(json_of(r.output.as_deref()), json!({"total": 42}));
    let d = r.inspection_data.unwrap();
    assert_eq!(
        json_of(d.input.as_deref()),
        json!({"order": {"id": "o-1"}, "other": true})
    );
    assert_eq!(json_of(d.after_input_path.as_deref()), json!({"id": "o-1"}));
    assert_eq!(
        json_of(d.after_parameters.as_deref()),
        json!({"FunctionName": "price", "Payload": {"id": "o-1"}})
    );
    assert_eq!(
        json_of(d.result.as_deref()),
        serde_json::from_str::<Value>(mocked).unwrap()
    );
    assert_eq!(
        json_of(d.after_result_selector.as_deref()),
        json!({"total": 42})
    );
    assert_eq!(
        json_of(d.after_result_path.as_deref()),
        json!({"order": {"id": "o-1"}, "other": true, "priced": {"total": 42}})
    );
    assert!(d.after_arguments.is_none() && d.request.is_none() && d.response.is_none());

    // INFO: no inspection data.
    let info = c
        .test_state()
        .definition(def)
        .input(r#"{"order": {"id": "o-1"}}"#)
        .mock(result_in(mocked, "NONE"))
        .send()
        .await
        .unwrap();
    assert!(info.inspection_data.is_none());
}

// API_TestState.html `variables`: "JSON object literal that sets variables used in the state
// under test"; API_InspectionData.html `variables`: "the set of workflow variables after
// execution of the state ... variables assigned in the state and variables set up as test state
// input".
#[tokio::test]
async fn variables_are_in_scope_and_reported_after_the_state() {
    let c = client(&start_server().await);
    let def = r#"{"QueryLanguage": "JSONata", "Type": "Pass",
        "Output": {"sum": "{% $a + $states.input.n %}"},
        "Assign": {"b": "{% $a * 10 %}"}, "End": true}"#;
    let r = c
        .test_state()
        .definition(def)
        .input(r#"{"n": 1}"#)
        .variables(r#"{"a": 2}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(json_of(r.output.as_deref()), json!({"sum": 3}));
    let vars = json_of(r.inspection_data.unwrap().variables.as_deref());
    assert_eq!(vars, json!({"a": 2, "b": 20}));

    let (code, _) = refusal(
        c.test_state()
            .definition(def)
            .variables("[1, 2]")
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
}

// API_TestState.html `context`: "A JSON string representing a valid Context object for the state
// under test. This field may only be specified if a mock is specified in the same request."
#[tokio::test]
async fn context_replaces_the_context_object_and_needs_a_mock() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload": {"ctx.$": "$$.Execution.Input.values", "state.$": "$$.State.Name"}},
        "End": true}"#;
    let context = json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:M:e-1", "Input": {"values": [1, 2]},
                      "Name": "e-1", "RoleArn": "arn:aws:iam::123456789012:role/R", "StartTime": "2025-01-15T10:30:00.000Z"},
        "State": {"EnteredTime": "2025-01-15T10:30:01.500Z", "Name": "MyTaskState", "RetryCount": 0},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:M", "Name": "M"}
    })
    .to_string();
    let r = c
        .test_state()
        .definition(def)
        .context(&context)
        .inspection_level(InspectionLevel::Trace)
        .mock(result(r#"{"StatusCode": 200}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(
        json_of(r.inspection_data.unwrap().after_parameters.as_deref()),
        json!({"FunctionName": "f", "Payload": {"ctx": [1, 2], "state": "MyTaskState"}})
    );

    let (code, msg) = refusal(
        c.test_state()
            .definition(def)
            .context(&context)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(
        msg.contains("only be specified if a mock is specified"),
        "{msg}"
    );
    for (bad, message) in [
        (json!({"Execution": {"Id": 1}}), "Invalid Context object provided: Execution.Id must be a string"),
        (json!({"Map": {}}), "Invalid Context object provided: 'Map' field is not supported when mocking a Context object"),
        (json!({"Pokedex": {}}), "Invalid Context object provided: Field 'Pokedex' is not allowed"),
        (json!({"Task": {"Token": "t"}}), "Invalid Context object provided: Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern"),
    ] {
        let (code, msg) = refusal(
            c.test_state()
                .definition(def)
                .context(bad.to_string())
                .mock(result("{}"))
                .send()
                .await,
        );
        assert_eq!((code.as_str(), msg.as_str()), ("ValidationException", message));
    }
}

// API_TestState.html: with a mock, TestState supports .waitForTaskToken tasks; the context may
// then carry the task token (Task.Token).
#[tokio::test]
async fn wait_for_task_token_runs_under_a_mock_with_the_context_token() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                       "MessageBody": {"TaskToken.$": "$$.Task.Token"}},
        "ResultPath": "$.SQS", "Next": "NEXT_STATE"}"#;
    let r = c
        .test_state()
        .definition(def)
        .context(r#"{"Task": {"Token": "abcd123"}}"#)
        .inspection_level(InspectionLevel::Debug)
        .mock(result(r#"{"answer": 42}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(r.next_state.as_deref(), Some("NEXT_STATE"));
    assert_eq!(json_of(r.output.as_deref()), json!({"SQS": {"answer": 42}}));
    let params = json_of(r.inspection_data.unwrap().after_parameters.as_deref());
    assert_eq!(params["MessageBody"]["TaskToken"], json!("abcd123"));

    let (code, _) = refusal(c.test_state().definition(def).role_arn(ROLE).send().await);
    assert_eq!(code, "InvalidDefinition");

    // An activity task likewise: the mock answers for the worker.
    let activity = r#"{"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a", "End": true}"#;
    let r = c
        .test_state()
        .definition(activity)
        .mock(result(r#"{"done": true}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(json_of(r.output.as_deref()), json!({"done": true}));
    let (code, _) = refusal(
        c.test_state()
            .definition(activity)
            .role_arn(ROLE)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidDefinition");

    // Without a mock, a Task needs the role it would run with; with one it does not.
    let (code, msg) = refusal(c.test_state().definition(LAMBDA_INVOKE).send().await);
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "ValidationException",
            "RoleArn must be specified when testing a Task state"
        )
    );
}

const MAP: &str = r#"{"Type": "Map", "ItemsPath": "$.Values", "MaxConcurrency": 2,
    "ItemSelector": {"v.$": "$$.Map.Item.Value"},
    "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "HandleItem", "States": {"HandleItem": {"Type": "Pass", "End": true}}},
    "ToleratedFailureCount": 1,
    "Retry": [{"ErrorEquals": ["MockException"], "MaxAttempts": 3},
              {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "HandleThreshold"}],
    "End": true}"#;

// API_TestStateConfiguration.html mapIterationFailureCount, and the Map's fields of
// API_InspectionData.html (afterItemsPath, afterItemSelector, maxConcurrency,
// toleratedFailureCount).
#[tokio::test]
async fn mocked_map_with_iteration_failures_against_its_tolerance() {
    let c = client(&start_server().await);
    let run = |failures: i32, retried: i32| {
        c.test_state()
            .definition(MAP)
            .input(r#"{"Values": ["first", "second", "third"]}"#)
            .inspection_level(InspectionLevel::Debug)
            .state_configuration(
                TestStateConfiguration::builder()
                    .map_iteration_failure_count(failures)
                    .retrier_retry_count(retried)
                    .build(),
            )
            .mock(result("[1, 1, 1]"))
            .send()
    };
    let below = run(1, 0).await.unwrap();
    assert_eq!(below.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(json_of(below.output.as_deref()), json!([1, 1, 1]));
    let d = below.inspection_data.unwrap();
    assert_eq!(
        json_of(d.after_items_path.as_deref()),
        json!(["first", "second", "third"])
    );
    assert_eq!(
        json_of(d.after_item_selector.as_deref()),
        json!([{"v": "first"}, {"v": "second"}, {"v": "third"}])
    );
    assert_eq!(d.max_concurrency, Some(2));
    assert_eq!(d.tolerated_failure_count, Some(1));

    // Over the tolerance: the threshold error, retried by the second retrier.
    let over = run(2, 0).await.unwrap();
    assert_eq!(over.status, Some(TestExecutionStatus::Retriable));
    assert_eq!(
        over.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    assert_eq!(
        over.cause.as_deref(),
        Some("The specified tolerated failure threshold was exceeded")
    );
    let details = over.inspection_data.unwrap().error_details.unwrap();
    assert_eq!(details.retry_index, Some(1));
    assert_eq!(details.retry_backoff_interval_seconds, Some(1));

    // More failed iterations than the Map has: refused.
    let (code, msg) = refusal(run(4, 0).await);
    assert_eq!(code, "ValidationException");
    assert!(
        msg.starts_with("Map iteration failure count must be less than or equal to the number of Map iterations"),
        "{msg}"
    );

    // Its retries spent, the catcher takes it.
    let caught = run(2, 2).await.unwrap();
    assert_eq!(caught.status, Some(TestExecutionStatus::CaughtError));
    assert_eq!(caught.next_state.as_deref(), Some("HandleThreshold"));
    let details = caught.inspection_data.unwrap().error_details.unwrap();
    assert_eq!(
        (details.retry_index, details.catch_index),
        (Some(1), Some(0))
    );
}

// API_TestStateConfiguration.html mapItemReaderData: "The data read by ItemReader in Distributed
// Map states as found in its original source."
#[tokio::test]
async fn map_item_reader_data_stands_in_for_the_reader() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                       "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"}},
        "ItemSelector": {"n.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Square", "States": {"Square": {"Type": "Pass", "End": true}}},
        "End": true}"#;
    let r = c
        .test_state()
        .definition(def)
        .input(r#"{"Bucket": "b", "Key": "k"}"#)
        .inspection_level(InspectionLevel::Debug)
        .state_configuration(
            TestStateConfiguration::builder()
                .map_item_reader_data("[1, 2, 3]")
                .build(),
        )
        .mock(result("[1, 4, 9]"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(json_of(r.output.as_deref()), json!([1, 4, 9]));
    assert_eq!(
        json_of(r.inspection_data.unwrap().after_item_selector.as_deref()),
        json!([{"n": 1}, {"n": 2}, {"n": 3}])
    );

    let (code, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .state_configuration(
                TestStateConfiguration::builder()
                    .map_item_reader_data("[]")
                    .build(),
            )
            .mock(result("{}"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("Map state"), "{msg}");
}

// API_TestStateConfiguration.html mapItemReaderData is a string, "the data read by ItemReader ...
// as found in its original source": a CSV reader's data is CSV text, read with the reader's
// ReaderConfig.
#[tokio::test]
async fn map_item_reader_data_is_read_as_the_reader_reads_its_object() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                       "Parameters": {"Bucket": "b", "Key": "rows.csv"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "ItemSelector": {"row.$": "$$.Map.Item.Value"},
        "End": true}"#;
    let run = |data: &'static str| {
        c.test_state()
            .definition(def)
            .inspection_level(InspectionLevel::Debug)
            .state_configuration(
                TestStateConfiguration::builder()
                    .map_item_reader_data(data)
                    .build(),
            )
            .mock(result("[1, 2]"))
            .send()
    };
    let r = run("id,name\n1,mug\n2,tee\n").await.unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(
        json_of(r.inspection_data.unwrap().after_item_selector.as_deref()),
        json!([{"row": {"id": "1", "name": "mug"}}, {"row": {"id": "2", "name": "tee"}}])
    );
    // Data the reader cannot read is refused, saying why.
    let (code, msg) = refusal(run("").await);
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("mapItemReaderData"), "{msg}");
}

// API_InspectionData.html: afterItemBatcher ("The effective input after the ItemBatcher filter
// is applied in a Map state") and afterItemsPointer ("... after the ItemsPointer filter is
// applied").
#[tokio::test]
async fn a_mocked_map_inspects_its_batches_and_its_items_pointer() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                       "ReaderConfig": {"InputType": "JSON", "ItemsPointer": "/orders/open"},
                       "Parameters": {"Bucket": "b", "Key": "orders.json"}},
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true}"#;
    let r = c
        .test_state()
        .definition(def)
        .input(r#"{"run": "r7"}"#)
        .inspection_level(InspectionLevel::Debug)
        .state_configuration(
            TestStateConfiguration::builder()
                .map_item_reader_data(r#"{"orders": {"open": ["a", "b", "c"], "closed": ["z"]}}"#)
                .build(),
        )
        .mock(result(r#"[1, 2]"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded), "{r:?}");
    let d = r.inspection_data.unwrap();
    assert_eq!(
        json_of(d.after_items_pointer.as_deref()),
        json!(["a", "b", "c"])
    );
    assert_eq!(
        json_of(d.after_item_batcher.as_deref()),
        json!([
            {"BatchInput": {"run": "r7"}, "Items": ["a", "b"]},
            {"BatchInput": {"run": "r7"}, "Items": ["c"]}
        ])
    );
}

// AWS's recorded answers: `stateName` may name a state nested in a Map's item processor; the
// tested state's schema is checked first (an unknown Type, a Parallel without branches).
#[tokio::test]
async fn nested_state_names_and_schema_refusals() {
    let c = client(&start_server().await);
    let machine = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map",
        "ItemProcessor": {"StartAt": "HandleItem", "States": {
            "HandleItem": {"Type": "Pass", "Parameters": {"Value": "HelloWorld"}, "End": true}}},
        "End": true}}});
    let r = c
        .test_state()
        .definition(machine.to_string())
        .state_name("HandleItem")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(json_of(r.output.as_deref()), json!({"Value": "HelloWorld"}));

    let unknown = json!({"StartAt": "Odd", "States": {"Odd": {"Type": "Nope", "End": true}}});
    let (code, msg) = refusal(
        c.test_state()
            .definition(unknown.to_string())
            .state_name("Odd")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidDefinition");
    assert_eq!(
        msg,
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The field 'Type' should have one of these values: [Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map] at /States/Odd/Type'"
    );

    let (code, msg) = refusal(
        c.test_state()
            .definition(json!({"Type": "Parallel", "Branches": [], "End": true}).to_string())
            .mock(result("[]"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidDefinition");
    assert_eq!(
        msg,
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Value cannot be empty at /States/StateName/Branches'"
    );
}

// AWS's recorded context objects of TestState: the state runs as an Express execution, its
// `Execution.Id` an `...:express:...` ARN, without `RedriveCount`.
#[tokio::test]
async fn the_context_object_is_an_express_executions() {
    let c = client(&start_server().await);
    let r = c
        .test_state()
        .definition(json!({"Type": "Pass", "Parameters": {"ctx.$": "$$"}, "End": true}).to_string())
        .input(r#"{"k": 1}"#)
        .send()
        .await
        .unwrap();
    let out = json_of(r.output.as_deref());
    let execution = &out["ctx"]["Execution"];
    assert!(
        execution["Id"]
            .as_str()
            .is_some_and(|id| id.contains(":express:TestState:")),
        "{execution}"
    );
    assert!(execution.get("RedriveCount").is_none(), "{execution}");
    assert_eq!(execution["Input"], json!({"k": 1}));
    assert_eq!(out["ctx"]["State"]["Name"], "StateName");
}

// Recorded AWS answers (TestState of a Map whose ItemsPath selects no array): States.Runtime,
// `Reference path "<path>" must point to array.` with a context path written from `$`, and no
// afterItemsPath in the inspection data.
#[tokio::test]
async fn an_items_path_that_selects_no_array_is_a_runtime_error_naming_the_path() {
    let c = client(&start_server().await);
    for (items_path, named) in [
        ("$$.Execution.Input", "$.Execution.Input"),
        ("$.order", "$.order"),
    ] {
        let def = json!({"Type": "Map", "ItemsPath": items_path,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true});
        let r = c
            .test_state()
            .definition(def.to_string())
            .input(r#"{"order": {"id": 1}}"#)
            .inspection_level(InspectionLevel::Debug)
            .mock(result("[]"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status, Some(TestExecutionStatus::Failed), "{items_path}");
        assert_eq!(r.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            r.cause.as_deref(),
            Some(format!("Reference path \"{named}\" must point to array.").as_str())
        );
        assert!(r.inspection_data.unwrap().after_items_path.is_none());
    }
}

// AWS's recorded answers: a mock result that is not JSON, and mapIterationFailureCount without a
// mock (refused as such before the Map's own need of a mock).
#[tokio::test]
async fn mock_and_configuration_refusals_have_aws_messages() {
    let c = client(&start_server().await);
    let (code, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .mock(result("{not json"))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ValidationException", "Mocked result must be valid JSON")
    );
    let (code, msg) = refusal(
        c.test_state()
            .definition(MAP)
            .role_arn(ROLE)
            .input(r#"{"Values": [1]}"#)
            .state_configuration(
                TestStateConfiguration::builder()
                    .map_iteration_failure_count(1)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), msg.as_str()),
        (
            "ValidationException",
            "TestState does not support MapIterationFailureCount when a mock is not specified."
        )
    );
}

// API_TestStateConfiguration.html errorCausedByState: "The name of the state from which an error
// originates when an error is mocked for a Map or Parallel state."
#[tokio::test]
async fn mocked_map_error_with_error_caused_by_state() {
    let c = client(&start_server().await);
    let run = |state: &'static str| {
        c.test_state()
            .definition(MAP)
            .input(r#"{"Values": [1, 2, 3]}"#)
            .state_configuration(
                TestStateConfiguration::builder()
                    .error_caused_by_state(state)
                    .retrier_retry_count(3)
                    .build(),
            )
            .mock(error_output(
                "MockException",
                "Mock the cause of the error.",
            ))
            .send()
    };
    let r = run("HandleItem").await.unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Failed));
    assert_eq!(r.error.as_deref(), Some("MockException"));
    assert_eq!(r.cause.as_deref(), Some("Mock the cause of the error."));
    let (code, _) = refusal(run("NoSuchState").await);
    assert_eq!(code, "ValidationException");
}

// API_TestState.html: "TestState only supports the following when a mock is specified: ...
// Parallel, or Map states." The mocked result is the array of the branches' outputs.
#[tokio::test]
async fn parallel_runs_only_under_a_mock_of_its_branches_results() {
    let c = client(&start_server().await);
    let def = r#"{"Type": "Parallel", "ResultPath": "$.both", "Next": "After", "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}"#;
    let r = c
        .test_state()
        .definition(def)
        .input(r#"{"x": 1}"#)
        .mock(result(r#"[{"a": 1}, {"b": 2}]"#))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(r.next_state.as_deref(), Some("After"));
    assert_eq!(
        json_of(r.output.as_deref()),
        json!({"x": 1, "both": [{"a": 1}, {"b": 2}]})
    );

    let (code, msg) = refusal(
        c.test_state()
            .definition(def)
            .mock(result("[1]"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "Mocked result must contain the same number of items as number of Parallel branches."
    );
    let (code, msg) = refusal(c.test_state().definition(def).send().await);
    assert_eq!(code, "InvalidDefinition");
    assert_eq!(
        msg,
        "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"
    );
}

// The combinations API_TestState.html and API_MockInput.html rule out.
#[tokio::test]
async fn wrong_combinations_get_aws_validation_errors() {
    let c = client(&start_server().await);
    let both = MockInput::builder()
        .result("{}")
        .error_output(MockErrorOutput::builder().error("E").build())
        .build();
    let (code, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .mock(both)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        msg,
        "A test mock should have only one of the following fields: [result, errorOutput]."
    );
    let (_, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .reveal_secrets(true)
            .mock(result("{}"))
            .send()
            .await,
    );
    assert_eq!(
        msg,
        "TestState does not support RevealSecrets when a mock is specified."
    );
    for (def, kind) in [
        (r#"{"Type": "Pass", "End": true}"#, "Pass"),
        (r#"{"Type": "Succeed"}"#, "Succeed"),
        (r#"{"Type": "Fail", "Error": "E"}"#, "Fail"),
    ] {
        let (_, msg) = refusal(
            c.test_state()
                .definition(def)
                .mock(result("{}"))
                .send()
                .await,
        );
        assert_eq!(
            msg,
            format!("State type '{kind}' is not supported when a mock is specified")
        );
    }
    let (_, msg) = refusal(
        c.test_state()
            .definition(MAP)
            .input(r#"{"Values": []}"#)
            .mock(result(r#"{"not": "an array"}"#))
            .send()
            .await,
    );
    assert_eq!(msg, "Mocked result must be an array.");
    let (code, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .mock(result_in("{}", "LOOSE"))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(msg.contains("[STRICT, PRESENT, NONE]"), "{msg}");
    let (_, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .state_configuration(
                TestStateConfiguration::builder()
                    .retrier_retry_count(-1)
                    .build(),
            )
            .mock(result("{}"))
            .send()
            .await,
    );
    assert!(
        msg.contains("'stateConfiguration.retrierRetryCount'"),
        "{msg}"
    );
    let (_, msg) = refusal(
        c.test_state()
            .definition(LAMBDA_INVOKE)
            .state_configuration(
                TestStateConfiguration::builder()
                    .error_caused_by_state("X")
                    .build(),
            )
            .mock(error_output("E", "C"))
            .send()
            .await,
    );
    assert!(msg.contains("errorCausedByState"), "{msg}");
}

async fn raw_post(endpoint: &str, target: &str, body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(endpoint.trim_start_matches("http://"))
        .await
        .unwrap();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

// The wire shapes of the JSON 1.0 protocol: the request members as AWS names them
// (API_TestState.html Request Syntax) and inspectionData's members and types (strings of JSON,
// numbers, the errorDetails object; API_InspectionData.html).
#[tokio::test]
async fn raw_json_requests_and_answers_have_aws_member_names_and_types() {
    let endpoint = start_server().await;
    let body = json!({
        "definition": MAP,
        "input": r#"{"Values": ["a", "b"]}"#,
        "inspectionLevel": "TRACE",
        "mock": {"result": "[0, 1]", "fieldValidationMode": "NONE"},
        "stateConfiguration": {"mapIterationFailureCount": 2, "retrierRetryCount": 2},
        "variables": r#"{"v": true}"#
    })
    .to_string();
    let (status, out) = raw_post(&endpoint, "AWSStepFunctions.TestState", &body).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["status"], json!("CAUGHT_ERROR"));
    assert_eq!(out["nextState"], json!("HandleThreshold"));
    let d = &out["inspectionData"];
    assert!(
        d["input"].is_string() && d["afterInputPath"].is_string(),
        "{d}"
    );
    assert_eq!(d["maxConcurrency"], json!(2));
    assert_eq!(d["toleratedFailureCount"], json!(1));
    assert_eq!(d["errorDetails"], json!({"retryIndex": 1, "catchIndex": 0}));
    assert_eq!(d["variables"], json!(r#"{"v":true}"#));

    // Bad input gets AWS's error shape, never a 500.
    for bad in [
        json!({"definition": MAP, "stateConfiguration": "nope", "mock": {"result": "[]"}}),
        json!({"definition": LAMBDA_INVOKE, "mock": {"result": 5}}),
        json!({"definition": LAMBDA_INVOKE, "mock": {"result": "{not json"}}),
        json!({"definition": LAMBDA_INVOKE, "mock": {}}),
        json!({"definition": LAMBDA_INVOKE, "context": "{", "mock": {"result": "{}"}}),
        json!({"definition": MAP, "mock": {"result": "[]"}, "stateConfiguration": {"mapItemReaderData": "{"}}),
        json!({"definition": "[]"}),
        json!({"definition": "5", "mock": {"result": "{}"}}),
        json!({"definition": LAMBDA_INVOKE, "context": "[]", "mock": {"result": "{}"}}),
        json!({"definition": LAMBDA_INVOKE, "variables": "null", "mock": {"result": "{}"}}),
        json!({"definition": LAMBDA_INVOKE, "mock": {"result": "{}"}, "stateConfiguration": {"retrierRetryCount": "3"}}),
        json!({"definition": MAP, "mock": {"result": "[]"}, "stateConfiguration": {"mapIterationFailureCount": 1.5}}),
        json!({"definition": MAP, "mock": {"errorOutput": {"error": "E"}}, "stateConfiguration": {"errorCausedByState": ""}}),
        json!({"definition": LAMBDA_INVOKE, "inspectionLevel": "LOUD", "mock": {"result": "{}"}}),
        json!({"definition": LAMBDA_INVOKE, "revealSecrets": "yes", "mock": {"result": "{}"}}),
    ] {
        let (status, out) =
            raw_post(&endpoint, "AWSStepFunctions.TestState", &bad.to_string()).await;
        assert_eq!(status, 400, "{bad} -> {out}");
        assert!(
            out["__type"].is_string() && out["message"].is_string(),
            "{out}"
        );
    }
}

// API_TestState.html `stateName`: "If this field is specified, the definition must contain a
// fully-formed state machine definition." The machine's QueryLanguage is the state's default.
#[tokio::test]
async fn state_name_of_a_whole_machine_keeps_its_query_language() {
    let c = client(&start_server().await);
    let machine = r#"{"QueryLanguage": "JSONata", "StartAt": "State0", "States": {
        "State0": {"Type": "Pass", "Output": "{% $states.input.n + 1 %}", "Next": "State1"},
        "State1": {"Type": "Fail", "Error": "SomeFailure", "Cause": "it fails"}}}"#;
    let r = c
        .test_state()
        .definition(machine)
        .state_name("State0")
        .input(r#"{"n": 1}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status, Some(TestExecutionStatus::Succeeded));
    assert_eq!(r.next_state.as_deref(), Some("State1"));
    assert_eq!(json_of(r.output.as_deref()), json!(2));
    // JSONata states have no JSONPath steps to show.
    let d = r.inspection_data.unwrap();
    assert!(d.after_input_path.is_none() && d.after_parameters.is_none());

    let failed = c
        .test_state()
        .definition(machine)
        .state_name("State1")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status, Some(TestExecutionStatus::Failed));
    assert_eq!(failed.error.as_deref(), Some("SomeFailure"));

    let (code, msg) = refusal(
        c.test_state()
            .definition(machine)
            .state_name("Nope")
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("ValidationException", "State not found in definition")
    );
}

// A JSONPath Pass state shows each step of its pipeline, with what it passed on unchanged.
#[tokio::test]
async fn pass_state_inspection_shows_every_jsonpath_step() {
    let c = client(&start_server().await);
    let r = c
        .test_state()
        .definition(r#"{"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "End": true}"#)
        .input(r#"{"a": {"x": 1}}"#)
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    let d = r.inspection_data.unwrap();
    assert_eq!(json_of(d.after_input_path.as_deref()), json!({"x": 1}));
    assert_eq!(json_of(d.after_parameters.as_deref()), json!({"x": 1}));
    assert_eq!(json_of(d.after_result_selector.as_deref()), json!({"x": 1}));
    assert_eq!(
        json_of(d.after_result_path.as_deref()),
        json!({"a": {"x": 1}, "b": {"x": 1}})
    );
}

// Which steps AWS shows for the other state types: a Pass with a Result shows the result and no
// input steps; Choice, Succeed and Fail show the input after InputPath.
#[tokio::test]
async fn inspection_steps_of_result_pass_choice_succeed_and_fail() {
    let c = client(&start_server().await);
    let debug = |def: &'static str| {
        c.test_state()
            .definition(def)
            .input(r#"{"value": 22}"#)
            .inspection_level(InspectionLevel::Debug)
            .send()
    };
    let pass = debug(r#"{"Type": "Pass", "Result": {"k": "v"}, "ResultPath": "$.r", "End": true}"#)
        .await
        .unwrap()
        .inspection_data
        .unwrap();
    assert_eq!(json_of(pass.result.as_deref()), json!({"k": "v"}));
    assert_eq!(
        json_of(pass.after_result_selector.as_deref()),
        json!({"k": "v"})
    );
    assert_eq!(
        json_of(pass.after_result_path.as_deref()),
        json!({"value": 22, "r": {"k": "v"}})
    );
    assert!(pass.after_input_path.is_none() && pass.after_parameters.is_none());

    let choice = debug(r#"{"Type": "Choice", "Choices": [{"Variable": "$.value", "NumericGreaterThan": 20, "Next": "Big"}], "Default": "Small"}"#)
        .await
        .unwrap();
    assert_eq!(choice.next_state.as_deref(), Some("Big"));
    let d = choice.inspection_data.unwrap();
    assert_eq!(json_of(d.after_input_path.as_deref()), json!({"value": 22}));
    assert!(d.after_parameters.is_none() && d.after_result_path.is_none());

    for def in [
        r#"{"Type": "Succeed", "InputPath": "$.value"}"#,
        r#"{"Type": "Fail", "Error": "E"}"#,
    ] {
        let d = debug(def).await.unwrap().inspection_data.unwrap();
        assert!(d.after_input_path.is_some(), "{def}");
        assert!(d.after_parameters.is_none() && d.result.is_none(), "{def}");
    }
}

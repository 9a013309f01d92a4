//! The builder for large and long workflows: distributed Map (readers, batches, result
//! writers), callbacks, typed child workflows, typed merges and operand types, each checked at
//! emit against the Rust types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use workflow_dsl::builder::distributed::{Batch, MapRunResult, S3ObjectItem};
use workflow_dsl::builder::{
    child, task, workflow, Cond, CsvHeaders, DistributedMap, IntoWorkflow, ItemBatcher, ItemReader,
    Map, Parallel, Pass, ResultWriter, Task, Wait,
};
use workflow_dsl::emit::emit;
use workflow_dsl::integrations::{dynamodb, sqs};
use workflow_dsl::typed::{NoErrors, TaskStep, TypedWorkflow};

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Request {
    request_id: String,
    amount_cents: i64,
    due: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Decision {
    approved: bool,
    approver: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Rating {
    user_id: String,
    rating: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Score {
    score: i64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Scored {
    request_id: String,
    amount_cents: i64,
    due: String,
    score: Score,
}

struct ScoreRequest;
impl TaskStep for ScoreRequest {
    const NAME: &'static str = "score-request";
    type Input = Request;
    type Output = Score;
    type Error = NoErrors;
}

struct Review;
impl TypedWorkflow for Review {
    const NAME: &'static str = "review";
    type Input = Request;
    type Output = Decision;
}

fn emitted(flow: impl IntoWorkflow) -> Value {
    let emitted = emit(flow).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&emitted.json).unwrap()
}

fn problems(flow: impl IntoWorkflow) -> String {
    match emit(flow) {
        Ok(_) => panic!("expected emit to fail"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_distributed_map_over_s3_objects_writes_its_results_and_returns_the_map_run() {
    let flow = workflow::<Request>("batch").distributed_map_to_s3::<Batch<S3ObjectItem>, Value>(
        DistributedMap::new("Each batch")
            .item_reader(ItemReader::s3_objects("${Bucket}", "in/").max_items(1000))
            .item_batcher(
                ItemBatcher::max_items(10).batch_input(json!({ "requestId.$": "$.requestId" })),
            )
            .result_writer(ResultWriter::s3("${Bucket}", "out").writer_config("JSONL", "COMPACT"))
            .tolerated_failure_percentage(10.0)
            .label("batch")
            .max_concurrency(50),
        |batch| batch.pass_as::<Value>(Pass::new("Work")),
    );
    let asl = emitted(flow.pass_as::<MapRunResult>(Pass::new("Done")));
    let map = &asl["States"]["Each batch"];
    assert_eq!(
        map["ItemReader"]["Resource"],
        "arn:aws:states:::s3:listObjectsV2"
    );
    assert_eq!(map["ItemReader"]["ReaderConfig"]["MaxItems"], 1000);
    assert_eq!(map["ItemBatcher"]["MaxItemsPerBatch"], 10);
    assert_eq!(map["ResultWriter"]["WriterConfig"]["OutputType"], "JSONL");
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert_eq!(
        map["ItemProcessor"]["ProcessorConfig"]["ExecutionType"],
        "STANDARD"
    );
    assert_eq!(map["ToleratedFailurePercentage"], 10.0);
    assert_eq!(map["Label"], "batch");
}

#[test]
fn the_processor_input_must_be_what_the_reader_produces() {
    // A listing's items are S3 objects, not ratings.
    let text = problems(
        workflow::<Request>("wrong item").distributed_map::<Rating, Value>(
            DistributedMap::new("Each").item_reader(ItemReader::s3_objects("b", "p")),
            |item| item.pass_as::<Value>(Pass::new("Rate")),
        ),
    );
    assert!(
        text.contains("State 'Rate': the state input is declared as `Rating`"),
        "{text}"
    );
    // A CSV row is strings: a numeric field cannot come from it.
    let text = problems(workflow::<Request>("csv").distributed_map::<Score, Value>(
        DistributedMap::new("Rows").item_reader(ItemReader::s3_csv(
            "b",
            "ratings.csv",
            CsvHeaders::Given(vec!["score".into()]),
        )),
        |item| item.pass_as::<Value>(Pass::new("Row")),
    ));
    assert!(
        text.contains("State 'Row': the state input is declared as `Score`"),
        "{text}"
    );
    // Rows with the right headers are accepted.
    let flow = workflow::<Request>("csv ok").distributed_map::<Rating, Value>(
        DistributedMap::new("Rows").item_reader(ItemReader::s3_csv(
            "b",
            "ratings.csv",
            CsvHeaders::Given(vec!["userId".into(), "rating".into()]),
        )),
        |item| item.pass_as::<Value>(Pass::new("Row")),
    );
    assert!(emit(flow).is_ok());
    // A Parquet row's columns are in the file: any processor input is accepted.
    let flow = workflow::<Request>("parquet").distributed_map::<Score, Value>(
        DistributedMap::new("Rows").item_reader(ItemReader::s3_parquet("b", "scores.parquet")),
        |item| item.pass_as::<Value>(Pass::new("Row")),
    );
    let asl = emitted(flow);
    assert_eq!(
        asl["States"]["Rows"]["ItemReader"]["ReaderConfig"],
        serde_json::json!({"InputType": "PARQUET"})
    );
}

#[test]
fn distributed_map_outputs_follow_the_result_writer() {
    let text = problems(
        workflow::<Request>("writer").distributed_map::<S3ObjectItem, Value>(
            DistributedMap::new("Each")
                .item_reader(ItemReader::s3_objects("b", "p"))
                .result_writer(ResultWriter::s3("b", "out")),
            |item| item.pass_as::<Value>(Pass::new("Work")),
        ),
    );
    assert!(text.contains("use `distributed_map_to_s3`"), "{text}");
}

#[test]
fn in_jsonata_readers_and_writers_take_arguments() {
    let flow = workflow::<Request>("jsonata")
        .jsonata()
        .distributed_map_to_s3::<S3ObjectItem, Value>(
            DistributedMap::new("Each")
                .item_reader(ItemReader::s3_objects("b", "p"))
                .result_writer(ResultWriter::s3("b", "out")),
            |item| item.pass_as::<Value>(Pass::new("Work")),
        );
    let asl = emitted(flow);
    let map = &asl["States"]["Each"];
    assert_eq!(map["ItemReader"]["Arguments"]["Prefix"], "p");
    assert!(map["ItemReader"].get("Parameters").is_none());
    assert_eq!(map["ResultWriter"]["Arguments"]["Prefix"], "out");
}

#[test]
fn a_callback_waits_for_the_declared_type_and_needs_the_token() {
    let ask = Task::call(
        "Ask approver",
        sqs::send_message("${ApprovalQueueUrl}").parameter(
            "MessageBody",
            json!({ "request.$": "$", "taskToken.$": "$$.Task.Token" }),
        ),
    )
    .heartbeat_seconds(3600);
    let flow = workflow::<Request>("approval")
        .then_callback::<Decision>(ask)
        .choice_ended("Approved?", |c| {
            c.when(Cond::boolean_equals("$.approved", true), |f| {
                f.succeed("Yes")
            })
            .otherwise(|f| f.succeed("No"))
        });
    let asl = emitted(flow);
    assert_eq!(
        asl["States"]["Ask approver"]["Resource"],
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    );
    // The next state reads the callback's fields, not SQS's MessageId.
    let text = problems(
        workflow::<Request>("typo")
            .then_callback::<Decision>(Task::call(
                "Ask",
                sqs::send_message("q").parameter("MessageBody", json!({ "t.$": "$$.Task.Token" })),
            ))
            .choice_ended("Approved?", |c| {
                c.when(Cond::boolean_equals("$.aproved", true), |f| {
                    f.succeed("Yes")
                })
                .otherwise(|f| f.succeed("No"))
            }),
    );
    assert!(text.contains("path '$.aproved' in Choices[0].Variable does not exist; fields at '$': approved, approver"), "{text}");
    // Without the token nothing can answer.
    let text = problems(
        workflow::<Request>("no token")
            .then_callback::<Decision>(Task::call("Ask", sqs::send_message("q"))),
    );
    assert!(
        text.contains("a .waitForTaskToken Task must pass the task token"),
        "{text}"
    );
    // DynamoDB's GetItem has no callback pattern.
    let text = problems(
        workflow::<Request>("no pattern").then_callback::<Decision>(Task::call(
            "Get",
            dynamodb::get_item(
                "t",
                json!({ "id": { "S": "1" }, "token.$": "$$.Task.Token" }),
            ),
        )),
    );
    assert!(
        text.contains("does not support the .waitForTaskToken pattern"),
        "{text}"
    );
}

#[test]
fn a_child_workflow_takes_its_input_and_gives_its_output() {
    let flow = workflow::<Request>("parent")
        .then_child(child::<Review>("Review"))
        .choice_ended("Approved?", |c| {
            c.when(Cond::boolean_equals("$.approved", true), |f| {
                f.succeed("Yes")
            })
            .otherwise(|f| f.succeed("No"))
        });
    let asl = emitted(flow);
    let review = &asl["States"]["Review"];
    assert_eq!(
        review["Resource"],
        "arn:aws:states:::states:startExecution.sync:2"
    );
    assert_eq!(
        review["Parameters"]["StateMachineArn"],
        "${ReviewStateMachineArn}"
    );
    assert_eq!(review["OutputPath"], "$.Output");

    let flow = workflow::<Request>("parent").jsonata().then_child(
        child::<Review>("Review")
            .string_output()
            .associate_with_parent(),
    );
    let asl = emitted(flow);
    let review = &asl["States"]["Review"];
    assert_eq!(
        review["Resource"],
        "arn:aws:states:::states:startExecution.sync"
    );
    assert_eq!(review["Output"], "{% $parse($states.result.Output) %}");
    assert!(review["Arguments"]["Input"]
        .as_str()
        .unwrap()
        .contains("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"));

    let text = problems(
        workflow::<Request>("jsonpath link")
            .then_child(child::<Review>("Review").associate_with_parent()),
    );
    assert!(
        text.contains("associate_with_parent needs a JSONata state"),
        "{text}"
    );
}

#[test]
fn a_merge_names_its_type_and_is_checked() {
    let flow = workflow::<Request>("merge")
        .then_merged::<Scored, _, _>(task::<ScoreRequest>("Score").result_path("$.score"));
    let asl = emitted(flow);
    let score = &asl["States"]["Score"];
    assert_eq!(score["Resource"], "${ScoreRequestFunctionArn}");
    assert_eq!(score["ResultPath"], "$.score");

    // In JSONata the merge is an Output expression over the Lambda result.
    let asl = emitted(
        workflow::<Request>("merge")
            .jsonata()
            .then_merged::<Scored, _, _>(task::<ScoreRequest>("Score").result_path("$.score")),
    );
    assert_eq!(
        asl["States"]["Score"]["Output"],
        "{% $merge([$states.input, {'score': $states.result.Payload}]) %}"
    );
    assert_eq!(
        asl["States"]["Score"]["Resource"],
        "arn:aws:states:::lambda:invoke"
    );

    // A merged type that does not fit the merged data.
    let text = problems(
        workflow::<Request>("wrong merge")
            .then_merged::<Scored, _, _>(task::<ScoreRequest>("Score").result_path("$.rating")),
    );
    assert!(
        text.contains("State 'Score': the state output is declared as `Scored`"),
        "{text}"
    );
    // `then` with a result_path would lie about the type.
    let text = problems(
        workflow::<Request>("then").then(task::<ScoreRequest>("Score").result_path("$.score")),
    );
    assert!(
        text.contains("append it with `then_merged::<Merged>(...)`"),
        "{text}"
    );
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct WithBoth {
    #[serde(rename = "requestId")]
    request_id: String,
    both: (Value, Value),
}

#[test]
fn parallel_and_map_compose_with_result_path() {
    let flow = workflow::<Request>("parallel").parallel_as::<WithBoth>(
        Parallel::new("Both")
            .branch(|b: workflow_dsl::builder::Flow<Request>| b.pass_as::<Value>(Pass::new("A")))
            .branch(|b| b.pass_as::<Value>(Pass::new("B")))
            .result_path("$.both"),
    );
    assert!(emit(flow).is_ok());
    let text = problems(workflow::<Request>("parallel2").parallel2(
        Parallel::new("Both").result_path("$.both"),
        |b| b.pass_as::<Value>(Pass::new("A")),
        |b| b.pass_as::<Value>(Pass::new("B")),
    ));
    assert!(text.contains("use `parallel_as::<Merged>`"), "{text}");
}

#[test]
fn operands_must_fit_the_fields_type() {
    let text = problems(
        workflow::<Request>("numeric on text").choice_ended("Big?", |c| {
            c.when(Cond::numeric_greater_than("$.requestId", 10), |f| {
                f.succeed("Yes")
            })
            .otherwise(|f| f.succeed("No"))
        }),
    );
    assert!(
        text.contains("Choices[0].Variable '$.requestId' is a string, but NumericGreaterThan compares numbers"),
        "{text}"
    );
    let text = problems(
        workflow::<Request>("timestamp at a number")
            .wait(Wait::timestamp_path("Until", "$.amountCents")),
    );
    assert!(text.contains("TimestampPath '$.amountCents' is an integer, but it must select an RFC 3339 timestamp string"), "{text}");
    let ok = workflow::<Request>("fine").wait(Wait::timestamp_path("Until", "$.due"));
    assert!(emit(ok).is_ok());
    let text = problems(
        workflow::<Request>("items")
            .map::<Value, Value>(Map::new("Each").items_path("$.amountCents"), |f| {
                f.pass(Pass::new("One"))
            }),
    );
    assert!(
        text.contains("ItemsPath '$.amountCents' must select an array"),
        "{text}"
    );
}

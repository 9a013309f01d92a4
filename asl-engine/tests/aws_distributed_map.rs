//! Distributed Map on the endpoint against Amazon S3 on the emulator (moto): items listed and read
//! from a bucket with the AWS SDK, batches as child executions of a Map Run, the ResultWriter's
//! files read back object by object, and the Map Run API (DescribeMapRun, ListMapRuns,
//! ListExecutions with mapRunArn, DescribeExecution, GetExecutionHistory and
//! DescribeStateMachineForExecution of a child) through `aws-sdk-sfn`.
//! Run through `cargo xtask test`, which starts the emulator and sets AWS_ENDPOINT_URL.

use std::collections::BTreeSet;

use asl_engine::aws::AwsIntegrations;
use asl_engine::server::{local_client, ServerConfig};
use asl_engine::TaskRegistry;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType, MapRunStatus};
use serde_json::{json, Value};

mod support;
use support::{serve_on_loopback, wait_done};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

/// The endpoint's client: the loaded configuration (its HTTP client) in us-east-1.
fn sfn_config(conf: &aws_config::SdkConfig) -> aws_sdk_sfn::config::Builder {
    aws_sdk_sfn::config::Builder::from(conf).region(aws_sdk_sfn::config::Region::new("us-east-1"))
}

async fn setup() -> (aws_sdk_s3::Client, aws_sdk_sfn::Client, String) {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run through `cargo xtask test`, which starts the emulator"
    );
    let conf = shop_model::aws::sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let mut registry = TaskRegistry::new();
    AwsIntegrations::from_conf(&conf).register(&mut registry);
    let endpoint = serve_on_loopback(registry, ServerConfig::default()).await;
    let sfn = local_client(sfn_config(&conf), &endpoint);
    let bucket = format!("dmap-{}", uuid::Uuid::new_v4().simple());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    (s3, sfn, bucket)
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .expect("put");
}

async fn get_json(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (Value, usize) {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    let bytes = out.body.collect().await.unwrap().into_bytes();
    (serde_json::from_slice(&bytes).expect("JSON"), bytes.len())
}

async fn run(sfn: &aws_sdk_sfn::Client, name: &str, definition: Value, input: Value) -> String {
    let sm = sfn
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("create");
    let exec = sfn
        .start_execution()
        .state_machine_arn(sm.state_machine_arn())
        .input(input.to_string())
        .send()
        .await
        .expect("start");
    exec.execution_arn().to_string()
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html,
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_listing_in_batches_writes_every_child_result_to_s3() {
    let (s3, sfn, bucket) = setup().await;
    let mut keys = BTreeSet::new();
    for i in 0..7 {
        let key = format!("uploads/img-{i}.jpg");
        put(&s3, &bucket, &key, &"x".repeat(i + 1)).await;
        keys.insert(key);
    }
    put(&s3, &bucket, "elsewhere/skip.jpg", "no").await;
    let definition = json!({
        "StartAt": "Each batch",
        "States": {"Each batch": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "uploads/"}},
            "ItemBatcher": {"MaxItemsPerBatch": 3, "BatchInput": {"width.$": "$.width"}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Resize",
                "States": {"Resize": {"Type": "Pass", "Parameters": {
                    "width.$": "$.BatchInput.width",
                    "keys.$": "$.Items[*].Key",
                    "sizes.$": "$.Items[*].Size"
                }, "End": true}}
            },
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "reports"}},
            "MaxConcurrency": 2,
            "Label": "resize",
            "End": true
        }}
    });
    let exec = run(
        &sfn,
        "image-batch",
        definition,
        json!({"bucket": bucket, "width": 64}),
    )
    .await;
    let done = wait_done(&sfn, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.cause);
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let map_run = output["MapRunArn"].as_str().unwrap().to_string();
    assert!(
        map_run.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:image-batch/resize:"),
        "{map_run}"
    );
    let id = map_run.rsplit(':').next().unwrap();
    let manifest_key = format!("reports/{id}/manifest.json");
    assert_eq!(
        output["ResultWriterDetails"],
        json!({"Bucket": bucket, "Key": manifest_key})
    );

    // The files, object by object.
    let (manifest, _) = get_json(&s3, &bucket, &manifest_key).await;
    assert_eq!(manifest["DestinationBucket"], bucket);
    assert_eq!(manifest["MapRunArn"], map_run);
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
    let file = &manifest["ResultFiles"]["SUCCEEDED"][0];
    let (entries, size) = get_json(&s3, &bucket, file["Key"].as_str().unwrap()).await;
    assert_eq!(file["Size"], size);
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 3, "7 objects in batches of 3");
    let mut seen = BTreeSet::new();
    for e in entries {
        assert_eq!(e["Status"], "SUCCEEDED");
        let out: Value = serde_json::from_str(e["Output"].as_str().unwrap()).unwrap();
        assert_eq!(out["width"], 64);
        for (k, size) in out["keys"]
            .as_array()
            .unwrap()
            .iter()
            .zip(out["sizes"].as_array().unwrap())
        {
            let k = k.as_str().unwrap();
            // img-<i>.jpg holds i + 1 bytes.
            let i: u64 = k["uploads/img-".len()..k.len() - 4].parse().unwrap();
            assert_eq!(size.as_u64(), Some(i + 1), "{k}");
            seen.insert(k.to_string());
        }
    }
    assert_eq!(seen, keys);

    // The Map Run API.
    let d = sfn
        .describe_map_run()
        .map_run_arn(&map_run)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, MapRunStatus::Succeeded);
    assert_eq!(d.execution_arn, exec);
    assert_eq!(d.max_concurrency, 2);
    let items = d.item_counts.unwrap();
    assert_eq!((items.total, items.succeeded, items.failed), (7, 7, 0));
    let executions = d.execution_counts.unwrap();
    assert_eq!(
        (
            executions.total,
            executions.succeeded,
            executions.results_written
        ),
        (3, 3, 3)
    );
    let runs = sfn
        .list_map_runs()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    assert_eq!(runs.map_runs.len(), 1);
    assert_eq!(runs.map_runs[0].map_run_arn, map_run);
    let children = sfn
        .list_executions()
        .map_run_arn(&map_run)
        .send()
        .await
        .unwrap();
    assert_eq!(children.executions.len(), 3);
    let listed: BTreeSet<&str> = children
        .executions
        .iter()
        .map(|e| e.execution_arn())
        .collect();
    let written: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["ExecutionArn"].as_str().unwrap())
        .collect();
    assert_eq!(listed, written);
    for c in &children.executions {
        assert_eq!(c.map_run_arn(), Some(map_run.as_str()));
        let child = sfn
            .describe_execution()
            .execution_arn(c.execution_arn())
            .send()
            .await
            .unwrap();
        assert_eq!(child.status, ExecutionStatus::Succeeded);
        assert_eq!(child.map_run_arn(), Some(map_run.as_str()));
        // Each child has its own history, as any execution
        // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html).
        let events = sfn
            .get_execution_history()
            .execution_arn(c.execution_arn())
            .send()
            .await
            .unwrap()
            .events;
        let types: Vec<&HistoryEventType> = events.iter().map(|e| &e.r#type).collect();
        assert_eq!(
            types,
            [
                &HistoryEventType::ExecutionStarted,
                &HistoryEventType::PassStateEntered,
                &HistoryEventType::PassStateExited,
                &HistoryEventType::ExecutionSucceeded
            ]
        );
        let output = events[3]
            .execution_succeeded_event_details()
            .and_then(|d| d.output())
            .expect("the child's output");
        assert_eq!(
            serde_json::from_str::<Value>(output).unwrap(),
            serde_json::from_str::<Value>(child.output().unwrap()).unwrap()
        );
        let newest_first = sfn
            .get_execution_history()
            .execution_arn(c.execution_arn())
            .reverse_order(true)
            .max_results(1)
            .send()
            .await
            .unwrap();
        assert_eq!(
            newest_first.events[0].r#type,
            HistoryEventType::ExecutionSucceeded
        );
        assert!(newest_first.next_token.is_some());
        // Its state machine is the Map state's item processor, with the Map Run and the label
        // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeStateMachineForExecution.html).
        let machine = sfn
            .describe_state_machine_for_execution()
            .execution_arn(c.execution_arn())
            .send()
            .await
            .unwrap();
        assert_eq!(machine.map_run_arn(), Some(map_run.as_str()));
        assert_eq!(machine.label(), Some("resize"));
        assert_eq!(machine.state_machine_arn(), c.state_machine_arn());
        let definition: Value = serde_json::from_str(machine.definition()).unwrap();
        assert_eq!(definition["StartAt"], "Resize");
        assert!(definition.get("ProcessorConfig").is_none(), "{definition}");
    }
    let history = sfn
        .get_execution_history()
        .execution_arn(&exec)
        .send()
        .await
        .unwrap();
    let started = history
        .events
        .iter()
        .find(|e| e.r#type == HistoryEventType::MapRunStarted)
        .expect("MapRunStarted");
    assert_eq!(
        started
            .map_run_started_event_details()
            .and_then(|d| d.map_run_arn()),
        Some(map_run.as_str())
    );
    assert!(history
        .events
        .iter()
        .any(|e| e.r#type == HistoryEventType::MapRunSucceeded));
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html (failure threshold)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerated_failures_are_written_and_the_threshold_fails_the_run() {
    let (s3, sfn, bucket) = setup().await;
    let items: Vec<Value> = (1..=10).map(|n| json!({"n": n})).collect();
    put(
        &s3,
        &bucket,
        "in/items.json",
        &Value::Array(items).to_string(),
    )
    .await;
    let definition = |tolerated: u64| {
        json!({
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket.$": "$.bucket", "Key": "in/items.json"}},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Check",
                    "States": {
                        "Check": {"Type": "Choice", "Choices": [
                            {"Variable": "$.n", "NumericGreaterThan": 7, "Next": "Boom"}],
                            "Default": "Ok"},
                        "Boom": {"Type": "Fail", "Error": "TooBig", "Cause": "n > 7"},
                        "Ok": {"Type": "Pass", "End": true}
                    }
                },
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket.$": "$.bucket", "Prefix": format!("t{tolerated}")}},
                "MaxConcurrency": 1,
                "ToleratedFailureCount": tolerated,
                "End": true
            }}
        })
    };
    // Three of ten items fail (n = 8, 9, 10).
    let ok = run(&sfn, "tolerant", definition(3), json!({"bucket": bucket})).await;
    let done = wait_done(&sfn, &ok).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.cause);
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let (manifest, _) = get_json(
        &s3,
        &bucket,
        output["ResultWriterDetails"]["Key"].as_str().unwrap(),
    )
    .await;
    let failed_key = manifest["ResultFiles"]["FAILED"][0]["Key"]
        .as_str()
        .unwrap();
    let (failed, _) = get_json(&s3, &bucket, failed_key).await;
    let failed_ns: BTreeSet<i64> = failed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["Error"], "TooBig");
            assert_eq!(e["Status"], "FAILED");
            serde_json::from_str::<Value>(e["Input"].as_str().unwrap()).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(failed_ns, BTreeSet::from([8, 9, 10]));
    let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let (succeeded, _) = get_json(&s3, &bucket, succeeded_key).await;
    assert_eq!(succeeded.as_array().unwrap().len(), 7);

    // With two tolerated, the third failure fails the Map Run and the execution.
    let bad = run(&sfn, "strict", definition(2), json!({"bucket": bucket})).await;
    let done = wait_done(&sfn, &bad).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("States.ExceedToleratedFailureThreshold"));
    let runs = sfn
        .list_map_runs()
        .execution_arn(&bad)
        .send()
        .await
        .unwrap();
    let d = sfn
        .describe_map_run()
        .map_run_arn(runs.map_runs[0].map_run_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(d.status, MapRunStatus::Failed);
    assert_eq!(d.tolerated_failure_count, 2);
    assert_eq!(d.item_counts.unwrap().failed, 3);
    let history = sfn
        .get_execution_history()
        .execution_arn(&bad)
        .send()
        .await
        .unwrap();
    let failed = history
        .events
        .iter()
        .find(|e| e.r#type == HistoryEventType::MapRunFailed)
        .expect("MapRunFailed");
    assert_eq!(
        failed
            .map_run_failed_event_details()
            .and_then(|d| d.error()),
        Some("States.ExceedToleratedFailureThreshold")
    );

    // UpdateMapRun on a closed Map Run still validates its values as AWS does.
    let refused = sfn
        .update_map_run()
        .map_run_arn(runs.map_runs[0].map_run_arn())
        .tolerated_failure_percentage(150.0)
        .send()
        .await
        .expect_err("150%");
    assert!(
        format!("{refused:?}").contains("ValidationException"),
        "{refused:?}"
    );
    // A valid update of a Map Run that ended: ValidationException, reason
    // CANNOT_UPDATE_COMPLETED_MAP_RUN
    // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateMapRun.html).
    let closed = sfn
        .update_map_run()
        .map_run_arn(runs.map_runs[0].map_run_arn())
        .max_concurrency(5)
        .send()
        .await
        .expect_err("a completed Map Run");
    match closed.as_service_error() {
        Some(aws_sdk_sfn::operation::update_map_run::UpdateMapRunError::ValidationException(e)) => {
            assert_eq!(
                e.reason(),
                Some(&aws_sdk_sfn::types::ValidationExceptionReason::CannotUpdateCompletedMapRun),
                "{e:?}"
            );
        }
        other => panic!("expected a ValidationException: {other:?}"),
    }
    let unknown = sfn
        .describe_map_run()
        .map_run_arn("arn:aws:states:us-east-1:123456789012:mapRun:none/x:0")
        .send()
        .await
        .expect_err("unknown");
    assert!(
        format!("{unknown:?}").contains("ResourceNotFound"),
        "{unknown:?}"
    );
}

/// The repository's example `generated/examples/image-batch.asl.json` as written: a distributed
/// Map over an S3 listing in batches of 25, each batch a `startExecution.sync:2` child running
/// `resize-batch.asl.json` (whose Lambda is a registered Rust function here), the reports written
/// to S3 and their manifest's key published to SNS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_batch_example_runs_end_to_end() {
    let conf = shop_model::aws::sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let images = format!("images-{suffix}");
    let reports = format!("reports-{suffix}");
    for b in [&images, &reports] {
        s3.create_bucket().bucket(b).send().await.expect("bucket");
    }
    for i in 0..60 {
        put(&s3, &images, &format!("uploads/p{i:03}.png"), "png").await;
    }
    let sns = aws_sdk_sns::Client::new(&conf);
    let topic = sns
        .create_topic()
        .name(format!("batch-{suffix}"))
        .send()
        .await
        .expect("topic")
        .topic_arn()
        .unwrap()
        .to_string();
    let mut registry = TaskRegistry::new();
    AwsIntegrations::from_conf(&conf).register(&mut registry);
    registry.register_lambda("resize-images", |batch: Value| async move {
        Ok(json!({
            "resized": batch["Items"].as_array().map_or(0, Vec::len),
            "width": batch["BatchInput"]["width"],
        }))
    });
    let endpoint = serve_on_loopback(registry, ServerConfig::default()).await;
    let sfn = local_client(sfn_config(&conf), &endpoint);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/examples");
    let resize = std::fs::read_to_string(root.join("resize-batch.asl.json")).unwrap();
    let child = sfn
        .create_state_machine()
        .name("resize-batch")
        .definition(resize)
        .role_arn(ROLE)
        .send()
        .await
        .expect("child machine");
    let parent = std::fs::read_to_string(root.join("image-batch.asl.json"))
        .unwrap()
        .replace("${ImagesBucketName}", &images)
        .replace("${ReportsBucketName}", &reports)
        .replace("${ResizeBatchStateMachineArn}", child.state_machine_arn())
        .replace("${BatchTopicArn}", &topic);
    let definition: Value = serde_json::from_str(&parent).unwrap();
    let exec = run(&sfn, "image-batch", definition, json!({"width": 320})).await;
    let done = wait_done(&sfn, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{:?}", done.cause);
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    let manifest_key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert!(
        manifest_key.starts_with("resize-reports/"),
        "{manifest_key}"
    );
    let (manifest, _) = get_json(&s3, &reports, manifest_key).await;
    let key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap();
    let (entries, _) = get_json(&s3, &reports, key).await;
    // 60 images in batches of 25: 25 + 25 + 10.
    let mut counts: Vec<u64> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let out: Value = serde_json::from_str(e["Output"].as_str().unwrap()).unwrap();
            assert_eq!(out["width"], 320);
            out["resized"].as_u64().unwrap()
        })
        .collect();
    counts.sort();
    assert_eq!(counts, [10, 25, 25]);
    // Each batch ran as a resize-batch execution on the endpoint.
    let resized = sfn
        .list_executions()
        .state_machine_arn(child.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(resized.executions.len(), 3);
    assert!(resized
        .executions
        .iter()
        .all(|e| e.status == ExecutionStatus::Succeeded));
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html: "If the
// bucket has versioning enabled, you can also provide the Amazon S3 object version": the
// reader's GetObject asks S3 for that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_id_reads_that_version_of_the_object() {
    let (s3, sfn, bucket) = setup().await;
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let first = s3
        .put_object()
        .bucket(&bucket)
        .key("items.json")
        .body(b"[1, 2]".to_vec().into())
        .send()
        .await
        .expect("put v1");
    put(&s3, &bucket, "items.json", "[3]").await;
    let version = first
        .version_id()
        .expect("a versioned bucket answers a VersionId");
    let definition = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": "$.bucket", "Key": "items.json", "VersionId.$": "$.version"}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
            },
            "End": true
        }}
    });
    let arn = run(
        &sfn,
        &format!("versioned-{}", uuid::Uuid::new_v4().simple()),
        definition,
        json!({"bucket": bucket, "version": version}),
    )
    .await;
    let d = wait_done(&sfn, &arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.cause);
    let output: Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
    assert_eq!(output, json!([1, 2]));
}

/// A Parquet file of `names.len()` rows `{"id": i, "name": names[i]}`, ZSTD-compressed inside.
fn parquet_file(names: &[&str]) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;
    let schema = parquet::schema::parser::parse_message_type(
        "message row { REQUIRED INT64 id; REQUIRED BINARY name (UTF8); }",
    )
    .expect("schema");
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut out = Vec::new();
    let mut writer =
        SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(props)).expect("writer");
    let mut group = writer.next_row_group().expect("row group");
    let ids: Vec<i64> = (0..names.len() as i64).collect();
    let mut column = group.next_column().expect("id").expect("id column");
    column
        .typed::<Int64Type>()
        .write_batch(&ids, None, None)
        .expect("ids");
    column.close().expect("close ids");
    let values: Vec<ByteArray> = names.iter().map(|n| ByteArray::from(*n)).collect();
    let mut column = group.next_column().expect("name").expect("name column");
    column
        .typed::<ByteArrayType>()
        .write_batch(&values, None, None)
        .expect("names");
    column.close().expect("close names");
    group.close().expect("close row group");
    writer.close().expect("close file");
    out
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html: "Input files
// support the following external compression types: GZIP, ZSTD", Parquet files ("Internal GZIP,
// ZSTD, and Snappy data compression are natively supported"), each read from the bucket through
// the SDK, with no file name extension needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_and_parquet_objects_are_read_from_the_bucket() {
    let (s3, sfn, bucket) = setup().await;
    let put_bytes = |key: &'static str, body: Vec<u8>| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.into())
                .send()
                .await
                .expect("put");
        }
    };
    put_bytes(
        "in/items.jsonl.zstd",
        zstd::encode_all(&b"{\"n\": 1}\n{\"n\": 2}\n"[..], 3).expect("zstd"),
    )
    .await;
    put_bytes("in/rows", parquet_file(&["ada", "grace", "edsger"])).await;
    let map = |key: &str, input_type: &str| {
        json!({
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": input_type},
                    "Parameters": {"Bucket.$": "$.bucket", "Key": key}},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
                },
                "End": true
            }}
        })
    };
    for (key, input_type, expected) in [
        ("in/items.jsonl.zstd", "JSONL", json!([{"n": 1}, {"n": 2}])),
        (
            "in/rows",
            "PARQUET",
            json!([
                {"id": 0, "name": "ada"},
                {"id": 1, "name": "grace"},
                {"id": 2, "name": "edsger"}
            ]),
        ),
    ] {
        let arn = run(
            &sfn,
            &format!("read-{}", uuid::Uuid::new_v4().simple()),
            map(key, input_type),
            json!({"bucket": bucket}),
        )
        .await;
        let d = wait_done(&sfn, &arn).await;
        assert_eq!(d.status, ExecutionStatus::Succeeded, "{key}: {:?}", d.cause);
        let output: Value = serde_json::from_str(d.output.as_deref().unwrap()).unwrap();
        assert_eq!(output, expected, "{key}");
    }
}

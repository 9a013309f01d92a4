//! Distributed Map states in process, on the in-memory item store: ItemReader (CSV, JSON,
//! listObjectsV2, JSONata Arguments), ItemSelector, ItemBatcher, the Map Run's children and
//! tolerated failures, ResultWriter's files, and the history's Map Run events
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).

use std::sync::Arc;

use asl_engine::dmap::MemoryStore;
use asl_engine::{Engine, EventType, ExecOptions, ExecutionStatus, TaskRegistry};
use serde_json::{json, Value};
use workflow_dsl::model::StateMachine;

fn engine(store: &Arc<MemoryStore>) -> Engine {
    let mut registry = TaskRegistry::new();
    registry.set_item_store(store.clone());
    Engine::new(registry)
}

fn machine(v: Value) -> StateMachine {
    serde_json::from_value(v).expect("definition")
}

fn options() -> ExecOptions {
    ExecOptions {
        history: true,
        state_machine_name: Some("Batch".into()),
        ..ExecOptions::virtual_time()
    }
}

fn read_json(store: &MemoryStore, bucket: &str, key: &str) -> Value {
    serde_json::from_slice(&store.get(bucket, key).unwrap_or_else(|| panic!("no {key}")))
        .expect("JSON object")
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (CSV),
// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html,
// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
#[tokio::test]
async fn csv_items_are_selected_batched_and_written_to_the_store() {
    let store = Arc::new(MemoryStore::new());
    let rows: String = (1..=5).map(|i| format!("{i},item-{i}\n")).collect();
    store.put("data", "in/rows.csv", format!("id,label\n{rows}"));
    store.create_bucket("out");
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                "Parameters": {"Bucket": "data", "Key.$": "$.key"}
            },
            "ItemSelector": {"id.$": "$$.Map.Item.Value.id", "index.$": "$$.Map.Item.Index"},
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Count",
                "States": {"Count": {"Type": "Pass", "Parameters": {
                    "n.$": "States.ArrayLength($.Items)",
                    "run.$": "$.BatchInput.run",
                    "ids.$": "$.Items[*].id",
                    "child.$": "$$.Execution.Id"
                }, "End": true}}
            },
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "out", "Prefix": "reports"}},
            "Label": "rows",
            "End": true
        }}
    }));
    let r = engine(&store)
        .execute(&m, json!({"key": "in/rows.csv", "run": "r1"}), options())
        .await
        .expect("compiles");
    let ExecutionStatus::Succeeded { output } = r.status else {
        panic!("{:?}", r.status)
    };
    let map_run = output["MapRunArn"].as_str().expect("MapRunArn");
    assert!(
        map_run.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:Batch/rows:"),
        "{map_run}"
    );
    let id = map_run.rsplit(':').next().unwrap();
    let manifest_key = format!("reports/{id}/manifest.json");
    assert_eq!(
        output["ResultWriterDetails"],
        json!({"Bucket": "out", "Key": manifest_key})
    );
    let manifest = read_json(&store, "out", &manifest_key);
    assert_eq!(manifest["MapRunArn"], map_run);
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    let file = &manifest["ResultFiles"]["SUCCEEDED"][0];
    let key = file["Key"].as_str().unwrap();
    assert_eq!(key, format!("reports/{id}/SUCCEEDED_0.json"));
    let bytes = store.get("out", key).unwrap();
    assert_eq!(file["Size"], bytes.len());
    let entries: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    // 5 items in batches of 2: 3 children.
    assert_eq!(entries.len(), 3);
    let mut ids: Vec<String> = Vec::new();
    for e in &entries {
        assert_eq!(e["Status"], "SUCCEEDED");
        let out: Value = serde_json::from_str(e["Output"].as_str().unwrap()).unwrap();
        assert_eq!(out["run"], "r1");
        assert_eq!(out["child"], e["ExecutionArn"]);
        let input: Value = serde_json::from_str(e["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["BatchInput"], json!({"run": "r1"}));
        assert_eq!(out["n"], input["Items"].as_array().unwrap().len());
        ids.extend(
            out["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string()),
        );
        assert!(e["ExecutionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:states:us-east-1:123456789012:execution:Batch/rows:"));
    }
    ids.sort();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let types: Vec<EventType> = r.history.iter().map(|e| e.event_type).collect();
    let started = types.iter().position(|t| *t == EventType::MapRunStarted);
    let succeeded = types.iter().position(|t| *t == EventType::MapRunSucceeded);
    assert!(started.is_some() && started < succeeded, "{types:?}");
    let ev = &r.history[started.unwrap()];
    assert_eq!(ev.details_key(), Some("mapRunStartedEventDetails"));
    assert_eq!(ev.details().unwrap()["mapRunArn"], map_run);
    // The children's own states are not in the parent's history.
    assert!(!r
        .history
        .iter()
        .any(|e| e.event_type == EventType::PassStateEntered));
}

// https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html (failure threshold)
#[tokio::test]
async fn failures_past_the_tolerated_threshold_fail_the_map_run() {
    let store = Arc::new(MemoryStore::new());
    store.put(
        "data",
        "items.json",
        json!([{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}, {"n": 6}]).to_string(),
    );
    let def = |tolerance: Value| {
        let mut map = json!({
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": "data", "Key": "items.json"}},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Check",
                "States": {
                    "Check": {"Type": "Choice", "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 4, "Next": "Boom"}],
                        "Default": "Ok"},
                    "Boom": {"Type": "Fail", "Error": "TooBig", "Cause": "n > 4"},
                    "Ok": {"Type": "Pass", "End": true}
                }
            },
            "End": true
        });
        for (k, v) in tolerance.as_object().unwrap() {
            map[k] = v.clone();
        }
        machine(json!({"StartAt": "Each", "States": {"Each": map}}))
    };
    let eng = engine(&store);
    // Two of six items fail: 33%.
    for (tolerance, ok) in [
        (json!({}), false),
        (json!({"ToleratedFailureCount": 1}), false),
        (json!({"ToleratedFailureCount": 2}), true),
        (json!({"ToleratedFailurePercentage": 30}), false),
        // Both set: the Map Run fails when either is exceeded
        // (https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html).
        (
            json!({"ToleratedFailureCount": 1, "ToleratedFailurePercentage": 50}),
            false,
        ),
        (
            json!({"ToleratedFailureCount": 5, "ToleratedFailurePercentage": 30}),
            false,
        ),
        (
            json!({"ToleratedFailureCount": 2, "ToleratedFailurePercentage": 40}),
            true,
        ),
        (json!({"ToleratedFailurePercentage": 50}), true),
    ] {
        let r = eng
            .execute(&def(tolerance.clone()), json!({}), options())
            .await
            .unwrap();
        match (&r.status, ok) {
            (ExecutionStatus::Succeeded { output }, true) => {
                let arr = output.as_array().expect("array");
                assert_eq!(arr.len(), 6);
                assert_eq!(arr[0], json!({"n": 1}));
                // A failed child's result is its description, as Transformation NONE gives
                // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html).
                assert_eq!(arr[5]["Error"], "TooBig", "{tolerance}");
                assert_eq!(arr[5]["Cause"], "n > 4", "{tolerance}");
                assert_eq!(arr[5]["Status"], "FAILED", "{tolerance}");
                assert_eq!(arr[5]["Input"], json!({"n": 6}).to_string(), "{tolerance}");
                assert!(
                    arr[5]["ExecutionArn"]
                        .as_str()
                        .is_some_and(|a| a.contains(":execution:Batch/Each:")),
                    "{}",
                    arr[5]
                );
            }
            (ExecutionStatus::Failed { error, .. }, false) => {
                assert_eq!(
                    error.as_deref(),
                    Some("States.ExceedToleratedFailureThreshold"),
                    "{tolerance}"
                );
                let failed = r
                    .history
                    .iter()
                    .find(|e| e.event_type == EventType::MapRunFailed)
                    .expect("MapRunFailed");
                assert_eq!(failed.details_key(), Some("mapRunFailedEventDetails"));
                assert_eq!(
                    failed.details().unwrap()["error"],
                    "States.ExceedToleratedFailureThreshold"
                );
            }
            (status, _) => panic!("{tolerance}: {status:?}"),
        }
    }
    // The last Map Run (50% tolerated) succeeded with two failed items of six.
    let all = eng.registry().map_runs().all();
    assert_eq!(all.len(), 8);
    let last = all.last().unwrap();
    assert_eq!(last.status, "SUCCEEDED");
    let (items, executions) = last.counts();
    assert_eq!(items["failed"], 2);
    assert_eq!(items["succeeded"], 4);
    assert_eq!(executions["total"], 6);
    assert_eq!(
        eng.registry()
            .map_runs()
            .of_execution(&last.execution_arn)
            .len(),
        1
    );
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (listObjectsV2, MaxItems)
#[tokio::test]
async fn jsonata_arguments_list_objects_with_max_items() {
    let store = Arc::new(MemoryStore::new());
    for k in ["a", "b", "c", "d"] {
        store.put("pics", &format!("up/{k}.jpg"), k.repeat(3));
    }
    store.put("pics", "other/x.jpg", "x");
    let m = machine(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "ReaderConfig": {"MaxItems": 3},
                "Arguments": {"Bucket": "{% $states.input.bucket %}", "Prefix": "up/"}
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "Key",
                "States": {"Key": {"Type": "Pass", "Output": "{% $states.input.Key & ':' & $string($states.input.Size) %}", "End": true}}
            },
            "End": true
        }}
    }));
    let r = engine(&store)
        .execute(&m, json!({"bucket": "pics"}), options())
        .await
        .unwrap();
    let ExecutionStatus::Succeeded { output } = r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(output, json!(["up/a.jpg:3", "up/b.jpg:3", "up/c.jpg:3"]));
}

#[tokio::test]
async fn a_missing_object_fails_with_item_reader_failed() {
    let store = Arc::new(MemoryStore::new());
    store.create_bucket("data");
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "data", "Key": "missing.json"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true
        }}
    }));
    let r = engine(&store)
        .execute(&m, json!({}), options())
        .await
        .unwrap();
    let ExecutionStatus::Failed { error, cause } = r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(cause.unwrap_or_default().contains("NoSuchKey"));
    // Without a store configured, the same state fails with a cause that says so.
    let r = Engine::new(TaskRegistry::new())
        .execute(&m, json!({}), options())
        .await
        .unwrap();
    let ExecutionStatus::Failed { error, cause } = r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(cause.unwrap_or_default().contains("set_item_store"));
}

#[test]
fn item_reader_without_distributed_mode_is_refused() {
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "data", "Key": "k"}},
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true
        }}
    }));
    let e = Engine::new(TaskRegistry::new())
        .compile(&m)
        .expect_err("refused");
    assert!(e.to_string().contains("DISTRIBUTED"), "{e}");
}

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateMapRun.html:
// MaxConcurrency bounds the running children, and a change to the running Map Run's
// maxConcurrency applies to the children started after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_bounds_the_children_and_an_update_applies_while_running() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let store = Arc::new(MemoryStore::new());
    store.put(
        "data",
        "items.json",
        Value::Array((0..12).map(|n| json!({"n": n})).collect()).to_string(),
    );
    let mut registry = TaskRegistry::new();
    registry.set_item_store(store.clone());
    let runs = registry.map_runs().clone();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let peaks: Arc<std::sync::Mutex<Vec<usize>>> = Arc::default();
    {
        let (running, peak, peaks) = (running.clone(), peak.clone(), peaks.clone());
        registry.register_lambda("work", move |input: Value| {
            let (running, peak, peaks, runs) =
                (running.clone(), peak.clone(), peaks.clone(), runs.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                peaks.lock().unwrap().push(now);
                tokio::time::sleep(std::time::Duration::from_millis(15)).await;
                if input["n"] == 2 {
                    // UpdateMapRun's change, as the endpoint makes it.
                    for r in runs.all() {
                        runs.update(&r.map_run_arn, |r| r.max_concurrency = 3);
                    }
                }
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(input)
            }
        });
    }
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "data", "Key": "items.json"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "Work", "States": {"Work": {"Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": true}}},
            "MaxConcurrency": 1,
            "End": true
        }}
    }));
    let r = Engine::new(registry)
        .execute(&m, json!({}), ExecOptions::default())
        .await
        .unwrap();
    let ExecutionStatus::Succeeded { output } = r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(output.as_array().unwrap().len(), 12);
    assert_eq!(output[11], json!({"n": 11}));
    let seen = peaks.lock().unwrap().clone();
    // The first three children ran one at a time; after the update, up to three at once.
    assert_eq!(&seen[..3], &[1, 1, 1], "{seen:?}");
    assert_eq!(peak.load(Ordering::SeqCst), 3, "{seen:?}");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html:
// an export that cannot be written fails the execution with States.ResultWriterFailed.
#[tokio::test]
async fn an_export_to_a_missing_bucket_fails_the_map_run() {
    let store = Arc::new(MemoryStore::new());
    store.put("data", "items.json", "[1, 2]");
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "data", "Key": "items.json"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "no-such-bucket", "Prefix": "x"}},
            "End": true
        }}
    }));
    let eng = engine(&store);
    let r = eng.execute(&m, json!({}), options()).await.unwrap();
    let ExecutionStatus::Failed { error, cause } = r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(error.as_deref(), Some("States.ResultWriterFailed"));
    assert!(cause.unwrap_or_default().contains("NoSuchBucket"));
    let run = &eng.registry().map_runs().all()[0];
    assert_eq!(run.status, "FAILED");
    let (items, _) = run.counts();
    assert_eq!(items["succeeded"], 2);
    assert!(r
        .history
        .iter()
        .any(|e| e.event_type == EventType::MapRunFailed));
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html: an export
// with WriterConfig writes the succeeded children's outputs as the Transformation shapes them
// (FLATTEN: an array's elements in its place), in the OutputType (JSONL: one JSON value per line),
// and the failed children's results unchanged (their descriptions, as NONE gives).
#[tokio::test]
async fn an_export_with_writer_config_flattens_into_json_lines() {
    let store = Arc::new(MemoryStore::new());
    store.create_bucket("out");
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Check",
                "States": {
                    "Check": {"Type": "Choice", "Choices": [
                        {"Variable": "$.n", "NumericGreaterThan": 2, "Next": "Boom"}],
                        "Default": "Pair"},
                    "Boom": {"Type": "Fail", "Error": "TooBig", "Cause": "n > 2"},
                    "Pair": {"Type": "Pass",
                        "Parameters": {"pair.$": "States.Array($.n, $.n)"},
                        "OutputPath": "$.pair", "End": true}
                }
            },
            "ToleratedFailureCount": 1,
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "out", "Prefix": "flat"},
                "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}
            },
            "End": true
        }}
    }));
    let r = engine(&store)
        .execute(
            &m,
            json!({"items": [{"n": 1}, {"n": 2}, {"n": 3}]}),
            options(),
        )
        .await
        .expect("compiles");
    let ExecutionStatus::Succeeded { output } = r.status else {
        panic!("{:?}", r.status)
    };
    let manifest = read_json(
        &store,
        "out",
        output["ResultWriterDetails"]["Key"].as_str().unwrap(),
    );
    let lines = |status: &str| -> Vec<Value> {
        let key = manifest["ResultFiles"][status][0]["Key"]
            .as_str()
            .unwrap_or_else(|| panic!("no {status} file: {manifest}"));
        let body = String::from_utf8(store.get("out", key).unwrap()).unwrap();
        assert!(body.ends_with('\n'), "{body:?}");
        body.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON value per line"))
            .collect()
    };
    assert_eq!(lines("SUCCEEDED"), [json!(1), json!(1), json!(2), json!(2)]);
    let failed = lines("FAILED");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Error"], "TooBig");
    assert_eq!(failed[0]["Input"], json!({"n": 3}).to_string());
}

/// A Distributed Map of a Pass processor over `reader`: the items the children got, or the
/// failure.
async fn items_read(
    store: &Arc<MemoryStore>,
    reader: Value,
) -> Result<Vec<Value>, (String, String)> {
    let m = machine(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemReader": reader,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
            },
            "End": true
        }}
    }));
    let r = engine(store)
        .execute(&m, json!({}), options())
        .await
        .expect("compiles");
    match r.status {
        ExecutionStatus::Succeeded { output } => Ok(output.as_array().expect("array").clone()),
        ExecutionStatus::Failed { error, cause } => {
            Err((error.unwrap_or_default(), cause.unwrap_or_default()))
        }
        other => panic!("{other:?}"),
    }
}

/// A store whose bucket `data` holds two JSON Lines objects under `logs/`: `a.jsonl` (records
/// `{"n": 1}`, `{"n": 2}`) and `b.jsonl` (`{"n": 3}`).
fn store_with_logs() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    store.put(
        "data",
        "logs/a.jsonl",
        "{\"n\": 1}\n{\"n\": 2}\n".to_string(),
    );
    store.put("data", "logs/b.jsonl", "{\"n\": 3}\n".to_string());
    store
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html:
// `ReaderConfig.Transformation: LOAD_AND_FLATTEN` on a listObjectsV2 reader reads each listed
// object as `InputType` says; the items are the records, and MaxItems counts records.
#[tokio::test]
async fn load_and_flatten_reads_the_records_of_every_listed_object() {
    let store = store_with_logs();
    store.put("data", "other/c.jsonl", "{\"n\": 9}\n".to_string());
    let reader = |extra: Value| {
        let mut r = json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
            "ReaderConfig": {"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN"},
            "Parameters": {"Bucket": "data", "Prefix": "logs/"}});
        for (k, v) in extra.as_object().unwrap() {
            r["ReaderConfig"][k] = v.clone();
        }
        r
    };
    assert_eq!(
        items_read(&store, reader(json!({}))).await.unwrap(),
        [json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]
    );
    assert_eq!(
        items_read(&store, reader(json!({"MaxItems": 2})))
            .await
            .unwrap(),
        [json!({"n": 1}), json!({"n": 2})]
    );
    // Without an InputType there is no way to read the objects: a clear failure.
    let mut no_type = reader(json!({}));
    no_type["ReaderConfig"]
        .as_object_mut()
        .unwrap()
        .remove("InputType");
    let (error, cause) = items_read(&store, no_type).await.unwrap_err();
    assert_eq!(error, "States.ItemReaderFailed");
    assert!(cause.contains("InputType is required"), "{cause}");
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html:
// `ReaderConfig.ItemsPointer` selects the array of a JSON object's document.
#[tokio::test]
async fn items_pointer_selects_a_nested_array() {
    let store = Arc::new(MemoryStore::new());
    store.put(
        "data",
        "doc.json",
        json!({"meta": {"v": 1}, "updates": {"items": [{"id": "a"}, {"id": "b"}]}}).to_string(),
    );
    let reader = |pointer: &str| {
        json!({"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON", "ItemsPointer": pointer},
            "Parameters": {"Bucket": "data", "Key": "doc.json"}})
    };
    assert_eq!(
        items_read(&store, reader("/updates/items")).await.unwrap(),
        [json!({"id": "a"}), json!({"id": "b"})]
    );
    for (pointer, says) in [
        ("/meta", "does not point to an array"),
        ("/nope", "points to nothing"),
    ] {
        let (error, cause) = items_read(&store, reader(pointer)).await.unwrap_err();
        assert_eq!(error, "States.ItemReaderFailed");
        assert!(cause.contains(says), "{pointer}: {cause}");
    }
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html:
// `ManifestType: ATHENA_DATA` reads the data files an Athena UNLOAD manifest lists, each as
// `InputType` says (CSV without a header row: the headers are GIVEN).
#[tokio::test]
async fn an_athena_manifest_lists_the_data_files_to_read() {
    let store = Arc::new(MemoryStore::new());
    store.put("results", "q1/part-0.csv", "1,mug\n2,tee\n".to_string());
    store.put("results", "q1/part-1.csv", "3,pin\n".to_string());
    store.put(
        "results",
        "q1/q1-manifest.csv",
        "s3://results/q1/part-0.csv\ns3://results/q1/part-1.csv\n".to_string(),
    );
    let items = items_read(
        &store,
        json!({"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"ManifestType": "ATHENA_DATA", "InputType": "CSV",
                "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["id", "sku"]},
            "Parameters": {"Bucket": "results", "Key": "q1/q1-manifest.csv"}}),
    )
    .await
    .unwrap();
    assert_eq!(
        items,
        [
            json!({"id": "1", "sku": "mug"}),
            json!({"id": "2", "sku": "tee"}),
            json!({"id": "3", "sku": "pin"})
        ]
    );
}

/// The sources an ItemSelector sees in `$$.Map.Item.Source` over `reader` (`None`: items from the
/// state's input), through a JSONPath and a JSONata ItemSelector alike.
async fn item_sources(store: &Arc<MemoryStore>, reader: Option<Value>, input: Value) -> Vec<Value> {
    let mut all = Vec::new();
    for jsonata in [false, true] {
        let mut map = json!({
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
            },
            "End": true
        });
        if jsonata {
            map["QueryLanguage"] = json!("JSONata");
            map["ItemSelector"] = json!({"source": "{% $states.context.Map.Item.Source %}"});
        } else {
            map["ItemSelector"] = json!({"source.$": "$$.Map.Item.Source"});
        }
        if let Some(reader) = &reader {
            let mut reader = reader.clone();
            if jsonata {
                if let Some(p) = reader.as_object_mut().unwrap().remove("Parameters") {
                    reader["Arguments"] = p;
                }
            }
            map["ItemReader"] = reader;
        }
        let m = machine(json!({"StartAt": "Each", "States": {"Each": map}}));
        let r = engine(store)
            .execute(&m, input.clone(), options())
            .await
            .expect("compiles");
        let ExecutionStatus::Succeeded { output } = r.status else {
            panic!("{:?}", r.status)
        };
        let sources: Vec<Value> = output
            .as_array()
            .expect("array")
            .iter()
            .map(|o| o["source"].clone())
            .collect();
        if jsonata {
            assert_eq!(sources, all, "JSONata sees what JSONPath sees");
        } else {
            all = sources;
        }
    }
    all
}

// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html: the
// context object's `Map.Item.Source` is `STATE_DATA` for items of the state's input, the bucket's
// S3 URI for a listObjectsV2 listing, and the object's S3 URI otherwise.
#[tokio::test]
async fn an_item_selector_sees_where_each_item_came_from() {
    let store = store_with_logs();
    store.put("data", "all.json", "[1, 2]".to_string());
    assert_eq!(
        item_sources(&store, None, json!([1, 2])).await,
        [json!("STATE_DATA"), json!("STATE_DATA")]
    );
    let get = json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "data", "Key": "all.json"}});
    assert_eq!(
        item_sources(&store, Some(get), json!({})).await,
        [json!("S3://data/all.json"), json!("S3://data/all.json")]
    );
    let list = json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data", "Prefix": "logs/"}});
    assert_eq!(
        item_sources(&store, Some(list), json!({})).await,
        [json!("S3://data"), json!("S3://data")]
    );
    let flatten = json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
        "ReaderConfig": {"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN"},
        "Parameters": {"Bucket": "data", "Prefix": "logs/"}});
    assert_eq!(
        item_sources(&store, Some(flatten), json!({})).await,
        [
            json!("S3://data/logs/a.jsonl"),
            json!("S3://data/logs/a.jsonl"),
            json!("S3://data/logs/b.jsonl")
        ]
    );
}

// https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html,
// https://docs.aws.amazon.com/step-functions/latest/apireference/API_MapRunExecutionCounts.html:
// a child stopped on its own (here in the middle of a Task that would never return: its call is
// dropped) ends ABORTED with the stop's error and cause, and counts as a failed item: with no
// tolerated failure the Map Run fails once the other children have ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_stopped_on_its_own_is_aborted_and_counts_as_a_failure() {
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Set when the held call's future is dropped.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let store = Arc::new(MemoryStore::new());
    let mut registry = TaskRegistry::new();
    registry.set_item_store(store.clone());
    let runs = registry.map_runs().clone();
    let dropped = Arc::new(AtomicBool::new(false));
    {
        let dropped = dropped.clone();
        registry.register_lambda("hold", move |input: Value| {
            // Item 2's call holds a guard and never returns.
            let held = (input["n"] == 2).then(|| Dropped(dropped.clone()));
            async move {
                if let Some(_guard) = held {
                    std::future::pending::<()>().await;
                }
                Ok(input)
            }
        });
    }
    let m = machine(json!({"StartAt": "Each", "States": {"Each": {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Hold", "States": {"Hold": {"Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hold", "End": true}}},
        "End": true
    }}}));
    let stopper = {
        let runs = runs.clone();
        tokio::spawn(async move {
            for _ in 0..500 {
                let held = runs.all().into_iter().find_map(|r| {
                    r.children
                        .into_iter()
                        .find(|c| c.input["n"] == 2 && c.status == "RUNNING")
                });
                if let Some(c) = held {
                    let now = chrono::Utc::now();
                    let stop = runs.stop_child(&c.arn, Some("Halted".into()), None, now);
                    assert_eq!(stop, Some(now));
                    return c.arn;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            panic!("the held child never ran");
        })
    };
    let r = Engine::new(registry)
        .execute(
            &m,
            json!({"items": [{"n": 1}, {"n": 2}, {"n": 3}]}),
            options(),
        )
        .await
        .unwrap();
    let child = stopper.await.unwrap();
    let ExecutionStatus::Failed { error, .. } = &r.status else {
        panic!("{:?}", r.status)
    };
    assert_eq!(
        error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    // The stop aborts the child's task; the task is dropped on a worker, which may be after the
    // Map Run has seen the child end.
    for _ in 0..500 {
        if dropped.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        dropped.load(Ordering::SeqCst),
        "the held call was not dropped"
    );
    let (c, run) = runs.child(&child).unwrap();
    assert_eq!(c.status, "ABORTED");
    assert_eq!(
        (c.error.as_deref(), c.cause.as_deref()),
        (Some("Halted"), None)
    );
    let last = c.history.values().pop().unwrap();
    assert_eq!(last["type"], "ExecutionAborted");
    assert_eq!(
        last["executionAbortedEventDetails"],
        json!({"error": "Halted"})
    );
    let (executions, _) = run.counts();
    assert_eq!(executions["aborted"], 1, "{executions}");
    assert_eq!(executions["succeeded"], 2, "{executions}");
    // A closed child keeps its stop date; an unknown one is not found.
    let stop = c.stop.unwrap();
    assert_eq!(
        runs.stop_child(&child, None, None, chrono::Utc::now()),
        Some(stop)
    );
    assert_eq!(runs.stop_child("arn:nope", None, None, stop), None);
}

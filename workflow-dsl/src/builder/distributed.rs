//! Distributed Map states: items read from S3 ([`ItemReader`]), batched ([`ItemBatcher`]),
//! results written to S3 ([`ResultWriter`]), each iteration a child workflow execution, with
//! tolerated failures, a label and the child workflows' type
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>).
//!
//! The item type the processor receives is what the reader produces (an S3 object listing's
//! [`S3ObjectItem`], a CSV row of strings, a JSON item of your own type), a [`Batch`] of them
//! when batched; with a [`ResultWriter`] the state's output is a [`MapRunResult`], not the
//! array of results. Both are checked at emit.
//!
//! ```
//! use workflow_dsl::builder::{workflow, DistributedMap, ItemReader, Pass, ResultWriter};
//! use workflow_dsl::builder::distributed::{MapRunResult, S3ObjectItem};
//!
//! let flow = workflow::<serde_json::Value>("Thumbnails").distributed_map_to_s3::<S3ObjectItem, S3ObjectItem>(
//!     DistributedMap::new("Each image")
//!         .item_reader(ItemReader::s3_objects("${ImagesBucket}", "uploads/"))
//!         .result_writer(ResultWriter::s3("${ResultsBucket}", "thumbnails"))
//!         .tolerated_failure_percentage(5.0)
//!         .label("thumbnails"),
//!     |item| item.pass(Pass::new("Resize")),
//! );
//! let emitted = workflow_dsl::emit::emit(flow).unwrap();
//! assert!(emitted.json.contains("\"Mode\": \"DISTRIBUTED\""));
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map as JsonMap, Value};

use super::states::Handling;
use super::{Graph, Meta};
use crate::model::{
    ItemBatcher as ItemBatcherModel, ItemReader as ItemReaderModel, MapState, ProcessorConfig,
    QueryLanguage, ResultWriter as ResultWriterModel, State, SubWorkflow,
};
use crate::typed::{AnyError, Catch, Retry};
use crate::vars::{write_assign, Assignment, Var};

/// One object of an S3 listing, as a distributed Map's `ListObjectsV2` reader hands it to an
/// iteration (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html>:
/// `{"Etag": "\"0570...\"", "Key": "...", "LastModified": 1668699881, "Size": 34910,
/// "StorageClass": "STANDARD"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct S3ObjectItem {
    /// The object's ETag (with its quotes, as S3 writes it).
    pub etag: String,
    /// The object's key.
    pub key: String,
    /// When the object was last modified, in seconds since the Unix epoch.
    pub last_modified: i64,
    /// The object's size in bytes.
    pub size: u64,
    /// The object's storage class.
    pub storage_class: String,
}

/// What an iteration of a batched distributed Map receives: the batch's items and the
/// `BatchInput` common to every batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Batch<I, B = Value> {
    /// The items of this batch.
    #[serde(rename = "Items")]
    pub items: Vec<I>,
    /// The `ItemBatcher.BatchInput` value.
    #[serde(rename = "BatchInput")]
    pub batch_input: Option<B>,
}

/// Where a [`ResultWriter`] put the Map Run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ResultWriterDetails {
    /// The bucket.
    pub bucket: String,
    /// The key of the run's `manifest.json`.
    pub key: String,
}

/// The output of a distributed Map with a [`ResultWriter`]: the Map Run and where its results
/// are, instead of the array of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MapRunResult {
    /// The Map Run's ARN.
    pub map_run_arn: String,
    /// Where the results were written.
    pub result_writer_details: ResultWriterDetails,
}

/// The headers of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvHeaders {
    /// The first row holds the headers.
    FirstRow,
    /// The file has no header row; these are the column names.
    Given(Vec<String>),
}

/// Where a distributed Map reads its items.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReader {
    model: ItemReaderModel,
}

impl ItemReader {
    fn s3_file(bucket: &str, key: &str, input_type: &str) -> Self {
        ItemReader {
            model: ItemReaderModel {
                resource: "arn:aws:states:::s3:getObject".to_owned(),
                reader_config: Some(json!({ "InputType": input_type })),
                parameters: Some(json!({ "Bucket": bucket, "Key": key })),
                ..Default::default()
            },
        }
    }

    /// A JSON file holding an array of items.
    pub fn s3_json(bucket: &str, key: &str) -> Self {
        ItemReader::s3_file(bucket, key, "JSON")
    }

    /// A JSON Lines file: one item per line.
    pub fn s3_jsonl(bucket: &str, key: &str) -> Self {
        ItemReader::s3_file(bucket, key, "JSONL")
    }

    /// A CSV file: each row is an item, an object of strings keyed by the headers.
    pub fn s3_csv(bucket: &str, key: &str, headers: CsvHeaders) -> Self {
        let mut reader = ItemReader::s3_file(bucket, key, "CSV");
        let config = reader.config();
        match headers {
            CsvHeaders::FirstRow => {
                config.insert("CSVHeaderLocation".into(), json!("FIRST_ROW"));
            }
            CsvHeaders::Given(names) => {
                config.insert("CSVHeaderLocation".into(), json!("GIVEN"));
                config.insert("CSVHeaders".into(), json!(names));
            }
        }
        reader
    }

    /// An Apache Parquet file: each row is an item, an object keyed by column name (the file's
    /// schema, which the builder does not see, decides the values: the processor's input type is
    /// not checked against it). Snappy, GZIP and ZSTD compression inside the file are read.
    pub fn s3_parquet(bucket: &str, key: &str) -> Self {
        ItemReader::s3_file(bucket, key, "PARQUET")
    }

    /// An S3 Inventory manifest (`manifest.json` of a CSV inventory): each object the inventory
    /// lists is an item, an object of strings (`Bucket`, `Key`, `Size`, ... as the inventory's
    /// schema names them).
    pub fn s3_inventory_manifest(bucket: &str, key: &str) -> Self {
        ItemReader::s3_file(bucket, key, "MANIFEST")
    }

    /// The objects under `prefix` (`ListObjectsV2`): each is an [`S3ObjectItem`].
    pub fn s3_objects(bucket: &str, prefix: &str) -> Self {
        ItemReader {
            model: ItemReaderModel {
                resource: "arn:aws:states:::s3:listObjectsV2".to_owned(),
                parameters: Some(json!({ "Bucket": bucket, "Prefix": prefix })),
                ..Default::default()
            },
        }
    }

    fn config(&mut self) -> &mut JsonMap<String, Value> {
        let config = self
            .model
            .reader_config
            .get_or_insert_with(|| Value::Object(JsonMap::new()));
        match config {
            Value::Object(map) => map,
            _ => unreachable!("the builder writes an object"),
        }
    }

    /// The CSV delimiter: `COMMA` (default), `PIPE`, `SEMICOLON`, `SPACE` or `TAB`.
    pub fn csv_delimiter(mut self, delimiter: &str) -> Self {
        self.config()
            .insert("CSVDelimiter".into(), json!(delimiter));
        self
    }

    /// Reads at most `items` items (`ReaderConfig.MaxItems`).
    pub fn max_items(mut self, items: u64) -> Self {
        self.config().insert("MaxItems".into(), json!(items));
        self
    }

    /// Sets one request field (`"Key"` for a literal, `"Key.$"` for a JSONPath).
    pub fn parameter(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let Some(Value::Object(map)) = &mut self.model.parameters {
            let other = match key.strip_suffix(".$") {
                Some(plain) => plain.to_owned(),
                None => format!("{key}.$"),
            };
            map.remove(&other);
            map.insert(key.to_owned(), value.into());
        }
        self
    }
}

/// How a distributed Map batches items: each child workflow receives a [`Batch`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemBatcher {
    model: ItemBatcherModel,
}

impl ItemBatcher {
    /// At most `items` items per batch.
    pub fn max_items(items: u64) -> Self {
        ItemBatcher {
            model: ItemBatcherModel {
                max_items_per_batch: Some(items.into()),
                ..Default::default()
            },
        }
    }

    /// At most `bytes` bytes of items per batch (up to 256 KiB).
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.model.max_input_bytes_per_batch = Some(bytes.into());
        self
    }

    /// `BatchInput`: a value every batch carries (a template over the state input).
    pub fn batch_input(mut self, template: Value) -> Self {
        self.model.batch_input = Some(template);
        self
    }
}

/// Where a distributed Map writes its results: then its output is a [`MapRunResult`].
#[derive(Debug, Clone, PartialEq)]
pub struct ResultWriter {
    model: ResultWriterModel,
}

impl ResultWriter {
    /// Results under `prefix` in `bucket` (a `manifest.json` and the result files).
    pub fn s3(bucket: &str, prefix: &str) -> Self {
        ResultWriter {
            model: ResultWriterModel {
                resource: Some("arn:aws:states:::s3:putObject".to_owned()),
                parameters: Some(json!({ "Bucket": bucket, "Prefix": prefix })),
                ..Default::default()
            },
        }
    }

    /// `WriterConfig`: `output_type` `JSON` or `JSONL`, `transformation` `NONE`, `COMPACT` or
    /// `FLATTEN`.
    pub fn writer_config(mut self, output_type: &str, transformation: &str) -> Self {
        self.model.writer_config = Some(json!({
            "OutputType": output_type,
            "Transformation": transformation,
        }));
        self
    }
}

/// A distributed Map state: each item (or batch) runs as a child workflow execution.
#[must_use]
pub struct DistributedMap {
    name: String,
    state: MapState,
    handling: Handling,
    assignments: Vec<Assignment>,
    express: bool,
}

impl DistributedMap {
    /// A distributed Map named `name` whose child workflows are STANDARD executions.
    pub fn new(name: &str) -> Self {
        DistributedMap {
            name: name.to_owned(),
            state: MapState::default(),
            handling: Handling::default(),
            assignments: Vec::new(),
            express: false,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(super) fn has_result_writer(&self) -> bool {
        self.state.result_writer.is_some()
    }

    /// Child workflows run as EXPRESS executions (at most five minutes each).
    pub fn express(mut self) -> Self {
        self.express = true;
        self
    }

    /// Reads the items from S3 (without it: from the state input, `ItemsPath`/`Items`).
    pub fn item_reader(mut self, reader: ItemReader) -> Self {
        self.state.item_reader = Some(reader.model);
        self
    }

    /// Batches the items; each child workflow receives a [`Batch`].
    pub fn item_batcher(mut self, batcher: ItemBatcher) -> Self {
        self.state.item_batcher = Some(batcher.model);
        self
    }

    /// Writes the results to S3; the state's output is then a [`MapRunResult`].
    pub fn result_writer(mut self, writer: ResultWriter) -> Self {
        self.state.result_writer = Some(writer.model);
        self
    }

    /// `ItemsPath`: the array of the state input to iterate over (without an ItemReader).
    pub fn items_path(mut self, path: &str) -> Self {
        self.state.items_path = Some(path.to_owned());
        self
    }

    /// `Items` (JSONata): the array to iterate over (without an ItemReader).
    pub fn items(mut self, items: impl Into<Value>) -> Self {
        self.state.items = Some(items.into());
        self
    }

    /// `ItemSelector`: reshapes each item.
    pub fn item_selector(mut self, selector: Value) -> Self {
        self.state.item_selector = Some(selector);
        self
    }

    /// `MaxConcurrency`: child workflows running at once (0: as many as possible).
    pub fn max_concurrency(mut self, limit: u64) -> Self {
        self.state.max_concurrency = Some(limit.into());
        self
    }
    /// `MaxConcurrency` as a JSONata expression (JSONata states), e.g. `"{% $limit %}"`.
    pub fn max_concurrency_expr(mut self, expression: &str) -> Self {
        self.state.max_concurrency = Some(crate::model::NumberOrExpr::Expr(expression.to_owned()));
        self
    }

    /// `ToleratedFailureCount`: failed items the Map Run tolerates.
    pub fn tolerated_failure_count(mut self, count: u64) -> Self {
        self.state.tolerated_failure_count = Some(count.into());
        self
    }

    /// `ToleratedFailureCountPath`: the tolerated count, read from the state input.
    pub fn tolerated_failure_count_path(mut self, path: &str) -> Self {
        self.state.tolerated_failure_count_path = Some(path.to_owned());
        self
    }

    /// `ToleratedFailurePercentage` (0 to 100).
    pub fn tolerated_failure_percentage(mut self, percentage: f64) -> Self {
        self.state.tolerated_failure_percentage =
            serde_json::Number::from_f64(percentage).map(crate::model::NumberOrExpr::Number);
        self
    }

    /// `ToleratedFailurePercentagePath`: the tolerated percentage, read from the state input.
    pub fn tolerated_failure_percentage_path(mut self, path: &str) -> Self {
        self.state.tolerated_failure_percentage_path = Some(path.to_owned());
        self
    }

    /// `Label`: names the Map Run (at most 40 characters).
    pub fn label(mut self, label: &str) -> Self {
        self.state.label = Some(label.to_owned());
        self
    }

    /// `ResultSelector`.
    pub fn result_selector(mut self, selector: Value) -> Self {
        self.state.result_selector = Some(selector);
        self
    }

    /// `ResultPath` (then declare the merged type with `distributed_map_as`).
    pub fn result_path(mut self, path: &str) -> Self {
        self.state.result_path = Some(Some(path.to_owned()));
        self
    }

    /// `Output` (JSONata states).
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state.output = Some(output.into());
        self
    }

    /// Assigns `value` to `var` when the Map Run succeeded (checked at emit against `V`).
    pub fn assign<V: JsonSchema>(mut self, var: &Var<V>, value: impl Into<Value>) -> Self {
        self.assignments
            .push(Assignment::of(var, value.into(), false));
        self
    }

    /// `QueryLanguage` of this state alone.
    pub fn query_language(mut self, language: QueryLanguage) -> Self {
        self.state.query_language = Some(language);
        self
    }

    /// `Comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state.comment = Some(comment.into());
        self
    }

    /// Adds a retrier.
    pub fn retry(mut self, retry: Retry<AnyError>) -> Self {
        self.handling.retry(retry);
        self
    }

    /// Adds a catcher going to `next`.
    pub fn catch(mut self, catch: Catch<AnyError>, next: &str) -> Self {
        self.handling.catch(catch, next);
        self
    }

    pub(super) fn into_state(mut self, mut processor: Graph) -> (String, State, Meta) {
        let mut meta = std::mem::take(&mut processor.meta);
        super::states::declare(
            &mut meta,
            &self.name,
            &self.assignments,
            &self.handling.variables,
        );
        write_assign(&mut self.state.assign, &self.assignments);
        let (retry, catch, problems) = self.handling.finish(&self.name);
        meta.problems.extend(problems);
        self.state.retry = retry;
        self.state.catch = catch;
        self.state.item_processor = Some(SubWorkflow {
            comment: None,
            processor_config: Some(ProcessorConfig {
                mode: Some("DISTRIBUTED".to_owned()),
                execution_type: Some(if self.express { "EXPRESS" } else { "STANDARD" }.to_owned()),
                ..Default::default()
            }),
            start_at: processor.start.unwrap_or_default(),
            states: processor.states,
            extra: Default::default(),
        });
        (self.name, State::Map(self.state), meta)
    }
}

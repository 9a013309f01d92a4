//! A batch over every image under a prefix of a bucket (a distributed Map reading the S3
//! listing, 25 images per batch), each batch handed to a typed child workflow that resizes it;
//! the reports go to S3 and a notification says where. Every state is written by the builder:
//! the batch type the child takes is the one the reader and batcher produce, and the parent
//! receives the Map Run's result, as AWS returns it with a ResultWriter.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_dsl::builder::distributed::{Batch, MapRunResult, S3ObjectItem};
use workflow_dsl::builder::{
    child, task, workflow, DistributedMap, Flow, ItemBatcher, ItemReader, ResultWriter, Task,
};
use workflow_dsl::integrations::sns;
use workflow_dsl::typed::{NoErrors, Retry, TaskStep, TypedWorkflow};

/// The parent workflow's name under `generated/examples/`.
pub const NAME: &str = "image-batch";

/// What starts a batch.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    pub width: u32,
}

/// What every batch carries besides its images.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResizeSettings {
    pub width: u32,
}

/// One batch of images.
pub type ImageBatch = Batch<S3ObjectItem, ResizeSettings>;

/// What resizing a batch did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchReport {
    pub resized: u32,
    pub skipped: u32,
}

/// Resizes the images of a batch.
pub struct ResizeImages;
impl TaskStep for ResizeImages {
    const NAME: &'static str = "resize-images";
    type Input = ImageBatch;
    type Output = BatchReport;
    type Error = NoErrors;
}

/// The child workflow: one batch.
pub struct ResizeBatch;
impl TypedWorkflow for ResizeBatch {
    const NAME: &'static str = "resize-batch";
    type Input = ImageBatch;
    type Output = BatchReport;
}

/// The child workflow's definition.
pub fn resize_batch_workflow() -> Flow<BatchReport> {
    workflow::<ImageBatch>("Resizes one batch of images").then(
        task::<ResizeImages>("Resize images")
            .timeout_seconds(300)
            .retry(Retry::lambda_service_errors()),
    )
}

/// The parent workflow.
pub fn image_batch_workflow() -> Flow<MapRunResult> {
    workflow::<BatchRequest>("Resizes every uploaded image, 25 per child workflow")
        .distributed_map_to_s3::<ImageBatch, BatchReport>(
            DistributedMap::new("Each batch of images")
                .item_reader(ItemReader::s3_objects("${ImagesBucketName}", "uploads/"))
                .item_batcher(
                    ItemBatcher::max_items(25).batch_input(json!({ "width.$": "$.width" })),
                )
                .result_writer(ResultWriter::s3("${ReportsBucketName}", "resize-reports"))
                .max_concurrency(100)
                .tolerated_failure_percentage(5.0)
                .label("resize"),
            |batch| batch.then_child(child::<ResizeBatch>("Resize batch")),
        )
        .then_keep(
            Task::call(
                "Say where the reports are",
                sns::publish("${BatchTopicArn}")
                    .parameter("Message.$", "$.ResultWriterDetails.Key"),
            )
            .retry(Retry::all().interval_seconds(2).max_attempts(3)),
        )
}

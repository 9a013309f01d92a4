//! The local stand-in for an SQS event source mapping: long-polls a queue and hands each batch
//! to the same code the Lambda runs ([`BatchHandler`]: the `order-starter`'s
//! `steps::starter::start_batch`, the `image-intake`'s `api::intake::take_in_batch`), deleting
//! the messages it handled and leaving failures on the queue for SQS to redeliver and finally
//! move to the DLQ.
//!
//! Event source mapping behaviour mirrored:
//! <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsBatchResponse;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use steps::ports::ExecutionStarter;
use tokio::sync::watch;

/// What a Lambda with an SQS event source does with one batch.
#[async_trait::async_trait]
pub trait BatchHandler: Send + Sync {
    /// The log target (`starter`, `intake`).
    fn name(&self) -> &'static str;
    /// Handles a batch: failed records are reported, a whole-batch error leaves every record.
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, String>;
}

/// The `order-starter` Lambda's handler over a starter.
pub struct StartExecutions<S>(pub S);

#[async_trait::async_trait]
impl<S: ExecutionStarter> BatchHandler for StartExecutions<S> {
    fn name(&self) -> &'static str {
        "starter"
    }
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        steps::starter::start_batch(event, &self.0)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The `image-intake` Lambda's handler over the catalog and the images bucket.
pub struct TakeInImages<C, O> {
    pub catalog: C,
    pub objects: O,
}

#[async_trait::async_trait]
impl<C: api::ports::CatalogAdmin, O: api::intake::ImageObjects> BatchHandler
    for TakeInImages<C, O>
{
    fn name(&self) -> &'static str {
        "intake"
    }
    async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        Ok(api::intake::take_in_batch(&self.catalog, &self.objects, event).await)
    }
}

/// Settings of the poller (the template's event source mapping and queue settings).
#[derive(Debug, Clone)]
pub struct PollerConfig {
    pub queue_url: String,
    pub queue_arn: String,
    /// `BatchSize` of the event source mapping (at most 10 per ReceiveMessage).
    pub batch_size: i32,
    /// Long-poll wait (the queue's `ReceiveMessageWaitTimeSeconds`, at most 20).
    pub wait_seconds: i32,
}

/// What the poller did so far.
#[derive(Debug, Default)]
pub struct PollerStats {
    /// ReceiveMessage calls that failed.
    pub receive_errors: AtomicU64,
    /// Records handed to the starter.
    pub records: AtomicU64,
    /// Records the starter reported as batch item failures (left on the queue).
    pub redelivered: AtomicU64,
    /// Whole batches that failed.
    pub failed_batches: AtomicU64,
    /// DeleteMessageBatch calls that failed (the messages come back; the start is idempotent).
    pub delete_errors: AtomicU64,
}

impl PollerStats {
    /// (receive errors, records, redelivered, failed batches, delete errors).
    pub fn snapshot(&self) -> [u64; 5] {
        [
            &self.receive_errors,
            &self.records,
            &self.redelivered,
            &self.failed_batches,
            &self.delete_errors,
        ]
        .map(|n| n.load(Ordering::SeqCst))
    }
}

/// Polls until `stop` turns true.
pub async fn run<H: BatchHandler + ?Sized>(
    sqs: aws_sdk_sqs::Client,
    handler: &H,
    config: PollerConfig,
    mut stop: watch::Receiver<bool>,
    stats: &PollerStats,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        if *stop.borrow() {
            return;
        }
        let receive = sqs
            .receive_message()
            .queue_url(&config.queue_url)
            .max_number_of_messages(config.batch_size.clamp(1, 10))
            .wait_time_seconds(config.wait_seconds.clamp(0, 20))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send();
        let received = tokio::select! {
            _ = stop.changed() => return,
            r = receive => r,
        };
        let messages = match received {
            Ok(out) => {
                backoff = Duration::from_millis(200);
                out.messages.unwrap_or_default()
            }
            Err(error) => {
                stats.receive_errors.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(target: "poller", handler = handler.name(), "ReceiveMessage failed: {}", aws_sdk_sqs::error::DisplayErrorContext(&error));
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut event = SqsEvent::default();
        let mut handles = Vec::new();
        for message in messages {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id.clone();
            record.receipt_handle = message.receipt_handle.clone();
            record.body = message.body.clone();
            record.md5_of_body = message.md5_of_body.clone();
            record.attributes = message
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(config.queue_arn.clone());
            record.aws_region = Some(super::cfn::REGION.into());
            if let (Some(id), Some(handle)) = (message.message_id, message.receipt_handle) {
                handles.push((id, handle));
            }
            event.records.push(record);
        }
        let records = event.records.len();
        stats.records.fetch_add(records as u64, Ordering::SeqCst);
        let failed: HashSet<String> = match handler.handle(event).await {
            Ok(response) => response
                .batch_item_failures
                .into_iter()
                .map(|f| f.item_identifier)
                .collect(),
            Err(error) => {
                stats.failed_batches.fetch_add(1, Ordering::SeqCst);
                // The whole batch failed (as a Lambda error would): nothing is deleted.
                tracing::warn!(target: "poller", handler = handler.name(), "batch of {records} failed: {}", error);
                continue;
            }
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = handles
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| !failed.contains(id))
            .filter_map(|(i, (_, handle))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        stats
            .redelivered
            .fetch_add(failed.len() as u64, Ordering::SeqCst);
        tracing::info!(target: "poller", handler = handler.name(), "batch of {records}: {} done, {} left for redelivery", done.len(), failed.len());
        if !done.is_empty() {
            if let Err(error) = sqs
                .delete_message_batch()
                .queue_url(&config.queue_url)
                .set_entries(Some(done))
                .send()
                .await
            {
                stats.delete_errors.fetch_add(1, Ordering::SeqCst);
                tracing::warn!(target: "poller", handler = handler.name(), "DeleteMessageBatch failed: {}", aws_sdk_sqs::error::DisplayErrorContext(&error));
            }
        }
    }
}

//! [`OrderQueue`] over SQS: one message per order, body = the `OrderMessage` JSON.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use shop_model::OrderMessage;

use super::errors::classify;
use crate::error::ApiError;
use crate::ports::OrderQueue;

/// The order queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl OrderQueue for SqsQueue {
    async fn enqueue(&self, message: &OrderMessage) -> Result<(), ApiError> {
        let body = serde_json::to_string(message)
            .map_err(|e| ApiError::Internal(format!("order message: {e}")))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| classify("SQS", "SendMessage", &e))?;
        Ok(())
    }
}

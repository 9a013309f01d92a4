//! SNS adapter of the notifier: publishes the JSON body with a `status` message attribute.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use crate::aws::errors::classify;
use crate::error::PortError;
use crate::model::{OrderNotification, STATUS_ATTRIBUTE};
use crate::ports::OrderNotifier;

/// Publishes to one topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl OrderNotifier for SnsNotifier {
    /// The `status` String attribute lets subscriptions filter with a filter policy such as
    /// `{"status": ["FAILED"]}` (<https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html>).
    async fn publish(&self, notification: &OrderNotification) -> Result<String, PortError> {
        let body = serde_json::to_string(notification)
            .map_err(|e| PortError::Internal(format!("notification: {e}")))?;
        let status = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(notification.status.as_str())
            .build()
            .map_err(|e| PortError::Internal(format!("message attribute: {e}")))?;
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .message_attributes(STATUS_ATTRIBUTE, status)
            .send()
            .await
            .map_err(|e| classify("SNS Publish", &e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

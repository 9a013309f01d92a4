//! Port: publish an order outcome to subscribers (the SNS order topic in AWS).

use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::PortError;
use crate::model::OrderNotification;
use crate::ports::lock;

/// Publishes order notifications; returns the message id.
#[async_trait]
pub trait OrderNotifier: Send + Sync {
    async fn publish(&self, notification: &OrderNotification) -> Result<String, PortError>;
}

/// Keeps published notifications in memory, for tests and the local engine.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    published: Mutex<Vec<OrderNotification>>,
    fail_next: Mutex<Option<PortError>>,
}

impl RecordingNotifier {
    pub fn published(&self) -> Vec<OrderNotification> {
        lock(&self.published).clone()
    }

    /// Makes the next call fail with `err`.
    pub fn fail_next(&self, err: PortError) {
        *lock(&self.fail_next) = Some(err);
    }
}

#[async_trait]
impl OrderNotifier for RecordingNotifier {
    async fn publish(&self, notification: &OrderNotification) -> Result<String, PortError> {
        if let Some(err) = lock(&self.fail_next).take() {
            return Err(err);
        }
        let mut published = lock(&self.published);
        published.push(notification.clone());
        Ok(format!("local-message-{}", published.len()))
    }
}

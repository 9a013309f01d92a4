//! The SQS starter: starts one order workflow execution per queued order message.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use shop_model::OrderMessage;
use tracing::Instrument;

use crate::error::PortError;
use crate::ports::payment::fnv1a64;
use crate::ports::{ExecutionStarter, StartOutcome};

/// Longest execution name Step Functions accepts.
pub const MAX_EXECUTION_NAME_LEN: usize = 80;
const PREFIX: &str = "order-";

/// The execution name of an order: `order-<orderId>` when the id only has characters that are
/// valid (and CloudWatch-Logs friendly: `0-9A-Za-z-_`) and fits in 80 characters; otherwise a
/// sanitized prefix of the id plus a hash of the whole id, so distinct ids keep distinct names.
/// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>)
pub fn execution_name(order_id: &str) -> String {
    let clean = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !order_id.is_empty()
        && order_id.chars().all(clean)
        && PREFIX.len() + order_id.len() <= MAX_EXECUTION_NAME_LEN
    {
        return format!("{PREFIX}{order_id}");
    }
    let hash = format!("{:016x}", fnv1a64(order_id.as_bytes()));
    let room = MAX_EXECUTION_NAME_LEN - PREFIX.len() - 1 - hash.len();
    let head: String = order_id
        .chars()
        .take(room)
        .map(|c| if clean(c) { c } else { '_' })
        .collect();
    format!("{PREFIX}{head}-{hash}")
}

/// Why one record was not started.
#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error("body is not an order message: {0}")]
    Unparsable(String),
    #[error("order message has no orderId")]
    NoOrderId,
    #[error("{0:?}")]
    Start(PortError),
}

/// Why a whole SQS batch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StarterError {
    /// A record has no message id, so its failure could not be reported alone.
    #[error("an SQS record has no messageId")]
    NoMessageId,
}

/// The Lambda error type is `StarterError` and the message says what is wrong.
impl From<StarterError> for lambda_runtime::Diagnostic {
    fn from(err: StarterError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "StarterError".to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// Starts an execution per record. Records that cannot be parsed or started are returned as
/// batch item failures (the event source mapping needs `ReportBatchItemFailures`), so SQS
/// redelivers them and finally moves them to the DLQ after `maxReceiveCount`.
/// A record without a message id fails the whole batch (it could not be reported otherwise).
pub async fn start_batch<S: ExecutionStarter + ?Sized>(
    event: SqsEvent,
    starter: &S,
) -> Result<SqsBatchResponse, StarterError> {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let Some(message_id) = record.message_id.clone() else {
            return Err(StarterError::NoMessageId);
        };
        let span = tracing::info_span!("record", message_id = %message_id, order_id = tracing::field::Empty);
        let result = start_record(&record, starter)
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match result {
            Ok(StartOutcome::Started { execution_arn }) => {
                tracing::info!(%execution_arn, "execution started")
            }
            Ok(StartOutcome::AlreadyExists) => {
                tracing::info!("execution already exists; not started again")
            }
            Err(err) => {
                tracing::warn!(error = %err, "record not started; reported as a batch item failure");
                response.add_failure(message_id);
            }
        }
    }
    Ok(response)
}

async fn start_record<S: ExecutionStarter + ?Sized>(
    record: &SqsMessage,
    starter: &S,
) -> Result<StartOutcome, RecordError> {
    let body = record.body.as_deref().unwrap_or_default();
    // Only the kind and position of the error: serde_json's own message may quote a value of
    // the payload (`invalid type: string "..."`), which may be a payment token.
    let message: OrderMessage = serde_json::from_str(body)
        .map_err(|e| RecordError::Unparsable(workflow_dsl::step::describe_json_error(&e)))?;
    if message.order_id.trim().is_empty() {
        return Err(RecordError::NoOrderId);
    }
    tracing::Span::current().record("order_id", message.order_id.as_str());
    starter
        .start(&execution_name(&message.order_id), &message)
        .await
        .map_err(RecordError::Start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{line, message};
    use crate::ports::InMemoryExecutions;

    fn record(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_owned());
        m.body = Some(body.to_owned());
        m
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    fn body(order_id: &str) -> String {
        serde_json::to_string(&message(order_id, vec![line("mug", 1)])).unwrap()
    }

    fn valid_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_EXECUTION_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }

    #[test]
    fn execution_names_are_valid_and_distinct() {
        assert_eq!(
            execution_name("4f1c2a9e-0b7d-4c51-9d3e-1a2b3c4d5e6f"),
            "order-4f1c2a9e-0b7d-4c51-9d3e-1a2b3c4d5e6f"
        );
        let odd = ["a:b", "a b", "a/b", "ü", &"x".repeat(200), &"y".repeat(75)];
        for id in odd {
            let name = execution_name(id);
            assert!(valid_name(&name), "{name}");
        }
        assert_ne!(execution_name("a:b"), execution_name("a/b"));
        assert_ne!(execution_name("a:b"), execution_name("a_b"));
        assert_ne!(
            execution_name(&"x".repeat(200)),
            execution_name(&"x".repeat(201))
        );
        assert_eq!(execution_name("a:b"), execution_name("a:b"));
    }

    #[tokio::test]
    async fn starts_one_execution_per_order_even_when_redelivered() {
        let executions = InMemoryExecutions::default();
        let batch = event(vec![
            record("m1", &body("o-1")),
            record("m2", &body("o-2")),
            record("m3", &body("o-1")),
        ]);
        let response = start_batch(batch, &executions).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let started = executions.started();
        assert_eq!(started.len(), 2);
        assert_eq!(started["order-o-1"].order_id, "o-1");
    }

    #[tokio::test]
    async fn unparsable_and_unstartable_messages_are_batch_item_failures() {
        let executions = InMemoryExecutions::default();
        executions.fail_next(PortError::Throttled("limit".into()));
        let batch = event(vec![
            record("m1", &body("o-1")),
            record("m2", "not json"),
            record("m3", r#"{"orderId":"o-3"}"#),
            record("m4", &body("")),
            record("m5", &body("o-5")),
        ]);
        let response = start_batch(batch, &executions).await.unwrap();
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m1", "m2", "m3", "m4"]);
        assert_eq!(executions.started().len(), 1);
    }

    #[tokio::test]
    async fn a_malformed_record_is_reported_without_its_values() {
        // A payment token in a field of the wrong type: serde_json's message would quote it.
        let mut message = serde_json::to_value(message("o-9", vec![line("mug", 1)])).unwrap();
        message["items"] = serde_json::json!("tok_secret_4242");
        message["paymentToken"] = serde_json::json!(["tok_secret_4242"]);
        let error = start_record(
            &record("m1", &message.to_string()),
            &InMemoryExecutions::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("body is not an order message"), "{error}");
        assert!(!error.contains("tok_secret_4242"), "{error}");
    }

    #[tokio::test]
    async fn a_record_without_message_id_fails_the_batch() {
        let mut r = record("x", &body("o-1"));
        r.message_id = None;
        assert!(start_batch(event(vec![r]), &InMemoryExecutions::default())
            .await
            .is_err());
    }
}

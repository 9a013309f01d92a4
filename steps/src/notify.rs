//! The notify step: publishes an order outcome (COMPLETED or FAILED) to the order topic.

use crate::model::{NotifyOutput, OrderNotification, OrderOutcome};
use crate::ports::OrderNotifier;
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::typed::StepErrors;

crate::order_step_errors! {
    /// Errors of [`NotifyOrder`].
    pub enum NotifyError {
        /// The step input does not have the expected shape (a workflow wiring bug). Final.
        InvalidInput,
    }
}

/// `notify-order`: publishes the order outcome to the order topic ([`notify`]).
pub struct NotifyOrder;

impl Step for NotifyOrder {
    const NAME: &'static str = "notify-order";
    type Input = OrderOutcome;
    type Output = NotifyOutput;
    type Error = NotifyError;
    type Ports = dyn OrderNotifier;

    async fn run(
        outcome: OrderOutcome,
        notifier: &Self::Ports,
    ) -> Result<NotifyOutput, StepError<NotifyError>> {
        notify(outcome, notifier).await
    }

    fn malformed_input(reason: String) -> StepError<NotifyError> {
        NotifyError::InvalidInput.because(format!("malformed {} input: {reason}", Self::NAME))
    }
}

/// The notification body for an outcome (failure fields only for FAILED orders).
pub fn notification(outcome: &OrderOutcome) -> OrderNotification {
    OrderNotification {
        order_id: outcome.order_id.clone(),
        status: outcome.status,
        total_cents: outcome.total_cents,
        currency: outcome.currency.clone(),
        items: outcome.items.clone(),
        failure_error: outcome.failure_error.clone(),
        failure_reason: outcome.failure_reason.clone(),
    }
}

/// Publishes the outcome. Delivery is at least once: a retried step may publish twice, so
/// subscribers should de-duplicate on `orderId` + `status`.
pub async fn notify<N: OrderNotifier + ?Sized>(
    outcome: OrderOutcome,
    notifier: &N,
) -> Result<NotifyOutput, StepError<NotifyError>> {
    if outcome.order_id.is_empty() {
        return Err(NotifyError::InvalidInput.because("orderId is missing"));
    }
    let message_id = notifier.publish(&notification(&outcome)).await?;
    tracing::info!(status = outcome.status.as_str(), "order outcome published");
    Ok(NotifyOutput {
        order_id: outcome.order_id,
        status: outcome.status,
        message_id,
    })
}

#[cfg(test)]
mod tests {
    use shop_model::OrderStatus;

    use super::*;
    use crate::fixtures::{line, message, paid, shop};
    use crate::model::{CaughtError, RecordFailureInput};
    use crate::persist::persist;
    use crate::ports::RecordingNotifier;
    use crate::record_failure::record_failure;

    #[tokio::test]
    async fn publishes_a_completed_order() {
        let shop = shop();
        let outcome = persist(
            paid(&shop, message("n-1", vec![line("tee", 2)])).await,
            &shop,
        )
        .await
        .unwrap();
        let notifier = RecordingNotifier::default();
        let out = notify(outcome, &notifier).await.unwrap();
        assert_eq!(out.status, OrderStatus::Completed);
        let published = notifier.published();
        assert_eq!(published.len(), 1);
        let body = serde_json::to_value(&published[0]).unwrap();
        assert_eq!(body["orderId"], "n-1");
        assert_eq!(body["status"], "COMPLETED");
        assert_eq!(body["totalCents"], 3998);
        assert_eq!(body["currency"], "USD");
        assert_eq!(body["items"][0]["quantity"], 2);
        assert!(body.get("failureError").is_none());
        assert!(body.get("userSub").is_none() && body.get("paymentToken").is_none());
    }

    #[tokio::test]
    async fn publishes_a_failed_order_with_its_error() {
        let shop = shop();
        let input = RecordFailureInput {
            order: message("n-2", vec![line("pin", 1)]),
            failure: CaughtError {
                error: "OutOfStock".into(),
                cause: "not enough stock for pin".into(),
            },
        };
        let outcome = record_failure(input, &shop).await.unwrap();
        let notifier = RecordingNotifier::default();
        notify(outcome, &notifier).await.unwrap();
        let body = serde_json::to_value(&notifier.published()[0]).unwrap();
        assert_eq!(body["status"], "FAILED");
        assert_eq!(body["failureError"], "OutOfStock");
        assert_eq!(body["failureReason"], "not enough stock for pin");
    }

    #[tokio::test]
    async fn publish_errors_pass_through_for_retry() {
        let shop = shop();
        let outcome = persist(
            paid(&shop, message("n-3", vec![line("mug", 1)])).await,
            &shop,
        )
        .await
        .unwrap();
        let notifier = RecordingNotifier::default();
        notifier.fail_next(crate::error::PortError::Throttled("sns".into()));
        assert!(notify(outcome, &notifier).await.unwrap_err().is_transient());
        assert!(notifier.published().is_empty());
    }
}

//! The record-failure step (the workflow's Catch path): marks a PENDING order FAILED, idempotently.

use crate::model::{OrderOutcome, RecordFailureInput};
use crate::ports::{OrderStore, Transition};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::typed::StepErrors;

crate::order_step_errors! {
    /// Errors of [`RecordFailure`].
    pub enum RecordFailureError {
        /// The step input does not have the expected shape (a workflow wiring bug). Final.
        InvalidInput,
    }
}

/// `record-failure`: marks the order FAILED with the caught error and its reason
/// ([`record_failure`]).
pub struct RecordFailure;

impl Step for RecordFailure {
    const NAME: &'static str = "record-failure";
    type Input = RecordFailureInput;
    type Output = OrderOutcome;
    type Error = RecordFailureError;
    type Ports = dyn OrderStore;

    async fn run(
        input: RecordFailureInput,
        store: &Self::Ports,
    ) -> Result<OrderOutcome, StepError<RecordFailureError>> {
        record_failure(input, store).await
    }

    fn malformed_input(reason: String) -> StepError<RecordFailureError> {
        RecordFailureError::InvalidInput
            .because(format!("malformed {} input: {reason}", Self::NAME))
    }
}

/// Longest error name stored.
pub const MAX_ERROR_CHARS: usize = 128;

/// Records `input.failure` on the order unless the order is already final (then the stored
/// order is returned unchanged).
pub async fn record_failure<S: OrderStore + ?Sized>(
    input: RecordFailureInput,
    store: &S,
) -> Result<OrderOutcome, StepError<RecordFailureError>> {
    if input.order.order_id.is_empty() {
        return Err(RecordFailureError::InvalidInput.because("orderId is missing"));
    }
    let error: String = input.failure.error.chars().take(MAX_ERROR_CHARS).collect();
    let error = if error.trim().is_empty() {
        "States.TaskFailed".to_owned()
    } else {
        error
    };
    let reason = input.failure.reason();
    let (outcome, transition) = store.record_failure(&input.order, &error, &reason).await?;
    match transition {
        Transition::Applied => tracing::info!(failure_error = %error, "order marked FAILED"),
        Transition::AlreadyFinal => {
            tracing::info!(
                status = outcome.status.as_str(),
                "order already final; nothing changed"
            )
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use shop_model::OrderStatus;

    use super::*;
    use crate::fixtures::{line, message, paid, shop};
    use crate::model::CaughtError;
    use crate::persist::persist;

    fn input(order_id: &str, error: &str, cause: &str) -> RecordFailureInput {
        RecordFailureInput {
            order: message(order_id, vec![line("mug", 2)]),
            failure: CaughtError {
                error: error.into(),
                cause: cause.into(),
            },
        }
    }

    #[tokio::test]
    async fn marks_an_unknown_or_pending_order_failed_with_the_lambda_reason() {
        let shop = shop();
        let cause = r#"{"errorType":"PaymentDeclined","errorMessage":"payment declined: the card was declined"}"#;
        let outcome = record_failure(input("f-1", "PaymentDeclined", cause), &shop)
            .await
            .unwrap();
        assert_eq!(outcome.status, OrderStatus::Failed);
        assert_eq!(outcome.failure_error.as_deref(), Some("PaymentDeclined"));
        assert_eq!(
            outcome.failure_reason.as_deref(),
            Some("payment declined: the card was declined")
        );
        assert_eq!(outcome.items[0].product_id, "mug");
        assert_eq!(shop.order("f-1").unwrap(), outcome);
    }

    #[tokio::test]
    async fn is_idempotent_and_keeps_the_first_failure() {
        let shop = shop();
        let first = record_failure(input("f-2", "OutOfStock", "tee"), &shop)
            .await
            .unwrap();
        let again = record_failure(input("f-2", "States.Timeout", "late"), &shop)
            .await
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(
            shop.order("f-2").unwrap().failure_error.as_deref(),
            Some("OutOfStock")
        );
    }

    #[tokio::test]
    async fn never_moves_a_completed_order_back() {
        let shop = shop();
        let order = paid(&shop, message("f-3", vec![line("mug", 2)])).await;
        let completed = persist(order, &shop).await.unwrap();
        let outcome = record_failure(input("f-3", "States.TaskFailed", "notify failed"), &shop)
            .await
            .unwrap();
        assert_eq!(outcome, completed);
        assert_eq!(shop.order("f-3").unwrap().status, OrderStatus::Completed);
    }

    #[tokio::test]
    async fn store_errors_pass_through() {
        let shop = shop();
        shop.fail_next(crate::error::PortError::ServiceUnavailable("down".into()));
        let err = record_failure(input("f-4", "OutOfStock", ""), &shop)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "ServiceUnavailable");
        assert!(shop.order("f-4").is_none());
    }
}

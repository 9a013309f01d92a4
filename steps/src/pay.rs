//! The pay step: charges the validated order through the payment gateway port.

use crate::model::{PaidOrder, ValidatedOrder};
use crate::ports::{ChargeOutcome, ChargeRequest, PaymentGateway};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::typed::StepErrors;

crate::order_step_errors! {
    /// Errors of [`ProcessPayment`].
    pub enum PaymentError {
        /// The payment provider declined the charge. Final.
        PaymentDeclined,
        /// The step input does not have the expected shape (a workflow wiring bug). Final.
        InvalidInput,
    }
}

/// `process-payment`: charges the payment token, idempotently per order ([`pay`]).
pub struct ProcessPayment;

impl Step for ProcessPayment {
    const NAME: &'static str = "process-payment";
    type Input = ValidatedOrder;
    type Output = PaidOrder;
    type Error = PaymentError;
    type Ports = dyn PaymentGateway;

    async fn run(
        order: ValidatedOrder,
        gateway: &Self::Ports,
    ) -> Result<PaidOrder, StepError<PaymentError>> {
        pay(order, gateway).await
    }

    fn malformed_input(reason: String) -> StepError<PaymentError> {
        PaymentError::InvalidInput.because(format!("malformed {} input: {reason}", Self::NAME))
    }
}

/// Charges `order.total_cents`; the order id is the idempotency key, so a retried step never
/// charges twice with a provider that honours idempotency keys.
pub async fn pay<G: PaymentGateway + ?Sized>(
    order: ValidatedOrder,
    gateway: &G,
) -> Result<PaidOrder, StepError<PaymentError>> {
    let request = ChargeRequest {
        order_id: &order.order_id,
        amount_cents: order.total_cents,
        currency: &order.currency,
        token: order.payment_token.as_ref(),
        idempotency_key: &order.order_id,
    };
    match gateway.charge(&request).await? {
        ChargeOutcome::Approved { payment_id } => Ok(PaidOrder {
            order_id: order.order_id,
            user_sub: order.user_sub,
            items: order.items,
            total_cents: order.total_cents,
            currency: order.currency,
            created_at: order.created_at,
            payment_id,
        }),
        ChargeOutcome::Declined { reason } => {
            Err(PaymentError::PaymentDeclined.because(format!("payment declined: {reason}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{line, message, shop};
    use crate::model::PaymentToken;
    use crate::ports::{SimulatedGateway, DECLINED_TOKEN};
    use crate::validate::validate;

    async fn validated(token: Option<&str>) -> ValidatedOrder {
        let mut v = validate(message("o-pay", vec![line("mug", 1)]), &shop())
            .await
            .unwrap();
        v.payment_token = token.map(PaymentToken::new);
        v
    }

    #[tokio::test]
    async fn approved_payment_keeps_the_order_and_adds_a_stable_id() {
        let v = validated(Some("tok_visa")).await;
        let paid = pay(v.clone(), &SimulatedGateway).await.unwrap();
        assert_eq!(paid.total_cents, v.total_cents);
        assert_eq!(paid.items, v.items);
        let again = pay(validated(None).await, &SimulatedGateway).await.unwrap();
        assert_eq!(
            paid.payment_id, again.payment_id,
            "a retry gets the same payment id"
        );
        // The paid order carries no payment token any more.
        assert!(serde_json::to_value(&paid)
            .unwrap()
            .get("paymentToken")
            .is_none());
    }

    #[tokio::test]
    async fn declined_token_is_payment_declined() {
        let err = pay(validated(Some(DECLINED_TOKEN)).await, &SimulatedGateway)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "PaymentDeclined");
        assert!(
            !err.message().contains(DECLINED_TOKEN),
            "the token never appears in errors"
        );
    }
}

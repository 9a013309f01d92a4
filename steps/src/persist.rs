//! The persist step: reserves stock and marks the order COMPLETED, atomically and idempotently.

use crate::model::{OrderOutcome, PaidOrder};
use crate::ports::{CompleteError, OrderStore, Transition};
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::typed::StepErrors;

crate::order_step_errors! {
    /// Errors of [`PersistOrder`].
    pub enum PersistError {
        /// Sold out since validation: nothing was reserved. Final.
        OutOfStock,
        /// The order already ended FAILED; it is never moved to COMPLETED. Final.
        OrderAlreadyFailed,
        /// The step input does not have the expected shape (a workflow wiring bug). Final.
        InvalidInput,
    }
}

impl From<CompleteError> for StepError<PersistError> {
    fn from(err: CompleteError) -> Self {
        match err {
            CompleteError::OutOfStock(m) => PersistError::OutOfStock.because(m),
            CompleteError::OrderAlreadyFailed(m) => PersistError::OrderAlreadyFailed.because(m),
            CompleteError::Port(e) => e.into(),
        }
    }
}

/// `persist-order`: reserves stock and marks the order COMPLETED in one transaction
/// ([`persist`]).
pub struct PersistOrder;

impl Step for PersistOrder {
    const NAME: &'static str = "persist-order";
    type Input = PaidOrder;
    type Output = OrderOutcome;
    type Error = PersistError;
    type Ports = dyn OrderStore;

    async fn run(
        order: PaidOrder,
        store: &Self::Ports,
    ) -> Result<OrderOutcome, StepError<PersistError>> {
        persist(order, store).await
    }

    fn malformed_input(reason: String) -> StepError<PersistError> {
        PersistError::InvalidInput.because(format!("malformed {} input: {reason}", Self::NAME))
    }
}

/// Completes `order` in the store. A retried or redelivered step returns the stored order
/// without a second reservation; `OutOfStock` reserves nothing.
pub async fn persist<S: OrderStore + ?Sized>(
    order: PaidOrder,
    store: &S,
) -> Result<OrderOutcome, StepError<PersistError>> {
    check(&order)?;
    let (outcome, transition) = store.complete(&order).await?;
    if transition == Transition::AlreadyFinal {
        tracing::info!("order was already completed; nothing changed");
    }
    Ok(outcome)
}

/// The input comes from the pay step; a broken one is a wiring bug, not a customer error.
fn check(order: &PaidOrder) -> Result<(), StepError<PersistError>> {
    if order.order_id.is_empty() || order.items.is_empty() || order.payment_id.is_empty() {
        return Err(
            PersistError::InvalidInput.because("paid order needs orderId, items and paymentId")
        );
    }
    if order.items.len() > shop_model::MAX_ORDER_LINES {
        return Err(PersistError::InvalidInput.because("too many lines"));
    }
    let sum: Option<i64> = order
        .items
        .iter()
        .try_fold(0i64, |acc, l| acc.checked_add(l.line_total_cents));
    let bad_line = order.items.iter().any(|l| {
        !(shop_model::MIN_QUANTITY..=shop_model::MAX_QUANTITY).contains(&l.quantity)
            || l.unit_price_cents.checked_mul(i64::from(l.quantity)) != Some(l.line_total_cents)
    });
    if bad_line || sum != Some(order.total_cents) {
        return Err(PersistError::InvalidInput.because("paid order lines and total do not add up"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shop_model::OrderStatus;

    use super::*;
    use crate::fixtures::{line, message, paid, product, shop};
    use crate::model::OutcomeLine;
    use crate::ports::InMemoryShop;

    #[tokio::test]
    async fn completes_the_order_and_reserves_stock() {
        let shop = shop();
        let order = paid(
            &shop,
            message("o-1", vec![line("mug", 2), line("tee", 1), line("mug", 1)]),
        )
        .await;
        let outcome = persist(order.clone(), &shop).await.unwrap();
        assert_eq!(outcome.status, OrderStatus::Completed);
        assert_eq!(
            outcome.payment_id.as_deref(),
            Some(order.payment_id.as_str())
        );
        assert_eq!(outcome.total_cents, order.total_cents);
        assert_eq!(shop.product("mug").unwrap().stock, 7);
        assert_eq!(shop.product("tee").unwrap().stock, 2);
        assert_eq!(shop.order("o-1").unwrap(), outcome);
    }

    #[tokio::test]
    async fn persisting_twice_reserves_once() {
        let shop = shop();
        let order = paid(&shop, message("o-2", vec![line("mug", 4)])).await;
        let first = persist(order.clone(), &shop).await.unwrap();
        let second = persist(order, &shop).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(shop.product("mug").unwrap().stock, 6);
    }

    #[tokio::test]
    async fn out_of_stock_reserves_nothing() {
        let shop = shop();
        let order = paid(&shop, message("o-3", vec![line("mug", 1), line("tee", 3)])).await;
        shop.put_product(product("tee", 1999, 2)); // someone bought one meanwhile
        let err = persist(order, &shop).await.unwrap_err();
        assert_eq!(err.name(), "OutOfStock");
        assert!(err.message().contains("tee"));
        assert_eq!(shop.product("mug").unwrap().stock, 10);
        assert!(shop.order("o-3").is_none());
    }

    #[tokio::test]
    async fn a_failed_order_is_never_completed() {
        let shop = shop();
        let order = paid(&shop, message("o-4", vec![line("mug", 1)])).await;
        shop.record_failure(
            &message("o-4", vec![line("mug", 1)]),
            "PaymentDeclined",
            "declined",
        )
        .await
        .unwrap();
        let err = persist(order, &shop).await.unwrap_err();
        assert_eq!(err.name(), "OrderAlreadyFailed");
        assert_eq!(shop.order("o-4").unwrap().status, OrderStatus::Failed);
        assert_eq!(shop.product("mug").unwrap().stock, 10);
    }

    #[tokio::test]
    async fn a_pending_order_from_the_api_is_completed_keeping_its_creation_time() {
        let shop = shop();
        let order = paid(&shop, message("o-5", vec![line("mug", 1)])).await;
        shop.put_order(OrderOutcome {
            order_id: "o-5".into(),
            user_sub: "user-1".into(),
            status: OrderStatus::Pending,
            items: vec![OutcomeLine::from(&order.items[0])],
            total_cents: order.total_cents,
            currency: "USD".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: None,
            payment_id: None,
            failure_error: None,
            failure_reason: None,
        });
        let outcome = persist(order, &shop).await.unwrap();
        assert_eq!(outcome.status, OrderStatus::Completed);
        assert_eq!(outcome.created_at, "2026-01-01T00:00:00Z");
    }

    #[tokio::test]
    async fn concurrent_orders_never_oversell() {
        let shop = Arc::new(InMemoryShop::new([product("mug", 100, 5)]));
        // All orders pass validation (stock 5 >= 1) before any of them is persisted.
        let mut orders = Vec::new();
        for i in 0..20 {
            orders.push(paid(&shop, message(&format!("c-{i}"), vec![line("mug", 1)])).await);
        }
        let mut tasks = Vec::new();
        for order in orders {
            let shop = shop.clone();
            tasks.push(tokio::spawn(async move { persist(order, &*shop).await }));
        }
        let mut ok = 0;
        let mut out = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(e) if e.name() == "OutOfStock" => out += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((ok, out), (5, 15));
        assert_eq!(shop.product("mug").unwrap().stock, 0);
    }

    #[tokio::test]
    async fn inconsistent_input_is_rejected_before_touching_the_store() {
        let shop = shop();
        let mut order = paid(&shop, message("o-6", vec![line("mug", 1)])).await;
        order.total_cents += 1;
        assert_eq!(
            persist(order.clone(), &shop).await.unwrap_err().name(),
            "InvalidInput"
        );
        order.total_cents -= 1;
        order.items[0].quantity = 0;
        order.items[0].line_total_cents = 0;
        order.total_cents = 0;
        assert_eq!(
            persist(order, &shop).await.unwrap_err().name(),
            "InvalidInput"
        );
        assert_eq!(shop.product("mug").unwrap().stock, 10);
    }
}

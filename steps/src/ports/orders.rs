//! Port: record an order's final outcome in the Orders table, reserving stock on completion.

use std::collections::BTreeMap;

use async_trait::async_trait;
use shop_model::{OrderMessage, OrderStatus, PricedLine};

use crate::error::PortError;
use crate::model::{OrderOutcome, OutcomeLine, PaidOrder};

/// Whether a call changed the stored order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The order moved to the requested final status.
    Applied,
    /// The order was already final; nothing changed (a retry or redelivery).
    AlreadyFinal,
}

/// Why an order could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteError {
    /// Not enough stock for some product: nothing was reserved.
    #[error("{0}")]
    OutOfStock(String),
    /// The order already ended FAILED; it is never moved to COMPLETED.
    #[error("{0}")]
    OrderAlreadyFailed(String),
    /// The store failed.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Stores order outcomes. Both operations are idempotent and never move a final status back.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// All or nothing: decrements each product's stock by the ordered quantity (only where the
    /// stock suffices) and moves the order from PENDING (or absent) to COMPLETED.
    /// An already COMPLETED order is returned unchanged (`AlreadyFinal`, no second reservation).
    /// Errors: `OutOfStock` (nothing reserved), `OrderAlreadyFailed`, transient ones.
    async fn complete(
        &self,
        order: &PaidOrder,
    ) -> Result<(OrderOutcome, Transition), CompleteError>;

    /// Moves the order from PENDING (or absent) to FAILED with the error name and reason.
    /// An order already COMPLETED or FAILED is returned unchanged (`AlreadyFinal`).
    async fn record_failure(
        &self,
        order: &OrderMessage,
        error: &str,
        reason: &str,
    ) -> Result<(OrderOutcome, Transition), PortError>;
}

/// Total quantity to reserve per product (an order may list one product on several lines).
pub fn reservations(items: &[PricedLine]) -> BTreeMap<&str, u64> {
    let mut out: BTreeMap<&str, u64> = BTreeMap::new();
    for line in items {
        *out.entry(line.product_id.as_str()).or_default() += u64::from(line.quantity);
    }
    out
}

/// The COMPLETED outcome of a paid order.
pub fn completed_outcome(order: &PaidOrder, now: &str) -> OrderOutcome {
    OrderOutcome {
        order_id: order.order_id.clone(),
        user_sub: order.user_sub.clone(),
        status: OrderStatus::Completed,
        items: order.items.iter().map(OutcomeLine::from).collect(),
        total_cents: order.total_cents,
        currency: order.currency.clone(),
        created_at: order.created_at.clone(),
        updated_at: Some(now.to_owned()),
        payment_id: Some(order.payment_id.clone()),
        failure_error: None,
        failure_reason: None,
    }
}

/// The FAILED outcome of an order nobody stored before.
pub fn failed_outcome(order: &OrderMessage, error: &str, reason: &str, now: &str) -> OrderOutcome {
    OrderOutcome {
        order_id: order.order_id.clone(),
        user_sub: order.user_sub.clone(),
        status: OrderStatus::Failed,
        items: order.items.iter().map(OutcomeLine::from).collect(),
        total_cents: order.total_cents,
        currency: order.currency.clone(),
        created_at: order.created_at.clone(),
        updated_at: Some(now.to_owned()),
        payment_id: None,
        failure_error: Some(error.to_owned()),
        failure_reason: Some(reason.to_owned()),
    }
}

/// Now, as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_lines_of_one_product() {
        let line = |id: &str, q| PricedLine {
            product_id: id.into(),
            name: id.into(),
            quantity: q,
            unit_price_cents: 1,
            line_total_cents: i64::from(q),
        };
        let items = [line("a", 2), line("b", 1), line("a", 3)];
        let r = reservations(&items);
        assert_eq!(r.get("a"), Some(&5));
        assert_eq!(r.get("b"), Some(&1));
        assert_eq!(r.len(), 2);
    }
}

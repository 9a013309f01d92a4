//! In-memory Products and Orders tables with the same semantics as the DynamoDB adapter,
//! for unit tests and the local engine.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use shop_model::{OrderMessage, OrderStatus};

use crate::error::PortError;
use crate::model::{OrderOutcome, PaidOrder};
use crate::ports::catalog::{CatalogProduct, ProductCatalog};
use crate::ports::lock;
use crate::ports::orders::{
    completed_outcome, failed_outcome, now_rfc3339, reservations, CompleteError, OrderStore,
    Transition,
};

#[derive(Debug, Default)]
struct State {
    products: HashMap<String, CatalogProduct>,
    orders: HashMap<String, OrderOutcome>,
}

/// Products and orders in memory; one lock makes every operation atomic.
#[derive(Debug, Default)]
pub struct InMemoryShop {
    state: Mutex<State>,
    fail_next: Mutex<Option<PortError>>,
}

impl InMemoryShop {
    pub fn new(products: impl IntoIterator<Item = CatalogProduct>) -> Self {
        let shop = Self::default();
        for p in products {
            shop.put_product(p);
        }
        shop
    }

    pub fn put_product(&self, product: CatalogProduct) {
        lock(&self.state)
            .products
            .insert(product.id.clone(), product);
    }

    /// Stores an order as is (e.g. the PENDING order the API writes).
    pub fn put_order(&self, order: OrderOutcome) {
        lock(&self.state)
            .orders
            .insert(order.order_id.clone(), order);
    }

    pub fn product(&self, id: &str) -> Option<CatalogProduct> {
        lock(&self.state).products.get(id).cloned()
    }

    pub fn order(&self, id: &str) -> Option<OrderOutcome> {
        lock(&self.state).orders.get(id).cloned()
    }

    /// Makes the next call (of any port) fail with `err`.
    pub fn fail_next(&self, err: PortError) {
        *lock(&self.fail_next) = Some(err);
    }

    fn injected(&self) -> Result<(), PortError> {
        match lock(&self.fail_next).take() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ProductCatalog for InMemoryShop {
    async fn get_products(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, CatalogProduct>, PortError> {
        self.injected()?;
        let state = lock(&self.state);
        Ok(ids
            .iter()
            .filter_map(|id| state.products.get(id).map(|p| (id.clone(), p.clone())))
            .collect())
    }
}

#[async_trait]
impl OrderStore for InMemoryShop {
    async fn complete(
        &self,
        order: &PaidOrder,
    ) -> Result<(OrderOutcome, Transition), CompleteError> {
        self.injected()?;
        let mut state = lock(&self.state);
        if let Some(existing) = state.orders.get(&order.order_id) {
            match existing.status {
                OrderStatus::Completed => return Ok((existing.clone(), Transition::AlreadyFinal)),
                OrderStatus::Failed => {
                    return Err(CompleteError::OrderAlreadyFailed(format!(
                        "order {} already failed",
                        order.order_id
                    )))
                }
                OrderStatus::Pending => {}
            }
        }
        let wanted = reservations(&order.items);
        let short: Vec<&str> = wanted
            .iter()
            .filter(|(id, q)| {
                state
                    .products
                    .get(**id)
                    .is_none_or(|p| u64::try_from(p.stock).unwrap_or(0) < **q)
            })
            .map(|(id, _)| *id)
            .collect();
        if !short.is_empty() {
            return Err(CompleteError::OutOfStock(format!(
                "not enough stock for {}",
                short.join(", ")
            )));
        }
        for (id, q) in wanted {
            if let Some(p) = state.products.get_mut(id) {
                p.stock -= i64::try_from(q).unwrap_or(i64::MAX);
            }
        }
        let mut outcome = completed_outcome(order, &now_rfc3339());
        if let Some(existing) = state.orders.get(&order.order_id) {
            outcome.created_at = existing.created_at.clone();
        }
        state.orders.insert(order.order_id.clone(), outcome.clone());
        Ok((outcome, Transition::Applied))
    }

    async fn record_failure(
        &self,
        order: &OrderMessage,
        error: &str,
        reason: &str,
    ) -> Result<(OrderOutcome, Transition), PortError> {
        self.injected()?;
        let mut state = lock(&self.state);
        let now = now_rfc3339();
        let outcome = match state.orders.get(&order.order_id) {
            Some(existing) if existing.status.is_final() => {
                return Ok((existing.clone(), Transition::AlreadyFinal))
            }
            // A PENDING order keeps what the API stored (priced items); only the status changes.
            Some(pending) => OrderOutcome {
                status: OrderStatus::Failed,
                updated_at: Some(now),
                failure_error: Some(error.to_owned()),
                failure_reason: Some(reason.to_owned()),
                ..pending.clone()
            },
            None => failed_outcome(order, error, reason, &now),
        };
        state.orders.insert(order.order_id.clone(), outcome.clone());
        Ok((outcome, Transition::Applied))
    }
}

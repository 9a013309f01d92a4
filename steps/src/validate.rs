//! The validate step: re-checks and re-prices an order against the catalog; never trusts the message.

use std::collections::BTreeMap;

use shop_model::{OrderMessage, PricedLine, CURRENCY, MAX_ORDER_LINES, MAX_QUANTITY, MIN_QUANTITY};

use crate::model::{PaymentToken, ValidatedOrder};
use crate::ports::ProductCatalog;
use workflow_dsl::step::{Step, StepError};
use workflow_dsl::typed::StepErrors;

crate::order_step_errors! {
    /// Errors of [`ValidateOrder`].
    pub enum ValidateError {
        /// The order is not acceptable (unknown product, bad quantity, empty order, ...). Final.
        InvalidOrder,
        /// Not enough stock right now. Final.
        OutOfStock,
    }
}

/// `validate-order`: re-prices the order message from the catalog and checks stock
/// ([`validate`]). A message that does not decode is the customer's order: `InvalidOrder`.
pub struct ValidateOrder;

impl Step for ValidateOrder {
    const NAME: &'static str = "validate-order";
    type Input = OrderMessage;
    type Output = ValidatedOrder;
    type Error = ValidateError;
    type Ports = dyn ProductCatalog;

    async fn run(
        message: OrderMessage,
        catalog: &Self::Ports,
    ) -> Result<ValidatedOrder, StepError<ValidateError>> {
        validate(message, catalog).await
    }

    fn malformed_input(reason: String) -> StepError<ValidateError> {
        ValidateError::InvalidOrder.because(format!("malformed order message: {reason}"))
    }
}

/// Longest order id accepted (it names the workflow execution and the DynamoDB key).
pub const MAX_ORDER_ID_LEN: usize = 128;

/// Validates `message` against the catalog and returns the order priced in integer cents.
///
/// Checks: ids present, 1..=[`MAX_ORDER_LINES`] lines, each quantity in
/// [`MIN_QUANTITY`]..=[`MAX_QUANTITY`], every product exists and sells in [`CURRENCY`], enough
/// stock right now (an early check; the persist step reserves atomically). Prices and the total
/// come from the catalog; the message's own total is ignored.
pub async fn validate<C: ProductCatalog + ?Sized>(
    message: OrderMessage,
    catalog: &C,
) -> Result<ValidatedOrder, StepError<ValidateError>> {
    check_shape(&message)?;

    let mut wanted: BTreeMap<&str, u64> = BTreeMap::new();
    for line in &message.items {
        *wanted.entry(line.product_id.as_str()).or_default() += u64::from(line.quantity);
    }
    let ids: Vec<String> = wanted.keys().map(|id| (*id).to_owned()).collect();
    let products = catalog.get_products(&ids).await?;

    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !products.contains_key(*id))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ValidateError::InvalidOrder
            .because(format!("unknown product(s): {}", unknown.join(", "))));
    }

    let mut items = Vec::with_capacity(message.items.len());
    let mut total: i64 = 0;
    for line in &message.items {
        let product = &products[&line.product_id];
        if product.currency != CURRENCY {
            return Err(ValidateError::InvalidOrder
                .because(format!("product {} is not sold in {CURRENCY}", product.id)));
        }
        if product.price_cents < 0 {
            return Err(ValidateError::InvalidOrder
                .because(format!("product {} has no valid price", product.id)));
        }
        let line_total = product
            .price_cents
            .checked_mul(i64::from(line.quantity))
            .ok_or_else(|| ValidateError::InvalidOrder.because("order total is too large"))?;
        total = total
            .checked_add(line_total)
            .ok_or_else(|| ValidateError::InvalidOrder.because("order total is too large"))?;
        items.push(PricedLine {
            product_id: product.id.clone(),
            name: product.name.clone(),
            quantity: line.quantity,
            unit_price_cents: product.price_cents,
            line_total_cents: line_total,
        });
    }

    let short: Vec<&str> = wanted
        .iter()
        .filter(|(id, q)| u64::try_from(products[**id].stock).unwrap_or(0) < **q)
        .map(|(id, _)| *id)
        .collect();
    if !short.is_empty() {
        return Err(
            ValidateError::OutOfStock.because(format!("not enough stock for {}", short.join(", ")))
        );
    }

    if total != message.total_cents {
        tracing::warn!(
            message_total_cents = message.total_cents,
            total_cents = total,
            "order total differs from the catalog; using the catalog total"
        );
    }

    Ok(ValidatedOrder {
        order_id: message.order_id,
        user_sub: message.user_sub,
        items,
        total_cents: total,
        currency: CURRENCY.to_owned(),
        payment_token: message.payment_token.map(PaymentToken::new),
        created_at: message.created_at,
    })
}

fn check_shape(message: &OrderMessage) -> Result<(), StepError<ValidateError>> {
    let invalid = |reason: String| Err(ValidateError::InvalidOrder.because(reason));
    if message.order_id.trim().is_empty() || message.order_id.len() > MAX_ORDER_ID_LEN {
        return invalid(format!(
            "orderId must have 1 to {MAX_ORDER_ID_LEN} characters"
        ));
    }
    if message.user_sub.trim().is_empty() {
        return invalid("userSub is missing".into());
    }
    if message.created_at.trim().is_empty() {
        return invalid("createdAt is missing".into());
    }
    if message.currency != CURRENCY {
        return invalid(format!("currency must be {CURRENCY}"));
    }
    if message.items.is_empty() {
        return invalid("the order has no items".into());
    }
    if message.items.len() > MAX_ORDER_LINES {
        return invalid(format!("the order has more than {MAX_ORDER_LINES} lines"));
    }
    for line in &message.items {
        if line.product_id.trim().is_empty() {
            return invalid("an item has no productId".into());
        }
        if !(MIN_QUANTITY..=MAX_QUANTITY).contains(&line.quantity) {
            return invalid(format!(
                "quantity of {} must be between {MIN_QUANTITY} and {MAX_QUANTITY}",
                line.product_id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{line, message, product, shop};
    use crate::ports::InMemoryShop;

    #[tokio::test]
    async fn prices_from_the_catalog_and_ignores_the_message_total() {
        let shop = shop();
        let mut msg = message("o-1", vec![line("mug", 2), line("tee", 1)]);
        msg.total_cents = 1; // a lying client
        let v = validate(msg, &shop).await.unwrap();
        assert_eq!(v.total_cents, 2 * 1250 + 1999);
        assert_eq!(v.items[0].unit_price_cents, 1250);
        assert_eq!(v.items[0].line_total_cents, 2500);
        assert_eq!(v.items[1].name, "Product tee");
        assert_eq!(
            v.payment_token.as_ref().map(PaymentToken::expose),
            Some("tok_visa")
        );
        assert_eq!(v.order_id, "o-1");
    }

    async fn invalid(msg: OrderMessage) -> StepError<ValidateError> {
        validate(msg, &shop()).await.unwrap_err()
    }

    #[tokio::test]
    async fn rejects_unknown_products_and_bad_quantities() {
        let err = invalid(message("o", vec![line("mug", 1), line("nope", 1)])).await;
        assert_eq!(err.name(), "InvalidOrder");
        assert!(err.message().contains("nope"));
        for q in [0, 101] {
            assert_eq!(
                invalid(message("o", vec![line("mug", q)])).await.name(),
                "InvalidOrder"
            );
        }
        assert!(validate(
            message("o", vec![line("mug", 1)]),
            &InMemoryShop::new([product("mug", 1, 100)])
        )
        .await
        .is_ok());
        assert!(validate(
            message("o", vec![line("mug", 100)]),
            &InMemoryShop::new([product("mug", 1, 100)])
        )
        .await
        .is_ok());
    }

    #[tokio::test]
    async fn rejects_empty_too_long_and_malformed_orders() {
        assert_eq!(invalid(message("o", vec![])).await.name(), "InvalidOrder");
        let many: Vec<_> = (0..51).map(|_| line("mug", 1)).collect();
        assert!(invalid(message("o", many)).await.message().contains("50"));
        assert_eq!(
            invalid(message("", vec![line("mug", 1)])).await.name(),
            "InvalidOrder"
        );
        assert_eq!(
            invalid(message(&"x".repeat(129), vec![line("mug", 1)]))
                .await
                .name(),
            "InvalidOrder"
        );
        let mut eur = message("o", vec![line("mug", 1)]);
        eur.currency = "EUR".into();
        assert_eq!(invalid(eur).await.name(), "InvalidOrder");
        let mut anon = message("o", vec![line("mug", 1)]);
        anon.user_sub = " ".into();
        assert_eq!(invalid(anon).await.name(), "InvalidOrder");
    }

    #[tokio::test]
    async fn fifty_lines_are_fine() {
        let shop = InMemoryShop::new([product("mug", 10, 10_000)]);
        let lines: Vec<_> = (0..50).map(|_| line("mug", 2)).collect();
        assert_eq!(
            validate(message("o", lines), &shop)
                .await
                .unwrap()
                .total_cents,
            50 * 2 * 10
        );
    }

    #[tokio::test]
    async fn stock_is_checked_over_all_lines_of_a_product() {
        let err = invalid(message("o", vec![line("tee", 2), line("tee", 2)])).await;
        assert_eq!(err.name(), "OutOfStock");
        assert_eq!(
            invalid(message("o", vec![line("pin", 1)])).await.name(),
            "OutOfStock"
        );
    }

    #[tokio::test]
    async fn rejects_products_in_another_currency_and_overflowing_totals() {
        let mut foreign = product("yen", 100, 5);
        foreign.currency = "JPY".into();
        let shop = InMemoryShop::new([foreign, product("gold", i64::MAX / 2, 100)]);
        let err = validate(message("o", vec![line("yen", 1)]), &shop)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "InvalidOrder");
        let err = validate(message("o", vec![line("gold", 3)]), &shop)
            .await
            .unwrap_err();
        assert!(err.message().contains("too large"));
    }

    #[tokio::test]
    async fn catalog_errors_pass_through_for_retry() {
        let shop = shop();
        shop.fail_next(crate::error::PortError::Throttled("slow down".into()));
        let err = validate(message("o", vec![line("mug", 1)]), &shop)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Throttled");
        assert!(err.is_transient());
    }
}

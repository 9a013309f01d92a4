//! DynamoDB adapter: the Products table as the catalog, and the Orders table (with stock
//! reservation in one TransactWriteItems) as the order store.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, KeysAndAttributes, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use shop_model::{orders as o, products as p, OrderMessage, OrderStatus, CURRENCY};

use crate::aws::errors::classify;
use crate::error::PortError;
use crate::model::{OrderOutcome, OutcomeLine, PaidOrder};
use crate::ports::orders::{completed_outcome, failed_outcome, now_rfc3339, reservations};
use crate::ports::{CatalogProduct, CompleteError, OrderStore, ProductCatalog, Transition};

type Item = HashMap<String, AttributeValue>;

/// Most keys one BatchGetItem may ask for.
const BATCH_GET_MAX: usize = 100;
/// Rounds of re-asking for UnprocessedKeys before giving up as throttled.
const BATCH_GET_ROUNDS: u32 = 5;

/// The Products and Orders tables.
#[derive(Debug, Clone)]
pub struct DynamoShop {
    client: Client,
    products_table: String,
    orders_table: String,
}

impl DynamoShop {
    pub fn new(
        client: Client,
        products_table: impl Into<String>,
        orders_table: impl Into<String>,
    ) -> Self {
        DynamoShop {
            client,
            products_table: products_table.into(),
            orders_table: orders_table.into(),
        }
    }

    /// Only the Products table (validate): order operations fail with `InternalError`.
    pub fn products_only(client: Client, products_table: impl Into<String>) -> Self {
        Self::new(client, products_table, "")
    }

    /// Only the Orders table (record-failure): the catalog and `complete` fail with `InternalError`.
    pub fn orders_only(client: Client, orders_table: impl Into<String>) -> Self {
        Self::new(client, "", orders_table)
    }

    fn products_table(&self) -> Result<&str, PortError> {
        configured(&self.products_table, "Products")
    }

    fn orders_table(&self) -> Result<&str, PortError> {
        configured(&self.orders_table, "Orders")
    }

    /// The order as stored now (strongly consistent), if any.
    pub async fn load_order(&self, order_id: &str) -> Result<Option<OrderOutcome>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(self.orders_table()?)
            .key(o::ORDER_ID, s(order_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("Orders GetItem", &e))?;
        out.item().map(parse_order).transpose()
    }

    fn order_key(&self, order_id: &str) -> Item {
        HashMap::from([(o::ORDER_ID.to_owned(), s(order_id))])
    }

    /// The status an order has per a returned old item, or a fresh read when none was returned.
    async fn stored_order(
        &self,
        old: Option<&Item>,
        order_id: &str,
    ) -> Result<Option<OrderOutcome>, PortError> {
        match old {
            Some(item) if !item.is_empty() => parse_order(item).map(Some),
            _ => self.load_order(order_id).await,
        }
    }
}

#[async_trait]
impl ProductCatalog for DynamoShop {
    async fn get_products(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, CatalogProduct>, PortError> {
        let table = self.products_table()?;
        let mut found = HashMap::new();
        for chunk in ids.chunks(BATCH_GET_MAX) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|id| HashMap::from([(p::ID.to_owned(), s(id))]))
                .collect();
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .projection_expression("#id, #name, #price, #currency, #stock")
                    .expression_attribute_names("#id", p::ID)
                    .expression_attribute_names("#name", p::NAME)
                    .expression_attribute_names("#price", p::PRICE_CENTS)
                    .expression_attribute_names("#currency", p::CURRENCY)
                    .expression_attribute_names("#stock", p::STOCK)
                    .build()
                    .map_err(|e| PortError::Internal(format!("BatchGetItem request: {e}")))?,
            );
            let mut round = 0;
            while let Some(request) = pending.take() {
                if round == BATCH_GET_ROUNDS {
                    return Err(PortError::Throttled(
                        "Products BatchGetItem: keys left unprocessed".into(),
                    ));
                }
                if round > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << round)).await;
                }
                round += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(|e| classify("Products BatchGetItem", &e))?;
                for item in out
                    .responses()
                    .and_then(|r| r.get(table))
                    .into_iter()
                    .flatten()
                {
                    let product = parse_product(item)?;
                    found.insert(product.id.clone(), product);
                }
                pending = out
                    .unprocessed_keys()
                    .and_then(|u| u.get(table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl OrderStore for DynamoShop {
    async fn complete(
        &self,
        order: &PaidOrder,
    ) -> Result<(OrderOutcome, Transition), CompleteError> {
        let now = now_rfc3339();
        let wanted = reservations(&order.items);

        // Item 0: the order, only from PENDING (or absent) to COMPLETED.
        let order_update = Update::builder()
            .table_name(self.orders_table()?)
            .set_key(Some(self.order_key(&order.order_id)))
            .update_expression(
                "SET #status = :completed, #userSub = :userSub, #items = :items, #total = :total, \
                 #currency = :currency, #paymentId = :paymentId, \
                 #createdAt = if_not_exists(#createdAt, :createdAt), #updatedAt = :now",
            )
            .condition_expression("attribute_not_exists(#orderId) OR #status = :pending")
            .expression_attribute_names("#orderId", o::ORDER_ID)
            .expression_attribute_names("#status", o::STATUS)
            .expression_attribute_names("#userSub", o::USER_SUB)
            .expression_attribute_names("#items", o::ITEMS)
            .expression_attribute_names("#total", o::TOTAL_CENTS)
            .expression_attribute_names("#currency", o::CURRENCY)
            .expression_attribute_names("#paymentId", o::PAYMENT_ID)
            .expression_attribute_names("#createdAt", o::CREATED_AT)
            .expression_attribute_names("#updatedAt", o::UPDATED_AT)
            .expression_attribute_values(":completed", s(OrderStatus::Completed.as_str()))
            .expression_attribute_values(":pending", s(OrderStatus::Pending.as_str()))
            .expression_attribute_values(":userSub", s(&order.user_sub))
            .expression_attribute_values(":items", priced_items(order))
            .expression_attribute_values(":total", n(order.total_cents))
            .expression_attribute_values(":currency", s(&order.currency))
            .expression_attribute_values(":paymentId", s(&order.payment_id))
            .expression_attribute_values(":createdAt", s(&order.created_at))
            .expression_attribute_values(":now", s(&now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| PortError::Internal(format!("order update: {e}")))?;
        let mut transact = vec![TransactWriteItem::builder().update(order_update).build()];

        // Items 1..: one conditional decrement per product.
        for (product_id, quantity) in &wanted {
            let update = Update::builder()
                .table_name(self.products_table()?)
                .key(p::ID, s(product_id))
                .update_expression("SET #stock = #stock - :q")
                .condition_expression("attribute_exists(#id) AND #stock >= :q")
                .expression_attribute_names("#id", p::ID)
                .expression_attribute_names("#stock", p::STOCK)
                .expression_attribute_values(":q", AttributeValue::N(quantity.to_string()))
                .build()
                .map_err(|e| PortError::Internal(format!("stock update: {e}")))?;
            transact.push(TransactWriteItem::builder().update(update).build());
        }

        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(transact))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok((completed_outcome(order, &now), Transition::Applied)),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(classify("TransactWriteItems", &err).into());
        };

        // The cancellation reasons are in request order: [order, product...]
        // (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>).
        let reasons = cancelled.cancellation_reasons();
        let order_failed =
            reasons.is_empty() || reason_code(reasons.first()) == "ConditionalCheckFailed";
        if order_failed {
            match self
                .stored_order(
                    reasons.first().and_then(CancellationReason::item),
                    &order.order_id,
                )
                .await?
            {
                Some(stored) if stored.status == OrderStatus::Completed => {
                    return Ok((stored, Transition::AlreadyFinal))
                }
                Some(stored) if stored.status == OrderStatus::Failed => {
                    return Err(CompleteError::OrderAlreadyFailed(format!(
                        "order {} already failed",
                        order.order_id
                    )))
                }
                _ if !reasons.is_empty() => {
                    // The order changed between the transaction and the read: try again.
                    return Err(PortError::Throttled(
                        "order changed during the transaction".into(),
                    )
                    .into());
                }
                _ => {}
            }
        }
        let short: Vec<&str> = if reasons.is_empty() {
            // No reasons given: find the short products by reading them.
            let ids: Vec<String> = wanted.keys().map(|id| (*id).to_owned()).collect();
            let products = self.get_products(&ids).await?;
            wanted
                .iter()
                .filter(|(id, q)| {
                    products
                        .get(**id)
                        .is_none_or(|p| u64::try_from(p.stock).unwrap_or(0) < **q)
                })
                .map(|(id, _)| *id)
                .collect()
        } else {
            wanted
                .keys()
                .zip(reasons.iter().skip(1))
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(id, _)| *id)
                .collect()
        };
        if !short.is_empty() {
            return Err(CompleteError::OutOfStock(format!(
                "not enough stock for {}",
                short.join(", ")
            )));
        }
        let codes: Vec<&str> = reasons
            .iter()
            .map(|r| reason_code(Some(r)))
            .filter(|c| *c != "None")
            .collect();
        let transient = [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "RequestLimitExceeded",
        ];
        if reasons.is_empty() || codes.iter().any(|c| transient.contains(c)) {
            Err(
                PortError::Throttled(format!("transaction cancelled ({})", codes.join(", ")))
                    .into(),
            )
        } else {
            Err(PortError::Internal(format!("transaction cancelled ({})", codes.join(", "))).into())
        }
    }

    async fn record_failure(
        &self,
        order: &OrderMessage,
        error: &str,
        reason: &str,
    ) -> Result<(OrderOutcome, Transition), PortError> {
        let now = now_rfc3339();
        let items = AttributeValue::L(
            order
                .items
                .iter()
                .map(|l| {
                    AttributeValue::M(HashMap::from([
                        ("productId".to_owned(), s(&l.product_id)),
                        ("quantity".to_owned(), n(l.quantity)),
                    ]))
                })
                .collect(),
        );
        let result = self
            .client
            .update_item()
            .table_name(self.orders_table()?)
            .set_key(Some(self.order_key(&order.order_id)))
            .update_expression(
                "SET #status = :failed, #failureError = :error, #failureReason = :reason, #updatedAt = :now, \
                 #userSub = if_not_exists(#userSub, :userSub), #items = if_not_exists(#items, :items), \
                 #total = if_not_exists(#total, :total), #currency = if_not_exists(#currency, :currency), \
                 #createdAt = if_not_exists(#createdAt, :createdAt)",
            )
            .condition_expression("attribute_not_exists(#orderId) OR #status = :pending")
            .expression_attribute_names("#orderId", o::ORDER_ID)
            .expression_attribute_names("#status", o::STATUS)
            .expression_attribute_names("#failureError", o::FAILURE_ERROR)
            .expression_attribute_names("#failureReason", o::FAILURE_REASON)
            .expression_attribute_names("#updatedAt", o::UPDATED_AT)
            .expression_attribute_names("#userSub", o::USER_SUB)
            .expression_attribute_names("#items", o::ITEMS)
            .expression_attribute_names("#total", o::TOTAL_CENTS)
            .expression_attribute_names("#currency", o::CURRENCY)
            .expression_attribute_names("#createdAt", o::CREATED_AT)
            .expression_attribute_values(":failed", s(OrderStatus::Failed.as_str()))
            .expression_attribute_values(":pending", s(OrderStatus::Pending.as_str()))
            .expression_attribute_values(":error", s(error))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":userSub", s(&order.user_sub))
            .expression_attribute_values(":items", items)
            .expression_attribute_values(":total", n(order.total_cents))
            .expression_attribute_values(":currency", s(&order.currency))
            .expression_attribute_values(":createdAt", s(&order.created_at))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => {
                let outcome = match out.attributes() {
                    Some(item) if !item.is_empty() => parse_order(item)?,
                    _ => failed_outcome(order, error, reason, &now),
                };
                Ok((outcome, Transition::Applied))
            }
            Err(err) => {
                let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                    err.as_service_error()
                else {
                    return Err(classify("Orders UpdateItem", &err));
                };
                match self.stored_order(failed.item(), &order.order_id).await? {
                    Some(stored) if stored.status.is_final() => {
                        Ok((stored, Transition::AlreadyFinal))
                    }
                    _ => Err(PortError::Throttled(
                        "order changed during the update".into(),
                    )),
                }
            }
        }
    }
}

fn configured<'a>(table: &'a str, what: &str) -> Result<&'a str, PortError> {
    if table.is_empty() {
        Err(PortError::Internal(format!(
            "no {what} table is configured for this function"
        )))
    } else {
        Ok(table)
    }
}

fn reason_code(reason: Option<&CancellationReason>) -> &str {
    reason.and_then(CancellationReason::code).unwrap_or("None")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn priced_items(order: &PaidOrder) -> AttributeValue {
    AttributeValue::L(
        order
            .items
            .iter()
            .map(|l| {
                AttributeValue::M(HashMap::from([
                    ("productId".to_owned(), s(&l.product_id)),
                    ("name".to_owned(), s(&l.name)),
                    ("quantity".to_owned(), n(l.quantity)),
                    ("unitPriceCents".to_owned(), n(l.unit_price_cents)),
                    ("lineTotalCents".to_owned(), n(l.line_total_cents)),
                ]))
            })
            .collect(),
    )
}

fn corrupt(what: &str) -> PortError {
    PortError::Internal(format!("stored item has a missing or malformed {what}"))
}

fn get_s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n<T: std::str::FromStr>(item: &Item, key: &str) -> Result<Option<T>, PortError> {
    match item.get(key) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| corrupt(key)),
        Some(_) => Err(corrupt(key)),
    }
}

fn parse_product(item: &Item) -> Result<CatalogProduct, PortError> {
    Ok(CatalogProduct {
        id: get_s(item, p::ID).ok_or_else(|| corrupt(p::ID))?.to_owned(),
        name: get_s(item, p::NAME).unwrap_or_default().to_owned(),
        price_cents: get_n(item, p::PRICE_CENTS)?.ok_or_else(|| corrupt(p::PRICE_CENTS))?,
        currency: get_s(item, p::CURRENCY).unwrap_or(CURRENCY).to_owned(),
        stock: get_n(item, p::STOCK)?.unwrap_or(0),
    })
}

/// Reads a stored order; lines keep whatever priced fields they have.
pub(crate) fn parse_order(item: &Item) -> Result<OrderOutcome, PortError> {
    let status = get_s(item, o::STATUS)
        .and_then(OrderStatus::parse)
        .ok_or_else(|| corrupt(o::STATUS))?;
    let mut items = Vec::new();
    if let Some(list) = item.get(o::ITEMS) {
        for line in list.as_l().map_err(|_| corrupt(o::ITEMS))? {
            let m = line.as_m().map_err(|_| corrupt(o::ITEMS))?;
            items.push(OutcomeLine {
                product_id: get_s(m, "productId")
                    .ok_or_else(|| corrupt("items.productId"))?
                    .to_owned(),
                quantity: get_n(m, "quantity")?.ok_or_else(|| corrupt("items.quantity"))?,
                name: get_s(m, "name").map(str::to_owned),
                unit_price_cents: get_n(m, "unitPriceCents")?,
                line_total_cents: get_n(m, "lineTotalCents")?,
            });
        }
    }
    let opt = |key: &str| get_s(item, key).map(str::to_owned);
    Ok(OrderOutcome {
        order_id: get_s(item, o::ORDER_ID)
            .ok_or_else(|| corrupt(o::ORDER_ID))?
            .to_owned(),
        user_sub: opt(o::USER_SUB).unwrap_or_default(),
        status,
        items,
        total_cents: get_n(item, o::TOTAL_CENTS)?.unwrap_or(0),
        currency: opt(o::CURRENCY).unwrap_or_else(|| CURRENCY.to_owned()),
        created_at: opt(o::CREATED_AT).unwrap_or_default(),
        updated_at: opt(o::UPDATED_AT),
        payment_id: opt(o::PAYMENT_ID),
        failure_error: opt(o::FAILURE_ERROR),
        failure_reason: opt(o::FAILURE_REASON),
    })
}

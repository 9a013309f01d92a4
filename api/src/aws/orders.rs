//! [`OrderStore`] over the DynamoDB Orders table: conditional put for new orders,
//! strongly consistent reads, and the `queuedAt` update.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use shop_model::{orders as attr, OrderStatus, PricedLine};

use super::errors::classify;
use super::{n, s};
use crate::error::ApiError;
use crate::ports::{CreateOutcome, OrderPage, OrderRecord, OrderStore, PageKey};

type Item = HashMap<String, AttributeValue>;

/// The Orders table.
#[derive(Debug, Clone)]
pub struct DynamoOrders {
    client: Client,
    table: String,
}

impl DynamoOrders {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoOrders {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl OrderStore for DynamoOrders {
    async fn create_order(&self, order: &OrderRecord) -> Result<CreateOutcome, ApiError> {
        // `attribute_not_exists` on the key makes the put fail if the item exists.
        // <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html#Expressions.ConditionExpressions.PreventingOverwrites>
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(order_to_item(order)))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", attr::ORDER_ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                match self.get_order(&order.order_id).await? {
                    Some(existing) => Ok(CreateOutcome::AlreadyExists(Box::new(existing))),
                    None => Err(ApiError::Conflict("order is being changed, retry".into())),
                }
            }
            Err(error) => Err(classify("DynamoDB", "PutItem", &error)),
        }
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::ORDER_ID, AttributeValue::S(order_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "GetItem", &e))?;
        output.item.as_ref().map(order_from_item).transpose()
    }

    async fn mark_queued(&self, order_id: &str, queued_at: &str) -> Result<(), ApiError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::ORDER_ID, AttributeValue::S(order_id.to_string()))
            .update_expression("SET #q = :q")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#q", attr::QUEUED_AT)
            .expression_attribute_names("#id", attr::ORDER_ID)
            .expression_attribute_values(":q", AttributeValue::S(queued_at.to_string()))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "UpdateItem", &e))?;
        Ok(())
    }

    async fn list_orders(
        &self,
        user_sub: &str,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<OrderPage, ApiError> {
        // The user index: partition `userSub`, sort `createdAt`; newest first is
        // `ScanIndexForward = false`. It projects the listing's attributes (no payment id, never
        // the payment token).
        // <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html>
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(attr::USER_INDEX)
            .key_condition_expression("#u = :u")
            .expression_attribute_names("#u", attr::USER_SUB)
            .expression_attribute_values(":u", s(user_sub))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start.map(super::start_key))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "Query", &e))?;
        let items = output
            .items
            .unwrap_or_default()
            .iter()
            .map(order_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let last_key = match output.last_evaluated_key {
            Some(key) if !key.is_empty() => Some(super::page_key(&key)?),
            _ => None,
        };
        Ok(OrderPage { items, last_key })
    }
}

/// An order as an Orders item (absent optional attributes are left out).
pub(crate) fn order_to_item(order: &OrderRecord) -> Item {
    let items = order
        .items
        .iter()
        .map(|line| {
            AttributeValue::M(HashMap::from([
                ("productId".to_string(), s(&line.product_id)),
                ("name".to_string(), s(&line.name)),
                ("quantity".to_string(), n(line.quantity)),
                ("unitPriceCents".to_string(), n(line.unit_price_cents)),
                ("lineTotalCents".to_string(), n(line.line_total_cents)),
            ]))
        })
        .collect();
    let mut item = HashMap::from([
        (attr::ORDER_ID.to_string(), s(&order.order_id)),
        (attr::USER_SUB.to_string(), s(&order.user_sub)),
        (attr::STATUS.to_string(), s(order.status.as_str())),
        (attr::ITEMS.to_string(), AttributeValue::L(items)),
        (attr::TOTAL_CENTS.to_string(), n(order.total_cents)),
        (attr::CURRENCY.to_string(), s(&order.currency)),
        (attr::CREATED_AT.to_string(), s(&order.created_at)),
        (attr::UPDATED_AT.to_string(), s(&order.updated_at)),
    ]);
    for (name, value) in [
        (attr::PAYMENT_TOKEN, &order.payment_token),
        (attr::PAYMENT_ID, &order.payment_id),
        (attr::QUEUED_AT, &order.queued_at),
        (attr::IDEMPOTENCY_KEY, &order.idempotency_key),
        (attr::FAILURE_ERROR, &order.failure_error),
        (attr::FAILURE_REASON, &order.failure_reason),
    ] {
        if let Some(value) = value {
            item.insert(name.to_string(), s(value));
        }
    }
    item
}

fn get_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// An Orders item as an [`OrderRecord`].
pub(crate) fn order_from_item(item: &Item) -> Result<OrderRecord, ApiError> {
    let order_id = get_s(item, attr::ORDER_ID).unwrap_or_default();
    let malformed =
        |what: &str| ApiError::Internal(format!("order {order_id} has no valid {what}"));
    if order_id.is_empty() {
        return Err(malformed(attr::ORDER_ID));
    }
    let lines = match item.get(attr::ITEMS) {
        Some(AttributeValue::L(lines)) => lines,
        _ => return Err(malformed(attr::ITEMS)),
    };
    let mut items = Vec::with_capacity(lines.len());
    for line in lines {
        let AttributeValue::M(line) = line else {
            return Err(malformed(attr::ITEMS));
        };
        items.push(PricedLine {
            product_id: get_s(line, "productId").ok_or_else(|| malformed("items.productId"))?,
            name: get_s(line, "name").unwrap_or_default(),
            quantity: get_n(line, "quantity").ok_or_else(|| malformed("items.quantity"))?,
            unit_price_cents: get_n(line, "unitPriceCents")
                .ok_or_else(|| malformed("items.unitPriceCents"))?,
            line_total_cents: get_n(line, "lineTotalCents")
                .ok_or_else(|| malformed("items.lineTotalCents"))?,
        });
    }
    Ok(OrderRecord {
        order_id: order_id.clone(),
        user_sub: get_s(item, attr::USER_SUB).ok_or_else(|| malformed(attr::USER_SUB))?,
        status: get_s(item, attr::STATUS)
            .and_then(|s| OrderStatus::parse(&s))
            .ok_or_else(|| malformed(attr::STATUS))?,
        items,
        total_cents: get_n(item, attr::TOTAL_CENTS).ok_or_else(|| malformed(attr::TOTAL_CENTS))?,
        currency: get_s(item, attr::CURRENCY).ok_or_else(|| malformed(attr::CURRENCY))?,
        payment_token: get_s(item, attr::PAYMENT_TOKEN),
        payment_id: get_s(item, attr::PAYMENT_ID),
        created_at: get_s(item, attr::CREATED_AT).unwrap_or_default(),
        updated_at: get_s(item, attr::UPDATED_AT).unwrap_or_default(),
        queued_at: get_s(item, attr::QUEUED_AT),
        idempotency_key: get_s(item, attr::IDEMPOTENCY_KEY),
        failure_error: get_s(item, attr::FAILURE_ERROR),
        failure_reason: get_s(item, attr::FAILURE_REASON),
    })
}

//! [`ProductCatalog`] over the DynamoDB Products table: Scan for the full listing, Query
//! on `category-index` for one category, BatchGetItem for order pricing.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use shop_model::{products as attr, Product, CURRENCY};

use super::errors::classify;
use crate::error::{ApiError, RETRY_AFTER_THROTTLED};
use crate::ports::{PageKey, ProductCatalog, ProductPage};

/// Attempts of a BatchGetItem before unprocessed keys count as throttling.
const BATCH_GET_ATTEMPTS: u32 = 4;

type Item = HashMap<String, AttributeValue>;

/// The Products table.
#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCatalog {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl ProductCatalog for DynamoCatalog {
    async fn list_products(
        &self,
        category: Option<&str>,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<ProductPage, ApiError> {
        let start_key = start.map(super::start_key);
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        // A page ends at `Limit` items or 1 MB, whichever comes first; `LastEvaluatedKey`
        // is absent only when the listing is complete.
        // <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Pagination.html>
        let (items, last_key) = match category {
            Some(category) => {
                let output = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(attr::CATEGORY_INDEX)
                    .key_condition_expression("#c = :c")
                    .expression_attribute_names("#c", attr::CATEGORY)
                    .expression_attribute_values(":c", AttributeValue::S(category.to_string()))
                    .limit(limit)
                    .set_exclusive_start_key(start_key)
                    .send()
                    .await
                    .map_err(|e| classify("DynamoDB", "Query", &e))?;
                (output.items.unwrap_or_default(), output.last_evaluated_key)
            }
            None => {
                let output = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .limit(limit)
                    .set_exclusive_start_key(start_key)
                    .send()
                    .await
                    .map_err(|e| classify("DynamoDB", "Scan", &e))?;
                (output.items.unwrap_or_default(), output.last_evaluated_key)
            }
        };
        let items = items
            .iter()
            .map(product_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let last_key = match last_key {
            Some(key) if !key.is_empty() => Some(super::page_key(&key)?),
            _ => None,
        };
        Ok(ProductPage { items, last_key })
    }

    async fn get_product(&self, id: &str) -> Result<Option<Product>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::ID, AttributeValue::S(id.to_string()))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "GetItem", &e))?;
        output.item.as_ref().map(product_from_item).transpose()
    }

    async fn get_products(&self, ids: &[String]) -> Result<Vec<Product>, ApiError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys: Vec<Item> = ids
            .iter()
            .map(|id| HashMap::from([(attr::ID.to_string(), AttributeValue::S(id.clone()))]))
            .collect();
        let mut products = Vec::with_capacity(ids.len());
        // BatchGetItem may return some keys as unprocessed (throttling, 16 MB cap); the
        // caller retries them with backoff.
        // <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html>
        for attempt in 0..BATCH_GET_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(|e| ApiError::Internal(format!("BatchGetItem request: {e}")))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| classify("DynamoDB", "BatchGetItem", &e))?;
            if let Some(items) = output.responses.as_ref().and_then(|r| r.get(&self.table)) {
                for item in items {
                    products.push(product_from_item(item)?);
                }
            }
            keys = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                return Ok(products);
            }
        }
        tracing::warn!(
            unprocessed = keys.len(),
            "BatchGetItem left keys unprocessed"
        );
        Err(ApiError::Unavailable {
            service: "DynamoDB",
            retry_after_secs: RETRY_AFTER_THROTTLED,
        })
    }
}

/// A `LastEvaluatedKey` as a page key (every key attribute of this schema is a string).
fn string(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

fn number(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

/// A Products item as a [`Product`]; `id`, `name`, `category` and `priceCents` are required.
pub(crate) fn product_from_item(item: &Item) -> Result<Product, ApiError> {
    let id = string(item, attr::ID);
    let malformed = |what: &str| {
        ApiError::Internal(format!(
            "product {} has no valid {what}",
            id.as_deref().unwrap_or("?")
        ))
    };
    Ok(Product {
        id: id.clone().ok_or_else(|| malformed(attr::ID))?,
        name: string(item, attr::NAME).ok_or_else(|| malformed(attr::NAME))?,
        description: string(item, attr::DESCRIPTION).unwrap_or_default(),
        category: string(item, attr::CATEGORY).ok_or_else(|| malformed(attr::CATEGORY))?,
        price_cents: number(item, attr::PRICE_CENTS).ok_or_else(|| malformed(attr::PRICE_CENTS))?,
        currency: string(item, attr::CURRENCY).unwrap_or_else(|| CURRENCY.to_string()),
        image_key: string(item, attr::IMAGE_KEY),
        stock: number(item, attr::STOCK).unwrap_or(0),
    })
}

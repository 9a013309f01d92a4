//! [`ProductCatalog`] and [`CatalogAdmin`] over the DynamoDB Products table: Scan for the full
//! listing, Query on `category-index` for one category, BatchGetItem for order pricing, and one
//! conditional write per catalog change.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use shop_model::{products as attr, Product, CURRENCY};

use super::errors::classify;
use super::{n, s};
use crate::error::{ApiError, RETRY_AFTER_THROTTLED};
use crate::ports::{
    CatalogAdmin, EditOutcome, PageKey, ProductCatalog, ProductEdit, ProductPage, StockOutcome,
};

/// Attempts of a BatchGetItem before unprocessed keys count as throttling.
const BATCH_GET_ATTEMPTS: u32 = 4;

type Item = HashMap<String, AttributeValue>;

/// The listing filter: products never archived or un-archived. DynamoDB applies it after
/// `Limit`, so a page may be short and still have a next one.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.FilterExpression>
const NOT_ARCHIVED: &str = "#archived <> :true";

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
                    .filter_expression(NOT_ARCHIVED)
                    .expression_attribute_names("#c", attr::CATEGORY)
                    .expression_attribute_names("#archived", attr::ARCHIVED)
                    .expression_attribute_values(":c", AttributeValue::S(category.to_string()))
                    .expression_attribute_values(":true", AttributeValue::Bool(true))
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
                    .filter_expression(NOT_ARCHIVED)
                    .expression_attribute_names("#archived", attr::ARCHIVED)
                    .expression_attribute_values(":true", AttributeValue::Bool(true))
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

#[async_trait]
impl CatalogAdmin for DynamoCatalog {
    async fn create_product(&self, product: &Product) -> Result<bool, ApiError> {
        let mut item = HashMap::from([
            (attr::ID.to_string(), s(&product.id)),
            (attr::NAME.to_string(), s(&product.name)),
            (attr::DESCRIPTION.to_string(), s(&product.description)),
            (attr::CATEGORY.to_string(), s(&product.category)),
            (attr::PRICE_CENTS.to_string(), n(product.price_cents)),
            (attr::CURRENCY.to_string(), s(&product.currency)),
            (attr::STOCK.to_string(), n(product.stock)),
            (attr::VERSION.to_string(), n(1)),
            (
                attr::ARCHIVED.to_string(),
                AttributeValue::Bool(product.archived),
            ),
        ]);
        if let Some(key) = &product.image_key {
            item.insert(attr::IMAGE_KEY.to_string(), s(key));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#id)")
            .expression_attribute_names("#id", attr::ID)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(classify("DynamoDB", "PutItem", &e)),
        }
    }

    async fn edit_product(
        &self,
        id: &str,
        edit: &ProductEdit,
        version: i64,
    ) -> Result<EditOutcome, ApiError> {
        // Optimistic concurrency: the write carries the version read and bumps it, in one
        // conditional UpdateItem. A product written before versions existed is version 0.
        // <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>
        let condition = if version == 0 {
            "attribute_exists(#id) AND attribute_not_exists(#version)"
        } else {
            "attribute_exists(#id) AND #version = :expected"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, s(id))
            .update_expression(
                "SET #name = :name, #description = :description, #category = :category, \
                 #price = :price, #currency = :currency, #archived = :archived, \
                 #version = if_not_exists(#version, :zero) + :one",
            )
            .condition_expression(condition)
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#name", attr::NAME)
            .expression_attribute_names("#description", attr::DESCRIPTION)
            .expression_attribute_names("#category", attr::CATEGORY)
            .expression_attribute_names("#price", attr::PRICE_CENTS)
            .expression_attribute_names("#currency", attr::CURRENCY)
            .expression_attribute_names("#archived", attr::ARCHIVED)
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":name", s(&edit.name))
            .expression_attribute_values(":description", s(&edit.description))
            .expression_attribute_values(":category", s(&edit.category))
            .expression_attribute_values(":price", n(edit.price_cents))
            .expression_attribute_values(":currency", s(&edit.currency))
            .expression_attribute_values(":archived", AttributeValue::Bool(edit.archived))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        if version != 0 {
            request = request.expression_attribute_values(":expected", n(version));
        }
        match request.send().await {
            Ok(output) => edited(output.attributes),
            Err(e) if is_condition_failure(&e) => match self.get_product(id).await? {
                None => Ok(EditOutcome::NotFound),
                Some(current) => Ok(EditOutcome::Stale {
                    current_version: current.version,
                }),
            },
            Err(e) => Err(classify("DynamoDB", "UpdateItem", &e)),
        }
    }

    async fn archive_product(&self, id: &str) -> Result<EditOutcome, ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, s(id))
            .update_expression(
                "SET #archived = :true, #version = if_not_exists(#version, :zero) + :one",
            )
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#archived", attr::ARCHIVED)
            .expression_attribute_names("#version", attr::VERSION)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => edited(output.attributes),
            Err(e) if is_condition_failure(&e) => Ok(EditOutcome::NotFound),
            Err(e) => Err(classify("DynamoDB", "UpdateItem", &e)),
        }
    }

    async fn adjust_stock(&self, id: &str, delta: i64) -> Result<StockOutcome, ApiError> {
        // `ADD` is atomic, like the persist step's reservation (`stock >= :q`, `stock - :q`),
        // so an adjustment and a reservation never lose each other's change; the condition
        // keeps the stock from going below zero.
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, s(id))
            .update_expression("ADD #stock :delta")
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#stock", attr::STOCK)
            .expression_attribute_values(":delta", n(delta))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        request = if delta < 0 {
            request
                .condition_expression("attribute_exists(#id) AND #stock >= :need")
                .expression_attribute_values(":need", n(-delta))
        } else {
            request.condition_expression("attribute_exists(#id)")
        };
        match request.send().await {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(StockOutcome::Adjusted(product_from_item(&item)?))
            }
            Err(e) if is_condition_failure(&e) => match self.get_product(id).await? {
                None => Ok(StockOutcome::NotFound),
                Some(current) => Ok(StockOutcome::Insufficient {
                    stock: current.stock,
                }),
            },
            Err(e) => Err(classify("DynamoDB", "UpdateItem", &e)),
        }
    }

    async fn set_image(&self, id: &str, key: &str) -> Result<Option<String>, ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::ID, s(id))
            .update_expression("SET #image = :image")
            .condition_expression("attribute_exists(#id)")
            .expression_attribute_names("#id", attr::ID)
            .expression_attribute_names("#image", attr::IMAGE_KEY)
            .expression_attribute_values(":image", s(key))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes
                .as_ref()
                .and_then(|old| string(old, attr::IMAGE_KEY))),
            Err(e) if is_condition_failure(&e) => Err(ApiError::NotFound("no such product".into())),
            Err(e) => Err(classify("DynamoDB", "UpdateItem", &e)),
        }
    }
}

/// The product an `ALL_NEW` update returned.
fn edited(attributes: Option<Item>) -> Result<EditOutcome, ApiError> {
    let item = attributes.unwrap_or_default();
    Ok(EditOutcome::Edited(product_from_item(&item)?))
}

/// True when a conditional write was refused (`ConditionalCheckFailedException`).
fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    error: &aws_sdk_dynamodb::error::SdkError<E>,
) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

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
        version: number(item, attr::VERSION).unwrap_or(0),
        archived: matches!(item.get(attr::ARCHIVED), Some(AttributeValue::Bool(true))),
    })
}

//! Shared setup of the steps' emulator integration tests: SDK config, unique names, tables.
#![allow(dead_code)]

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use shop_model::{orders, products, OrderLine, OrderMessage, CURRENCY};

/// The emulator's SDK configuration; panics when no emulator is configured.
pub async fn sdk_config() -> SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `cargo xtask test`, which starts the emulator"
    );
    shop_model::aws::sdk_config().await
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

async fn create_table(client: &aws_sdk_dynamodb::Client, prefix: &str, key: &str) -> String {
    let name = unique(prefix);
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    name
}

/// Creates a Products and an Orders table; returns (products, orders).
pub async fn create_tables(client: &aws_sdk_dynamodb::Client) -> (String, String) {
    (
        create_table(client, "products", products::ID).await,
        create_table(client, "orders", orders::ORDER_ID).await,
    )
}

/// Puts a product as the API writes it.
pub async fn put_product(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
    price_cents: i64,
    stock: i64,
) {
    let item = HashMap::from([
        (products::ID.to_owned(), AttributeValue::S(id.to_owned())),
        (
            products::NAME.to_owned(),
            AttributeValue::S(format!("Product {id}")),
        ),
        (
            products::DESCRIPTION.to_owned(),
            AttributeValue::S("A product".to_owned()),
        ),
        (
            products::CATEGORY.to_owned(),
            AttributeValue::S("misc".to_owned()),
        ),
        (
            products::PRICE_CENTS.to_owned(),
            AttributeValue::N(price_cents.to_string()),
        ),
        (
            products::CURRENCY.to_owned(),
            AttributeValue::S(CURRENCY.to_owned()),
        ),
        (
            products::STOCK.to_owned(),
            AttributeValue::N(stock.to_string()),
        ),
    ]);
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put product");
}

/// The stock of a product as stored.
pub async fn stock(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> i64 {
    let out = client
        .get_item()
        .table_name(table)
        .key(products::ID, AttributeValue::S(id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get product");
    out.item().expect("product exists")[products::STOCK]
        .as_n()
        .unwrap()
        .parse()
        .unwrap()
}

pub fn message(order_id: &str, items: &[(&str, u32)]) -> OrderMessage {
    OrderMessage {
        order_id: order_id.to_owned(),
        user_sub: "user-1".to_owned(),
        items: items
            .iter()
            .map(|(id, q)| OrderLine {
                product_id: (*id).to_owned(),
                quantity: *q,
            })
            .collect(),
        payment_token: Some("tok_visa".to_owned()),
        total_cents: 0,
        currency: CURRENCY.to_owned(),
        created_at: "2026-11-25T10:00:00.000Z".to_owned(),
    }
}

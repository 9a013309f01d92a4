//! Shared setup of the emulator integration tests: the moto endpoint, SDK config,
//! unique resource names and table creation.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use shop_model::{orders, products};

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

fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap()
}

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap()
}

/// Creates a Products table with its `category-index` GSI; returns its name.
pub async fn create_products_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = unique("products");
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(products::ID))
        .attribute_definitions(attribute(products::CATEGORY))
        .key_schema(key(products::ID, KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(products::CATEGORY_INDEX)
                .key_schema(key(products::CATEGORY, KeyType::Hash))
                .key_schema(key(products::ID, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create Products table");
    name
}

/// Creates an Orders table with its `user-index` GSI projected as the template does; returns
/// its name.
pub async fn create_orders_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = unique("orders");
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(orders::ORDER_ID))
        .attribute_definitions(attribute(orders::USER_SUB))
        .attribute_definitions(attribute(orders::CREATED_AT))
        .key_schema(key(orders::ORDER_ID, KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(orders::USER_INDEX)
                .key_schema(key(orders::USER_SUB, KeyType::Hash))
                .key_schema(key(orders::CREATED_AT, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::Include)
                        .set_non_key_attributes(Some(
                            orders::USER_INDEX_PROJECTION.map(str::to_string).to_vec(),
                        ))
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create Orders table");
    name
}

/// Puts one product item.
pub async fn put_product(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
    category: &str,
    price_cents: i64,
) {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    client
        .put_item()
        .table_name(table)
        .item(products::ID, S(id.into()))
        .item(products::NAME, S(format!("Product {id}")))
        .item(products::DESCRIPTION, S(format!("About {id}")))
        .item(products::CATEGORY, S(category.into()))
        .item(products::PRICE_CENTS, N(price_cents.to_string()))
        .item(products::CURRENCY, S("USD".into()))
        .item(products::STOCK, N("10".into()))
        .send()
        .await
        .expect("put product");
}

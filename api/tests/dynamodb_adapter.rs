//! The DynamoDB adapters against the emulator: catalog paging (Scan and the category
//! index), BatchGetItem, conditional order puts, and unreachable-endpoint handling.

mod common;

use std::collections::BTreeSet;

use api::app::{ProductsApi, Service};
use api::aws::{DynamoCatalog, DynamoOrders};
use api::memory::MemoryImages;
use api::ports::{CreateOutcome, OrderRecord, OrderStore, ProductCatalog};
use api::{ApiError, ApiRequest};
use shop_model::{OrderStatus, PricedLine};

async fn seeded_catalog() -> (aws_sdk_dynamodb::Client, String) {
    let config = common::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = common::create_products_table(&client).await;
    for (id, category, price) in [
        ("p-1", "books", 1299),
        ("p-2", "games", 4999),
        ("p-3", "books", 500),
        ("p-4", "music", 1),
        ("p-5", "books", 250),
        ("p-6", "games", 6000),
        ("p-7", "books", 700),
    ] {
        common::put_product(&client, &table, id, category, price).await;
    }
    (client, table)
}

/// Walks a listing through the handler, following `nextCursor`.
async fn walk(
    api: &ProductsApi<DynamoCatalog, MemoryImages>,
    category: Option<&str>,
    limit: u32,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut request =
            ApiRequest::new("GET", "/products").with_query("limit", &limit.to_string());
        if let Some(category) = category {
            request = request.with_query("category", category);
        }
        if let Some(cursor) = &cursor {
            request = request.with_query("cursor", cursor);
        }
        let response = api.handle(request).await;
        assert_eq!(response.status, 200, "{}", response.body);
        let body = response.json_body();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        for item in items {
            if let Some(category) = category {
                assert_eq!(item["category"], category);
            }
            ids.push(item["id"].as_str().unwrap().to_string());
        }
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
    panic!("listing never ended");
}

#[tokio::test]
async fn listing_pages_through_scan_and_category_index() {
    let (client, table) = seeded_catalog().await;
    let api = ProductsApi {
        catalog: DynamoCatalog::new(client, table),
        images: MemoryImages::default(),
    };

    let all = walk(&api, None, 3).await;
    assert_eq!(all.len(), 7, "{all:?}");
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(distinct.len(), 7, "each product once: {all:?}");

    let books = walk(&api, Some("books"), 1).await;
    assert_eq!(books, ["p-1", "p-3", "p-5", "p-7"], "the index sorts by id");
    assert!(walk(&api, Some("toys"), 5).await.is_empty());

    let one = api.handle(ApiRequest::new("GET", "/products/p-2")).await;
    assert_eq!(one.status, 200);
    let body = one.json_body();
    assert_eq!(body["priceCents"], 4999);
    assert_eq!(body["name"], "Product p-2");
    assert!(body["imageKey"].is_null());
    assert_eq!(
        api.handle(ApiRequest::new("GET", "/products/p-404"))
            .await
            .status,
        404
    );

    let garbage = ApiRequest::new("GET", "/products").with_query("cursor", "eyJpZCI6WzFdfQ");
    assert_eq!(api.handle(garbage).await.status, 422);
}

#[tokio::test]
async fn batch_get_returns_known_products_only() {
    let (client, table) = seeded_catalog().await;
    let catalog = DynamoCatalog::new(client, table);
    let ids: Vec<String> = ["p-1", "p-404", "p-6"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut found = catalog.get_products(&ids).await.unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].id.as_str(), found[0].price_cents), ("p-1", 1299));
    assert_eq!((found[1].id.as_str(), found[1].price_cents), ("p-6", 6000));
    assert_eq!(found[1].stock, 10);
    assert!(catalog.get_products(&[]).await.unwrap().is_empty());
}

fn record(order_id: &str) -> OrderRecord {
    OrderRecord {
        order_id: order_id.into(),
        user_sub: "user-1".into(),
        status: OrderStatus::Pending,
        items: vec![PricedLine {
            product_id: "p-1".into(),
            name: "Product p-1".into(),
            quantity: 2,
            unit_price_cents: 1299,
            line_total_cents: 2598,
        }],
        total_cents: 2598,
        currency: "USD".into(),
        payment_token: Some("tok_test".into()),
        payment_id: None,
        created_at: "2026-11-25T10:00:00.000Z".into(),
        updated_at: "2026-11-25T10:00:00.000Z".into(),
        queued_at: None,
        idempotency_key: Some("key-1".into()),
        failure_error: None,
        failure_reason: None,
    }
}

#[tokio::test]
async fn orders_are_put_once_read_back_and_marked_queued() {
    let config = common::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = common::create_orders_table(&client).await;
    let store = DynamoOrders::new(client, table);
    let order = record(&common::unique("o"));

    assert_eq!(
        store.create_order(&order).await.unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(
        store.get_order(&order.order_id).await.unwrap().as_ref(),
        Some(&order)
    );

    // The conditional put refuses to overwrite and hands back the stored order.
    let mut changed = order.clone();
    changed.total_cents = 1;
    match store.create_order(&changed).await.unwrap() {
        CreateOutcome::AlreadyExists(existing) => assert_eq!(*existing, order),
        other => panic!("overwrote: {other:?}"),
    }

    store
        .mark_queued(&order.order_id, "2026-11-25T10:00:01.000Z")
        .await
        .unwrap();
    let stored = store.get_order(&order.order_id).await.unwrap().unwrap();
    assert_eq!(
        stored.queued_at.as_deref(),
        Some("2026-11-25T10:00:01.000Z")
    );
    assert_eq!(stored.total_cents, 2598);

    assert!(store.get_order("o-missing").await.unwrap().is_none());
    assert!(store
        .mark_queued("o-missing", "2026-11-25T10:00:01.000Z")
        .await
        .is_err());
}

#[tokio::test]
async fn a_users_orders_list_newest_first_through_the_user_index() {
    let config = common::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = common::create_orders_table(&client).await;
    let store = DynamoOrders::new(client, table);
    let mut mine = Vec::new();
    for minute in 0..5 {
        let mut order = record(&common::unique("o"));
        order.created_at = format!("2026-11-25T10:0{minute}:00.000Z");
        order.payment_id = Some(format!("pay-{minute}"));
        store.create_order(&order).await.unwrap();
        mine.push(order);
    }
    let mut theirs = record(&common::unique("o"));
    theirs.user_sub = "user-2".into();
    store.create_order(&theirs).await.unwrap();

    let mut listed = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .list_orders("user-1", 2, start.as_ref())
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        listed.extend(page.items);
        match page.last_key {
            Some(key) => {
                // The index key: table key plus the index's keys, all of the caller.
                assert_eq!(key["userSub"], "user-1");
                assert_eq!(key.len(), 3, "{key:?}");
                start = Some(key);
            }
            None => break,
        }
    }
    let ids: Vec<&str> = listed.iter().map(|o| o.order_id.as_str()).collect();
    let newest_first: Vec<&str> = mine.iter().rev().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, newest_first);
    // The index projects the listing's attributes: not the payment token, not the payment id.
    assert!(listed
        .iter()
        .all(|o| o.payment_token.is_none() && o.payment_id.is_none()));
    assert_eq!(listed[0].items, mine[4].items);
    assert!(store
        .list_orders("user-3", 10, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_503() {
    let config = common::sdk_config().await;
    let dead = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let catalog = DynamoCatalog::new(aws_sdk_dynamodb::Client::from_conf(dead), "t");
    match catalog.get_product("p-1").await {
        Err(error @ ApiError::Unavailable { .. }) => {
            let response = error.to_response();
            assert_eq!(response.status, 503);
            assert!(response.headers.contains_key("retry-after"));
        }
        other => panic!("expected 503, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_table_is_an_internal_error_without_details() {
    let config = common::sdk_config().await;
    let catalog = DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&config),
        common::unique("nope"),
    );
    let api = ProductsApi {
        catalog,
        images: MemoryImages::default(),
    };
    let response = api.handle(ApiRequest::new("GET", "/products/p-1")).await;
    assert_eq!(response.status, 500);
    let body = response.json_body();
    assert_eq!(body["error"]["code"], "internal_error");
    assert!(
        !response.body.contains("nope-"),
        "table name leaked: {}",
        response.body
    );
}

#[tokio::test]
async fn catalog_writes_are_conditional_and_never_lose_a_change() {
    use api::ports::{CatalogAdmin, EditOutcome, ProductEdit, StockOutcome};
    let config = common::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = common::create_products_table(&client).await;
    let catalog = DynamoCatalog::new(client.clone(), table.clone());
    let lamp = shop_model::Product {
        id: "lamp".into(),
        name: "Lamp".into(),
        description: String::new(),
        category: "home".into(),
        price_cents: 3999,
        currency: "USD".into(),
        image_key: None,
        stock: 10,
        version: 1,
        archived: false,
    };
    assert!(catalog.create_product(&lamp).await.unwrap());
    assert!(!catalog.create_product(&lamp).await.unwrap(), "id taken");

    // Two editors holding version 1: exactly one wins, the other learns the version.
    let edit = |name: &str| ProductEdit {
        name: name.into(),
        description: "d".into(),
        category: "home".into(),
        price_cents: 4999,
        currency: "USD".into(),
        archived: false,
    };
    let (edit_a, edit_b) = (edit("A"), edit("B"));
    let (a, b) = tokio::join!(
        catalog.edit_product("lamp", &edit_a, 1),
        catalog.edit_product("lamp", &edit_b, 1)
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, EditOutcome::Edited(p) if p.version == 2))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    assert!(outcomes.contains(&EditOutcome::Stale { current_version: 2 }));
    assert_eq!(
        catalog.edit_product("nope", &edit("C"), 1).await.unwrap(),
        EditOutcome::NotFound
    );
    // A product written before versions existed is version 0.
    common::put_product(&client, &table, "old", "home", 100).await;
    assert!(matches!(
        catalog.edit_product("old", &edit("Old"), 0).await.unwrap(),
        EditOutcome::Edited(p) if p.version == 1
    ));

    // Concurrent adjustments: every one lands.
    let adds = (0..10).map(|_| catalog.adjust_stock("lamp", 1));
    let removes = (0..10).map(|_| catalog.adjust_stock("lamp", -1));
    for outcome in futures::future::join_all(adds.chain(removes)).await {
        assert!(matches!(outcome.unwrap(), StockOutcome::Adjusted(_)));
    }
    let stock = catalog.get_product("lamp").await.unwrap().unwrap().stock;
    assert_eq!(stock, 10);
    assert_eq!(
        catalog.adjust_stock("lamp", -11).await.unwrap(),
        StockOutcome::Insufficient { stock: 10 }
    );
    assert_eq!(
        catalog.adjust_stock("nope", 1).await.unwrap(),
        StockOutcome::NotFound
    );

    // The image key: the previous one comes back for clean-up.
    assert_eq!(
        catalog
            .set_image("lamp", "products/lamp/1.png")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        catalog
            .set_image("lamp", "products/lamp/2.png")
            .await
            .unwrap()
            .as_deref(),
        Some("products/lamp/1.png")
    );
    assert_eq!(
        catalog.set_image("nope", "k").await.unwrap_err().status(),
        404
    );

    // Archived: out of the listing (scan and category index), still readable by id.
    assert!(matches!(
        catalog.archive_product("lamp").await.unwrap(),
        EditOutcome::Edited(p) if p.archived
    ));
    let listed = catalog.list_products(None, 100, None).await.unwrap();
    assert!(listed.items.iter().all(|p| p.id != "lamp"));
    let home = catalog
        .list_products(Some("home"), 100, None)
        .await
        .unwrap();
    assert_eq!(
        home.items.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["old"]
    );
    assert!(catalog.get_product("lamp").await.unwrap().unwrap().archived);
}

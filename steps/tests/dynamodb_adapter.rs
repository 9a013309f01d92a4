//! The DynamoDB adapter (catalog + order store) against the emulator: pricing, atomic stock
//! reservation, idempotency, final statuses and no overselling under concurrency.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{create_tables, message, put_product, sdk_config, stock, unique};
use shop_model::{orders, OrderStatus};
use steps::aws::DynamoShop;
use steps::model::{CaughtError, PaidOrder, RecordFailureInput};
use steps::ports::{OrderStore, ProductCatalog, SimulatedGateway, Transition};
use steps::{pay, persist, record_failure, validate, PersistError, PortError};
use workflow_dsl::typed::StepErrors;

struct Fixture {
    client: aws_sdk_dynamodb::Client,
    products: String,
    orders: String,
    shop: DynamoShop,
}

async fn fixture() -> Fixture {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let (products, orders) = create_tables(&client).await;
    put_product(&client, &products, "mug", 1250, 10).await;
    put_product(&client, &products, "tee", 1999, 3).await;
    let shop = DynamoShop::new(client.clone(), &products, &orders);
    Fixture {
        client,
        products,
        orders,
        shop,
    }
}

async fn paid(shop: &DynamoShop, order_id: &str, items: &[(&str, u32)]) -> PaidOrder {
    let validated = validate::validate(message(order_id, items), shop)
        .await
        .expect("valid");
    pay::pay(validated, &SimulatedGateway).await.expect("paid")
}

async fn stored_status(f: &Fixture, order_id: &str) -> Option<String> {
    let out = f
        .client
        .get_item()
        .table_name(&f.orders)
        .key(orders::ORDER_ID, AttributeValue::S(order_id.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.item()
        .map(|i| i[orders::STATUS].as_s().unwrap().clone())
}

#[tokio::test]
async fn catalog_reads_known_products_in_batches() {
    let f = fixture().await;
    let mut ids: Vec<String> = (0..150).map(|i| format!("missing-{i}")).collect();
    ids.push("mug".into());
    ids.push("tee".into());
    let found = f.shop.get_products(&ids).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found["tee"].price_cents, 1999);
    assert_eq!(found["tee"].stock, 3);
    assert_eq!(found["mug"].name, "Product mug");
}

#[tokio::test]
async fn validate_prices_from_the_table() {
    let f = fixture().await;
    let v = validate::validate(message("v-1", &[("mug", 2), ("tee", 1)]), &f.shop)
        .await
        .unwrap();
    assert_eq!(v.total_cents, 2 * 1250 + 1999);
    let err = validate::validate(message("v-2", &[("ghost", 1)]), &f.shop)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidOrder");
}

#[tokio::test]
async fn persist_reserves_stock_once_however_often_it_runs() {
    let f = fixture().await;
    let order = paid(&f.shop, "p-1", &[("mug", 2), ("tee", 1), ("mug", 1)]).await;
    let first = persist::persist(order.clone(), &f.shop).await.unwrap();
    assert_eq!(first.status, OrderStatus::Completed);
    let (second, transition) = f.shop.complete(&order).await.unwrap();
    assert_eq!(transition, Transition::AlreadyFinal);
    assert_eq!(second.payment_id, first.payment_id);
    assert_eq!(second.total_cents, first.total_cents);
    assert_eq!(
        second.items, first.items,
        "the stored order reads back with its priced lines"
    );
    assert_eq!(stock(&f.client, &f.products, "mug").await, 7);
    assert_eq!(stock(&f.client, &f.products, "tee").await, 2);
    assert_eq!(stored_status(&f, "p-1").await.as_deref(), Some("COMPLETED"));
}

#[tokio::test]
async fn out_of_stock_cancels_the_whole_transaction() {
    let f = fixture().await;
    let order = paid(&f.shop, "p-2", &[("mug", 1), ("tee", 3)]).await;
    put_product(&f.client, &f.products, "tee", 1999, 2).await;
    let err = persist::persist(order, &f.shop).await.unwrap_err();
    assert_eq!(
        err,
        PersistError::OutOfStock.because("not enough stock for tee")
    );
    assert_eq!(stock(&f.client, &f.products, "mug").await, 10);
    assert_eq!(stored_status(&f, "p-2").await, None);
}

#[tokio::test]
async fn a_failed_order_stays_failed() {
    let f = fixture().await;
    let order = paid(&f.shop, "p-3", &[("mug", 1)]).await;
    let input = RecordFailureInput {
        order: message("p-3", &[("mug", 1)]),
        failure: CaughtError {
            error: "PaymentDeclined".into(),
            cause: r#"{"errorType":"PaymentDeclined","errorMessage":"declined"}"#.into(),
        },
    };
    let failed = record_failure::record_failure(input.clone(), &f.shop)
        .await
        .unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("declined"));
    assert_eq!(failed.items[0].product_id, "mug");

    let err = persist::persist(order, &f.shop).await.unwrap_err();
    assert_eq!(err.name(), "OrderAlreadyFailed");
    assert_eq!(stock(&f.client, &f.products, "mug").await, 10);

    // Recording again (a retried Catch path) changes nothing.
    let mut later = input;
    later.failure.error = "States.Timeout".into();
    let again = record_failure::record_failure(later, &f.shop)
        .await
        .unwrap();
    assert_eq!(again, failed);
}

#[tokio::test]
async fn record_failure_never_moves_a_completed_order_back() {
    let f = fixture().await;
    let order = paid(&f.shop, "p-4", &[("tee", 1)]).await;
    let completed = persist::persist(order, &f.shop).await.unwrap();
    let input = RecordFailureInput {
        order: message("p-4", &[("tee", 1)]),
        failure: CaughtError {
            error: "States.TaskFailed".into(),
            cause: "notify failed".into(),
        },
    };
    let outcome = record_failure::record_failure(input, &f.shop)
        .await
        .unwrap();
    assert_eq!(outcome.status, OrderStatus::Completed);
    assert_eq!(outcome.payment_id, completed.payment_id);
    assert_eq!(stored_status(&f, "p-4").await.as_deref(), Some("COMPLETED"));
}

#[tokio::test]
async fn a_pending_order_written_by_the_api_moves_on_and_keeps_its_data() {
    let f = fixture().await;
    for id in ["p-5", "p-6"] {
        let item = HashMap::from([
            (orders::ORDER_ID.to_owned(), AttributeValue::S(id.into())),
            (
                orders::USER_SUB.to_owned(),
                AttributeValue::S("user-1".into()),
            ),
            (
                orders::STATUS.to_owned(),
                AttributeValue::S("PENDING".into()),
            ),
            (
                orders::CREATED_AT.to_owned(),
                AttributeValue::S("2026-01-01T00:00:00Z".into()),
            ),
            (
                orders::TOTAL_CENTS.to_owned(),
                AttributeValue::N("1250".into()),
            ),
            (orders::CURRENCY.to_owned(), AttributeValue::S("USD".into())),
        ]);
        f.client
            .put_item()
            .table_name(&f.orders)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    let completed = persist::persist(paid(&f.shop, "p-5", &[("mug", 1)]).await, &f.shop)
        .await
        .unwrap();
    assert_eq!(completed.status, OrderStatus::Completed);
    assert_eq!(
        f.shop.load_order("p-5").await.unwrap().unwrap().created_at,
        "2026-01-01T00:00:00Z"
    );

    let input = RecordFailureInput {
        order: message("p-6", &[("mug", 1)]),
        failure: CaughtError {
            error: "OutOfStock".into(),
            cause: "gone".into(),
        },
    };
    let failed = record_failure::record_failure(input, &f.shop)
        .await
        .unwrap();
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.created_at, "2026-01-01T00:00:00Z");
    assert_eq!(failed.failure_error.as_deref(), Some("OutOfStock"));
}

/// 20 orders race for a stock of 5: exactly 5 complete, 15 are `OutOfStock`, stock ends at 0.
///
/// The emulator cannot run this race with requests in flight together: moto 5.2.5's
/// `transact_write_items` snapshots each table it touches and restores the snapshot when the
/// transaction is cancelled, wiping writes that concurrent requests committed meanwhile (observed:
/// 6 of 20 orders completing for a stock of 5). Real DynamoDB transactions are serializable
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation>),
/// so the tasks below race for a one-permit gate: they still reach the table in an arbitrary
/// order, and what is checked is that the conditions alone stop every order past the stock.
#[tokio::test]
async fn racing_persists_never_oversell() {
    let f = fixture().await;
    put_product(&f.client, &f.products, "lamp", 4000, 5).await;
    let shop = Arc::new(f.shop.clone());
    let mut orders = Vec::new();
    for i in 0..20 {
        orders.push(paid(&shop, &format!("c-{i}"), &[("lamp", 1)]).await);
    }
    let gate = Arc::new(tokio::sync::Semaphore::new(1));
    let mut tasks = Vec::new();
    for order in orders {
        let (shop, gate) = (shop.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            // Like the workflow's Retry on transient errors (e.g. a transaction conflict).
            for _ in 0..10 {
                let permit = gate.acquire().await.unwrap();
                let result = persist::persist(order.clone(), &*shop).await;
                drop(permit);
                match result {
                    Err(e) if e.is_transient() => {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await
                    }
                    other => return other,
                }
            }
            panic!("still failing after retries");
        }));
    }
    let (mut ok, mut out) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(o) => {
                assert_eq!(o.status, OrderStatus::Completed);
                ok += 1
            }
            Err(e) if e.name() == "OutOfStock" => out += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, out), (5, 15));
    assert_eq!(stock(&f.client, &f.products, "lamp").await, 0);
    let mut completed = 0;
    for i in 0..20 {
        if stored_status(&f, &format!("c-{i}")).await.as_deref() == Some("COMPLETED") {
            completed += 1;
        }
    }
    assert_eq!(completed, 5, "only the orders that got stock are stored");
}

#[tokio::test]
async fn a_missing_table_is_a_final_internal_error() {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let shop = DynamoShop::new(client, unique("no-such-products"), unique("no-such-orders"));
    let err = shop.get_products(&["mug".to_owned()]).await.unwrap_err();
    assert!(matches!(err, PortError::Internal(_)), "{err:?}");
    let only_orders =
        DynamoShop::orders_only(aws_sdk_dynamodb::Client::new(&sdk_config().await), "x");
    assert!(matches!(
        only_orders.get_products(&["mug".to_owned()]).await,
        Err(PortError::Internal(_))
    ));
}

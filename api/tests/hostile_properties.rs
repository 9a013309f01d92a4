//! Property tests of the order request parser and validator through [`api::App::handle`]:
//! arbitrary bytes and arbitrary order-shaped JSON never panic or answer 5xx, rejected
//! requests change nothing, and every accepted order satisfies the limits (1–50 lines of
//! distinct known products, quantities 1–100, total = sum of catalog prices × quantities).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use api::app::{App, AuthConfig};
use api::http::ApiRequest;
use api::memory::{MemoryCatalog, MemoryIdentity, MemoryImages, MemoryOrders, MemoryQueue};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use shop_model::{Product, MAX_ORDER_LINES, MAX_QUANTITY, MIN_QUANTITY};

type MemoryApp = App<
    Arc<MemoryIdentity>,
    Arc<MemoryCatalog>,
    Arc<MemoryOrders>,
    Arc<MemoryQueue>,
    Arc<MemoryImages>,
>;

const PRICES: [(&str, i64); 4] = [("p-1", 1299), ("p-2", 4999), ("p-3", 1), ("p-4", 0)];

struct World {
    app: MemoryApp,
    orders: Arc<MemoryOrders>,
    queue: Arc<MemoryQueue>,
}

fn world() -> World {
    let catalog = Arc::new(MemoryCatalog::new(PRICES.iter().map(|(id, price)| {
        Product {
            id: (*id).into(),
            name: format!("Product {id}"),
            description: String::new(),
            category: "c".into(),
            price_cents: *price,
            currency: "USD".into(),
            image_key: None,
            stock: 3,
            version: 1,
            archived: false,
        }
    })));
    let orders = Arc::new(MemoryOrders::default());
    let queue = Arc::new(MemoryQueue::default());
    let app = App {
        identity: Arc::new(MemoryIdentity::default()),
        catalog,
        orders: orders.clone(),
        queue: queue.clone(),
        images: Arc::new(MemoryImages::default()),
        auth: AuthConfig::default(),
    };
    World { app, orders, queue }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A product id: mostly catalog ids, sometimes junk.
fn product_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(PRICES.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .prop_map(|id| json!(id)),
        1 => "[a-z0-9_-]{1,6}".prop_map(Value::String),
        1 => ".{0,140}".prop_map(Value::String),
        1 => any_json(),
    ]
}

/// A quantity: mostly near the limits, sometimes anything.
fn quantity() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (-3i64..=103).prop_map(|n| json!(n)),
        1 => any::<i64>().prop_map(|n| json!(n)),
        1 => any::<f64>().prop_map(|f| json!(f)),
        1 => any_json(),
    ]
}

/// An order line: mostly well-formed objects with the two fields.
fn order_line() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (product_id(), quantity()).prop_map(|(p, q)| json!({"productId": p, "quantity": q})),
        1 => any_json(),
    ]
}

/// An order body: mostly `{items, paymentToken?}`, sometimes any JSON.
fn order_body() -> impl Strategy<Value = Value> {
    let items = prop_oneof![
        8 => prop::collection::vec(order_line(), 0..6).prop_map(Value::Array),
        1 => prop::collection::vec(order_line(), 45..60).prop_map(Value::Array),
        1 => any_json(),
    ];
    let token = prop::option::of(prop_oneof![
        "tok_[a-z]{0,10}".prop_map(Value::String),
        any_json(),
    ]);
    prop_oneof![
        8 => (items, token).prop_map(|(items, token)| {
            let mut body = Map::new();
            body.insert("items".into(), items);
            if let Some(token) = token {
                body.insert("paymentToken".into(), token);
            }
            Value::Object(body)
        }),
        1 => any_json(),
    ]
}

/// Posts `body` as the user; returns (status, response JSON).
fn post(rt: &tokio::runtime::Runtime, w: &World, body: Vec<u8>) -> (u16, Value) {
    let request = ApiRequest::new("POST", "/orders")
        .with_body("application/json", body)
        .with_claims("user-1", None);
    let response = rt.block_on(w.app.handle(request));
    (response.status, response.json_body())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_or_5xx(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let (rt, w) = (runtime(), world());
        let (status, answer) = post(&rt, &w, body);
        prop_assert!(status < 500, "{status}: {answer}");
        if status != 202 {
            prop_assert!([400, 422].contains(&status), "{status}: {answer}");
            prop_assert!(w.orders.is_empty());
            prop_assert!(w.queue.messages().is_empty());
        }
    }

    #[test]
    fn accepted_orders_satisfy_the_limits(body in order_body()) {
        let (rt, w) = (runtime(), world());
        let (status, answer) = post(&rt, &w, body.to_string().into_bytes());
        prop_assert!(status < 500, "{status}: {answer} for {body}");
        if status != 202 {
            prop_assert!([400, 422].contains(&status), "{status}: {answer}");
            prop_assert!(!answer["error"]["code"].as_str().unwrap_or("").is_empty());
            prop_assert!(w.orders.is_empty(), "a rejected order was recorded");
            prop_assert!(w.queue.messages().is_empty(), "a rejected order was queued");
            return Ok(());
        }
        let prices: HashMap<&str, i64> = PRICES.iter().copied().collect();
        let items = body["items"].as_array().expect("accepted bodies have items");
        prop_assert!((1..=MAX_ORDER_LINES).contains(&items.len()));
        let mut seen = HashSet::new();
        let mut expected_total = 0i64;
        for item in items {
            let id = item["productId"].as_str().expect("string productId");
            prop_assert!(prices.contains_key(id), "unknown product {id} accepted");
            prop_assert!(seen.insert(id), "duplicate {id} accepted");
            let quantity = item["quantity"].as_i64().expect("integer quantity");
            prop_assert!((i64::from(MIN_QUANTITY)..=i64::from(MAX_QUANTITY)).contains(&quantity));
            expected_total += prices[id] * quantity;
        }
        prop_assert_eq!(answer["totalCents"].as_i64(), Some(expected_total));
        let order_id = answer["orderId"].as_str().expect("orderId");
        let record = w.orders.order(order_id).expect("recorded");
        prop_assert_eq!(record.total_cents, expected_total);
        prop_assert_eq!(record.items.len(), items.len());
        prop_assert_eq!(w.orders.len(), 1);
        prop_assert_eq!(w.queue.messages().len(), 1);
    }
}

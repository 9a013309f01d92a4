//! `POST /orders`, `GET /orders/{orderId}` and `GET /orders`.

use serde_json::{json, Value};
use shop_model::OrderStatus;

use super::{code, message, Harness};
use crate::handlers::orders::idempotent_order_id;
use crate::http::{ApiRequest, MAX_BODY_BYTES};
use crate::memory::Fault;

fn order(user: &str, body: Value) -> ApiRequest {
    ApiRequest::new("POST", "/orders")
        .with_json(&body)
        .with_claims(user, Some("x@example.com"))
}

fn basket() -> Value {
    json!({
        "items": [
            {"productId": "p-1", "quantity": 2, "unitPriceCents": 1},
            {"productId": "p-4", "quantity": 3}
        ],
        "paymentToken": "tok_visa_secret",
        "totalCents": 5
    })
}

#[tokio::test]
async fn prices_from_the_table_records_pending_and_queues() {
    let h = Harness::new();
    let (response, body) = h.call(order("user-1", basket())).await;
    assert_eq!(response.status, 202, "{body}");
    assert_eq!(body["status"], "PENDING");
    assert_eq!(body["currency"], "USD");
    // 2 x 1299 + 3 x 1, whatever the client claimed.
    assert_eq!(body["totalCents"], 2601);
    assert!(!body.to_string().contains("tok_visa_secret"));

    let order_id = body["orderId"].as_str().unwrap();
    let record = h.orders.order(order_id).expect("recorded");
    assert_eq!(record.status, OrderStatus::Pending);
    assert_eq!(record.user_sub, "user-1");
    assert_eq!(record.items[0].unit_price_cents, 1299);
    assert_eq!(record.items[0].line_total_cents, 2598);
    assert_eq!(record.items[1].line_total_cents, 3);
    assert!(record.queued_at.is_some());

    let messages = h.queue.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.order_id, order_id);
    assert_eq!(message.user_sub, "user-1");
    assert_eq!(message.total_cents, 2601);
    assert_eq!(message.payment_token.as_deref(), Some("tok_visa_secret"));
    assert_eq!(message.items.len(), 2);
    assert_eq!(message.created_at, record.created_at);

    // Without a key every request is a new order.
    let (_, second) = h.call(order("user-1", basket())).await;
    assert_ne!(second["orderId"], body["orderId"]);
    assert_eq!(h.queue.messages().len(), 2);
}

#[tokio::test]
async fn a_repeat_with_the_same_key_gets_the_first_answer_and_queues_nothing() {
    let h = Harness::new();
    let request = order("user-1", basket()).with_header("Idempotency-Key", "key-123");
    let (first, first_body) = h.call(request.clone()).await;
    assert_eq!(first.status, 202);
    assert_eq!(
        first_body["orderId"],
        idempotent_order_id("user-1", "key-123")
    );

    // Even after the prices change, the repeat answers as the first time.
    h.catalog.put(super::product("p-1", "books", 9999));
    let (again, again_body) = h.call(request).await;
    assert_eq!(again.status, 202);
    assert_eq!(again_body, first_body);
    assert_eq!(
        again.headers.get("idempotent-replayed").map(String::as_str),
        Some("true")
    );
    assert_eq!(h.queue.messages().len(), 1);
    assert_eq!(h.orders.len(), 1);

    // Another user's identical key is another order.
    let other = order("user-2", basket()).with_header("Idempotency-Key", "key-123");
    let (response, body) = h.call(other).await;
    assert_eq!(response.status, 202);
    assert_ne!(body["orderId"], first_body["orderId"]);
    assert_eq!(h.queue.messages().len(), 2);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let h = Harness::new();
    let first = order("user-1", basket()).with_header("Idempotency-Key", "k");
    assert_eq!(h.call(first).await.0.status, 202);
    let mut changed = basket();
    changed["items"][0]["quantity"] = json!(3);
    let (response, body) = h
        .call(order("user-1", changed).with_header("Idempotency-Key", "k"))
        .await;
    assert_eq!(
        (response.status, code(&body)),
        (422, "idempotency_key_reused")
    );
    let mut other_token = basket();
    other_token["paymentToken"] = json!("tok_other");
    let request = order("user-1", other_token).with_header("Idempotency-Key", "k");
    assert_eq!(h.call(request).await.0.status, 422);
    assert_eq!(h.queue.messages().len(), 1);
}

#[tokio::test]
async fn a_failure_between_recording_and_queueing_is_completed_by_the_retry() {
    let h = Harness::new();
    let request = order("user-1", basket()).with_header("Idempotency-Key", "retry-me");
    h.queue.faults.fail_next(Fault::Unavailable, 1);
    let (response, body) = h.call(request.clone()).await;
    assert_eq!((response.status, code(&body)), (503, "service_unavailable"));
    assert!(response.headers.contains_key("retry-after"));
    let order_id = idempotent_order_id("user-1", "retry-me");
    let record = h.orders.order(&order_id).expect("recorded before queueing");
    assert!(record.queued_at.is_none());
    assert!(h.queue.messages().is_empty());

    let (response, body) = h.call(request.clone()).await;
    assert_eq!(response.status, 202);
    assert_eq!(body["orderId"], order_id);
    assert_eq!(h.queue.messages().len(), 1);
    assert!(h.orders.order(&order_id).unwrap().queued_at.is_some());

    // And once queued, further repeats queue nothing.
    assert_eq!(h.call(request).await.0.status, 202);
    assert_eq!(h.queue.messages().len(), 1);
}

#[tokio::test]
async fn a_failed_queued_at_update_still_accepts_the_order() {
    let h = Harness::new();
    h.orders.mark_faults.fail_next(Fault::Unavailable, 1);
    let (response, body) = h.call(order("user-1", basket())).await;
    assert_eq!(response.status, 202, "{body}");
    assert_eq!(h.queue.messages().len(), 1);
}

#[tokio::test]
async fn store_outage_is_503() {
    let h = Harness::new();
    h.orders.faults.fail_next(Fault::Unavailable, 1);
    let (response, _) = h.call(order("user-1", basket())).await;
    assert_eq!(response.status, 503);
    h.catalog.faults.fail_next(Fault::Unavailable, 1);
    let (response, _) = h.call(order("user-1", basket())).await;
    assert_eq!(response.status, 503);
    assert!(h.queue.messages().is_empty());
    assert!(h.orders.is_empty());
}

#[tokio::test]
async fn needs_authentication() {
    let h = Harness::new();
    let mut request = order("user-1", basket());
    request.claims = None;
    let (response, body) = h.call(request).await;
    assert_eq!((response.status, code(&body)), (401, "unauthorized"));
    // Identity never comes from the body.
    let mut body = basket();
    body["userSub"] = json!("user-1");
    let mut request = order("user-1", body);
    request.claims = None;
    assert_eq!(h.call(request).await.0.status, 401);
}

#[tokio::test]
async fn contract_breaks_are_422_naming_the_field() {
    let h = Harness::new();
    let line = |id: &str, q: Value| json!({"productId": id, "quantity": q});
    let many: Vec<Value> = (0..51).map(|i| line(&format!("p-{i}"), json!(1))).collect();
    let cases = [
        (json!({}), "items"),
        (json!({"items": []}), "items"),
        (json!({"items": "p-1"}), "items"),
        (json!({"items": many}), "items"),
        (json!({"items": [5]}), "items[0]"),
        (
            json!({"items": [line("p-1", json!(0))]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [line("p-1", json!(101))]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [line("p-1", json!("2"))]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [line("p-1", json!(1.5))]}),
            "items[0].quantity",
        ),
        (json!({"items": [{"quantity": 1}]}), "items[0].productId"),
        (
            json!({"items": [line("../p-1", json!(1))]}),
            "items[0].productId",
        ),
        (
            json!({"items": [line("p-1", json!(1)), line("p-1", json!(2))]}),
            "items[1].productId",
        ),
        (
            json!({"items": [line("p-1", json!(1)), line("p-404", json!(1))]}),
            "items[1].productId",
        ),
        (
            json!({"items": [line("p-1", json!(1))], "paymentToken": 7}),
            "paymentToken",
        ),
    ];
    for (body, field) in cases {
        let (response, answer) = h.call(order("user-1", body.clone())).await;
        assert_eq!(response.status, 422, "{body}");
        assert!(message(&answer).starts_with(field), "{field}: {answer}");
    }
    let long_key = "k".repeat(256);
    for key in [long_key.as_str(), "has space", ""] {
        let request = order("user-1", basket()).with_header("Idempotency-Key", key);
        let (response, answer) = h.call(request).await;
        assert_eq!(response.status, 422);
        assert!(message(&answer).starts_with("Idempotency-Key"));
    }
    assert!(h.queue.messages().is_empty());
    assert!(h.orders.is_empty());
}

#[tokio::test]
async fn fifty_lines_of_a_hundred_are_fine() {
    let h = Harness::new();
    let mut lines = Vec::new();
    for i in 0..50 {
        h.catalog
            .put(super::product(&format!("bulk-{i}"), "bulk", 100_000));
        lines.push(json!({"productId": format!("bulk-{i}"), "quantity": 100}));
    }
    let (response, body) = h.call(order("user-1", json!({"items": lines}))).await;
    assert_eq!(response.status, 202, "{body}");
    assert_eq!(body["totalCents"], 50 * 100 * 100_000);
    assert!(h.queue.messages()[0].payment_token.is_none());
}

#[tokio::test]
async fn body_problems_are_400_413_415() {
    let h = Harness::new();
    let claims = |r: ApiRequest| r.with_claims("user-1", None);
    let broken =
        claims(ApiRequest::new("POST", "/orders").with_body("application/json", b"[".to_vec()));
    assert_eq!(h.call(broken).await.0.status, 400);
    let form = claims(
        ApiRequest::new("POST", "/orders")
            .with_body("application/x-www-form-urlencoded", b"a=b".to_vec()),
    );
    assert_eq!(h.call(form).await.0.status, 415);
    let big = claims(
        ApiRequest::new("POST", "/orders")
            .with_body("application/json", vec![b' '; MAX_BODY_BYTES + 1]),
    );
    assert_eq!(h.call(big).await.0.status, 413);
}

#[tokio::test]
async fn only_the_owner_sees_an_order() {
    let h = Harness::new();
    let (_, created) = h.call(order("user-1", basket())).await;
    let order_id = created["orderId"].as_str().unwrap();
    let path = format!("/orders/{order_id}");

    let (response, body) = h
        .call(ApiRequest::new("GET", &path).with_claims("user-1", None))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(body["orderId"], order_id);
    assert_eq!(body["status"], "PENDING");
    assert_eq!(body["totalCents"], 2601);
    assert_eq!(body["items"][0]["productId"], "p-1");
    assert_eq!(body["items"][0]["unitPriceCents"], 1299);
    assert!(!body.to_string().contains("tok_visa_secret"));

    let (response, body) = h
        .call(ApiRequest::new("GET", &path).with_claims("user-2", None))
        .await;
    assert_eq!((response.status, code(&body)), (404, "not_found"));
    for missing in ["/orders/nope", "/orders/a.b"] {
        let request = ApiRequest::new("GET", missing).with_claims("user-1", None);
        assert_eq!(h.call(request).await.0.status, 404);
    }
    let (response, _) = h.call(ApiRequest::new("GET", &path)).await;
    assert_eq!(response.status, 401);

    // A finished order shows its outcome.
    let mut record = h.orders.order(order_id).unwrap();
    record.status = OrderStatus::Failed;
    record.failure_error = Some("PaymentDeclined".into());
    record.failure_reason = Some("card declined".into());
    h.orders.put(record);
    let (_, body) = h
        .call(ApiRequest::new("GET", &path).with_claims("user-1", None))
        .await;
    assert_eq!(body["status"], "FAILED");
    assert_eq!(body["failureError"], "PaymentDeclined");
}

#[tokio::test]
async fn get_order_outage_is_503() {
    let h = Harness::new();
    h.orders.faults.fail_next(Fault::Unavailable, 1);
    let request = ApiRequest::new("GET", "/orders/o-1").with_claims("user-1", None);
    let (response, _) = h.call(request).await;
    assert_eq!(response.status, 503);
}

fn my_orders(user: &str, query: &[(&str, &str)]) -> ApiRequest {
    let mut request = ApiRequest::new("GET", "/orders").with_claims(user, None);
    for (name, value) in query {
        request = request.with_query(name, value);
    }
    request
}

#[tokio::test]
async fn lists_the_callers_orders_newest_first_in_pages() {
    let h = Harness::new();
    let mut placed = Vec::new();
    for _ in 0..5 {
        let (_, body) = h.call(order("user-1", basket())).await;
        placed.push(body["orderId"].as_str().unwrap().to_string());
    }
    let (_, theirs) = h.call(order("user-2", basket())).await;
    let theirs = theirs["orderId"].as_str().unwrap().to_string();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(c) = &cursor {
            query.push(("cursor", c));
        }
        let (response, body) = h.call(my_orders("user-1", &query)).await;
        assert_eq!(response.status, 200, "{body}");
        pages += 1;
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        for item in items {
            assert!(item.get("paymentToken").is_none(), "{item}");
            seen.push(item.clone());
        }
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let ids: Vec<&str> = seen
        .iter()
        .map(|o| o["orderId"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = placed.iter().map(String::as_str).collect();
    expected.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, expected, "every order once, none of user-2's");
    assert!(!ids.contains(&theirs.as_str()));
    let created: Vec<&str> = seen
        .iter()
        .map(|o| o["createdAt"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );

    // Someone with no orders gets an empty first page.
    let (response, body) = h.call(my_orders("user-3", &[])).await;
    assert_eq!(response.status, 200);
    assert_eq!(body, json!({"items": [], "nextCursor": null}));
}

#[tokio::test]
async fn a_cursor_of_another_users_listing_is_422_and_auth_is_required() {
    let h = Harness::new();
    for _ in 0..3 {
        h.call(order("user-2", basket())).await;
    }
    let (_, body) = h.call(my_orders("user-2", &[("limit", "1")])).await;
    let theirs = body["nextCursor"].as_str().unwrap().to_string();
    let (response, body) = h.call(my_orders("user-1", &[("cursor", &theirs)])).await;
    assert_eq!(response.status, 422, "{body}");
    assert!(message(&body).starts_with("cursor"), "{body}");
    for bad in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "x"),
        ("cursor", "!!"),
    ] {
        let (response, body) = h.call(my_orders("user-1", &[bad])).await;
        assert_eq!(response.status, 422, "{bad:?} {body}");
    }
    let anonymous = ApiRequest::new("GET", "/orders");
    let (response, body) = h.call(anonymous).await;
    assert_eq!((response.status, code(&body)), (401, "unauthorized"));
    h.orders.faults.fail_next(Fault::Unavailable, 1);
    let (response, _) = h.call(my_orders("user-1", &[])).await;
    assert_eq!(response.status, 503);
}

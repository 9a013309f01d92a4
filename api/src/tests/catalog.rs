//! Catalog management: `POST /products`, `PUT` and `DELETE /products/{id}`,
//! `POST /products/{id}/stock`, and what the public catalog and ordering see of it.

use serde_json::{json, Value};

use super::{code, message, Harness};
use crate::http::ApiRequest;
use crate::memory::Fault;

fn staff(method: &str, path: &str, body: Value) -> ApiRequest {
    ApiRequest::new(method, path)
        .with_json(&body)
        .with_staff_claims("staff-1")
}

fn new_product(id: &str) -> Value {
    json!({
        "id": id, "name": "Desk lamp", "description": "LED, dimmable.",
        "category": "home", "priceCents": 3999, "currency": "USD", "stock": 12
    })
}

fn edit(version: i64) -> Value {
    json!({
        "name": "Desk lamp (2nd edition)", "category": "home", "priceCents": 4499,
        "currency": "USD", "version": version
    })
}

#[tokio::test]
async fn staff_create_a_product_that_the_catalog_then_shows() {
    let h = Harness::new();
    let (response, body) = h
        .call(staff("POST", "/products", new_product("lamp-1")))
        .await;
    assert_eq!(response.status, 201, "{body}");
    assert_eq!(body["id"], "lamp-1");
    assert_eq!(body["version"], 1);
    assert_eq!(body["stock"], 12);
    assert_eq!(body["archived"], false);
    assert_eq!(body["imageUrl"], Value::Null);

    let (response, public) = h.call(ApiRequest::new("GET", "/products/lamp-1")).await;
    assert_eq!(response.status, 200);
    assert_eq!(public["priceCents"], 3999);
    assert_eq!(public["version"], 1);
    assert!(
        public.get("stock").is_none(),
        "stock stays internal: {public}"
    );

    // The same id again is a conflict; nothing is overwritten.
    let mut again = new_product("lamp-1");
    again["priceCents"] = json!(1);
    let (response, body) = h.call(staff("POST", "/products", again)).await;
    assert_eq!((response.status, code(&body)), (409, "conflict"));
    let (_, public) = h.call(ApiRequest::new("GET", "/products/lamp-1")).await;
    assert_eq!(public["priceCents"], 3999);

    // Without an id the product gets a UUID.
    let mut anonymous = new_product("x");
    anonymous.as_object_mut().unwrap().remove("id");
    let (response, body) = h.call(staff("POST", "/products", anonymous)).await;
    assert_eq!(response.status, 201);
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn shoppers_and_anonymous_callers_cannot_manage_the_catalog() {
    let h = Harness::new();
    let routes = [
        ("POST", "/products", new_product("p-9")),
        ("PUT", "/products/p-1", edit(1)),
        ("DELETE", "/products/p-1", json!({})),
        ("POST", "/products/p-1/stock", json!({"adjustment": 5})),
    ];
    for (method, path, body) in routes {
        let shopper = ApiRequest::new(method, path)
            .with_json(&body)
            .with_claims("user-1", None);
        let (response, error) = h.call(shopper).await;
        assert_eq!(
            (response.status, code(&error)),
            (403, "forbidden"),
            "{method} {path}"
        );
        let anonymous = ApiRequest::new(method, path).with_json(&body);
        assert_eq!(h.call(anonymous).await.0.status, 401, "{method} {path}");
    }
    let (_, product) = h.call(ApiRequest::new("GET", "/products/p-1")).await;
    assert_eq!(product["priceCents"], 1299, "nothing changed");
}

#[tokio::test]
async fn malformed_product_bodies_are_422_naming_the_field() {
    let h = Harness::new();
    let long = "x".repeat(201);
    let cases: Vec<(&str, Value)> = vec![
        ("id", json!("../etc")),
        ("id", json!("upload")),
        ("id", json!("")),
        ("id", json!(7)),
        ("name", Value::Null),
        ("name", json!("   ")),
        ("name", json!(long)),
        ("name", json!("line\nbreak")),
        ("description", json!(3)),
        ("description", json!("x".repeat(2001))),
        ("category", json!("")),
        ("priceCents", json!(-1)),
        ("priceCents", json!(12.5)),
        ("priceCents", json!("12")),
        ("priceCents", json!(100_000_001)),
        ("currency", json!("EUR")),
        ("stock", json!(-1)),
        ("stock", json!(1_000_000_001)),
    ];
    for (field, value) in cases {
        let mut body = new_product("p-new");
        body[field] = value.clone();
        let (response, error) = h.call(staff("POST", "/products", body)).await;
        assert_eq!(response.status, 422, "{field}={value}: {error}");
        assert!(message(&error).starts_with(field), "{field}: {error}");
    }
    let mut typo = new_product("p-new");
    typo["price"] = json!(5);
    let (response, error) = h.call(staff("POST", "/products", typo)).await;
    assert_eq!(response.status, 422);
    assert!(message(&error).starts_with("price:"), "{error}");
    // Not JSON, not an object, not declared as JSON.
    let broken = ApiRequest::new("POST", "/products")
        .with_body("application/json", b"{".to_vec())
        .with_staff_claims("s");
    assert_eq!(h.call(broken).await.0.status, 400);
    let text = ApiRequest::new("POST", "/products")
        .with_body("text/plain", b"{}".to_vec())
        .with_staff_claims("s");
    assert_eq!(h.call(text).await.0.status, 415);
    let array = staff("POST", "/products", json!([1]));
    assert_eq!(h.call(array).await.0.status, 422);
    assert!(h.catalog.get("p-new").is_none());
}

#[tokio::test]
async fn edits_need_the_current_version() {
    let h = Harness::new();
    h.call(staff("POST", "/products", new_product("lamp-1")))
        .await;
    let (response, body) = h.call(staff("PUT", "/products/lamp-1", edit(1))).await;
    assert_eq!(response.status, 200, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(body["priceCents"], 4499);
    assert_eq!(
        body["description"], "",
        "a PUT replaces every descriptive field"
    );
    assert_eq!(body["stock"], 12, "stock is not an edit");

    // A second editor still holding version 1 is refused, and told the current version.
    let (response, body) = h.call(staff("PUT", "/products/lamp-1", edit(1))).await;
    assert_eq!((response.status, code(&body)), (409, "version_conflict"));
    assert!(message(&body).contains("version 2"), "{body}");

    let (response, body) = h.call(staff("PUT", "/products/nope", edit(1))).await;
    assert_eq!((response.status, code(&body)), (404, "not_found"));
    let mut with_stock = edit(2);
    with_stock["stock"] = json!(100);
    let (response, body) = h.call(staff("PUT", "/products/lamp-1", with_stock)).await;
    assert_eq!(response.status, 422);
    assert!(message(&body).starts_with("stock"), "{body}");
    let mut no_version = edit(2);
    no_version.as_object_mut().unwrap().remove("version");
    let (response, body) = h.call(staff("PUT", "/products/lamp-1", no_version)).await;
    assert_eq!(response.status, 422);
    assert!(message(&body).starts_with("version"), "{body}");
}

#[tokio::test]
async fn archived_products_leave_the_catalog_and_cannot_be_ordered() {
    let h = Harness::new();
    let (response, body) = h.call(staff("DELETE", "/products/p-1", json!({}))).await;
    assert_eq!(response.status, 200, "{body}");
    assert_eq!(body["archived"], true);
    let (response, _) = h.call(ApiRequest::new("GET", "/products/p-1")).await;
    assert_eq!(response.status, 404);
    let (_, page) = h.call(ApiRequest::new("GET", "/products")).await;
    assert!(!page.to_string().contains("\"p-1\""), "{page}");
    let order = ApiRequest::new("POST", "/orders")
        .with_json(&json!({"items": [{"productId": "p-1", "quantity": 1}]}))
        .with_claims("user-1", None);
    let (response, body) = h.call(order.clone()).await;
    assert_eq!(response.status, 422, "{body}");
    assert!(message(&body).contains("no longer sold"), "{body}");

    // Restored by a PUT with archived false and the current version.
    let version = body_version(&h, "p-1");
    let mut restore = edit(version);
    restore["archived"] = json!(false);
    let (response, _) = h.call(staff("PUT", "/products/p-1", restore)).await;
    assert_eq!(response.status, 200);
    assert_eq!(h.call(order).await.0.status, 202);
    let (response, _) = h.call(staff("DELETE", "/products/nope", json!({}))).await;
    assert_eq!(response.status, 404);
}

fn body_version(h: &Harness, id: &str) -> i64 {
    h.catalog.get(id).expect("product").version
}

#[tokio::test]
async fn stock_is_adjusted_never_below_zero() {
    let h = Harness::new();
    let adjust = |n: i64| staff("POST", "/products/p-1/stock", json!({ "adjustment": n }));
    let (response, body) = h.call(adjust(5)).await;
    assert_eq!(response.status, 200, "{body}");
    assert_eq!(body["stock"], 15);
    let (_, body) = h.call(adjust(-15)).await;
    assert_eq!(body["stock"], 0);
    let (response, body) = h.call(adjust(-1)).await;
    assert_eq!((response.status, code(&body)), (409, "insufficient_stock"));
    assert_eq!(h.catalog.get("p-1").unwrap().stock, 0);
    for bad in [
        json!({"adjustment": 0}),
        json!({"adjustment": "5"}),
        json!({}),
        json!({"adjustment": 1, "x": 1}),
    ] {
        let (response, body) = h
            .call(staff("POST", "/products/p-1/stock", bad.clone()))
            .await;
        assert_eq!(response.status, 422, "{bad}: {body}");
    }
    let (response, _) = h
        .call(staff(
            "POST",
            "/products/nope/stock",
            json!({"adjustment": 1}),
        ))
        .await;
    assert_eq!(response.status, 404);
    h.catalog.faults.fail_next(Fault::Unavailable, 1);
    assert_eq!(h.call(adjust(1)).await.0.status, 503);
}

#[tokio::test]
async fn products_with_an_image_carry_a_short_lived_url() {
    let h = Harness::new();
    let mut product = h.catalog.get("p-2").unwrap();
    product.image_key = Some("products/p-2/a.png".into());
    h.catalog.put(product);
    let (_, body) = h.call(ApiRequest::new("GET", "/products/p-2")).await;
    assert_eq!(body["imageKey"], "products/p-2/a.png");
    assert_eq!(
        body["imageUrl"],
        "memory://images/products/p-2/a.png?expires-in=7200"
    );
    let (_, page) = h.call(ApiRequest::new("GET", "/products")).await;
    let listed = page["items"].as_array().unwrap();
    let p2 = listed.iter().find(|p| p["id"] == "p-2").unwrap();
    assert_eq!(p2["imageUrl"], body["imageUrl"]);
    let p1 = listed.iter().find(|p| p["id"] == "p-1").unwrap();
    assert_eq!(p1["imageUrl"], Value::Null);
}

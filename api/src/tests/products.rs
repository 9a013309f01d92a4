//! `GET /products` and `GET /products/{id}`.

use std::collections::BTreeSet;

use super::{code, message, Harness};
use crate::http::ApiRequest;
use crate::memory::Fault;

fn list() -> ApiRequest {
    ApiRequest::new("GET", "/products")
}

#[tokio::test]
async fn lists_with_default_limit_and_public_fields() {
    let h = Harness::new();
    let (response, body) = h.call(list()).await;
    assert_eq!(response.status, 200);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(body["nextCursor"].is_null());
    let first = items[0].as_object().unwrap();
    let keys: BTreeSet<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "name",
            "description",
            "category",
            "priceCents",
            "currency",
            "imageKey",
            "imageUrl",
            "version"
        ])
    );
    assert_eq!(first["priceCents"], 1299);
}

#[tokio::test]
async fn default_limit_is_20() {
    let h = Harness::new();
    for i in 0..30 {
        h.catalog
            .put(super::product(&format!("q-{i:02}"), "bulk", 100));
    }
    let (_, body) = h.call(list()).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 20);
    assert!(body["nextCursor"].is_string());
}

/// Follows cursors to the end, returning every id seen.
async fn walk(h: &Harness, category: Option<&str>, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut request = list().with_query("limit", &limit.to_string());
        if let Some(category) = category {
            request = request.with_query("category", category);
        }
        if let Some(cursor) = &cursor {
            request = request.with_query("cursor", cursor);
        }
        let (response, body) = h.call(request).await;
        assert_eq!(response.status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        ids.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_string()));
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
    panic!("listing never ended");
}

#[tokio::test]
async fn cursors_page_through_everything_once() {
    let h = Harness::new();
    assert_eq!(walk(&h, None, 2).await, ["p-1", "p-2", "p-3", "p-4", "p-5"]);
    assert_eq!(walk(&h, Some("books"), 1).await, ["p-1", "p-3", "p-5"]);
    assert!(walk(&h, Some("toys"), 5).await.is_empty());
}

#[tokio::test]
async fn bad_limit_category_or_cursor_is_422() {
    let h = Harness::new();
    for (name, value) in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "ten"),
        ("limit", "-1"),
        ("cursor", "%%%"),
        ("cursor", "eyJpZCI6NX0"), // {"id":5}
        ("category", ""),
    ] {
        let (response, body) = h.call(list().with_query(name, value)).await;
        assert_eq!(response.status, 422, "{name}={value}");
        assert!(message(&body).starts_with(name), "{body}");
    }
    // A cursor of another listing does not continue this one.
    let (_, body) = h.call(list().with_query("limit", "1")).await;
    let cursor = body["nextCursor"].as_str().unwrap();
    let request = list()
        .with_query("cursor", cursor)
        .with_query("category", "books");
    assert_eq!(h.call(request).await.0.status, 422);
}

#[tokio::test]
async fn gets_one_product_or_404() {
    let h = Harness::new();
    let (response, body) = h.call(ApiRequest::new("GET", "/products/p-2")).await;
    assert_eq!(response.status, 200);
    assert_eq!(body["id"], "p-2");
    assert_eq!(body["category"], "games");
    assert!(body.get("stock").is_none());
    for path in ["/products/p-404", "/products/..%2F..", "/products/a.b"] {
        let (response, body) = h.call(ApiRequest::new("GET", path)).await;
        assert_eq!((response.status, code(&body)), (404, "not_found"), "{path}");
    }
}

#[tokio::test]
async fn catalog_outage_is_503_with_retry_after() {
    let h = Harness::new();
    h.catalog.faults.fail_next(Fault::Unavailable, 2);
    for request in [list(), ApiRequest::new("GET", "/products/p-1")] {
        let (response, body) = h.call(request).await;
        assert_eq!((response.status, code(&body)), (503, "service_unavailable"));
        assert!(response.headers.contains_key("retry-after"));
    }
}

//! `GET /products/upload`.

use super::{code, message, Harness};
use crate::http::ApiRequest;
use crate::memory::Fault;

fn upload(product_id: &str, content_type: &str) -> ApiRequest {
    ApiRequest::new("GET", "/products/upload")
        .with_query("productId", product_id)
        .with_query("contentType", content_type)
        .with_staff_claims("staff-1")
}

#[tokio::test]
async fn issues_a_namespaced_unguessable_key() {
    let h = Harness::new();
    let (response, body) = h.call(upload("p-1", "image/png")).await;
    assert_eq!(response.status, 200);
    assert_eq!(body["method"], "POST");
    assert_eq!(body["fields"]["Content-Type"], "image/png");
    assert_eq!(body["maxBytes"], 5 * 1024 * 1024);
    assert!(body["expiresIn"]
        .as_u64()
        .is_some_and(|e| e > 0 && e <= 300));
    let key = body["key"].as_str().unwrap();
    let name = key
        .strip_prefix("products/p-1/")
        .expect("namespaced by product");
    let stem = name.strip_suffix(".png").expect("extension of the type");
    assert!(uuid::Uuid::parse_str(stem).is_ok_and(|u| u.get_version_num() == 4));
    assert_eq!(body["fields"]["key"], key);
    assert_eq!(body["fields"]["max-bytes"], "5242880");

    let (_, again) = h.call(upload("p-1", "image/png")).await;
    assert_ne!(again["key"], body["key"]);
    let (_, jpeg) = h.call(upload("p-1", "image/jpeg")).await;
    assert!(jpeg["key"].as_str().unwrap().ends_with(".jpg"));
    let (_, webp) = h.call(upload("p-2", "image/webp")).await;
    assert!(webp["key"].as_str().unwrap().ends_with(".webp"));
}

#[tokio::test]
async fn shoppers_get_403_in_the_one_error_shape() {
    let h = Harness::new();
    let shopper = upload("p-1", "image/png").with_claims("user-1", Some("u1@example.com"));
    let (response, body) = h.call(shopper).await;
    assert_eq!((response.status, code(&body)), (403, "forbidden"));
    assert!(message(&body).contains("admin"), "{body}");
}

#[tokio::test]
async fn needs_authentication() {
    let h = Harness::new();
    let mut request = upload("p-1", "image/png");
    request.claims = None;
    let (response, body) = h.call(request).await;
    assert_eq!((response.status, code(&body)), (401, "unauthorized"));
    let empty_sub = upload("p-1", "image/png").with_claims("  ", None);
    assert_eq!(h.call(empty_sub).await.0.status, 401);
}

#[tokio::test]
async fn rejects_bad_parameters_with_422() {
    let h = Harness::new();
    for (product_id, content_type, field) in [
        ("../p-1", "image/png", "productId"),
        ("p-1/../../etc", "image/png", "productId"),
        ("..", "image/png", "productId"),
        ("", "image/png", "productId"),
        ("p-1", "image/gif", "contentType"),
        ("p-1", "text/html", "contentType"),
        ("p-1", "", "contentType"),
    ] {
        let (response, body) = h.call(upload(product_id, content_type)).await;
        assert_eq!(response.status, 422, "{product_id} {content_type}");
        assert!(message(&body).starts_with(field), "{body}");
    }
}

#[tokio::test]
async fn unknown_product_is_404_and_s3_outage_503() {
    let h = Harness::new();
    let (response, body) = h.call(upload("p-404", "image/png")).await;
    assert_eq!((response.status, code(&body)), (404, "not_found"));
    h.images.faults.fail_next(Fault::Unavailable, 1);
    let (response, _) = h.call(upload("p-1", "image/png")).await;
    assert_eq!(response.status, 503);
    assert!(response.headers.contains_key("retry-after"));
}

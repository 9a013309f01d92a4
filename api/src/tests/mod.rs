//! Unit tests of every route through [`App::handle`](crate::App::handle) with in-memory ports.

mod auth;
mod catalog;
mod lambda_events;
mod orders;
mod products;
mod upload;

use std::sync::Arc;

use serde_json::Value;
use shop_model::Product;

use crate::app::{App, AuthConfig};
use crate::http::{ApiRequest, ApiResponse};
use crate::memory::{MemoryCatalog, MemoryIdentity, MemoryImages, MemoryOrders, MemoryQueue};

type MemoryApp = App<
    Arc<MemoryIdentity>,
    Arc<MemoryCatalog>,
    Arc<MemoryOrders>,
    Arc<MemoryQueue>,
    Arc<MemoryImages>,
>;

/// An app over in-memory ports, with handles on each port.
pub(crate) struct Harness {
    pub app: MemoryApp,
    pub identity: Arc<MemoryIdentity>,
    pub catalog: Arc<MemoryCatalog>,
    pub orders: Arc<MemoryOrders>,
    pub queue: Arc<MemoryQueue>,
    pub images: Arc<MemoryImages>,
}

pub(crate) fn product(id: &str, category: &str, price_cents: i64) -> Product {
    Product {
        id: id.into(),
        name: format!("Product {id}"),
        description: format!("About {id}"),
        category: category.into(),
        price_cents,
        currency: "USD".into(),
        image_key: None,
        stock: 10,
        version: 1,
        archived: false,
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with_auth(AuthConfig::default())
    }

    pub fn with_auth(auth: AuthConfig) -> Self {
        let identity = Arc::new(MemoryIdentity::default());
        let catalog = Arc::new(MemoryCatalog::new([
            product("p-1", "books", 1299),
            product("p-2", "games", 4999),
            product("p-3", "books", 500),
            product("p-4", "music", 1),
            product("p-5", "books", 250),
        ]));
        let orders = Arc::new(MemoryOrders::default());
        let queue = Arc::new(MemoryQueue::default());
        let images = Arc::new(MemoryImages::default());
        let app = App {
            identity: identity.clone(),
            catalog: catalog.clone(),
            orders: orders.clone(),
            queue: queue.clone(),
            images: images.clone(),
            auth,
        };
        Harness {
            app,
            identity,
            catalog,
            orders,
            queue,
            images,
        }
    }

    /// Sends a request; checks that every error uses the one error shape.
    pub async fn call(&self, request: ApiRequest) -> (ApiResponse, Value) {
        let response = self.app.handle(request).await;
        let body = response.json_body();
        assert_eq!(
            response.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        if response.status >= 400 {
            assert_error_shape(&body);
        }
        (response, body)
    }
}

/// `{"error":{"code":"...","message":"..."}}` and nothing else.
pub(crate) fn assert_error_shape(body: &Value) {
    let object = body.as_object().expect("error body is an object");
    assert_eq!(object.len(), 1, "only `error` at the top: {body}");
    let error = body["error"].as_object().expect("`error` is an object");
    assert_eq!(error.len(), 2, "only code and message: {body}");
    assert!(error["code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
}

/// The `code` of an error body.
pub(crate) fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// The `message` of an error body.
pub(crate) fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let h = Harness::new();
    for (method, path) in [
        ("GET", "/nope"),
        ("PATCH", "/products/p-1"),
        ("DELETE", "/orders/o-1"),
        ("PUT", "/orders"),
    ] {
        let (response, body) = h.call(ApiRequest::new(method, path)).await;
        assert_eq!(response.status, 404, "{method} {path}");
        assert_eq!(code(&body), "route_not_found");
    }
}

#[tokio::test]
async fn route_groups_only_serve_their_routes() {
    use crate::app::{CatalogAdminApi, GetOrderApi, ProductsApi, Service};
    let h = Harness::new();
    let products = ProductsApi {
        catalog: h.catalog.clone(),
        images: h.images.clone(),
    };
    assert_eq!(
        products
            .handle(ApiRequest::new("GET", "/products/p-1"))
            .await
            .status,
        200
    );
    assert_eq!(
        products
            .handle(ApiRequest::new("POST", "/orders"))
            .await
            .status,
        404
    );
    // The public catalog Lambda does not serve the staff routes, even to staff.
    let create = ApiRequest::new("POST", "/products")
        .with_json(&serde_json::json!({}))
        .with_staff_claims("staff-1");
    assert_eq!(products.handle(create.clone()).await.status, 404);
    let staff = CatalogAdminApi {
        catalog: h.catalog.clone(),
        images: h.images.clone(),
    };
    assert_eq!(
        staff
            .handle(ApiRequest::new("GET", "/products/p-1"))
            .await
            .status,
        404
    );
    assert_eq!(staff.handle(create).await.status, 422);
    let orders = GetOrderApi {
        orders: Arc::new(MemoryOrders::default()),
    };
    assert_eq!(
        orders
            .handle(ApiRequest::new("GET", "/products"))
            .await
            .status,
        404
    );
}

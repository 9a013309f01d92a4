//! The router: [`App`] serves every route with all ports (for a local gateway); the
//! per-Lambda services serve one route group each with only the ports it needs. Every
//! one turns errors into the one error shape and logs one line per request.

use std::time::Instant;

use async_trait::async_trait;

use crate::error::ApiError;
use crate::handlers::{auth, catalog, orders, products, upload};
use crate::http::{ApiRequest, ApiResponse};
use crate::ports::{
    CatalogAdmin, IdentityProvider, ImageStore, OrderQueue, OrderStore, ProductCatalog,
};
use crate::routes::{match_route, Route};

pub use crate::handlers::auth::AuthConfig;

/// Something that answers API requests.
#[async_trait]
pub trait Service: Send + Sync {
    /// Answers one request; never fails (errors become error responses).
    async fn handle(&self, request: ApiRequest) -> ApiResponse;
}

/// The whole API over all five ports.
pub struct App<I, C, O, Q, S> {
    pub identity: I,
    pub catalog: C,
    pub orders: O,
    pub queue: Q,
    pub images: S,
    pub auth: AuthConfig,
}

impl<I, C, O, Q, S> App<I, C, O, Q, S>
where
    I: IdentityProvider,
    C: ProductCatalog + CatalogAdmin,
    O: OrderStore,
    Q: OrderQueue,
    S: ImageStore,
{
    /// Answers one request.
    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let result = match match_route(&request.method, &request.path) {
            Some(Route::Auth) => auth::handle(&self.identity, self.auth, &request).await,
            Some(Route::ListProducts) => {
                products::list(&self.catalog, &self.images, &request).await
            }
            Some(Route::GetProduct(id)) => products::get(&self.catalog, &self.images, &id).await,
            Some(
                route @ (Route::UploadUrl
                | Route::CreateProduct
                | Route::UpdateProduct(_)
                | Route::ArchiveProduct(_)
                | Route::AdjustStock(_)),
            ) => staff_route(&self.catalog, &self.images, route, &request).await,
            Some(Route::CreateOrder) => {
                orders::create(&self.catalog, &self.orders, &self.queue, &request).await
            }
            Some(Route::ListOrders) => orders::list(&self.orders, &request).await,
            Some(Route::GetOrder(id)) => orders::get(&self.orders, &id, &request).await,
            None => Err(route_not_found(&request)),
        };
        finish(&request, started, result)
    }
}

#[async_trait]
impl<I, C, O, Q, S> Service for App<I, C, O, Q, S>
where
    I: IdentityProvider,
    C: ProductCatalog + CatalogAdmin,
    O: OrderStore,
    Q: OrderQueue,
    S: ImageStore,
{
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        App::handle(self, request).await
    }
}

/// `POST /auth` (the `auth-handler` Lambda).
pub struct AuthApi<I> {
    pub identity: I,
    pub config: AuthConfig,
}

#[async_trait]
impl<I: IdentityProvider> Service for AuthApi<I> {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let result = match match_route(&request.method, &request.path) {
            Some(Route::Auth) => auth::handle(&self.identity, self.config, &request).await,
            _ => Err(route_not_found(&request)),
        };
        finish(&request, started, result)
    }
}

/// `GET /products` and `GET /products/{id}` (the `get-products` Lambda).
pub struct ProductsApi<C, S> {
    pub catalog: C,
    pub images: S,
}

#[async_trait]
impl<C: ProductCatalog, S: ImageStore> Service for ProductsApi<C, S> {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let result = match match_route(&request.method, &request.path) {
            Some(Route::ListProducts) => {
                products::list(&self.catalog, &self.images, &request).await
            }
            Some(Route::GetProduct(id)) => products::get(&self.catalog, &self.images, &id).await,
            _ => Err(route_not_found(&request)),
        };
        finish(&request, started, result)
    }
}

/// The staff routes (the `catalog-admin` Lambda): `GET /products/upload`, `POST /products`,
/// `PUT` and `DELETE /products/{id}`, `POST /products/{id}/stock`.
pub struct CatalogAdminApi<C, S> {
    pub catalog: C,
    pub images: S,
}

#[async_trait]
impl<C: ProductCatalog + CatalogAdmin, S: ImageStore> Service for CatalogAdminApi<C, S> {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let result = match match_route(&request.method, &request.path) {
            Some(route) => staff_route(&self.catalog, &self.images, route, &request).await,
            None => Err(route_not_found(&request)),
        };
        finish(&request, started, result)
    }
}

/// Serves one staff route; any other route is not found here.
async fn staff_route<C: ProductCatalog + CatalogAdmin, S: ImageStore>(
    catalog: &C,
    images: &S,
    route: Route,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    match route {
        Route::UploadUrl => upload::handle(catalog, images, request).await,
        Route::CreateProduct => catalog::create(catalog, images, request).await,
        Route::UpdateProduct(id) => catalog::update(catalog, images, &id, request).await,
        Route::ArchiveProduct(id) => catalog::archive(catalog, images, &id, request).await,
        Route::AdjustStock(id) => catalog::adjust_stock(catalog, images, &id, request).await,
        _ => Err(route_not_found(request)),
    }
}

/// `POST /orders` (the `order-entry` Lambda).
pub struct OrderEntryApi<C, O, Q> {
    pub catalog: C,
    pub orders: O,
    pub queue: Q,
}

#[async_trait]
impl<C: ProductCatalog, O: OrderStore, Q: OrderQueue> Service for OrderEntryApi<C, O, Q> {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let result = match match_route(&request.method, &request.path) {
            Some(Route::CreateOrder) => {
                orders::create(&self.catalog, &self.orders, &self.queue, &request).await
            }
            _ => Err(route_not_found(&request)),
        };
        finish(&request, started, result)
    }
}

/// `GET /orders/{orderId}` and `GET /orders` (the `get-order` Lambda: the caller's orders).
pub struct GetOrderApi<O> {
    pub orders: O,
}

#[async_trait]
impl<O: OrderStore> Service for GetOrderApi<O> {
    async fn handle(&self, request: ApiRequest) -> ApiResponse {
        let started = Instant::now();
        let result = match match_route(&request.method, &request.path) {
            Some(Route::GetOrder(id)) => orders::get(&self.orders, &id, &request).await,
            Some(Route::ListOrders) => orders::list(&self.orders, &request).await,
            _ => Err(route_not_found(&request)),
        };
        finish(&request, started, result)
    }
}

fn route_not_found(request: &ApiRequest) -> ApiError {
    ApiError::RouteNotFound {
        method: request.method.clone(),
        path: request.path.clone(),
    }
}

/// Turns a handler result into a response and logs the outcome (never bodies or headers).
fn finish(
    request: &ApiRequest,
    started: Instant,
    result: Result<ApiResponse, ApiError>,
) -> ApiResponse {
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let request_id = request.request_id.as_deref().unwrap_or("-");
    match result {
        Ok(response) => {
            tracing::info!(request_id, method = %request.method, path = %request.path, status = response.status, elapsed_ms, "request served");
            response
        }
        Err(error) => {
            let response = error.to_response();
            if response.status >= 500 {
                tracing::error!(request_id, method = %request.method, path = %request.path, status = response.status, elapsed_ms, error = %error, "request failed");
            } else {
                tracing::info!(request_id, method = %request.method, path = %request.path, status = response.status, elapsed_ms, code = error.code(), "request rejected");
            }
            response
        }
    }
}

//! The route table: which (method, path) pairs the API serves.

/// One route of the API, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /auth`
    Auth,
    /// `GET /products`
    ListProducts,
    /// `GET /products/{id}`
    GetProduct(String),
    /// `GET /products/upload`
    UploadUrl,
    /// `POST /products`
    CreateProduct,
    /// `PUT /products/{id}`
    UpdateProduct(String),
    /// `DELETE /products/{id}`
    ArchiveProduct(String),
    /// `POST /products/{id}/stock`
    AdjustStock(String),
    /// `POST /orders`
    CreateOrder,
    /// `GET /orders`
    ListOrders,
    /// `GET /orders/{orderId}`
    GetOrder(String),
}

/// The route for a method and path (one trailing `/` is ignored), if any.
pub fn match_route(method: &str, path: &str) -> Option<Route> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let method = method.to_ascii_uppercase();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["auth"]) => Some(Route::Auth),
        ("GET", ["products"]) => Some(Route::ListProducts),
        // The literal `upload` wins over `{id}`, as in API Gateway's resource tree.
        ("GET", ["products", "upload"]) => Some(Route::UploadUrl),
        ("GET", ["products", id]) if !id.is_empty() => Some(Route::GetProduct(id.to_string())),
        ("POST", ["products"]) => Some(Route::CreateProduct),
        ("PUT", ["products", id]) if !id.is_empty() => Some(Route::UpdateProduct(id.to_string())),
        ("DELETE", ["products", id]) if !id.is_empty() => {
            Some(Route::ArchiveProduct(id.to_string()))
        }
        ("POST", ["products", id, "stock"]) if !id.is_empty() => {
            Some(Route::AdjustStock(id.to_string()))
        }
        ("POST", ["orders"]) => Some(Route::CreateOrder),
        ("GET", ["orders"]) => Some(Route::ListOrders),
        ("GET", ["orders", id]) if !id.is_empty() => Some(Route::GetOrder(id.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match() {
        assert_eq!(match_route("POST", "/auth"), Some(Route::Auth));
        assert_eq!(match_route("GET", "/products/"), Some(Route::ListProducts));
        assert_eq!(
            match_route("GET", "/products/upload"),
            Some(Route::UploadUrl)
        );
        assert_eq!(
            match_route("get", "/products/p-1"),
            Some(Route::GetProduct("p-1".into()))
        );
        assert_eq!(match_route("POST", "/products"), Some(Route::CreateProduct));
        assert_eq!(
            match_route("PUT", "/products/p-1"),
            Some(Route::UpdateProduct("p-1".into()))
        );
        assert_eq!(
            match_route("DELETE", "/products/p-1"),
            Some(Route::ArchiveProduct("p-1".into()))
        );
        assert_eq!(
            match_route("POST", "/products/p-1/stock"),
            Some(Route::AdjustStock("p-1".into()))
        );
        assert_eq!(match_route("POST", "/orders"), Some(Route::CreateOrder));
        assert_eq!(match_route("GET", "/orders/"), Some(Route::ListOrders));
        assert_eq!(
            match_route("GET", "/orders/o-1"),
            Some(Route::GetOrder("o-1".into()))
        );
    }

    #[test]
    fn unknown_routes_do_not_match() {
        for (method, path) in [
            ("GET", "/auth"),
            ("DELETE", "/orders/o-1"),
            ("GET", "/products//"),
            ("GET", "/products/a/b"),
            ("GET", "/"),
            ("GET", ""),
            ("GET", "products"),
        ] {
            assert_eq!(match_route(method, path), None, "{method} {path}");
        }
    }
}

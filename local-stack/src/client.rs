//! The one client of the shop's HTTP API, typed on the API's own contract (`api::contract`):
//! the end-to-end tests, `cargo xtask load` and `cargo xtask chaos` all speak to a stack through
//! it, and so can a smoke test of a deployed stack (it only needs the API's URL).

use std::time::Duration;

use api::contract::{
    AuthRequest, CreateOrder, ErrorBody, ManagedProduct, NewProduct, OrderAccepted, OrderList,
    OrderView, ProductPage, ProductUpdate, ProductView, Registered, StockAdjustment, TokenSet,
    UploadTarget,
};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

/// The header of the client's idempotency key (`api::handlers::orders::IDEMPOTENCY_HEADER`).
pub use api::handlers::orders::IDEMPOTENCY_HEADER;

/// An answer of the API: the status, the headers, and the body read as `T` (2xx) or as the one
/// error shape (anything else).
#[derive(Debug)]
pub struct Answer<T> {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body<T>,
}

/// The body of an [`Answer`].
#[derive(Debug)]
pub enum Body<T> {
    /// A 2xx answer in the route's response type.
    Ok(T),
    /// A non-2xx answer in the API's error shape.
    Error(ErrorBody),
    /// A body in neither shape (a gateway error, say): its text.
    Other(String),
}

impl<T> Answer<T> {
    /// The body of a 2xx answer; otherwise an error saying what came instead.
    pub fn ok(self) -> Result<T, UnexpectedAnswer> {
        match self.body {
            Body::Ok(body) => Ok(body),
            Body::Error(error) => Err(UnexpectedAnswer {
                status: self.status,
                body: format!("{} {}", error.error.code, error.error.message),
            }),
            Body::Other(text) => Err(UnexpectedAnswer {
                status: self.status,
                body: text,
            }),
        }
    }

    /// The error code of a non-2xx answer in the API's error shape.
    pub fn error_code(&self) -> Option<&str> {
        match &self.body {
            Body::Error(error) => Some(&error.error.code),
            _ => None,
        }
    }

    /// A response header, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An answer that was not the expected 2xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the API answered {status}: {body}")]
pub struct UnexpectedAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The error code and message, or the body's text.
    pub body: String,
}

/// Why a call got no answer at all.
pub type TransportError = reqwest::Error;

/// The shop's API at `base` (the stack's `ApiUrl`, e.g. `http://127.0.0.1:3000/dev`).
#[derive(Debug, Clone)]
pub struct ShopClient {
    http: reqwest::Client,
    base: String,
}

impl ShopClient {
    /// A client of the API at `base`, with a 30 s timeout per request.
    pub fn new(base: &str) -> Result<Self, TransportError> {
        Ok(ShopClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// A client of the API at `base` on an HTTP client of the caller's (tuned timeouts and
    /// connection pool for a load run, say).
    pub fn with_http(http: reqwest::Client, base: &str) -> Self {
        ShopClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The underlying HTTP client, for requests the contract does not describe (hostile ones).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `POST /auth` with any action; the answer's body is read as `T`.
    pub async fn auth<T: DeserializeOwned>(
        &self,
        request: &AuthRequest,
    ) -> Result<Answer<T>, TransportError> {
        read(
            self.http
                .post(self.url("/auth"))
                .json(request)
                .send()
                .await?,
        )
        .await
    }

    /// `POST /auth` `register`.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Answer<Registered>, TransportError> {
        self.auth(&AuthRequest::Register {
            email: email.to_owned(),
            password: password.to_owned(),
        })
        .await
    }

    /// `POST /auth` `login`.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Answer<TokenSet>, TransportError> {
        self.auth(&AuthRequest::Login {
            email: email.to_owned(),
            password: password.to_owned(),
        })
        .await
    }

    /// `GET /products` with a query string (`""`, or e.g. `"limit=100&category=mugs"`).
    pub async fn products(&self, query: &str) -> Result<Answer<ProductPage>, TransportError> {
        let url = if query.is_empty() {
            self.url("/products")
        } else {
            self.url(&format!("/products?{query}"))
        };
        read(self.http.get(url).send().await?).await
    }

    /// `GET /products/upload` for an image of `product_id` of type `content_type`.
    pub async fn upload_target(
        &self,
        id_token: &str,
        product_id: &str,
        content_type: &str,
    ) -> Result<Answer<UploadTarget>, TransportError> {
        let request = self
            .http
            .get(self.url("/products/upload"))
            .query(&[("productId", product_id), ("contentType", content_type)])
            .header("Authorization", id_token);
        read(request.send().await?).await
    }

    /// Sends an image with an upload form from [`ShopClient::upload_target`], as a browser or
    /// `curl -F` would: every signed field, then the bytes as `file`. Returns S3's status
    /// (204 when stored).
    pub async fn upload_image(
        &self,
        target: &UploadTarget,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<u16, TransportError> {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &target.fields {
            form = form.text(name.clone(), value.clone());
        }
        // S3 reads the fields before `file` and ignores any after it.
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
        let response = self
            .http
            .post(&target.upload_url)
            .multipart(form)
            .send()
            .await?;
        Ok(response.status().as_u16())
    }

    /// `POST /products` (staff).
    pub async fn create_product(
        &self,
        id_token: &str,
        product: &NewProduct,
    ) -> Result<Answer<ManagedProduct>, TransportError> {
        let request = self
            .http
            .post(self.url("/products"))
            .header("Authorization", id_token)
            .json(product);
        read(request.send().await?).await
    }

    /// `PUT /products/{id}` (staff).
    pub async fn update_product(
        &self,
        id_token: &str,
        product_id: &str,
        update: &ProductUpdate,
    ) -> Result<Answer<ManagedProduct>, TransportError> {
        let request = self
            .http
            .put(self.url(&format!("/products/{product_id}")))
            .header("Authorization", id_token)
            .json(update);
        read(request.send().await?).await
    }

    /// `DELETE /products/{id}` (staff): archives the product.
    pub async fn archive_product(
        &self,
        id_token: &str,
        product_id: &str,
    ) -> Result<Answer<ManagedProduct>, TransportError> {
        let request = self
            .http
            .delete(self.url(&format!("/products/{product_id}")))
            .header("Authorization", id_token);
        read(request.send().await?).await
    }

    /// `POST /products/{id}/stock` (staff).
    pub async fn adjust_stock(
        &self,
        id_token: &str,
        product_id: &str,
        adjustment: i64,
    ) -> Result<Answer<ManagedProduct>, TransportError> {
        let request = self
            .http
            .post(self.url(&format!("/products/{product_id}/stock")))
            .header("Authorization", id_token)
            .json(&StockAdjustment { adjustment });
        read(request.send().await?).await
    }

    /// `GET /products/{id}`.
    pub async fn product(&self, product_id: &str) -> Result<Answer<ProductView>, TransportError> {
        read(
            self.http
                .get(self.url(&format!("/products/{product_id}")))
                .send()
                .await?,
        )
        .await
    }

    /// `POST /orders`, with the ID token and the idempotency key when given.
    pub async fn place_order(
        &self,
        id_token: Option<&str>,
        order: &CreateOrder,
        idempotency_key: Option<&str>,
    ) -> Result<Answer<OrderAccepted>, TransportError> {
        let mut request = self.http.post(self.url("/orders")).json(order);
        if let Some(token) = id_token {
            request = request.header("Authorization", token);
        }
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_HEADER, key);
        }
        read(request.send().await?).await
    }

    /// `GET /orders` with a query string (`""`, or e.g. `"limit=10&cursor=..."`): the
    /// caller's orders, newest first.
    pub async fn my_orders(
        &self,
        id_token: &str,
        query: &str,
    ) -> Result<Answer<OrderList>, TransportError> {
        let url = if query.is_empty() {
            self.url("/orders")
        } else {
            self.url(&format!("/orders?{query}"))
        };
        read(
            self.http
                .get(url)
                .header("Authorization", id_token)
                .send()
                .await?,
        )
        .await
    }

    /// `GET /orders/{orderId}`.
    pub async fn order(
        &self,
        id_token: &str,
        order_id: &str,
    ) -> Result<Answer<OrderView>, TransportError> {
        let request = self
            .http
            .get(self.url(&format!("/orders/{order_id}")))
            .header("Authorization", id_token);
        read(request.send().await?).await
    }
}

/// Reads a response whole: a 2xx body as `T`, anything else as the error shape or text.
pub async fn read<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<Answer<T>, TransportError> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    let body = if (200..300).contains(&status) {
        match serde_json::from_slice(&bytes) {
            Ok(body) => Body::Ok(body),
            Err(_) => Body::Other(String::from_utf8_lossy(&bytes).into_owned()),
        }
    } else {
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(error) => Body::Error(error),
            Err(_) => Body::Other(String::from_utf8_lossy(&bytes).into_owned()),
        }
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

//! The ports the handlers depend on (one trait per capability) and the data crossing them.
//! AWS adapters live in [`crate::aws`], in-memory ones in [`crate::memory`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shop_model::{OrderMessage, OrderStatus, PricedLine, Product};

use crate::error::ApiError;

/// The key a listing resumes after: DynamoDB's `LastEvaluatedKey`, all of whose
/// attributes are strings in this schema (`id`, plus `category` on the category index).
pub type PageKey = BTreeMap<String, String>;

/// One page of products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    pub items: Vec<Product>,
    /// Where the next page starts; `None` on the last page.
    pub last_key: Option<PageKey>,
}

/// Read access to the Products table.
#[async_trait]
pub trait ProductCatalog: Send + Sync {
    /// Up to `limit` products that are not archived, of one `category` if given, starting
    /// after `start`. A page may hold fewer than `limit` (archived ones are filtered out after
    /// the read, as DynamoDB's `FilterExpression` does) and still have a next page.
    async fn list_products(
        &self,
        category: Option<&str>,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<ProductPage, ApiError>;

    /// One product by id, archived or not.
    async fn get_product(&self, id: &str) -> Result<Option<Product>, ApiError>;

    /// The products with these (distinct, at most 100) ids, archived or not; unknown ids are
    /// left out.
    async fn get_products(&self, ids: &[String]) -> Result<Vec<Product>, ApiError>;
}

/// What a catalog edit sets: every descriptive field (a `PUT` replaces them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductEdit {
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub currency: String,
    pub archived: bool,
}

/// Outcome of a versioned edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    /// Applied; the product as it is now (version bumped).
    Edited(Product),
    /// No product with this id.
    NotFound,
    /// Someone edited it since the version the caller read.
    Stale { current_version: i64 },
}

/// Outcome of a stock adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockOutcome {
    /// Applied; the product as it is now.
    Adjusted(Product),
    /// No product with this id.
    NotFound,
    /// The stock would go below zero; nothing changed.
    Insufficient { stock: i64 },
}

/// Write access to the Products table, for staff and the image intake. Every write is one
/// conditional request, so none can race another or an order's stock reservation.
#[async_trait]
pub trait CatalogAdmin: Send + Sync {
    /// Adds a product (version 1) unless its id is taken; false when it is.
    async fn create_product(&self, product: &Product) -> Result<bool, ApiError>;

    /// Replaces the descriptive fields if the product is still at `version`.
    async fn edit_product(
        &self,
        id: &str,
        edit: &ProductEdit,
        version: i64,
    ) -> Result<EditOutcome, ApiError>;

    /// Archives a product, whatever its version (archiving twice is harmless).
    async fn archive_product(&self, id: &str) -> Result<EditOutcome, ApiError>;

    /// Adds `delta` (negative to remove) to the stock, unless it would go below zero.
    async fn adjust_stock(&self, id: &str, delta: i64) -> Result<StockOutcome, ApiError>;

    /// Makes `key` the product's image; the previous key, `Ok(None)` if it had none, and
    /// `Err(NotFound)` when there is no such product.
    async fn set_image(&self, id: &str, key: &str) -> Result<Option<String>, ApiError>;
}

/// An order as the Orders table holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub order_id: String,
    pub user_sub: String,
    pub status: OrderStatus,
    pub items: Vec<PricedLine>,
    pub total_cents: i64,
    pub currency: String,
    /// Never logged (see the `Debug` impl).
    pub payment_token: Option<String>,
    pub payment_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Set once the order message is on the queue.
    pub queued_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub failure_error: Option<String>,
    pub failure_reason: Option<String>,
}

impl fmt::Debug for OrderRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderRecord")
            .field("order_id", &self.order_id)
            .field("user_sub", &self.user_sub)
            .field("status", &self.status)
            .field("items", &self.items)
            .field("total_cents", &self.total_cents)
            .field("currency", &self.currency)
            .field(
                "payment_token",
                &self.payment_token.as_ref().map(|_| "<redacted>"),
            )
            .field("created_at", &self.created_at)
            .field("queued_at", &self.queued_at)
            .finish_non_exhaustive()
    }
}

/// One page of a user's orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    pub items: Vec<OrderRecord>,
    /// Where the next page starts; `None` on the last page.
    pub last_key: Option<PageKey>,
}

/// Result of recording a new order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The order was recorded.
    Created,
    /// An order with this id existed already; here it is.
    AlreadyExists(Box<OrderRecord>),
}

/// The Orders table, as the API uses it.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Records a new order unless one with its id exists (conditional put).
    async fn create_order(&self, order: &OrderRecord) -> Result<CreateOutcome, ApiError>;

    /// One order by id (strongly consistent).
    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, ApiError>;

    /// Notes that the order's message is on the queue.
    async fn mark_queued(&self, order_id: &str, queued_at: &str) -> Result<(), ApiError>;

    /// Up to `limit` orders of one user, newest first, starting after `start` (a key of this
    /// listing). Never another user's: the user is the index's partition key.
    async fn list_orders(
        &self,
        user_sub: &str,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<OrderPage, ApiError>;
}

/// The SQS order queue.
#[async_trait]
pub trait OrderQueue: Send + Sync {
    /// Queues one order message (body = its JSON).
    async fn enqueue(&self, message: &OrderMessage) -> Result<(), ApiError>;
}

/// What one image upload may be: exactly this key and content type, at most `max_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRules {
    pub key: String,
    pub content_type: String,
    /// Largest file accepted, in bytes (the smallest is 1).
    pub max_bytes: u64,
    /// How long the form can be used.
    pub expires_in: Duration,
}

/// A pre-signed HTML form upload (S3 POST): where to send it and the fields to send before
/// the `file` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadForm {
    pub url: String,
    pub fields: BTreeMap<String, String>,
}

/// The images bucket: pre-signed uploads and downloads (the bucket stays private).
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// A form that lets its holder store one object as `rules` allow, until they expire.
    async fn presign_upload(&self, rules: &UploadRules) -> Result<UploadForm, ApiError>;

    /// A URL that lets its holder `GET` `key` for `expires_in`.
    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<String, ApiError>;
}

/// Outcome of a sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUp {
    pub user_sub: String,
    pub confirmed: bool,
}

/// Tokens of a signed-in user. Never logged (see the `Debug` impl).
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    /// Absent on a refresh when the provider does not rotate refresh tokens.
    pub refresh_token: Option<String>,
    pub expires_in: i32,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// The user directory (Cognito user pool).
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    async fn sign_up(&self, email: &str, password: &str) -> Result<SignUp, ApiError>;
    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), ApiError>;
    /// Confirms a user without a code (local stacks only).
    async fn admin_confirm_sign_up(&self, email: &str) -> Result<(), ApiError>;
    async fn login(&self, email: &str, password: &str) -> Result<Tokens, ApiError>;
    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError>;
}

// Shared ports: an `Arc<T>` is the port `T`, so callers can keep a handle on a port they
// hand to the app (tests inspect in-memory state this way).

#[async_trait]
impl<T: ProductCatalog + ?Sized> ProductCatalog for Arc<T> {
    async fn list_products(
        &self,
        category: Option<&str>,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<ProductPage, ApiError> {
        (**self).list_products(category, limit, start).await
    }
    async fn get_product(&self, id: &str) -> Result<Option<Product>, ApiError> {
        (**self).get_product(id).await
    }
    async fn get_products(&self, ids: &[String]) -> Result<Vec<Product>, ApiError> {
        (**self).get_products(ids).await
    }
}

#[async_trait]
impl<T: CatalogAdmin + ?Sized> CatalogAdmin for Arc<T> {
    async fn create_product(&self, product: &Product) -> Result<bool, ApiError> {
        (**self).create_product(product).await
    }
    async fn edit_product(
        &self,
        id: &str,
        edit: &ProductEdit,
        version: i64,
    ) -> Result<EditOutcome, ApiError> {
        (**self).edit_product(id, edit, version).await
    }
    async fn archive_product(&self, id: &str) -> Result<EditOutcome, ApiError> {
        (**self).archive_product(id).await
    }
    async fn adjust_stock(&self, id: &str, delta: i64) -> Result<StockOutcome, ApiError> {
        (**self).adjust_stock(id, delta).await
    }
    async fn set_image(&self, id: &str, key: &str) -> Result<Option<String>, ApiError> {
        (**self).set_image(id, key).await
    }
}

#[async_trait]
impl<T: OrderStore + ?Sized> OrderStore for Arc<T> {
    async fn create_order(&self, order: &OrderRecord) -> Result<CreateOutcome, ApiError> {
        (**self).create_order(order).await
    }
    async fn get_order(&self, order_id: &str) -> Result<Option<OrderRecord>, ApiError> {
        (**self).get_order(order_id).await
    }
    async fn mark_queued(&self, order_id: &str, queued_at: &str) -> Result<(), ApiError> {
        (**self).mark_queued(order_id, queued_at).await
    }
    async fn list_orders(
        &self,
        user_sub: &str,
        limit: u32,
        start: Option<&PageKey>,
    ) -> Result<OrderPage, ApiError> {
        (**self).list_orders(user_sub, limit, start).await
    }
}

#[async_trait]
impl<T: OrderQueue + ?Sized> OrderQueue for Arc<T> {
    async fn enqueue(&self, message: &OrderMessage) -> Result<(), ApiError> {
        (**self).enqueue(message).await
    }
}

#[async_trait]
impl<T: ImageStore + ?Sized> ImageStore for Arc<T> {
    async fn presign_upload(&self, rules: &UploadRules) -> Result<UploadForm, ApiError> {
        (**self).presign_upload(rules).await
    }
    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<String, ApiError> {
        (**self).presign_download(key, expires_in).await
    }
}

#[async_trait]
impl<T: IdentityProvider + ?Sized> IdentityProvider for Arc<T> {
    async fn sign_up(&self, email: &str, password: &str) -> Result<SignUp, ApiError> {
        (**self).sign_up(email, password).await
    }
    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), ApiError> {
        (**self).confirm_sign_up(email, code).await
    }
    async fn admin_confirm_sign_up(&self, email: &str) -> Result<(), ApiError> {
        (**self).admin_confirm_sign_up(email).await
    }
    async fn login(&self, email: &str, password: &str) -> Result<Tokens, ApiError> {
        (**self).login(email, password).await
    }
    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        (**self).refresh(refresh_token).await
    }
}

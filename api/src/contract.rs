//! The HTTP API's contract as Rust types: the request and response bodies of every route, and
//! the one error shape. The handlers answer with these types, and clients (the end-to-end tests,
//! `cargo xtask load`, `cargo xtask chaos`, through `local_stack::client::ShopClient`) read and
//! send the same ones, so the two sides cannot drift.
//!
//! JSON field names are camelCase. Requests are parsed by the handlers field by field (so that
//! each mistake gets its own message); these request types are what a well-formed body is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shop_model::{OrderLine, OrderStatus, PricedLine};

/// `POST /auth` request: one of four actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum AuthRequest {
    /// Sign up (Cognito `SignUp`).
    Register {
        /// The user's e-mail address (the Cognito username).
        email: String,
        /// The password (Cognito's policy applies).
        password: String,
    },
    /// Confirm a sign-up with the code Cognito e-mailed.
    Confirm {
        /// The user's e-mail address.
        email: String,
        /// The confirmation code.
        code: String,
    },
    /// Log in (Cognito `USER_PASSWORD_AUTH`).
    Login {
        /// The user's e-mail address.
        email: String,
        /// The password.
        password: String,
    },
    /// New tokens from a refresh token.
    Refresh {
        /// The refresh token of an earlier login.
        #[serde(rename = "refreshToken")]
        refresh_token: String,
    },
}

/// `POST /auth` `register` answer (201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    /// The Cognito `sub` of the new user.
    pub user_sub: String,
    /// False until the e-mailed code is confirmed (local stacks confirm at once).
    pub confirmed: bool,
}

/// `POST /auth` `confirm` answer (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    /// Always true.
    pub confirmed: bool,
}

/// `POST /auth` `login` and `refresh` answer (200): Cognito's tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSet {
    /// The ID token: what the `Authorization` header of the other routes carries.
    pub id_token: String,
    /// The access token.
    pub access_token: String,
    /// The refresh token (on a refresh that did not rotate it, the one sent).
    pub refresh_token: Option<String>,
    /// Seconds the ID and access tokens stay valid.
    pub expires_in: i32,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A product as the API shows it (the stock stays internal; staff see it in [`ManagedProduct`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    /// The product id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its category.
    pub category: String,
    /// Its price in integer cents.
    pub price_cents: i64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// The key of its image in the images bucket, if it has one.
    pub image_key: Option<String>,
    /// A short-lived pre-signed URL a browser can load the image from (the bucket is private).
    pub image_url: Option<String>,
    /// The edit version: what a `PUT /products/{id}` must send back.
    pub version: i64,
}

impl ProductView {
    /// The view with its image URL.
    pub fn with_image_url(mut self, image_url: Option<String>) -> Self {
        self.image_url = image_url;
        self
    }
}

/// The staff view of a product: the public view, its stock and whether it is archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedProduct {
    /// Everything the public view shows.
    #[serde(flatten)]
    pub product: ProductView,
    /// Units in stock.
    pub stock: i64,
    /// True once archived (hidden from the catalog, cannot be ordered).
    pub archived: bool,
}

/// `POST /products` request (staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProduct {
    /// 1 to 128 letters, digits, `-` and `_` (not `upload`); a UUID when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// 1 to 200 characters.
    pub name: String,
    /// Up to 2000 characters.
    #[serde(default)]
    pub description: String,
    /// 1 to 100 characters.
    pub category: String,
    /// 0 to 100000000.
    pub price_cents: i64,
    /// The shop's currency (`USD`).
    pub currency: String,
    /// Initial stock, 0 to 1000000000.
    pub stock: i64,
}

/// `PUT /products/{id}` request (staff): every descriptive field, and the version read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductUpdate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub currency: String,
    /// Archive (true) or restore (false, the default).
    #[serde(default)]
    pub archived: bool,
    /// The version this change is based on; a stale one is a 409 `version_conflict`.
    pub version: i64,
}

/// `POST /products/{id}/stock` request (staff).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockAdjustment {
    /// Units to add (negative to remove), not 0; the stock never goes below zero (409).
    pub adjustment: i64,
}

impl From<&shop_model::Product> for ProductView {
    fn from(product: &shop_model::Product) -> Self {
        ProductView {
            id: product.id.clone(),
            name: product.name.clone(),
            description: product.description.clone(),
            category: product.category.clone(),
            price_cents: product.price_cents,
            currency: product.currency.clone(),
            image_key: product.image_key.clone(),
            image_url: None,
            version: product.version,
        }
    }
}

/// `GET /products` answer (200): one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    /// The products of this page.
    pub items: Vec<ProductView>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// `GET /products/upload` answer (200): an S3 pre-signed POST form for one image.
///
/// Send `multipart/form-data` to `upload_url` with every entry of `fields` and then the image
/// as the `file` field (S3 ignores fields after `file`):
/// `curl -F key=... -F Content-Type=... [-F ... every field] -F file=@mug.png <uploadUrl>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadTarget {
    /// Where to send the form (the bucket's URL).
    pub upload_url: String,
    /// `POST`.
    pub method: String,
    /// The form fields, signed: key, Content-Type, policy, credential, date, signature.
    pub fields: BTreeMap<String, String>,
    /// The object key the image will have.
    pub key: String,
    /// Largest file S3 accepts with this form, in bytes.
    pub max_bytes: u64,
    /// Seconds the form stays valid.
    pub expires_in: u64,
}

/// `POST /orders` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    /// The lines: a product and a quantity each.
    pub items: Vec<OrderLine>,
    /// The payment provider's token for the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<String>,
}

/// `POST /orders` answer (202): the order is accepted and will be processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAccepted {
    /// The order id (derived from the user and the `Idempotency-Key` when one is sent).
    pub order_id: String,
    /// `PENDING`.
    pub status: OrderStatus,
    /// The total the API priced, in cents.
    pub total_cents: i64,
    /// The currency.
    pub currency: String,
}

/// `GET /orders/{orderId}` answer (200): the owner's view of an order (no payment token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The order id.
    pub order_id: String,
    /// PENDING, COMPLETED or FAILED.
    pub status: OrderStatus,
    /// The priced lines.
    pub items: Vec<PricedLine>,
    /// The total in cents.
    pub total_cents: i64,
    /// The currency.
    pub currency: String,
    /// When the order was accepted (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// The payment provider's id, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Why a FAILED order failed: the error name (`PaymentDeclined`, `OutOfStock`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_error: Option<String>,
    /// Why a FAILED order failed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// `GET /orders` answer (200): one page of the caller's orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderList {
    /// The orders of this page.
    pub items: Vec<OrderView>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// The one error shape of every route: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`validation_failed`, `unauthorized`, ...).
    pub code: String,
    /// A human-readable message (never a secret).
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_requests_are_tagged_by_action() {
        let login = AuthRequest::Login {
            email: "a@example.com".into(),
            password: "pw".into(),
        };
        assert_eq!(
            serde_json::to_value(&login).unwrap(),
            serde_json::json!({"action": "login", "email": "a@example.com", "password": "pw"})
        );
        let refresh: AuthRequest =
            serde_json::from_value(serde_json::json!({"action": "refresh", "refreshToken": "r"}))
                .unwrap();
        assert_eq!(
            refresh,
            AuthRequest::Refresh {
                refresh_token: "r".into()
            }
        );
    }

    #[test]
    fn token_sets_never_show_tokens_in_debug() {
        let tokens = TokenSet {
            id_token: "secret-id".into(),
            access_token: "secret-access".into(),
            refresh_token: Some("secret-refresh".into()),
            expires_in: 3600,
        };
        assert!(!format!("{tokens:?}").contains("secret"));
    }
}

//! Order and product types shared by the API and the order-processing steps.
//!
//! These are the wire shapes of the system: the SQS order message (which is also the
//! input of the `order-processing` workflow), the DynamoDB attribute names of the
//! Products and Orders tables, and the business limits both sides enforce.

#[cfg(feature = "aws")]
pub mod aws;
pub mod emf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most lines one order may have.
pub const MAX_ORDER_LINES: usize = 50;
/// Smallest quantity of one order line.
pub const MIN_QUANTITY: u32 = 1;
/// Largest quantity of one order line.
pub const MAX_QUANTITY: u32 = 100;
/// The one currency the shop sells in.
pub const CURRENCY: &str = "USD";

/// Environment variables through which every Lambda learns its resources.
pub mod env {
    pub const PRODUCTS_TABLE: &str = "PRODUCTS_TABLE";
    pub const ORDERS_TABLE: &str = "ORDERS_TABLE";
    pub const ORDER_QUEUE_URL: &str = "ORDER_QUEUE_URL";
    pub const ORDER_TOPIC_ARN: &str = "ORDER_TOPIC_ARN";
    pub const IMAGES_BUCKET: &str = "IMAGES_BUCKET";
    pub const USER_POOL_ID: &str = "USER_POOL_ID";
    pub const USER_POOL_CLIENT_ID: &str = "USER_POOL_CLIENT_ID";
    pub const STATE_MACHINE_ARN: &str = "STATE_MACHINE_ARN";
    /// The browser origin the API's responses allow (CORS), for the HTTP functions.
    pub const ALLOWED_ORIGIN: &str = "ALLOWED_ORIGIN";
}

/// DynamoDB Products table: partition key `id` (S); GSI [`products::CATEGORY_INDEX`]
/// with partition key `category` (S) and sort key `id` (S).
pub mod products {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const DESCRIPTION: &str = "description";
    pub const CATEGORY: &str = "category";
    pub const PRICE_CENTS: &str = "priceCents";
    pub const CURRENCY: &str = "currency";
    pub const IMAGE_KEY: &str = "imageKey";
    /// Units in stock (N); reserved atomically by the persist step, adjusted atomically by staff.
    pub const STOCK: &str = "stock";
    /// Edit counter (N) for optimistic concurrency; stock changes leave it alone.
    pub const VERSION: &str = "version";
    /// True (BOOL) once staff archived the product.
    pub const ARCHIVED: &str = "archived";
    pub const CATEGORY_INDEX: &str = "category-index";
}

/// DynamoDB Orders table: partition key `orderId` (S); GSI [`orders::USER_INDEX`] with
/// partition key `userSub` (S) and sort key `createdAt` (S).
pub mod orders {
    pub const ORDER_ID: &str = "orderId";
    pub const USER_SUB: &str = "userSub";
    pub const STATUS: &str = "status";
    pub const ITEMS: &str = "items";
    pub const TOTAL_CENTS: &str = "totalCents";
    pub const CURRENCY: &str = "currency";
    pub const PAYMENT_TOKEN: &str = "paymentToken";
    pub const PAYMENT_ID: &str = "paymentId";
    pub const CREATED_AT: &str = "createdAt";
    pub const UPDATED_AT: &str = "updatedAt";
    /// Set once the order message is on the queue (an order without it is re-queued on retry).
    pub const QUEUED_AT: &str = "queuedAt";
    pub const IDEMPOTENCY_KEY: &str = "idempotencyKey";
    /// ASL error name of a FAILED order (`PaymentDeclined`, `OutOfStock`, `InvalidOrder`, ...).
    pub const FAILURE_ERROR: &str = "failureError";
    /// Human-readable reason of a FAILED order.
    pub const FAILURE_REASON: &str = "failureReason";
    pub const USER_INDEX: &str = "user-index";
    /// The non-key attributes [`USER_INDEX`] projects: what `GET /orders` shows of an order
    /// (not the payment id, which `GET /orders/{orderId}` answers; never the payment token).
    /// template.yaml lists the same; a test holds them equal.
    pub const USER_INDEX_PROJECTION: [&str; 7] = [
        STATUS,
        ITEMS,
        TOTAL_CENTS,
        CURRENCY,
        UPDATED_AT,
        FAILURE_ERROR,
        FAILURE_REASON,
    ];
}

/// Status of an order. `Completed` and `Failed` are final: a status never moves back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Completed,
    Failed,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(Self::Pending),
            "COMPLETED" => Some(Self::Completed),
            "FAILED" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Pending)
    }
}

/// One line of an order as the client asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: String,
    pub quantity: u32,
}

/// One order line priced from the Products table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricedLine {
    pub product_id: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub line_total_cents: i64,
}

/// The order message the API queues on SQS; also the input of the `order-processing`
/// workflow (the starter passes it through unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderMessage {
    pub order_id: String,
    pub user_sub: String,
    pub items: Vec<OrderLine>,
    /// Payment token from the client, if any. Never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<String>,
    /// Total the API computed. The validate step recomputes it and never trusts it.
    pub total_cents: i64,
    pub currency: String,
    /// RFC 3339 time the order was accepted.
    pub created_at: String,
}

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub currency: String,
    #[serde(default)]
    pub image_key: Option<String>,
    #[serde(default)]
    pub stock: i64,
    /// Bumped by every catalog edit (not by stock changes); an edit must name the version it
    /// read, so two staff members cannot silently overwrite each other. Absent reads as 0.
    #[serde(default)]
    pub version: i64,
    /// Archived products are hidden from the catalog and cannot be ordered; orders placed
    /// before keep their lines. Absent reads as false.
    #[serde(default)]
    pub archived: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_message_uses_camel_case_and_omits_missing_token() {
        let message = OrderMessage {
            order_id: "o-1".into(),
            user_sub: "u-1".into(),
            items: vec![OrderLine {
                product_id: "p-1".into(),
                quantity: 2,
            }],
            payment_token: None,
            total_cents: 1998,
            currency: CURRENCY.into(),
            created_at: "2026-11-25T00:00:00Z".into(),
        };
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["orderId"], "o-1");
        assert_eq!(json["items"][0]["productId"], "p-1");
        assert!(json.get("paymentToken").is_none());
        let back: OrderMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, message);
    }

    #[test]
    fn only_completed_and_failed_are_final() {
        assert!(!OrderStatus::Pending.is_final());
        assert!(OrderStatus::Completed.is_final());
        assert!(OrderStatus::Failed.is_final());
        for s in [
            OrderStatus::Pending,
            OrderStatus::Completed,
            OrderStatus::Failed,
        ] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("pending"), None);
    }
}

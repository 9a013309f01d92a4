//! Input and output types of the order-processing steps (camelCase JSON, with JSON Schemas).
//!
//! Workflow data flow: `OrderMessage` -> validate -> [`ValidatedOrder`] -> pay -> [`PaidOrder`]
//! -> persist -> [`OrderOutcome`] -> notify -> [`NotifyOutput`]. On the failure path the
//! state is the order message (or any later state, which has its fields) plus the caught error
//! at `$.failure`: [`RecordFailureInput`] -> record-failure -> [`OrderOutcome`] -> notify.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use shop_model::{OrderLine, OrderMessage, OrderStatus, PricedLine};

/// The error object a failed Lambda function returns, which Step Functions puts (as JSON text)
/// in a caught error's `Cause`
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LambdaErrorObject {
    error_message: String,
}

/// A payment token from the client. Its `Debug` never shows the value, so it cannot leak
/// into logs through `{:?}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PaymentToken(String);

impl PaymentToken {
    pub fn new(token: impl Into<String>) -> Self {
        PaymentToken(token.into())
    }

    /// The token itself, for the payment provider only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PaymentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentToken(***)")
    }
}

/// Output of validate: the order re-priced from the Products table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatedOrder {
    pub order_id: String,
    pub user_sub: String,
    pub items: Vec<PricedLine>,
    /// Sum of the line totals, recomputed in integer cents.
    pub total_cents: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<PaymentToken>,
    pub created_at: String,
}

/// Output of pay: the validated order and the provider's payment id (no payment token any more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaidOrder {
    pub order_id: String,
    pub user_sub: String,
    pub items: Vec<PricedLine>,
    pub total_cents: i64,
    pub currency: String,
    pub created_at: String,
    pub payment_id: String,
}

/// One order line of an outcome. Priced fields are absent when the order failed before it
/// was priced (e.g. an unknown product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeLine {
    pub product_id: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_total_cents: Option<i64>,
}

impl From<&PricedLine> for OutcomeLine {
    fn from(line: &PricedLine) -> Self {
        OutcomeLine {
            product_id: line.product_id.clone(),
            quantity: line.quantity,
            name: Some(line.name.clone()),
            unit_price_cents: Some(line.unit_price_cents),
            line_total_cents: Some(line.line_total_cents),
        }
    }
}

impl From<&OrderLine> for OutcomeLine {
    fn from(line: &OrderLine) -> Self {
        OutcomeLine {
            product_id: line.product_id.clone(),
            quantity: line.quantity,
            name: None,
            unit_price_cents: None,
            line_total_cents: None,
        }
    }
}

/// Final state of an order as stored in the Orders table: output of persist (COMPLETED) and of
/// record-failure (FAILED), input of notify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderOutcome {
    pub order_id: String,
    pub user_sub: String,
    pub status: OrderStatus,
    pub items: Vec<OutcomeLine>,
    pub total_cents: i64,
    pub currency: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// Name of the state field where the workflow's `Catch` puts the error (`ResultPath: "$.failure"`).
pub const FAILURE_FIELD: &str = "failure";

/// The error object a Step Functions `Catch` writes at its `ResultPath`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// Longest failure reason stored or published.
pub const MAX_REASON_CHARS: usize = 1000;

impl CaughtError {
    /// The human-readable reason: the `errorMessage` when `Cause` is a Lambda error object
    /// (as for a failed Lambda Task), else `Cause` itself; the error name if both are empty.
    pub fn reason(&self) -> String {
        let reason = match serde_json::from_str::<LambdaErrorObject>(&self.cause) {
            Ok(obj) => obj.error_message,
            Err(_) => self.cause.clone(),
        };
        let reason = if reason.trim().is_empty() {
            self.error.clone()
        } else {
            reason
        };
        reason.chars().take(MAX_REASON_CHARS).collect()
    }
}

/// Input of record-failure: the order message fields (any later workflow state has them too)
/// plus the caught error at [`FAILURE_FIELD`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordFailureInput {
    #[serde(flatten)]
    pub order: OrderMessage,
    pub failure: CaughtError,
}

/// The JSON body published to the SNS order topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderNotification {
    pub order_id: String,
    pub status: OrderStatus,
    pub total_cents: i64,
    pub currency: String,
    pub items: Vec<OutcomeLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

/// Name of the SNS String message attribute carrying the order status, for subscription filters.
pub const STATUS_ATTRIBUTE: &str = "status";

/// Output of notify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    pub order_id: String,
    pub status: OrderStatus,
    pub message_id: String,
}

/// Inputs that belong to one order, so logs can carry its id.
pub trait OrderScoped {
    fn order_id(&self) -> &str;
}

impl OrderScoped for OrderMessage {
    fn order_id(&self) -> &str {
        &self.order_id
    }
}
impl OrderScoped for ValidatedOrder {
    fn order_id(&self) -> &str {
        &self.order_id
    }
}
impl OrderScoped for PaidOrder {
    fn order_id(&self) -> &str {
        &self.order_id
    }
}
impl OrderScoped for OrderOutcome {
    fn order_id(&self) -> &str {
        &self.order_id
    }
}
impl OrderScoped for RecordFailureInput {
    fn order_id(&self) -> &str {
        &self.order.order_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_token_debug_is_redacted() {
        let token = PaymentToken::new("tok_visa_secret");
        assert!(!format!("{token:?}").contains("secret"));
        assert_eq!(serde_json::to_value(&token).unwrap(), "tok_visa_secret");
    }

    #[test]
    fn record_failure_input_reads_the_catch_result() {
        let input: RecordFailureInput = serde_json::from_value(serde_json::json!({
            "orderId": "o-1", "userSub": "u-1", "items": [{"productId": "p-1", "quantity": 2}],
            "totalCents": 100, "currency": "USD", "createdAt": "2026-01-01T00:00:00Z",
            "failure": {"Error": "OutOfStock", "Cause": "{\"errorType\":\"OutOfStock\",\"errorMessage\":\"p-1 sold out\"}"}
        }))
        .unwrap();
        assert_eq!(input.order.order_id, "o-1");
        assert_eq!(input.failure.error, "OutOfStock");
        assert_eq!(input.failure.reason(), "p-1 sold out");
    }

    #[test]
    fn caught_error_reason_falls_back_to_cause_then_name() {
        let plain = CaughtError {
            error: "States.Timeout".into(),
            cause: "took too long".into(),
        };
        assert_eq!(plain.reason(), "took too long");
        let empty = CaughtError {
            error: "States.Timeout".into(),
            cause: String::new(),
        };
        assert_eq!(empty.reason(), "States.Timeout");
        let long = CaughtError {
            error: "X".into(),
            cause: "a".repeat(5000),
        };
        assert_eq!(long.reason().len(), MAX_REASON_CHARS);
    }

    #[test]
    fn later_states_still_parse_as_record_failure_input() {
        // A Catch on the persist step sees the PaidOrder state plus the failure.
        let paid = PaidOrder {
            order_id: "o-2".into(),
            user_sub: "u".into(),
            items: vec![PricedLine {
                product_id: "p".into(),
                name: "P".into(),
                quantity: 1,
                unit_price_cents: 5,
                line_total_cents: 5,
            }],
            total_cents: 5,
            currency: "USD".into(),
            created_at: "t".into(),
            payment_id: "pay".into(),
        };
        let mut value = serde_json::to_value(&paid).unwrap();
        value[FAILURE_FIELD] = serde_json::json!({"Error": "OutOfStock", "Cause": "gone"});
        let input: RecordFailureInput = serde_json::from_value(value).unwrap();
        assert_eq!(input.order.items[0].product_id, "p");
    }
}

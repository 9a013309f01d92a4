//! A refund workflow in JSONata with typed steps and typed variables: it remembers the request,
//! looks the order up, refunds at most what is left of it and tells the customer. Every state
//! is written by the builder (no `raw`, no `assume`, no edits to the built document); the
//! variables' reads and the steps' arguments are checked against the Rust types at emit.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_dsl::builder::{task, workflow, Cond, Ended, Fail, Pass};
use workflow_dsl::step_errors;
use workflow_dsl::typed::{NoErrors, Retry, TaskStep};
use workflow_dsl::vars::Var;

/// The workflow's name under `generated/examples/`.
pub const NAME: &str = "refund-jsonata";

/// What starts a refund.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    pub order_id: String,
    pub amount_cents: i64,
    pub reason: String,
}

/// Which order to read.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderKey {
    pub order_id: String,
}

/// An order as the refund needs it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub user_sub: String,
    pub total_cents: i64,
    pub refunded_cents: i64,
}

/// The refund to make.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundOrder {
    pub order_id: String,
    pub amount_cents: i64,
    pub reason: String,
}

/// A refund made.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub refund_id: String,
    pub amount_cents: i64,
}

/// What the customer is told.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundNotice {
    pub user_sub: String,
    pub refund_id: String,
    pub amount_cents: i64,
}

/// The workflow's output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundSummary {
    pub order_id: String,
    pub refund_id: String,
    pub amount_cents: i64,
}

step_errors! {
    /// Why a refund is refused.
    pub enum RefundError {
        /// More than what is left of the order.
        ExceedsOrder = "RefundExceedsOrder",
    }
}

step_errors! {
    /// Why reading an order fails.
    pub enum LookUpError {
        /// No such order.
        OrderNotFound,
    }
}

/// Reads an order.
pub struct LookUpOrder;
impl TaskStep for LookUpOrder {
    const NAME: &'static str = "look-up-order";
    type Input = OrderKey;
    type Output = Order;
    type Error = LookUpError;
}

/// Pays money back.
pub struct IssueRefund;
impl TaskStep for IssueRefund {
    const NAME: &'static str = "issue-refund";
    type Input = RefundOrder;
    type Output = Refund;
    type Error = NoErrors;
}

/// Tells the customer.
pub struct NotifyCustomer;
impl TaskStep for NotifyCustomer {
    const NAME: &'static str = "notify-customer";
    type Input = RefundNotice;
    type Output = RefundNotice;
    type Error = NoErrors;
}

/// The refund workflow.
pub fn refund_workflow() -> Ended {
    let request: Var<RefundRequest> = Var::new("request");
    let order: Var<Order> = Var::new("order");
    let refund: Var<Refund> = Var::new("refund");
    workflow::<RefundRequest>("Refunds part of an order, at most what is left of it")
        .jsonata()
        .pass(Pass::new("Remember request").assign(&request, "{% $states.input %}"))
        .then(
            task::<LookUpOrder>("Look up order")
                .arguments(json!({ "orderId": "{% $states.input.orderId %}" }))
                .retry(Retry::lambda_service_errors())
                .assign_result(&order),
        )
        .choice_ended("Refundable?", |c| {
            c.when(
                Cond::jsonata(&format!(
                    "{{% {request}.amountCents <= {order}.totalCents - {order}.refundedCents %}}"
                )),
                |f| {
                    f.then(
                        task::<IssueRefund>("Issue refund")
                            .arguments(json!({
                                "orderId": order.at("orderId"),
                                "amountCents": request.at("amountCents"),
                                "reason": request.at("reason"),
                            }))
                            .retry(Retry::lambda_service_errors())
                            .assign_result(&refund),
                    )
                    .then_for_effect(task::<NotifyCustomer>("Notify customer").arguments(json!({
                        "userSub": order.at("userSub"),
                        "refundId": refund.at("refundId"),
                        "amountCents": refund.at("amountCents"),
                    })))
                    .pass_as::<RefundSummary>(Pass::new("Summary").output(json!({
                        "orderId": order.at("orderId"),
                        "refundId": refund.at("refundId"),
                        "amountCents": refund.at("amountCents"),
                    })))
                    .succeed("Refunded")
                },
            )
            .otherwise(|f| {
                f.fail(
                    Fail::new("Refund refused")
                        .error(RefundError::ExceedsOrder)
                        .cause(format!(
                            "{{% 'asked ' & {request}.amountCents & ' of ' & ({order}.totalCents - {order}.refundedCents) & ' left' %}}"
                        )),
                )
            })
        })
}

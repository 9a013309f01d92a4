//! A purchase approval with a human in the loop (JSONata, typed): a purchase within budget is
//! placed at once; anything else waits for an approver, who answers through the task token
//! sent on a queue (`SendTaskSuccess` with a [`Decision`]). Every state is written by the
//! builder; the callback's output is typed as the decision, not as SQS's response.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_dsl::builder::{task, workflow, Cond, Ended, Fail, Task};
use workflow_dsl::integrations::sqs;
use workflow_dsl::step_errors;
use workflow_dsl::typed::{AslError, Catch, NoErrors, Retry, TaskStep};
use workflow_dsl::vars::Var;

/// The workflow's name under `generated/examples/`.
pub const NAME: &str = "purchase-approval";

/// A purchase to approve.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseRequest {
    pub request_id: String,
    pub requester: String,
    pub item: String,
    pub amount_cents: i64,
}

/// What the budget allows.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetCheck {
    pub within_budget: bool,
    pub remaining_cents: i64,
}

/// The approver's answer, sent with `SendTaskSuccess`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub approved: bool,
    pub approver: String,
    pub comment: String,
}

/// A purchase order placed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseOrder {
    pub order_id: String,
    pub request_id: String,
}

step_errors! {
    /// Why a purchase is not made.
    pub enum ApprovalError {
        /// The approver said no.
        Rejected = "PurchaseRejected",
        /// Nobody answered in time.
        NoAnswer = "ApprovalTimedOut",
    }
}

/// Checks the requester's budget.
pub struct CheckBudget;
impl TaskStep for CheckBudget {
    const NAME: &'static str = "check-budget";
    type Input = PurchaseRequest;
    type Output = BudgetCheck;
    type Error = NoErrors;
}

/// Places the purchase order.
pub struct PlaceOrder;
impl TaskStep for PlaceOrder {
    const NAME: &'static str = "place-order";
    type Input = PurchaseRequest;
    type Output = PurchaseOrder;
    type Error = NoErrors;
}

/// How long an approver has (seven days), and how often the approval tool must say it is
/// still working on it (a day).
const APPROVAL_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;
const APPROVAL_HEARTBEAT_SECONDS: u64 = 24 * 3600;

/// The approval workflow.
pub fn approval_workflow() -> Ended {
    let request: Var<PurchaseRequest> = Var::new("request");
    let decision: Var<Decision> = Var::new("decision");
    workflow::<PurchaseRequest>("Places a purchase within budget, or after an approver says yes")
        .jsonata()
        .then(
            task::<CheckBudget>("Check budget")
                .retry(Retry::lambda_service_errors())
                .assign(&request, "{% $states.input %}"),
        )
        .choice_ended("Within budget?", |c| {
            c.when(Cond::jsonata("{% $states.input.withinBudget %}"), |f| {
                f.then(
                    task::<PlaceOrder>("Place order")
                        .arguments(json!(request.expr()))
                        .retry(Retry::lambda_service_errors()),
                )
                .succeed("Ordered")
            })
            .otherwise(|f| {
                f.then_callback::<Decision>(
                    Task::call("Ask approver", sqs::send_message("${ApprovalQueueUrl}"))
                        .arguments(json!({
                            "QueueUrl": "${ApprovalQueueUrl}",
                            "MessageBody": {
                                "request": request.expr(),
                                "remainingCents": "{% $states.input.remainingCents %}",
                                "taskToken": "{% $states.context.Task.Token %}",
                            },
                        }))
                        .timeout_seconds(APPROVAL_TIMEOUT_SECONDS)
                        .heartbeat_seconds(APPROVAL_HEARTBEAT_SECONDS)
                        .assign(&decision, "{% $states.result %}")
                        .catch(
                            Catch::on(AslError::Timeout).or(AslError::HeartbeatTimeout),
                            "No answer",
                        ),
                )
                .choice_ended("Approved?", |c| {
                    c.when(Cond::jsonata("{% $states.input.approved %}"), |f| {
                        f.then(
                            task::<PlaceOrder>("Place approved order")
                                .arguments(json!(request.expr()))
                                .retry(Retry::lambda_service_errors()),
                        )
                        .succeed("Ordered after approval")
                    })
                    .otherwise(|f| {
                        f.fail(
                            Fail::new("Rejected")
                                .error(ApprovalError::Rejected)
                                .cause(format!(
                                    "{{% {decision}.approver & ': ' & {decision}.comment %}}"
                                )),
                        )
                    })
                })
            })
        })
        .detached_ended(
            |timed_out: workflow_dsl::builder::Flow<serde_json::Value>| {
                timed_out.fail(
                    Fail::new("No answer")
                        .error(ApprovalError::NoAnswer)
                        .cause("nobody answered the approval request in time"),
                )
            },
        )
}

//! Representative workflows built with the typed builder: emitted JSON and Mermaid are
//! snapshot-tested, and the emitted ASL is checked for the properties the builder promises.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_dsl::builder::{task, workflow, Cond, Fail, Map, Parallel, Pass, Task, Wait};
use workflow_dsl::emit::emit;
use workflow_dsl::integrations::{dynamodb, placeholder, sns, states, IntegrationPattern};
use workflow_dsl::intrinsics::{self, path};
use workflow_dsl::model::State;
use workflow_dsl::step_errors;
use workflow_dsl::typed::{AslError, Catch, NoErrors, Retry, TaskStep};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub product_id: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderMessage {
    pub order_id: String,
    pub user_sub: String,
    pub items: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_token: Option<String>,
    pub total_cents: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidatedOrder {
    pub order_id: String,
    pub user_sub: String,
    pub total_cents: i64,
    #[serde(default)]
    pub payment_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaidOrder {
    pub order_id: String,
    pub user_sub: String,
    pub total_cents: i64,
    pub payment_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepFailure {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedOrder {
    pub order_id: String,
    pub error: StepFailure,
}

step_errors! {
    /// Why validation fails.
    pub enum ValidateError {
        InvalidOrder,
        OutOfStock,
    }
}

step_errors! {
    pub enum PaymentError {
        Declined = "PaymentDeclined",
        GatewayUnavailable = "PaymentGatewayUnavailable",
    }
}

pub struct ValidateOrder;
impl TaskStep for ValidateOrder {
    const NAME: &'static str = "validate-order";
    type Input = OrderMessage;
    type Output = ValidatedOrder;
    type Error = ValidateError;
}

pub struct ProcessPayment;
impl TaskStep for ProcessPayment {
    const NAME: &'static str = "process-payment";
    type Input = ValidatedOrder;
    type Output = PaidOrder;
    type Error = PaymentError;
}

pub struct RecordFailure;
impl TaskStep for RecordFailure {
    const NAME: &'static str = "record-failure";
    type Input = FailedOrder;
    type Output = FailedOrder;
    type Error = NoErrors;
}

fn order_workflow() -> workflow_dsl::builder::Ended {
    workflow::<OrderMessage>("Order processing: validate, pay, persist, notify")
        .execution_timeout_seconds(300)
        .then(
            task::<ValidateOrder>("Validate order")
                .retry_lambda_service_errors()
                .catch(
                    Catch::on(ValidateError::InvalidOrder)
                        .or(ValidateError::OutOfStock)
                        .result_path("$.error"),
                    "Record failure",
                )
                .catch(Catch::all().result_path("$.error"), "Record failure"),
        )
        .choice("Has payment token?", |c| {
            c.when(Cond::is_present("$.paymentToken").and(!Cond::is_null("$.paymentToken")), |f| f)
                .otherwise(|f| {
                    f.fail(
                        Fail::new("Missing payment token")
                            .error(ValidateError::InvalidOrder)
                            .cause("the order has no payment token"),
                    )
                })
        })
        .then(
            task::<ProcessPayment>("Process payment")
                .retry(
                    Retry::on(PaymentError::GatewayUnavailable)
                        .or(AslError::Timeout)
                        .interval_seconds(2)
                        .max_attempts(3)
                        .backoff_rate(2.0)
                        .full_jitter(),
                )
                .catch(Catch::on(PaymentError::Declined).result_path("$.error"), "Record failure")
                .timeout_seconds(30),
        )
        .then_keep(Task::call(
            "Mark order completed",
            dynamodb::update_item(
                &placeholder("OrdersTableName"),
                json!({ "orderId": dynamodb::s_path("$.orderId") }),
                "SET #status = :completed, paymentId = :paymentId",
            )
            .parameter("ExpressionAttributeNames", json!({ "#status": "status" }))
            .parameter(
                "ExpressionAttributeValues",
                json!({ ":completed": dynamodb::s("COMPLETED"), ":paymentId": dynamodb::s_path("$.paymentId") }),
            ),
        ))
        .then_keep(
            Task::call(
                "Notify customer",
                sns::publish(&placeholder("OrderTopicArn"))
                    .parameter(
                        "Subject.$",
                        intrinsics::format("Order {} completed", [path("$.orderId")]).to_string(),
                    )
                    .parameter("Message.$", intrinsics::json_to_string(path("$")).to_string()),
            )
            .retry(Retry::all().max_attempts(2)),
        )
        .succeed("Order completed")
        .detached_ended(|f: workflow_dsl::builder::Flow<FailedOrder>| {
            f.then(task::<RecordFailure>("Record failure"))
                .fail(Fail::new("Order failed").error_path("$.error.Error").cause_path("$.error.Cause"))
        })
}

#[test]
fn order_workflow_emits_and_matches_snapshots() {
    let emitted = emit(order_workflow()).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!("order_workflow_json", emitted.json);
    insta::assert_snapshot!("order_workflow_mermaid", emitted.mermaid);
    assert_eq!(
        emitted.substitutions,
        [
            "OrderTopicArn",
            "OrdersTableName",
            "ProcessPaymentFunctionArn",
            "RecordFailureFunctionArn",
            "ValidateOrderFunctionArn"
        ]
    );
    // Catch-all last, typed error names, Lambda optimized integration.
    let State::Task(validate) = &emitted.asl.states["Validate order"] else {
        panic!("Validate order is a Task")
    };
    assert_eq!(validate.resource, "arn:aws:states:::lambda:invoke");
    assert_eq!(
        validate.parameters,
        Some(json!({ "FunctionName": "${ValidateOrderFunctionArn}", "Payload.$": "$" }))
    );
    assert_eq!(validate.output_path, Some(Some("$.Payload".to_owned())));
    assert_eq!(
        validate.catch[0].error_equals,
        ["InvalidOrder", "OutOfStock"]
    );
    assert_eq!(validate.catch.last().unwrap().error_equals, ["States.ALL"]);
    // Emission is deterministic.
    assert_eq!(emit(order_workflow()).unwrap(), emitted);
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineCheck {
    pub product_id: String,
    pub order_id: String,
    pub index: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineResult {
    pub product_id: String,
    pub available: bool,
}

pub struct CheckStock;
impl TaskStep for CheckStock {
    const NAME: &'static str = "check-stock";
    type Input = LineCheck;
    type Output = LineResult;
    type Error = NoErrors;
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub audited: bool,
}

fn fan_out_workflow() -> workflow_dsl::builder::Ended {
    workflow::<OrderMessage>("Checks every line, then audits and archives in parallel")
        .map(
            Map::new("Check lines")
                .items_path("$.items")
                .item_selector(json!({
                    "productId.$": "$$.Map.Item.Value.productId",
                    "orderId.$": "$.orderId",
                    "index.$": "$$.Map.Item.Index",
                }))
                .max_concurrency(5),
            |item| item.then(task::<CheckStock>("Check stock").retry_lambda_service_errors()),
        )
        .choice("All available?", |c| {
            c.when(
                Cond::or([
                    Cond::boolean_equals("$[0].available", false),
                    Cond::string_matches("$[0].productId", "discontinued-*"),
                ]),
                |f| f.fail(Fail::new("Unavailable").error(AslError::TaskFailed)),
            )
            .otherwise(|f| f.wait(Wait::seconds("Cool down", 5)))
        })
        .parallel2(
            Parallel::new("Audit and archive").retry(Retry::on(AslError::BranchFailed).max_attempts(1)),
            |audit| {
                audit.pass_as::<Audit>(Pass::new("Audit").result(json!({ "audited": true })))
            },
            |archive| {
                archive.then_as::<serde_json::Value>(
                    Task::call(
                        "Archive",
                        states::start_execution(&placeholder("ArchiveStateMachineArn"))
                            .pattern(IntegrationPattern::Sync2)
                            .parameter("Input", json!({ "lines.$": "$", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id" })),
                    )
                    .output_path("$.Output"),
                )
            },
        )
        .pass(Pass::new("Done").comment("the tuple passes through"))
        .succeed("Finished")
}

#[test]
fn fan_out_workflow_emits_and_matches_snapshots() {
    let emitted = emit(fan_out_workflow()).unwrap_or_else(|e| panic!("{e}"));
    insta::assert_snapshot!("fan_out_workflow_json", emitted.json);
    insta::assert_snapshot!("fan_out_workflow_mermaid", emitted.mermaid);
    let State::Map(map) = &emitted.asl.states["Check lines"] else {
        panic!("Check lines is a Map")
    };
    let processor = map.item_processor.as_ref().unwrap();
    assert_eq!(processor.start_at, "Check stock");
    assert_eq!(
        processor.states["Check stock"].transition(),
        workflow_dsl::model::Transition::End
    );
}

#[test]
fn mermaid_works_on_parsed_documents() {
    let emitted = emit(order_workflow()).unwrap();
    let reparsed = workflow_dsl::StateMachine::from_json(&emitted.json).unwrap();
    assert_eq!(workflow_dsl::mermaid::mermaid(&reparsed), emitted.mermaid);
}

//! Dispatch of the Task steps by name with JSON in and out, for the local engine and the Lambdas.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{StepError, StepFailure};
use crate::ports::{
    InMemoryShop, OrderNotifier, OrderStore, PaymentGateway, ProductCatalog, RecordingNotifier,
    SimulatedGateway,
};
use crate::{notify, pay, persist, record_failure, validate};

/// The Task steps of the order workflow. [`StepName::as_str`] is also the binary (and Lambda
/// function) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepName {
    ValidateOrder,
    ProcessPayment,
    PersistOrder,
    RecordFailure,
    NotifyOrder,
}

impl StepName {
    pub const ALL: [StepName; 5] = [
        StepName::ValidateOrder,
        StepName::ProcessPayment,
        StepName::PersistOrder,
        StepName::RecordFailure,
        StepName::NotifyOrder,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            StepName::ValidateOrder => "validate-order",
            StepName::ProcessPayment => "process-payment",
            StepName::PersistOrder => "persist-order",
            StepName::RecordFailure => "record-failure",
            StepName::NotifyOrder => "notify-order",
        }
    }

    /// PascalCase name, e.g. `ValidateOrder` (the SAM template's `${ValidateOrderFunctionArn}`).
    pub const fn pascal(self) -> &'static str {
        match self {
            StepName::ValidateOrder => "ValidateOrder",
            StepName::ProcessPayment => "ProcessPayment",
            StepName::PersistOrder => "PersistOrder",
            StepName::RecordFailure => "RecordFailure",
            StepName::NotifyOrder => "NotifyOrder",
        }
    }

    /// The step a Task's function reference names: the step name itself, the SAM placeholder
    /// `${ValidateOrderFunctionArn}`, or a function name/ARN ending in the step name
    /// (`arn:aws:lambda:us-east-1:123456789012:function:shop-dev-validate-order[:alias]`).
    pub fn from_function_ref(reference: &str) -> Option<Self> {
        let r = reference.trim();
        StepName::ALL.into_iter().find(|step| {
            let placeholder = format!("${{{}FunctionArn}}", step.pascal());
            r == step.as_str()
                || r == placeholder
                || r.split(':').any(|part| {
                    part == step.as_str() || part.ends_with(&format!("-{}", step.as_str()))
                })
        })
    }

    /// The ASL error names the step can report itself (besides `States.*` and `Lambda.*`).
    /// Retry [`names::RETRYABLE`](crate::error::names::RETRYABLE); catch the rest.
    pub fn error_names(self) -> &'static [&'static str] {
        use crate::error::names::*;
        match self {
            StepName::ValidateOrder => &[
                INVALID_ORDER,
                OUT_OF_STOCK,
                THROTTLED,
                SERVICE_UNAVAILABLE,
                INTERNAL,
            ],
            StepName::ProcessPayment => &[
                PAYMENT_DECLINED,
                INVALID_INPUT,
                THROTTLED,
                SERVICE_UNAVAILABLE,
                INTERNAL,
            ],
            StepName::PersistOrder => &[
                OUT_OF_STOCK,
                ORDER_ALREADY_FAILED,
                INVALID_INPUT,
                THROTTLED,
                SERVICE_UNAVAILABLE,
                INTERNAL,
            ],
            StepName::RecordFailure | StepName::NotifyOrder => {
                &[INVALID_INPUT, THROTTLED, SERVICE_UNAVAILABLE, INTERNAL]
            }
        }
    }

    /// The error an undecodable input gives: for validate the message itself is the customer's
    /// order (`InvalidOrder`); for the later steps it is a workflow wiring bug (`InvalidInput`).
    fn decode_error(self, reason: String) -> StepError {
        match self {
            StepName::ValidateOrder => {
                StepError::InvalidOrder(format!("malformed order message: {reason}"))
            }
            _ => StepError::InvalidInput(format!("malformed {} input: {reason}", self.as_str())),
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing an unknown step name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown step {0:?}")]
pub struct UnknownStep(pub String);

impl FromStr for StepName {
    type Err = UnknownStep;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StepName::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| UnknownStep(s.to_owned()))
    }
}

/// The ports every step may use.
#[derive(Clone)]
pub struct StepPorts {
    pub catalog: Arc<dyn ProductCatalog>,
    pub payments: Arc<dyn PaymentGateway>,
    pub orders: Arc<dyn OrderStore>,
    pub notifier: Arc<dyn OrderNotifier>,
}

impl StepPorts {
    /// In-memory ports around one shop (catalog + orders), the simulated payment provider and a
    /// recording notifier.
    pub fn in_memory(shop: Arc<InMemoryShop>, notifier: Arc<RecordingNotifier>) -> Self {
        StepPorts {
            catalog: shop.clone(),
            payments: Arc::new(SimulatedGateway),
            orders: shop,
            notifier,
        }
    }
}

/// Runs `step` on a JSON input and returns its JSON output, or the failure as Step Functions
/// reports a failed Lambda Task (`Error` = ASL error name, `Cause` = Lambda error object JSON).
pub async fn invoke(step: StepName, input: Value, ports: &StepPorts) -> Result<Value, StepFailure> {
    invoke_typed(step, input, ports)
        .await
        .map_err(StepFailure::from)
}

async fn invoke_typed(step: StepName, input: Value, ports: &StepPorts) -> Result<Value, StepError> {
    match step {
        StepName::ValidateOrder => {
            encode(validate::validate(decode(step, input)?, &*ports.catalog).await?)
        }
        StepName::ProcessPayment => encode(pay::pay(decode(step, input)?, &*ports.payments).await?),
        StepName::PersistOrder => {
            encode(persist::persist(decode(step, input)?, &*ports.orders).await?)
        }
        StepName::RecordFailure => {
            encode(record_failure::record_failure(decode(step, input)?, &*ports.orders).await?)
        }
        StepName::NotifyOrder => {
            encode(notify::notify(decode(step, input)?, &*ports.notifier).await?)
        }
    }
}

/// Decodes a step input, with the step's error for a malformed one.
pub fn decode<I: DeserializeOwned>(step: StepName, input: Value) -> Result<I, StepError> {
    serde_json::from_value(input).map_err(|e| step.decode_error(describe_json_error(&e)))
}

fn encode<O: Serialize>(output: O) -> Result<Value, StepError> {
    serde_json::to_value(output).map_err(|e| StepError::Internal(format!("step output: {e}")))
}

/// A serde error message that cannot echo input values (which may hold a payment token):
/// missing/unknown/duplicate field messages are kept, value errors are summarized.
pub fn describe_json_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let keep = [
        "missing field",
        "unknown field",
        "duplicate field",
        "EOF while parsing",
        "expected value",
    ];
    if keep.iter().any(|k| text.starts_with(k)) {
        text
    } else if err.is_syntax() || err.is_eof() {
        format!(
            "not valid JSON (line {}, column {})",
            err.line(),
            err.column()
        )
    } else {
        "a field has an invalid type or value".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::LambdaErrorObject;
    use crate::fixtures::{line, message, shop};

    fn ports() -> (StepPorts, Arc<InMemoryShop>, Arc<RecordingNotifier>) {
        let shop = Arc::new(shop());
        let notifier = Arc::new(RecordingNotifier::default());
        (
            StepPorts::in_memory(shop.clone(), notifier.clone()),
            shop,
            notifier,
        )
    }

    #[test]
    fn step_names_round_trip() {
        for step in StepName::ALL {
            assert_eq!(step.as_str().parse::<StepName>().unwrap(), step);
        }
        assert!("validate".parse::<StepName>().is_err());
    }

    #[test]
    fn steps_are_found_from_function_references() {
        for step in StepName::ALL {
            let placeholder = format!("${{{}FunctionArn}}", step.pascal());
            let arn = format!(
                "arn:aws:lambda:us-east-1:123456789012:function:shop-dev-{}",
                step.as_str()
            );
            for r in [
                step.as_str().to_owned(),
                placeholder,
                arn.clone(),
                format!("{arn}:live"),
            ] {
                assert_eq!(StepName::from_function_ref(&r), Some(step), "{r}");
            }
        }
        assert_eq!(
            StepName::from_function_ref("arn:aws:lambda:us-east-1:1:function:other"),
            None
        );
    }

    #[test]
    fn step_io_types_have_json_schemas() {
        use crate::model::*;
        let schemas = [
            schemars::schema_for!(shop_model::OrderMessage),
            schemars::schema_for!(ValidatedOrder),
            schemars::schema_for!(PaidOrder),
            schemars::schema_for!(OrderOutcome),
            schemars::schema_for!(RecordFailureInput),
            schemars::schema_for!(NotifyOutput),
        ];
        for schema in schemas {
            let json = serde_json::to_value(&schema).unwrap();
            assert_eq!(json["type"], "object", "{json}");
        }
        let outcome = serde_json::to_value(schemars::schema_for!(OrderOutcome)).unwrap();
        assert!(outcome["properties"].get("orderId").is_some());
        let failure = serde_json::to_value(schemars::schema_for!(RecordFailureInput)).unwrap();
        assert!(
            failure["properties"].get("failure").is_some()
                && failure["properties"].get("orderId").is_some()
        );
    }

    #[tokio::test]
    async fn runs_the_happy_path_by_name() {
        let (ports, shop, notifier) = ports();
        let mut state = serde_json::to_value(message("r-1", vec![line("mug", 3)])).unwrap();
        for step in [
            StepName::ValidateOrder,
            StepName::ProcessPayment,
            StepName::PersistOrder,
            StepName::NotifyOrder,
        ] {
            state = invoke(step, state, &ports).await.unwrap();
        }
        assert_eq!(state["status"], "COMPLETED");
        assert_eq!(state["orderId"], "r-1");
        assert_eq!(shop.product("mug").unwrap().stock, 7);
        assert_eq!(notifier.published().len(), 1);
    }

    #[tokio::test]
    async fn failures_look_like_failed_lambda_tasks() {
        let (ports, _, _) = ports();
        let mut msg = message("r-2", vec![line("mug", 1)]);
        msg.payment_token = Some(crate::ports::DECLINED_TOKEN.into());
        let validated = invoke(
            StepName::ValidateOrder,
            serde_json::to_value(&msg).unwrap(),
            &ports,
        )
        .await
        .unwrap();
        let failure = invoke(StepName::ProcessPayment, validated, &ports)
            .await
            .unwrap_err();
        assert_eq!(failure.error, "PaymentDeclined");
        let cause: LambdaErrorObject = serde_json::from_str(&failure.cause).unwrap();
        assert_eq!(cause.error_type, "PaymentDeclined");

        // The Catch path: original input + the error at $.failure.
        let mut state = serde_json::to_value(&msg).unwrap();
        state["failure"] = json!({"Error": failure.error, "Cause": failure.cause});
        let outcome = invoke(StepName::RecordFailure, state, &ports)
            .await
            .unwrap();
        assert_eq!(outcome["status"], "FAILED");
        assert_eq!(outcome["failureError"], "PaymentDeclined");
        assert_eq!(
            outcome["failureReason"],
            "payment declined: the card was declined"
        );
    }

    #[tokio::test]
    async fn malformed_inputs_get_the_step_error_without_echoing_values() {
        let (ports, _, _) = ports();
        let bad = json!({"orderId": "r-3", "userSub": "u", "items": [], "paymentToken": 12345678,
                         "totalCents": 0, "currency": "USD", "createdAt": "t"});
        let failure = invoke(StepName::ValidateOrder, bad.clone(), &ports)
            .await
            .unwrap_err();
        assert_eq!(failure.error, "InvalidOrder");
        assert!(!failure.cause.contains("12345678"), "{}", failure.cause);
        let failure = invoke(StepName::PersistOrder, json!({"orderId": "r-3"}), &ports)
            .await
            .unwrap_err();
        assert_eq!(failure.error, "InvalidInput");
        assert!(failure.cause.contains("missing field"));
    }
}

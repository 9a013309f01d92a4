//! The order-processing steps (validate, pay, persist, record-failure, notify) and the SQS starter.
//!
//! Each step is one Rust item implementing [`workflow_dsl::step::Step`]: its name, input, output,
//! its own error enum, the ports it needs and its handler ([`ValidateOrder`], [`ProcessPayment`],
//! [`PersistOrder`], [`RecordFailure`], [`NotifyOrder`]). The workflow chains these types, the
//! Lambda binaries (`src/bin/*`) serve them with `workflow-lambda`, and the local engine runs them
//! in-process. The ports are in [`ports`] (with in-memory implementations), their AWS adapters in
//! [`aws`].

pub mod aws;
pub mod error;
pub mod lambda;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod pay;
pub mod persist;
pub mod ports;
pub mod record_failure;
pub mod starter;
pub mod validate;

#[cfg(test)]
mod fixtures;

pub use error::PortError;
pub use notify::{NotifyError, NotifyOrder};
pub use pay::{PaymentError, ProcessPayment};
pub use persist::{PersistError, PersistOrder};
pub use record_failure::{RecordFailure, RecordFailureError};
pub use validate::{ValidateError, ValidateOrder};

#[cfg(test)]
mod tests {
    use serde_json::json;
    use workflow_dsl::step::run_json;

    use crate::fixtures::{line, message, shop};
    use crate::ports::{RecordingNotifier, SimulatedGateway, DECLINED_TOKEN};
    use crate::*;

    /// The steps on JSON, as their Lambda functions and the local engine run them.
    #[tokio::test]
    async fn the_happy_path_runs_on_json_step_after_step() {
        let shop = shop();
        let notifier = RecordingNotifier::default();
        let state = serde_json::to_value(message("r-1", vec![line("mug", 3)])).unwrap();
        let state = run_json::<ValidateOrder>(state, &shop).await.unwrap();
        let state = run_json::<ProcessPayment>(state, &SimulatedGateway)
            .await
            .unwrap();
        let state = run_json::<PersistOrder>(state, &shop).await.unwrap();
        let state = run_json::<NotifyOrder>(state, &notifier).await.unwrap();
        assert_eq!(state["status"], "COMPLETED");
        assert_eq!(state["orderId"], "r-1");
        assert_eq!(shop.product("mug").unwrap().stock, 7);
        assert_eq!(notifier.published().len(), 1);
    }

    #[tokio::test]
    async fn a_caught_failure_is_recorded_with_its_reason() {
        let shop = shop();
        let mut msg = message("r-2", vec![line("mug", 1)]);
        msg.payment_token = Some(DECLINED_TOKEN.into());
        let validated = run_json::<ValidateOrder>(serde_json::to_value(&msg).unwrap(), &shop)
            .await
            .unwrap();
        let failure = run_json::<ProcessPayment>(validated, &SimulatedGateway)
            .await
            .unwrap_err();
        assert_eq!(failure.error, "PaymentDeclined");
        assert!(!failure.transient);
        // The Catch path: original input + the error at $.failure, with the Lambda error object
        // as the cause (what Step Functions puts there).
        let mut state = serde_json::to_value(&msg).unwrap();
        let cause = json!({"errorType": failure.error, "errorMessage": failure.message});
        state["failure"] = json!({"Error": failure.error, "Cause": cause.to_string()});
        let outcome = run_json::<RecordFailure>(state, &shop).await.unwrap();
        assert_eq!(outcome["status"], "FAILED");
        assert_eq!(outcome["failureError"], "PaymentDeclined");
        assert_eq!(
            outcome["failureReason"],
            "payment declined: the card was declined"
        );
    }

    #[tokio::test]
    async fn malformed_inputs_get_the_step_error_without_echoing_values() {
        let shop = shop();
        let bad = json!({"orderId": "r-3", "userSub": "u", "items": [], "paymentToken": 12345678,
                         "totalCents": 0, "currency": "USD", "createdAt": "t"});
        let failure = run_json::<ValidateOrder>(bad, &shop).await.unwrap_err();
        assert_eq!(failure.error, "InvalidOrder");
        assert!(!failure.message.contains("12345678"), "{}", failure.message);
        let failure = run_json::<PersistOrder>(json!({"orderId": "r-3"}), &shop)
            .await
            .unwrap_err();
        assert_eq!(failure.error, "InvalidInput");
        assert!(failure.message.contains("missing field"));
    }
}

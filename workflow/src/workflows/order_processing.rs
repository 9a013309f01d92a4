//! The `order-processing` workflow: validate -> pay -> persist -> notify, with retries of
//! transient errors, Task timeouts, and a failure path that records the order FAILED, notifies,
//! and fails the execution with the business cause (`PaymentDeclined`, `OutOfStock`, ...).
//!
//! Each Task is a step of the `steps` crate, used as it is defined there ([`steps::ValidateOrder`]
//! and the others implement [`workflow_dsl::step::Step`]): its input and output types, its error
//! enum (which Retry and Catch name, and which says what is transient) and its name (the Lambda
//! function's, and the SAM placeholder `${<Step>FunctionArn}` of `template.yaml`) come from that
//! one definition; nothing about a step is restated here.

use shop_model::OrderMessage;
use steps::model::FAILURE_FIELD;
use steps::{
    NotifyOrder, PaymentError, PersistError, PersistOrder, ProcessPayment, RecordFailure,
    ValidateError, ValidateOrder,
};
use workflow_dsl::builder::{task, workflow, Cond, Ended, Fail};
use workflow_dsl::typed::{AslError, Catch, Retry, StepErrors};

/// The workflow input: the SQS order message, which the starter
/// ([`steps::ports::ExecutionStarter::start`], typed on the same type) passes to StartExecution
/// serialized from the Rust value.
pub type Input = OrderMessage;

/// Name of the workflow (`generated/order-processing.asl.json`).
pub const NAME: &str = "order-processing";

/// Seconds one Task attempt may take. The step Lambdas time out after 10 s (`template.yaml`),
/// so a Task only times out here when the invocation itself hangs.
pub const TASK_TIMEOUT_SECONDS: u64 = 20;

/// Seconds the whole execution may take: room for every step's retries.
pub const EXECUTION_TIMEOUT_SECONDS: u64 = 600;

/// State names, for tests and tools reading the execution history.
pub mod states {
    pub const VALIDATE: &str = "Validate order";
    pub const PAY: &str = "Process payment";
    pub const PERSIST: &str = "Persist order";
    pub const NOTIFY: &str = "Notify order";
    pub const COMPLETED: &str = "Order completed";
    pub const RECORD_FAILURE: &str = "Record failure";
    pub const ALREADY_COMPLETED: &str = "Already completed?";
    pub const NOTIFY_FAILURE: &str = "Notify failure";
    pub const FAILED: &str = "Order failed";
}

/// Retries the errors the step declares transient (a throttled or unavailable dependency):
/// 1 s, 2 s, 4 s, 8 s, 16 s (capped at 30 s), each randomized between 0 and that bound
/// (`JitterStrategy: FULL`) so that many executions hitting the same throttled table do not
/// retry in lockstep
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error>).
pub fn transient_retry<E: StepErrors>() -> Retry<E> {
    Retry::transient()
        .interval_seconds(1)
        .max_attempts(5)
        .backoff_rate(2.0)
        .max_delay_seconds(30)
        .full_jitter()
        .comment("A throttled or unavailable dependency: retry with backoff and full jitter")
}

/// AWS's recommended retrier for the Lambda service's own transient errors
/// (`Lambda.ServiceException`, `Lambda.AWSLambdaException`, `Lambda.SdkClientException`,
/// `Lambda.TooManyRequestsException`), with full jitter
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>).
pub fn lambda_service_retry<E>() -> Retry<E> {
    Retry::lambda_service_errors()
        .full_jitter()
        .comment("Transient Lambda service errors, as AWS recommends")
}

/// Retries an attempt that ran out of `TimeoutSeconds` once. Every step is idempotent (payment
/// by its idempotency key, persist and record-failure by the order status), so a second attempt
/// never charges or reserves twice.
pub fn timeout_retry<E>() -> Retry<E> {
    Retry::on(AslError::Timeout)
        .interval_seconds(2)
        .max_attempts(1)
        .full_jitter()
        .comment("The attempt hung: try once more")
}

/// Where a Catch puts the error: `$.failure`, which [`steps::model::RecordFailureInput`] reads.
fn failure_path() -> String {
    format!("$.{FAILURE_FIELD}")
}

/// The `order-processing` workflow. Its input is the SQS order message.
pub fn order_processing() -> Ended {
    workflow::<Input>(
        "Order processing: validate, pay, persist, notify. A failed order is recorded FAILED with \
         its reason, notified, and the execution fails with the business error.",
    )
    .execution_timeout_seconds(EXECUTION_TIMEOUT_SECONDS)
    .then(
        task::<ValidateOrder>(states::VALIDATE)
            .comment("Re-prices the order from the Products table and checks stock")
            .timeout_seconds(TASK_TIMEOUT_SECONDS)
            .retry(transient_retry())
            .retry(lambda_service_retry())
            .retry(timeout_retry())
            .catch(
                Catch::on(ValidateError::InvalidOrder)
                    .or(ValidateError::OutOfStock)
                    .result_path(failure_path())
                    .comment("The order cannot be fulfilled"),
                states::RECORD_FAILURE,
            )
            .catch(
                Catch::all()
                    .result_path(failure_path())
                    .comment("Retries exhausted or an unexpected error"),
                states::RECORD_FAILURE,
            ),
    )
    .then(
        task::<ProcessPayment>(states::PAY)
            .comment("Charges the payment token; idempotent per order")
            .timeout_seconds(TASK_TIMEOUT_SECONDS)
            .retry(transient_retry())
            .retry(lambda_service_retry())
            .retry(timeout_retry())
            .catch(
                Catch::on(PaymentError::PaymentDeclined)
                    .result_path(failure_path())
                    .comment("The payment was declined"),
                states::RECORD_FAILURE,
            )
            .catch(
                Catch::all()
                    .result_path(failure_path())
                    .comment("Retries exhausted or an unexpected error"),
                states::RECORD_FAILURE,
            ),
    )
    .then(
        task::<PersistOrder>(states::PERSIST)
            .comment("Reserves stock and marks the order COMPLETED in one transaction")
            .timeout_seconds(TASK_TIMEOUT_SECONDS)
            .retry(transient_retry())
            .retry(lambda_service_retry())
            .retry(timeout_retry())
            .catch(
                Catch::on(PersistError::OutOfStock)
                    .or(PersistError::OrderAlreadyFailed)
                    .result_path(failure_path())
                    .comment("Sold out since validation, or the order already failed"),
                states::RECORD_FAILURE,
            )
            .catch(
                Catch::all()
                    .result_path(failure_path())
                    .comment("Retries exhausted or an unexpected error"),
                states::RECORD_FAILURE,
            ),
    )
    .then(
        task::<NotifyOrder>(states::NOTIFY)
            .comment("Publishes the COMPLETED order to the order topic")
            .timeout_seconds(TASK_TIMEOUT_SECONDS)
            .retry(transient_retry())
            .retry(lambda_service_retry())
            .retry(timeout_retry()),
    )
    .succeed(states::COMPLETED)
    .detached_ended(|failed| {
        failed
            .then(
                task::<RecordFailure>(states::RECORD_FAILURE)
                    .comment("Marks the order FAILED with the caught error and its reason")
                    .timeout_seconds(TASK_TIMEOUT_SECONDS)
                    .retry(transient_retry())
                    .retry(lambda_service_retry())
                    .retry(timeout_retry()),
            )
            .choice(states::ALREADY_COMPLETED, |c| {
                // record-failure never moves a COMPLETED order back (a persist attempt that
                // committed but was reported failed): then the order did complete.
                c.comment("record-failure leaves a COMPLETED order as it is")
                    .when_goto(
                        Cond::string_equals(
                            "$.status",
                            shop_model::OrderStatus::Completed.as_str(),
                        ),
                        states::NOTIFY,
                    )
                    .otherwise(|f| f)
            })
            .then_for_effect(
                // Run for its effect: the recorded order stays the state (`ResultPath: null`)
                // for the Fail state's ErrorPath and CausePath.
                task::<NotifyOrder>(states::NOTIFY_FAILURE)
                    .comment(
                        "Publishes the FAILED order to the order topic; keeps the order as the state",
                    )
                    .timeout_seconds(TASK_TIMEOUT_SECONDS)
                    .retry(transient_retry())
                    .retry(lambda_service_retry())
                    .retry(timeout_retry())
                    .catch(
                        Catch::all()
                            .result_path("$.notifyFailure")
                            .comment("The order is recorded FAILED; fail with its cause all the same"),
                        states::FAILED,
                    ),
            )
            .fail(
                Fail::new(states::FAILED)
                    .comment("The execution fails with the recorded error name and reason")
                    .error_path("$.failureError")
                    .cause_path("$.failureReason"),
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only while the starter starts executions with this workflow's input type.
    #[allow(dead_code)]
    fn the_starter_input_is_the_workflow_input(
        starter: &dyn steps::ports::ExecutionStarter,
        input: &Input,
    ) {
        drop(starter.start("name", input));
    }

    #[test]
    fn transient_retries_name_exactly_the_steps_transient_errors() {
        let retrier = transient_retry::<PersistError>().to_retrier();
        assert_eq!(retrier.error_equals, ["Throttled", "ServiceUnavailable"]);
        let retrier = transient_retry::<PaymentError>().to_retrier();
        assert!(!retrier.error_equals.contains(&"PaymentDeclined".to_owned()));
    }
}

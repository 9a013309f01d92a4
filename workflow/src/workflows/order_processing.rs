//! The `order-processing` workflow: validate -> pay -> persist -> notify, with retries of
//! transient errors, Task timeouts, and a failure path that records the order FAILED, notifies,
//! and fails the execution with the business cause (`PaymentDeclined`, `OutOfStock`, ...).
//!
//! Each step is a typed [`TaskStep`] whose input and output are the steps crate's own types and
//! whose error enum lists exactly the error names the step reports
//! ([`steps::StepName::error_names`], checked by a test), so a Retry or Catch can only name an
//! error the step really raises. Every step runs as a Lambda function (the SAM placeholders
//! `${<Step>FunctionArn}` of `template.yaml`).

use shop_model::OrderMessage;
use steps::model::{
    NotifyOutput, OrderOutcome, PaidOrder, RecordFailureInput, ValidatedOrder, FAILURE_FIELD,
};
use workflow_dsl::builder::{task, workflow, Cond, Ended, Fail, Task};
use workflow_dsl::integrations::lambda;
use workflow_dsl::step_errors;
use workflow_dsl::typed::{AslError, Catch, Retry, StepErrors, TaskStep};

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

step_errors! {
    /// Errors of `validate-order`.
    pub enum ValidateError {
        InvalidOrder,
        OutOfStock,
        Throttled,
        ServiceUnavailable,
        InternalError,
    }
}

step_errors! {
    /// Errors of `process-payment`.
    pub enum PaymentError {
        PaymentDeclined,
        InvalidInput,
        Throttled,
        ServiceUnavailable,
        InternalError,
    }
}

step_errors! {
    /// Errors of `persist-order`.
    pub enum PersistError {
        OutOfStock,
        OrderAlreadyFailed,
        InvalidInput,
        Throttled,
        ServiceUnavailable,
        InternalError,
    }
}

step_errors! {
    /// Errors of `record-failure`.
    pub enum RecordFailureError {
        InvalidInput,
        Throttled,
        ServiceUnavailable,
        InternalError,
    }
}

step_errors! {
    /// Errors of `notify-order`.
    pub enum NotifyError {
        InvalidInput,
        Throttled,
        ServiceUnavailable,
        InternalError,
    }
}

/// A step error enum with the two transient errors every step can report (a throttled or
/// unavailable dependency), which the workflow retries.
pub trait TransientErrors: StepErrors {
    const TRANSIENT: [Self; 2];
}

macro_rules! transient {
    ($($error:ident),*) => {$(
        impl TransientErrors for $error {
            const TRANSIENT: [Self; 2] = [$error::Throttled, $error::ServiceUnavailable];
        }
    )*};
}
transient!(
    ValidateError,
    PaymentError,
    PersistError,
    RecordFailureError,
    NotifyError
);

/// `validate-order`: re-prices the order from the Products table and checks stock.
pub struct ValidateOrder;
impl TaskStep for ValidateOrder {
    const NAME: &'static str = "validate-order";
    type Input = Input;
    type Output = ValidatedOrder;
    type Error = ValidateError;
}

/// `process-payment`: charges the payment token (idempotently per order).
pub struct ProcessPayment;
impl TaskStep for ProcessPayment {
    const NAME: &'static str = "process-payment";
    type Input = ValidatedOrder;
    type Output = PaidOrder;
    type Error = PaymentError;
}

/// `persist-order`: reserves stock and marks the order COMPLETED in one transaction.
pub struct PersistOrder;
impl TaskStep for PersistOrder {
    const NAME: &'static str = "persist-order";
    type Input = PaidOrder;
    type Output = OrderOutcome;
    type Error = PersistError;
}

/// `record-failure`: marks the order FAILED with the caught error and its reason.
pub struct RecordFailure;
impl TaskStep for RecordFailure {
    const NAME: &'static str = "record-failure";
    type Input = RecordFailureInput;
    type Output = OrderOutcome;
    type Error = RecordFailureError;
}

/// `notify-order`: publishes the outcome to the SNS order topic.
pub struct NotifyOrder;
impl TaskStep for NotifyOrder {
    const NAME: &'static str = "notify-order";
    type Input = OrderOutcome;
    type Output = NotifyOutput;
    type Error = NotifyError;
}

/// Retries a throttled or unavailable dependency: 1 s, 2 s, 4 s, 8 s, 16 s (capped at 30 s),
/// each randomized between 0 and that bound (`JitterStrategy: FULL`) so that many executions
/// hitting the same throttled table do not retry in lockstep
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error>).
pub fn transient_retry<E: TransientErrors>() -> Retry<E> {
    transient_policy(Retry::on_any(E::TRANSIENT))
}

fn transient_policy<E>(retry: Retry<E>) -> Retry<E> {
    retry
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

/// Where a Catch puts the error: `$.failure`, which [`RecordFailureInput`] reads.
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
            .then_keep(
                // The untyped Lambda invoke (instead of `task::<NotifyOrder>`) keeps the recorded
                // order as the state (`ResultPath: null`) for the Fail state's ErrorPath.
                Task::call(
                    states::NOTIFY_FAILURE,
                    lambda::invoke(&NotifyOrder::function_arn_placeholder()),
                )
                .comment(
                    "Publishes the FAILED order to the order topic; keeps the order as the state",
                )
                .timeout_seconds(TASK_TIMEOUT_SECONDS)
                .retry(transient_policy(Retry::on_any(NotifyError::TRANSIENT)))
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
    use steps::StepName;

    use super::*;

    fn names<E: StepErrors>() -> Vec<&'static str> {
        E::all_names()
    }

    #[test]
    fn step_names_and_errors_match_the_steps_crate() {
        let declared: [(&str, Vec<&str>); 5] = [
            (ValidateOrder::NAME, names::<ValidateError>()),
            (ProcessPayment::NAME, names::<PaymentError>()),
            (PersistOrder::NAME, names::<PersistError>()),
            (RecordFailure::NAME, names::<RecordFailureError>()),
            (NotifyOrder::NAME, names::<NotifyError>()),
        ];
        for (step, (name, errors)) in StepName::ALL.into_iter().zip(declared) {
            assert_eq!(name, step.as_str());
            assert_eq!(errors, step.error_names(), "{step}");
        }
    }

    /// Compiles only while the starter starts executions with this workflow's input type.
    #[allow(dead_code)]
    fn the_starter_input_is_the_workflow_input(
        starter: &dyn steps::ports::ExecutionStarter,
        input: &Input,
    ) {
        drop(starter.start("name", input));
    }

    #[test]
    fn transient_errors_are_the_steps_retryable_ones() {
        let transient: Vec<&str> = ValidateError::TRANSIENT.iter().map(|e| e.name()).collect();
        assert_eq!(transient, steps::error_names::RETRYABLE);
    }

    #[test]
    fn function_placeholders_are_the_template_ones() {
        for (placeholder, step) in [
            (
                ValidateOrder::function_arn_placeholder(),
                StepName::ValidateOrder,
            ),
            (
                ProcessPayment::function_arn_placeholder(),
                StepName::ProcessPayment,
            ),
            (
                PersistOrder::function_arn_placeholder(),
                StepName::PersistOrder,
            ),
            (
                RecordFailure::function_arn_placeholder(),
                StepName::RecordFailure,
            ),
            (
                NotifyOrder::function_arn_placeholder(),
                StepName::NotifyOrder,
            ),
        ] {
            assert_eq!(StepName::from_function_ref(&placeholder), Some(step));
            assert_eq!(placeholder, format!("${{{}FunctionArn}}", step.pascal()));
        }
    }
}

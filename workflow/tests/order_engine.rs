//! The committed `generated/order-processing.asl.json` run in the local engine with the real
//! step handlers on in-memory ports (no emulator), through the typed test harness
//! (`asl_engine::testing::LocalRunner`): the happy path, every business failure, and retries of
//! transient errors, with typed mocks where a test needs a step to fail.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use asl_engine::testing::{LocalRunner, Outcome};
use asl_engine::TaskError;
use shop_model::{OrderLine, OrderMessage, OrderStatus, CURRENCY};
use steps::model::NotifyOutput;
use steps::ports::{InMemoryShop, RecordingNotifier, DECLINED_TOKEN};
use steps::{
    NotifyError, NotifyOrder, PaymentError, PersistError, PersistOrder, ProcessPayment,
    ValidateError, ValidateOrder,
};
use workflow::local::{demo_ports, step_registry, StepPorts};
use workflow_dsl::step::{run_json, Step, StepError};
use workflow_dsl::typed::StepErrors;
use workflow_dsl::StateMachine;

fn machine() -> StateMachine {
    StateMachine::from_json(include_str!("../../generated/order-processing.asl.json"))
        .expect("the generated definition parses")
}

fn order(order_id: &str, items: &[(&str, u32)]) -> OrderMessage {
    OrderMessage {
        order_id: order_id.to_owned(),
        user_sub: "user-1".to_owned(),
        items: items
            .iter()
            .map(|(product_id, quantity)| OrderLine {
                product_id: (*product_id).to_owned(),
                quantity: *quantity,
            })
            .collect(),
        payment_token: Some("tok_visa".to_owned()),
        total_cents: 0,
        currency: CURRENCY.to_owned(),
        created_at: "2026-11-25T10:00:00.000Z".to_owned(),
    }
}

struct Shop {
    ports: StepPorts,
    shop: Arc<InMemoryShop>,
    notifier: Arc<RecordingNotifier>,
}

impl Shop {
    /// The generated workflow with every real step on this shop's ports.
    fn runner(&self) -> LocalRunner {
        let mut runner = LocalRunner::for_machine(machine());
        *runner.registry_mut() = step_registry(self.ports.clone());
        runner
    }
}

fn shop() -> Shop {
    let (ports, shop, notifier) = demo_ports();
    Shop {
        ports,
        shop,
        notifier,
    }
}

/// The error and cause of a FAILED execution (panics on any other status).
fn failed(outcome: &Outcome) -> (String, String) {
    assert_eq!(outcome.status().name(), "FAILED", "{:?}", outcome.status());
    (
        outcome.error().unwrap_or_default().to_owned(),
        outcome.cause().unwrap_or_default().to_owned(),
    )
}

fn succeeded(outcome: &Outcome) -> NotifyOutput {
    outcome.output().unwrap_or_else(|e| panic!("{e}"))
}

/// Step `S` fails `failures` times with `error` (as its Lambda would report it), then runs its
/// real handler on `ports`; returns the runner and the call counter.
fn failing<S: Step>(
    runner: LocalRunner,
    ports: Arc<S::Ports>,
    failures: usize,
    error: StepError<S::Error>,
) -> (LocalRunner, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let runner = runner.mock_async::<S, _, _>(move |input| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        let ports = ports.clone();
        let error = error.clone();
        async move {
            if call < failures {
                return Err(error);
            }
            S::run(input, &ports).await
        }
    });
    (runner, calls)
}

#[tokio::test]
async fn a_valid_order_completes_reserves_stock_and_is_notified() {
    let s = shop();
    let outcome = s
        .runner()
        .run(&order("o-happy", &[("mug", 2), ("tee", 1)]))
        .await;
    let output = succeeded(&outcome);
    assert_eq!(output.order_id, "o-happy");
    assert_eq!(output.status, OrderStatus::Completed);
    assert_eq!(
        outcome.states(),
        [
            "Validate order",
            "Process payment",
            "Persist order",
            "Notify order",
            "Order completed"
        ]
    );

    let stored = s.shop.order("o-happy").expect("the order is stored");
    assert_eq!(stored.status, OrderStatus::Completed);
    assert_eq!(stored.total_cents, 2 * 1250 + 1999);
    assert!(stored.payment_id.is_some());
    assert_eq!(s.shop.product("mug").unwrap().stock, 8);
    assert_eq!(s.shop.product("tee").unwrap().stock, 2);

    let published = s.notifier.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].order_id, "o-happy");
    assert_eq!(published[0].status, OrderStatus::Completed);
}

#[tokio::test]
async fn a_declined_payment_fails_with_payment_declined_records_and_notifies() {
    let s = shop();
    let mut message = order("o-declined", &[("mug", 1)]);
    message.payment_token = Some(DECLINED_TOKEN.to_owned());
    let result = s.runner().run(&message).await;

    let (error, cause) = failed(&result);
    assert_eq!(error, "PaymentDeclined");
    assert_eq!(cause, "payment declined: the card was declined");
    assert!(!cause.contains(DECLINED_TOKEN), "the token leaked: {cause}");

    let stored = s.shop.order("o-declined").expect("the failure is recorded");
    assert_eq!(stored.status, OrderStatus::Failed);
    assert_eq!(stored.failure_error.as_deref(), Some("PaymentDeclined"));
    assert_eq!(stored.failure_reason.as_deref(), Some(cause.as_str()));
    assert_eq!(s.shop.product("mug").unwrap().stock, 10, "nothing reserved");

    let published = s.notifier.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].status, OrderStatus::Failed);
    assert_eq!(
        published[0].failure_error.as_deref(),
        Some("PaymentDeclined")
    );
}

#[tokio::test]
async fn a_sold_out_product_fails_with_out_of_stock() {
    for (id, items) in [
        ("o-sold-out", vec![("pin", 1)]),
        ("o-too-many", vec![("mug", 1), ("tee", 4)]),
    ] {
        let s = shop();
        let result = s.runner().run(&order(id, &items)).await;
        let (error, cause) = failed(&result);
        assert_eq!(error, "OutOfStock", "{id}: {cause}");
        let stored = s.shop.order(id).unwrap();
        assert_eq!(stored.status, OrderStatus::Failed);
        assert_eq!(stored.failure_error.as_deref(), Some("OutOfStock"));
        assert!(stored.failure_reason.is_some_and(|r| !r.is_empty()));
        assert_eq!(s.notifier.published()[0].status, OrderStatus::Failed);
        assert_eq!(s.shop.product("mug").unwrap().stock, 10, "{id}");
    }
}

#[tokio::test]
async fn an_unknown_product_fails_with_invalid_order() {
    let s = shop();
    let result = s
        .runner()
        .run(&order("o-unknown", &[("no-such-product", 1)]))
        .await;
    let (error, cause) = failed(&result);
    assert_eq!(error, "InvalidOrder");
    assert!(cause.contains("no-such-product"), "{cause}");
    let stored = s.shop.order("o-unknown").unwrap();
    assert_eq!(stored.status, OrderStatus::Failed);
    assert_eq!(stored.failure_error.as_deref(), Some("InvalidOrder"));
    assert_eq!(s.notifier.published().len(), 1);
}

#[tokio::test]
async fn a_throttled_payment_is_retried_and_the_order_completes() {
    let s = shop();
    let (runner, calls) = failing::<ProcessPayment>(
        s.runner(),
        s.ports.payments.clone(),
        1,
        PaymentError::Throttled.because("rate exceeded"),
    );
    let result = runner.run(&order("o-throttled", &[("mug", 1)])).await;
    assert_eq!(succeeded(&result).status, OrderStatus::Completed);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one failure, one retry");
    assert_eq!(
        s.shop.order("o-throttled").unwrap().status,
        OrderStatus::Completed
    );
}

#[tokio::test]
async fn a_lambda_service_exception_is_retried() {
    let s = shop();
    let mut runner = s.runner();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let catalog = s.ports.catalog.clone();
    // Not an error of the step: the Lambda service itself failed the invocation.
    runner
        .registry_mut()
        .register_lambda(ValidateOrder::NAME, move |input| {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            let catalog = catalog.clone();
            async move {
                if first {
                    return Err(TaskError::new(
                        "Lambda.ServiceException",
                        "the Lambda service had a problem",
                    ));
                }
                run_json::<ValidateOrder>(input, &*catalog)
                    .await
                    .map_err(|f| TaskError::new(f.error, f.message))
            }
        });
    let result = runner.run(&order("o-lambda", &[("mug", 1)])).await;
    assert_eq!(succeeded(&result).status, OrderStatus::Completed);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_dependency_that_stays_unavailable_fails_the_order_after_the_retries() {
    let s = shop();
    let (runner, calls) = failing::<ValidateOrder>(
        s.runner(),
        s.ports.catalog.clone(),
        usize::MAX,
        ValidateError::ServiceUnavailable.because("Products table unreachable"),
    );
    let result = runner.run(&order("o-down", &[("mug", 1)])).await;
    let (error, cause) = failed(&result);
    assert_eq!(error, "ServiceUnavailable");
    assert_eq!(cause, "Products table unreachable");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1 + 5,
        "first attempt + MaxAttempts"
    );
    let stored = s.shop.order("o-down").unwrap();
    assert_eq!(stored.status, OrderStatus::Failed);
    assert_eq!(stored.failure_error.as_deref(), Some("ServiceUnavailable"));
}

#[tokio::test]
async fn a_persist_that_committed_but_reported_failure_still_completes() {
    // persist commits, then every attempt reports ServiceUnavailable: the Catch runs
    // record-failure, which leaves the COMPLETED order as it is, and the workflow notifies the
    // completed order instead of failing it.
    let s = shop();
    let orders = s.ports.orders.clone();
    let runner = s.runner().mock_async::<PersistOrder, _, _>(move |input| {
        let orders = orders.clone();
        async move {
            PersistOrder::run(input, &*orders).await?;
            Err(PersistError::ServiceUnavailable.because("response lost"))
        }
    });
    let result = runner.run(&order("o-lost", &[("mug", 3)])).await;
    assert_eq!(succeeded(&result).status, OrderStatus::Completed);
    let stored = s.shop.order("o-lost").unwrap();
    assert_eq!(stored.status, OrderStatus::Completed);
    assert_eq!(s.shop.product("mug").unwrap().stock, 7, "reserved once");
    let published = s.notifier.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].status, OrderStatus::Completed);
}

#[tokio::test]
async fn a_failed_notification_on_the_failure_path_still_fails_with_the_business_error() {
    let s = shop();
    let (runner, _) = failing::<NotifyOrder>(
        s.runner(),
        s.ports.notifier.clone(),
        usize::MAX,
        NotifyError::InternalError.because("topic gone"),
    );
    let result = runner.run(&order("o-quiet", &[("pin", 1)])).await;
    let (error, _) = failed(&result);
    assert_eq!(error, "OutOfStock");
    assert_eq!(s.shop.order("o-quiet").unwrap().status, OrderStatus::Failed);
}

#[tokio::test]
async fn the_history_shows_the_failure_path() {
    let s = shop();
    let mut message = order("o-history", &[("mug", 1)]);
    message.payment_token = Some(DECLINED_TOKEN.to_owned());
    let result = s.runner().run(&message).await;
    assert_eq!(
        result.states(),
        [
            "Validate order",
            "Process payment",
            "Record failure",
            "Already completed?",
            "Notify failure",
            "Order failed"
        ]
    );
}

/// The workflow as built in Rust (not the committed file), with a typed mock of the payment step
/// returning one of its own errors: the harness a user's workflow tests are written with.
#[tokio::test]
async fn a_typed_mock_of_the_payment_step_takes_the_failure_path() {
    let s = shop();
    let runner = LocalRunner::new(workflow::workflows::order_processing())
        .expect("the workflow emits")
        .step::<ValidateOrder>(s.ports.catalog.clone())
        .mock::<ProcessPayment>(|order| {
            Err(PaymentError::PaymentDeclined
                .because(format!("declined for {} cents", order.total_cents)))
        })
        .step::<steps::RecordFailure>(s.ports.orders.clone())
        .step::<NotifyOrder>(s.ports.notifier.clone());
    let outcome = runner.run(&order("o-mocked", &[("mug", 2)])).await;
    assert_eq!(outcome.error(), Some("PaymentDeclined"));
    assert_eq!(outcome.cause(), Some("declined for 2500 cents"));
    assert_eq!(
        outcome.states(),
        [
            "Validate order",
            "Process payment",
            "Record failure",
            "Already completed?",
            "Notify failure",
            "Order failed"
        ]
    );
    assert_eq!(
        s.shop.order("o-mocked").unwrap().failure_error.as_deref(),
        Some("PaymentDeclined")
    );
}

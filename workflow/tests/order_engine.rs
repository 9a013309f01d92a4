//! The committed `generated/order-processing.asl.json` run in the local engine with the real
//! step handlers on in-memory ports (no emulator): the happy path, every business failure, and
//! retries of transient errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use engine::{Engine, ExecOptions, ExecutionResult, ExecutionStatus, TaskError, TaskRegistry};
use serde_json::Value;
use shop_model::{OrderLine, OrderMessage, OrderStatus, CURRENCY};
use steps::ports::{InMemoryShop, RecordingNotifier, DECLINED_TOKEN};
use steps::{StepError, StepName, StepPorts};
use workflow::local::{demo_ports, step_registry, task_error};
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

fn shop() -> Shop {
    let (ports, shop, notifier) = demo_ports();
    Shop {
        ports,
        shop,
        notifier,
    }
}

async fn run(registry: TaskRegistry, message: &OrderMessage) -> ExecutionResult {
    Engine::new(registry)
        .execute(
            &machine(),
            serde_json::to_value(message).unwrap(),
            ExecOptions::virtual_time(),
        )
        .await
        .expect("the definition compiles")
}

/// The error and cause of a FAILED execution (panics on any other status).
fn failed(result: &ExecutionResult) -> (String, String) {
    match &result.status {
        ExecutionStatus::Failed { error, cause } => (
            error.clone().unwrap_or_default(),
            cause.clone().unwrap_or_default(),
        ),
        other => panic!("expected FAILED, got {other:?}"),
    }
}

fn succeeded(result: &ExecutionResult) -> &Value {
    match &result.status {
        ExecutionStatus::Succeeded { output } => output,
        other => panic!("expected SUCCEEDED, got {other:?}"),
    }
}

/// Replaces the handler of `step` by one that fails `failures` times with `error` (as the
/// Lambda would report it) before running the real step; returns the call counter.
fn failing(
    registry: &mut TaskRegistry,
    ports: &StepPorts,
    step: StepName,
    failures: usize,
    error: fn() -> StepError,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let ports = ports.clone();
    registry.register_lambda(step.as_str(), move |input| {
        let call = counter.fetch_add(1, Ordering::SeqCst);
        let ports = ports.clone();
        async move {
            if call < failures {
                return Err(task_error(error().to_failure()));
            }
            steps::invoke(step, input, &ports).await.map_err(task_error)
        }
    });
    calls
}

#[tokio::test]
async fn a_valid_order_completes_reserves_stock_and_is_notified() {
    let s = shop();
    let result = run(
        step_registry(s.ports.clone()),
        &order("o-happy", &[("mug", 2), ("tee", 1)]),
    )
    .await;
    let output = succeeded(&result);
    assert_eq!(output["orderId"], "o-happy");
    assert_eq!(output["status"], "COMPLETED");

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
    let result = run(step_registry(s.ports.clone()), &message).await;

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
        let result = run(step_registry(s.ports.clone()), &order(id, &items)).await;
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
    let result = run(
        step_registry(s.ports.clone()),
        &order("o-unknown", &[("no-such-product", 1)]),
    )
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
    let mut registry = step_registry(s.ports.clone());
    let calls = failing(&mut registry, &s.ports, StepName::ProcessPayment, 1, || {
        StepError::Throttled("rate exceeded".into())
    });
    let result = run(registry, &order("o-throttled", &[("mug", 1)])).await;
    assert_eq!(succeeded(&result)["status"], "COMPLETED");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one failure, one retry");
    assert_eq!(
        s.shop.order("o-throttled").unwrap().status,
        OrderStatus::Completed
    );
}

#[tokio::test]
async fn a_lambda_service_exception_is_retried() {
    let s = shop();
    let mut registry = step_registry(s.ports.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let ports = s.ports.clone();
    registry.register_lambda("validate-order", move |input| {
        let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
        let ports = ports.clone();
        async move {
            if first {
                return Err(TaskError::new(
                    "Lambda.ServiceException",
                    "the Lambda service had a problem",
                ));
            }
            steps::invoke(StepName::ValidateOrder, input, &ports)
                .await
                .map_err(task_error)
        }
    });
    let result = run(registry, &order("o-lambda", &[("mug", 1)])).await;
    assert_eq!(succeeded(&result)["status"], "COMPLETED");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_dependency_that_stays_unavailable_fails_the_order_after_the_retries() {
    let s = shop();
    let mut registry = step_registry(s.ports.clone());
    let calls = failing(
        &mut registry,
        &s.ports,
        StepName::ValidateOrder,
        usize::MAX,
        || StepError::ServiceUnavailable("Products table unreachable".into()),
    );
    let result = run(registry, &order("o-down", &[("mug", 1)])).await;
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
    let mut registry = step_registry(s.ports.clone());
    let ports = s.ports.clone();
    registry.register_lambda("persist-order", move |input| {
        let ports = ports.clone();
        async move {
            steps::invoke(StepName::PersistOrder, input, &ports)
                .await
                .map_err(task_error)?;
            Err(task_error(
                StepError::ServiceUnavailable("response lost".into()).to_failure(),
            ))
        }
    });
    let result = run(registry, &order("o-lost", &[("mug", 3)])).await;
    assert_eq!(succeeded(&result)["status"], "COMPLETED");
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
    let mut registry = step_registry(s.ports.clone());
    failing(
        &mut registry,
        &s.ports,
        StepName::NotifyOrder,
        usize::MAX,
        || StepError::Internal("topic gone".into()),
    );
    let result = run(registry, &order("o-quiet", &[("pin", 1)])).await;
    let (error, _) = failed(&result);
    assert_eq!(error, "OutOfStock");
    assert_eq!(s.shop.order("o-quiet").unwrap().status, OrderStatus::Failed);
}

#[tokio::test]
async fn the_history_shows_the_failure_path() {
    let s = shop();
    let mut message = order("o-history", &[("mug", 1)]);
    message.payment_token = Some(DECLINED_TOKEN.to_owned());
    let result = run(step_registry(s.ports.clone()), &message).await;
    let entered: Vec<String> = result
        .history
        .iter()
        .filter(|e| e.event_type.as_str().ends_with("StateEntered"))
        .filter_map(|e| e.details()?.get("name")?.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        entered,
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

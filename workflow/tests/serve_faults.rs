//! `workflow serve --fault-injection`: Lambda faults injected over `/_local/faults` into the order
//! workflow (`generated/order-processing.asl.json`, steps on the in-memory demo shop, virtual
//! time), seen by its Retry and Catch as failed Lambda invocations.
#![cfg(unix)]

mod support;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use aws_sdk_sfn::Client;
use serde_json::{json, Value};
use support::{history, wait_done, Serve};

fn serve() -> Serve {
    let definition = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../generated/order-processing.asl.json"
    );
    Serve::start(&[
        "--in-memory",
        "--virtual-time",
        "--fault-injection",
        "--definition",
        &format!("orders={definition}"),
    ])
}

fn order(id: &str, items: &[(&str, u32)]) -> String {
    json!({
        "orderId": id,
        "userSub": "user-1",
        "items": items.iter().map(|(p, q)| json!({"productId": p, "quantity": q})).collect::<Vec<_>>(),
        "paymentToken": "tok_visa",
        "totalCents": 0,
        "currency": "USD",
        "createdAt": "2026-11-25T10:00:00.000Z",
    })
    .to_string()
}

/// Runs one order to its end: (status, output or error, cause, history).
async fn run(
    c: &Client,
    arn: &str,
    id: &str,
    items: &[(&str, u32)],
) -> (
    ExecutionStatus,
    Value,
    Option<String>,
    Option<String>,
    Vec<HistoryEvent>,
) {
    let exec = c
        .start_execution()
        .state_machine_arn(arn)
        .name(id)
        .input(order(id, items))
        .send()
        .await
        .unwrap()
        .execution_arn;
    let d = wait_done(c, &exec, 30).await;
    let output = d
        .output
        .as_deref()
        .map(|o| serde_json::from_str(o).unwrap())
        .unwrap_or(Value::Null);
    (d.status, output, d.error, d.cause, history(c, &exec).await)
}

/// How many times the Task state `state` scheduled its function.
fn scheduled(events: &[HistoryEvent], state: &str) -> usize {
    let mut current = None;
    let mut n = 0;
    for e in events {
        if let Some(d) = &e.state_entered_event_details {
            current = Some(d.name.clone());
        }
        if e.r#type == HistoryEventType::TaskScheduled && current.as_deref() == Some(state) {
            n += 1;
        }
    }
    n
}

fn failed_with(events: &[HistoryEvent], error: &str) -> usize {
    events
        .iter()
        .filter_map(|e| e.task_failed_event_details.as_ref())
        .filter(|d| d.error.as_deref() == Some(error))
        .count()
}

fn entered(events: &[HistoryEvent], state: &str) -> bool {
    events.iter().any(|e| {
        e.state_entered_event_details
            .as_ref()
            .is_some_and(|d| d.name == state)
    })
}

#[tokio::test]
async fn injected_lambda_faults_go_through_retry_and_catch() {
    let s = serve();
    let arn = s.machine_arn("orders");
    let c = s.client().await;

    // Two throttles of process-payment: retried, the order completes.
    let (status, rule) = s.http(
        "POST",
        "/_local/faults",
        r#"{"function":"process-payment","error":"Lambda.TooManyRequestsException","cause":"injected: throttled","count":2,"when":"before"}"#,
    );
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["injected"], 0);
    let (status, output, _, _, events) = run(&c, &arn, "o-throttled", &[("mug", 1)]).await;
    assert_eq!(status, ExecutionStatus::Succeeded, "{events:?}");
    assert_eq!(output["status"], "COMPLETED");
    assert_eq!(scheduled(&events, "Process payment"), 3);
    assert_eq!(failed_with(&events, "Lambda.TooManyRequestsException"), 2);
    let throttled = events
        .iter()
        .find_map(|e| e.task_failed_event_details.as_ref())
        .unwrap();
    assert_eq!(throttled.cause.as_deref(), Some("injected: throttled"));
    let (status, listing) = s.http("GET", "/_local/faults", "");
    assert_eq!(status, 200);
    assert_eq!(listing["rules"][0]["function"], "process-payment");
    assert_eq!(listing["rules"][0]["injected"], 2);
    assert_eq!(listing["rules"][0]["remaining"], 0);
    let (status, cleared) = s.http("DELETE", "/_local/faults", "");
    assert_eq!(status, 200);
    assert_eq!(cleared, listing);
    assert_eq!(s.http("GET", "/_local/faults", "").1, json!({"rules": []}));

    // A permanent fault (count null): retries run out, Catch records the order as failed and the
    // execution fails with the recorded error and reason.
    let (status, _) = s.http(
        "POST",
        "/_local/faults",
        r#"{"function":"${ProcessPaymentFunctionArn}","error":"Lambda.ServiceException","cause":"injected: down","count":null}"#,
    );
    assert_eq!(status, 201);
    let (status, _, error, cause, events) = run(&c, &arn, "o-down", &[("mug", 1)]).await;
    assert_eq!(status, ExecutionStatus::Failed, "{events:?}");
    assert_eq!(error.as_deref(), Some("Lambda.ServiceException"));
    assert_eq!(cause.as_deref(), Some("injected: down"));
    assert!(entered(&events, "Record failure"));
    assert!(!entered(&events, "Persist order"));
    let injected = s.http("DELETE", "/_local/faults", "").1["rules"][0]["injected"].clone();
    assert_eq!(injected, 4, "the first attempt and 3 retries");

    // A fault after the work (persist-order ran, then "timed out"): the retry runs it again and
    // the order still completes with its stock reserved once: tee has 3, 2 taken here, so one
    // more completes and the next is out of stock.
    let (status, _) = s.http(
        "POST",
        "/_local/faults",
        r#"{"function":"persist-order","error":"States.Timeout","cause":"injected: timed out after the work","count":1,"when":"after"}"#,
    );
    assert_eq!(status, 201);
    let (status, output, _, _, events) = run(&c, &arn, "o-after", &[("tee", 2)]).await;
    assert_eq!(status, ExecutionStatus::Succeeded, "{events:?}");
    assert_eq!(output["status"], "COMPLETED");
    assert_eq!(output["orderId"], "o-after", "{output}");
    assert_eq!(scheduled(&events, "Persist order"), 2, "the step ran twice");
    let timed_out = events
        .iter()
        .filter(|e| e.r#type == HistoryEventType::TaskTimedOut)
        .count();
    assert_eq!(timed_out, 1);
    assert_eq!(
        s.http("GET", "/_local/faults", "").1["rules"][0]["injected"],
        1
    );
    let (status, ..) = run(&c, &arn, "o-after-2", &[("tee", 1)]).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    let (status, _, error, ..) = run(&c, &arn, "o-after-3", &[("tee", 1)]).await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(error.as_deref(), Some("OutOfStock"));
}

#[test]
fn bad_fault_rules_are_400_with_a_json_error() {
    let s = serve();
    for body in [
        "{not json",
        r#"{"function":"process-payment"}"#,
        r#"{"function":"no-such-function","error":"E"}"#,
        r#"{"function":"process-payment","error":"E","count":0}"#,
        r#"{"function":"process-payment","error":"E","when":"later"}"#,
    ] {
        let (status, error) = s.http("POST", "/_local/faults", body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"], "BadRequest", "{body}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}: {error}"
        );
    }
    assert_eq!(s.http("GET", "/_local/faults", "").1, json!({"rules": []}));
}

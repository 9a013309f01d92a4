//! Runs `workflow run order-processing --in-memory`: the project workflow with its own steps in
//! the local engine, through the binary (input from a file, from stdin and inline).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn order(order_id: &str, product: &str, quantity: u32, token: &str) -> Value {
    json!({
        "orderId": order_id,
        "userSub": "user-1",
        "items": [{ "productId": product, "quantity": quantity }],
        "paymentToken": token,
        "totalCents": 0,
        "currency": "USD",
        "createdAt": "2026-11-25T10:00:00.000Z",
    })
}

fn workflow(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("PRODUCTS_TABLE")
        .env_remove("ORDERS_TABLE")
        .spawn()
        .expect("the workflow binary runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// The single JSON line printed on stdout.
fn result(output: &Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_valid_order_succeeds_with_input_from_a_file() {
    let path = std::env::temp_dir().join(format!("order-run-{}.json", std::process::id()));
    std::fs::write(&path, order("o-1", "mug", 2, "tok_visa").to_string()).unwrap();
    let input = format!("@{}", path.display());
    let output = workflow(
        &["run", "order-processing", "--in-memory", "--input", &input],
        None,
    );
    std::fs::remove_file(&path).ok();
    let line = result(&output);
    assert_eq!(line["status"], "SUCCEEDED", "{line}");
    assert_eq!(line["output"]["orderId"], "o-1");
    assert_eq!(line["output"]["status"], "COMPLETED");
    assert!(line.get("history").is_none());
    let arn = line["executionArn"].as_str().unwrap();
    assert!(arn.contains(":execution:order-processing:"), "{arn}");
}

#[test]
fn a_declined_payment_fails_with_its_cause_and_exit_zero_with_input_from_stdin() {
    let input = order("o-2", "mug", 1, "tok_chargeDeclined").to_string();
    let output = workflow(
        &["run", "order-processing", "--in-memory", "--input", "@-"],
        Some(&input),
    );
    let line = result(&output);
    assert_eq!(line["status"], "FAILED", "{line}");
    assert_eq!(line["error"], "PaymentDeclined");
    assert_eq!(line["cause"], "payment declined: the card was declined");
    assert!(!line.to_string().contains("tok_chargeDeclined"));
}

#[test]
fn sold_out_and_unknown_products_fail_with_their_errors() {
    for (product, error) in [("pin", "OutOfStock"), ("no-such-thing", "InvalidOrder")] {
        let input = order("o-3", product, 1, "tok_visa").to_string();
        let output = workflow(
            &["run", "order-processing", "--in-memory", "--input", &input],
            None,
        );
        let line = result(&output);
        assert_eq!(line["status"], "FAILED", "{line}");
        assert_eq!(line["error"], error, "{line}");
    }
}

#[test]
fn history_lists_the_states_entered() {
    let input = order("o-4", "tee", 1, "tok_visa").to_string();
    let output = workflow(
        &[
            "run",
            "order-processing",
            "--in-memory",
            "--history",
            "--input",
            &input,
        ],
        None,
    );
    let line = result(&output);
    let entered: Vec<&str> = line["history"]
        .as_array()
        .expect("a history array")
        .iter()
        .filter(|e| e["type"] == "TaskStateEntered" || e["type"] == "SucceedStateEntered")
        .map(|e| e["stateEnteredEventDetails"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        entered,
        [
            "Validate order",
            "Process payment",
            "Persist order",
            "Notify order",
            "Order completed"
        ]
    );
}

#[test]
fn an_unknown_workflow_bad_input_or_missing_configuration_exit_2() {
    let unknown = workflow(&["run", "no-such-workflow", "--in-memory"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("unknown workflow 'no-such-workflow'")
            && stderr(&unknown).contains("order-processing"),
        "{}",
        stderr(&unknown)
    );

    let bad = workflow(
        &["run", "order-processing", "--in-memory", "--input", "{nope"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not valid JSON"), "{}", stderr(&bad));

    let missing = workflow(
        &[
            "run",
            "order-processing",
            "--in-memory",
            "--input",
            "@/no/such/file.json",
        ],
        None,
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read"),
        "{}",
        stderr(&missing)
    );

    let unconfigured = workflow(&["run", "order-processing", "--input", "{}"], None);
    assert_eq!(unconfigured.status.code(), Some(2));
    assert!(
        stderr(&unconfigured).contains("--in-memory"),
        "{}",
        stderr(&unconfigured)
    );
}

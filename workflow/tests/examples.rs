//! The library's example workflows: the emitted ASL is snapshot-tested, and the JSONata refund
//! example runs in the local engine with stand-in Lambda functions, so what the builder writes
//! is what Step Functions would execute.

use asl_engine::testing::LocalRunner;
use serde_json::{json, Value};
use workflow::examples::refund::{self, RefundSummary};
use workflow::examples::{approval, image_batch};

fn refund_runner(refunded_cents: i64) -> LocalRunner {
    let mut runner = LocalRunner::new(refund::refund_workflow()).expect("the example emits");
    runner
        .registry_mut()
        .register_lambda("look-up-order", move |payload: Value| async move {
            Ok(json!({
                "orderId": payload["orderId"],
                "userSub": "user-1",
                "totalCents": 5000,
                "refundedCents": refunded_cents,
            }))
        })
        .register_lambda("issue-refund", |payload: Value| async move {
            Ok(
                json!({ "refundId": format!("rf-{}", payload["orderId"].as_str().unwrap()),
                       "amountCents": payload["amountCents"] }),
            )
        })
        .register_lambda(
            "notify-customer",
            |payload: Value| async move { Ok(payload) },
        );
    runner
}

#[test]
fn the_refund_example_emits_the_reviewed_asl() {
    let emitted = workflow_dsl::emit::emit(refund::refund_workflow()).expect("emits");
    insta::assert_snapshot!("refund_jsonata_asl", emitted.json);
}

#[test]
fn the_approval_example_emits_the_reviewed_asl() {
    let emitted = workflow_dsl::emit::emit(approval::approval_workflow()).expect("emits");
    insta::assert_snapshot!("purchase_approval_asl", emitted.json);
}

#[test]
fn the_image_batch_examples_emit_the_reviewed_asl() {
    let parent = workflow_dsl::emit::emit(image_batch::image_batch_workflow()).expect("emits");
    insta::assert_snapshot!("image_batch_asl", parent.json);
    let child = workflow_dsl::emit::emit(image_batch::resize_batch_workflow()).expect("emits");
    insta::assert_snapshot!("resize_batch_asl", child.json);
    // The parent starts the child by the placeholder its TypedWorkflow names.
    assert_eq!(
        parent.substitutions,
        [
            "BatchTopicArn",
            "ImagesBucketName",
            "ReportsBucketName",
            "ResizeBatchStateMachineArn"
        ]
    );
}

#[tokio::test]
async fn the_refund_example_runs_in_the_engine() {
    let request = json!({ "orderId": "o-1", "amountCents": 1200, "reason": "damaged" });
    let outcome = refund_runner(3000).run_json(request.clone()).await;
    let summary: RefundSummary = outcome.output().expect("the refund succeeds");
    assert_eq!(summary.order_id, "o-1");
    assert_eq!(summary.refund_id, "rf-o-1");
    assert_eq!(summary.amount_cents, 1200);
    assert_eq!(
        outcome.states(),
        [
            "Remember request",
            "Look up order",
            "Refundable?",
            "Issue refund",
            "Notify customer",
            "Summary",
            "Refunded"
        ]
    );

    // 5000 - 4000 = 1000 left: 1200 is refused, with the cause computed in JSONata.
    let outcome = refund_runner(4000).run_json(request).await;
    assert_eq!(outcome.error(), Some("RefundExceedsOrder"));
    assert_eq!(outcome.cause(), Some("asked 1200 of 1000 left"));
}

/// The SQS message of the approval request, captured instead of sent: the approver reads the
/// task token from it.
struct CapturedQueue(tokio::sync::mpsc::UnboundedSender<Value>);

#[async_trait::async_trait]
impl asl_engine::TaskHandler for CapturedQueue {
    async fn invoke(
        &self,
        input: Value,
        _ctx: &asl_engine::TaskContext,
    ) -> Result<Value, asl_engine::TaskError> {
        let _ = self.0.send(input);
        Ok(json!({ "MessageId": "m-1" }))
    }
}

#[tokio::test]
async fn the_approval_example_waits_for_the_approvers_callback() {
    use std::sync::Arc;

    let machine = workflow_dsl::emit::emit(approval::approval_workflow())
        .expect("emits")
        .asl;
    let (queue, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let mut registry = asl_engine::TaskRegistry::new();
    registry
        .register_lambda("check-budget", |_request: Value| async move {
            Ok(json!({ "withinBudget": false, "remainingCents": 100 }))
        })
        .register_lambda("place-order", |request: Value| async move {
            Ok(json!({ "orderId": "po-1", "requestId": request["requestId"] }))
        })
        .register_resource("arn:aws:states:::sqs:", Arc::new(CapturedQueue(queue)));
    let engine = Arc::new(asl_engine::Engine::new(registry));
    let request =
        json!({ "requestId": "r-1", "requester": "ana", "item": "laptop", "amountCents": 250000 });
    let running = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .execute(&machine, request, asl_engine::ExecOptions::default())
                .await
        })
    };
    // The approver receives the request and the token, and says yes.
    let message = messages.recv().await.expect("the approval request is sent");
    assert_eq!(message["MessageBody"]["request"]["item"], "laptop");
    assert_eq!(message["MessageBody"]["remainingCents"], 100);
    let token = message["MessageBody"]["taskToken"]
        .as_str()
        .expect("the token")
        .to_owned();
    let decision = json!({ "approved": true, "approver": "bo", "comment": "fine" });
    // The task waits for its token once the message is sent: retry until it does.
    let mut answered = false;
    for _ in 0..200 {
        if engine
            .callbacks()
            .answer(
                &token,
                asl_engine::callbacks::CallbackOutcome::Success(decision.clone()),
            )
            .is_ok()
        {
            answered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(answered, "the callback task never waited for its token");
    let result = running.await.unwrap().expect("runs");
    match result.status {
        asl_engine::ExecutionStatus::Succeeded { output } => {
            assert_eq!(output["orderId"], "po-1");
            assert_eq!(output["requestId"], "r-1");
        }
        other => panic!("expected success, got {other:?}"),
    }
}

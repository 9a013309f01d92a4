//! The Step Functions starter against the emulator: one execution per order, even when the SQS
//! message is delivered again.

mod common;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use common::{message, sdk_config, unique};
use steps::aws::SfnStarter;
use steps::ports::{ExecutionStarter, StartOutcome};
use steps::starter::{execution_name, start_batch};

const DEFINITION: &str = r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#;

async fn state_machine(sfn: &aws_sdk_sfn::Client) -> String {
    sfn.create_state_machine()
        .name(unique("order-processing"))
        .definition(DEFINITION)
        .role_arn("arn:aws:iam::123456789012:role/order-processing")
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_owned()
}

async fn executions(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    sfn.list_executions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap()
        .executions()
        .to_vec()
}

#[tokio::test]
async fn a_duplicate_start_is_a_success_that_starts_nothing_new() {
    let sfn = aws_sdk_sfn::Client::new(&sdk_config().await);
    let arn = state_machine(&sfn).await;
    let starter = SfnStarter::new(sfn.clone(), &arn);
    let order = message(&uuid::Uuid::new_v4().to_string(), &[("mug", 1)]);
    let name = execution_name(&order.order_id);

    let first = starter.start(&name, &order).await.unwrap();
    let StartOutcome::Started { execution_arn } = &first else {
        panic!("not started: {first:?}")
    };
    // Same name and input: idempotent (the same execution, or AlreadyExists once it closed).
    let second = starter.start(&name, &order).await.unwrap();
    assert!(
        second == first || second == StartOutcome::AlreadyExists,
        "unexpected second start {second:?}"
    );
    // Same name, different input: still nothing new.
    let mut changed = order.clone();
    changed.total_cents += 1;
    assert_eq!(
        starter.start(&name, &changed).await.unwrap(),
        StartOutcome::AlreadyExists
    );

    let list = executions(&sfn, &arn).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name(), name);
    assert_eq!(list[0].execution_arn(), execution_arn);

    // The input is the typed order message, serialized.
    let described = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap();
    let input: shop_model::OrderMessage = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(input, order);
}

#[tokio::test]
async fn the_sqs_handler_starts_each_order_once_and_reports_bad_messages() {
    let sfn = aws_sdk_sfn::Client::new(&sdk_config().await);
    let arn = state_machine(&sfn).await;
    let starter = SfnStarter::new(sfn.clone(), &arn);
    let (a, b) = (unique("o"), unique("o"));
    let body = |id: &str| serde_json::to_string(&message(id, &[("mug", 1)])).unwrap();
    let records = [
        ("m1", body(&a)),
        ("m2", body(&b)),
        ("m3", body(&a)),
        ("m4", "{\"orderId\": 5}".to_owned()),
    ];
    let mut event = SqsEvent::default();
    for (id, body) in records {
        let mut record = SqsMessage::default();
        record.message_id = Some(id.to_owned());
        record.body = Some(body);
        event.records.push(record);
    }
    let response = start_batch(event, &starter).await.unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m4"]);
    let mut names: Vec<String> = executions(&sfn, &arn)
        .await
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    names.sort();
    let mut expected = vec![execution_name(&a), execution_name(&b)];
    expected.sort();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn a_missing_state_machine_is_a_batch_item_failure() {
    let sfn = aws_sdk_sfn::Client::new(&sdk_config().await);
    let starter = SfnStarter::new(
        sfn,
        format!(
            "arn:aws:states:us-east-1:123456789012:stateMachine:{}",
            unique("none")
        ),
    );
    let err = starter
        .start("order-x", &message("x", &[("mug", 1)]))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
}

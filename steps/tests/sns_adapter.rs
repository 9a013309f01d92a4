//! The SNS notifier against the emulator: JSON body and a `status` attribute subscribers filter on.

mod common;

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use common::{sdk_config, unique};
use shop_model::OrderStatus;
use steps::aws::SnsNotifier;
use steps::model::{OrderOutcome, OutcomeLine};
use steps::notify::notify;

async fn queue(sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(unique("orders-sub"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    (url, arn)
}

async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    for _ in 0..3 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        all.extend(out.messages().iter().cloned());
    }
    all
}

fn outcome(order_id: &str, status: OrderStatus) -> OrderOutcome {
    let failed = status == OrderStatus::Failed;
    OrderOutcome {
        order_id: order_id.to_owned(),
        user_sub: "user-1".to_owned(),
        status,
        items: vec![OutcomeLine {
            product_id: "mug".into(),
            quantity: 2,
            name: Some("Mug".into()),
            unit_price_cents: Some(1250),
            line_total_cents: Some(2500),
        }],
        total_cents: 2500,
        currency: "USD".into(),
        created_at: "2026-11-25T10:00:00Z".into(),
        updated_at: None,
        payment_id: (!failed).then(|| "pay_1".to_owned()),
        failure_error: failed.then(|| "OutOfStock".to_owned()),
        failure_reason: failed.then(|| "not enough stock for mug".to_owned()),
    }
}

#[tokio::test]
async fn publishes_json_with_a_filterable_status_attribute() {
    let config = sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(unique("order-topic"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();

    let (all_url, all_arn) = queue(&sqs).await;
    let (failed_url, failed_arn) = queue(&sqs).await;
    for (arn, filter) in [
        (all_arn, None),
        (failed_arn, Some(r#"{"status":["FAILED"]}"#)),
    ] {
        let mut attributes = HashMap::from([("RawMessageDelivery".to_owned(), "true".to_owned())]);
        if let Some(filter) = filter {
            attributes.insert("FilterPolicy".to_owned(), filter.to_owned());
        }
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(arn)
            .set_attributes(Some(attributes))
            .send()
            .await
            .unwrap();
    }

    let notifier = SnsNotifier::new(sns.clone(), &topic);
    let done = notify(outcome("n-ok", OrderStatus::Completed), &notifier)
        .await
        .unwrap();
    assert!(!done.message_id.is_empty());
    notify(outcome("n-bad", OrderStatus::Failed), &notifier)
        .await
        .unwrap();

    let all = receive_all(&sqs, &all_url).await;
    assert_eq!(all.len(), 2);
    let completed = all
        .iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(m.body().unwrap()).unwrap())
        .find(|b| b["orderId"] == "n-ok")
        .unwrap();
    assert_eq!(completed["status"], "COMPLETED");
    assert_eq!(completed["totalCents"], 2500);
    assert_eq!(completed["currency"], "USD");
    assert_eq!(completed["items"][0]["productId"], "mug");
    assert!(completed.get("failureError").is_none());

    let failed = receive_all(&sqs, &failed_url).await;
    assert_eq!(
        failed.len(),
        1,
        "the filter policy lets only FAILED through"
    );
    let body: serde_json::Value = serde_json::from_str(failed[0].body().unwrap()).unwrap();
    assert_eq!(body["orderId"], "n-bad");
    assert_eq!(body["failureError"], "OutOfStock");
    assert_eq!(body["failureReason"], "not enough stock for mug");
    let status = &failed[0].message_attributes().unwrap()["status"];
    assert_eq!(status.data_type(), "String");
    assert_eq!(status.string_value(), Some("FAILED"));
}

#[tokio::test]
async fn a_missing_topic_is_a_final_error() {
    let sns = aws_sdk_sns::Client::new(&sdk_config().await);
    let notifier = SnsNotifier::new(
        sns,
        format!("arn:aws:sns:us-east-1:123456789012:{}", unique("none")),
    );
    let err = notify(outcome("n-x", OrderStatus::Completed), &notifier)
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
}

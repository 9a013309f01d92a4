//! The tally's look at the order DLQ against the emulator: it sees every message, leaves them
//! all in the queue, and a second look right after sees them all again.

use std::collections::BTreeSet;

use serde_json::json;

async fn aws() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run through `cargo xtask test`, which starts the emulator")
    });
    local_stack::emulator::sdk_config(&endpoint, "tally-test").await
}

#[tokio::test]
async fn peeking_at_the_dlq_sees_every_message_and_leaves_them_there() {
    let aws = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let url = sqs
        .create_queue()
        .queue_name(format!("tally-dlq-{}", uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // More than one receive's worth (10), plus a message that is not an order.
    let mut expected = BTreeSet::new();
    for i in 0..23 {
        let id = format!("order-{i}");
        sqs.send_message()
            .queue_url(&url)
            .message_body(json!({"orderId": id, "items": []}).to_string())
            .send()
            .await
            .unwrap();
        expected.insert(id);
    }
    sqs.send_message()
        .queue_url(&url)
        .message_body("not json")
        .send()
        .await
        .unwrap();
    let outputs = json!({ "OrderDlqUrl": url });

    let first = xtask::tally::dlq_order_ids(&aws, &outputs).await.unwrap();
    assert_eq!(first, expected);
    let second = xtask::tally::dlq_order_ids(&aws, &outputs).await.unwrap();
    assert_eq!(
        second, expected,
        "a second look right after sees them all again"
    );

    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
        "24",
        "nothing deleted"
    );
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
}

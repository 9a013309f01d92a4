//! `POST /orders` and `GET /orders/{orderId}` end to end over the emulator's DynamoDB
//! and SQS: the queued body is exactly the `OrderMessage` JSON, and repeats queue nothing.

mod common;

use api::app::{GetOrderApi, OrderEntryApi, Service};
use api::aws::{DynamoCatalog, DynamoOrders, SqsQueue};
use api::ports::OrderQueue;
use api::ApiRequest;
use serde_json::json;
use shop_model::{OrderLine, OrderMessage};

async fn queue(client: &aws_sdk_sqs::Client) -> String {
    client
        .create_queue()
        .queue_name(common::unique("orders"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

async fn receive_all(client: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let output = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    output
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn the_message_body_is_the_order_message_json() {
    let config = common::sdk_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let url = queue(&client).await;
    let message = OrderMessage {
        order_id: "o-1".into(),
        user_sub: "u-1".into(),
        items: vec![OrderLine {
            product_id: "p-1".into(),
            quantity: 3,
        }],
        payment_token: Some("tok".into()),
        total_cents: 3897,
        currency: "USD".into(),
        created_at: "2026-11-25T10:00:00.000Z".into(),
    };
    SqsQueue::new(client.clone(), url.clone())
        .enqueue(&message)
        .await
        .unwrap();
    let bodies = receive_all(&client, &url).await;
    assert_eq!(bodies, [serde_json::to_string(&message).unwrap()]);
}

#[tokio::test]
async fn orders_are_priced_recorded_queued_once_and_readable_by_their_owner() {
    let config = common::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let products = common::create_products_table(&dynamodb).await;
    let orders = common::create_orders_table(&dynamodb).await;
    let url = queue(&sqs).await;
    common::put_product(&dynamodb, &products, "p-1", "books", 1299).await;
    common::put_product(&dynamodb, &products, "p-2", "games", 4999).await;

    let entry = OrderEntryApi {
        catalog: DynamoCatalog::new(dynamodb.clone(), products),
        orders: DynamoOrders::new(dynamodb.clone(), orders.clone()),
        queue: SqsQueue::new(sqs.clone(), url.clone()),
    };
    let body = json!({
        "items": [{"productId": "p-1", "quantity": 2}, {"productId": "p-2", "quantity": 1}],
        "paymentToken": "tok_visa"
    });
    let request = ApiRequest::new("POST", "/orders")
        .with_json(&body)
        .with_header("Idempotency-Key", "checkout-1")
        .with_claims("user-1", Some("u1@example.com"));

    let first = entry.handle(request.clone()).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let answer = first.json_body();
    assert_eq!(answer["totalCents"], 2 * 1299 + 4999);
    let order_id = answer["orderId"].as_str().unwrap().to_string();

    let repeat = entry.handle(request).await;
    assert_eq!(repeat.status, 202);
    assert_eq!(repeat.json_body(), answer);

    let bodies = receive_all(&sqs, &url).await;
    assert_eq!(bodies.len(), 1, "one message for two requests: {bodies:?}");
    let message: OrderMessage = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(message.order_id, order_id);
    assert_eq!(message.total_cents, 7597);
    assert_eq!(message.payment_token.as_deref(), Some("tok_visa"));
    assert_eq!(bodies[0], serde_json::to_string(&message).unwrap());

    let reader = GetOrderApi {
        orders: DynamoOrders::new(dynamodb.clone(), orders),
    };
    let path = format!("/orders/{order_id}");
    let mine = reader
        .handle(ApiRequest::new("GET", &path).with_claims("user-1", None))
        .await;
    assert_eq!(mine.status, 200);
    let view = mine.json_body();
    assert_eq!(view["status"], "PENDING");
    assert_eq!(view["items"][1]["lineTotalCents"], 4999);
    assert!(!mine.body.contains("tok_visa"));
    let theirs = reader
        .handle(ApiRequest::new("GET", &path).with_claims("user-2", None))
        .await;
    assert_eq!(theirs.status, 404);
}

#[tokio::test]
async fn a_missing_queue_leaves_the_order_for_the_retry() {
    let config = common::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let products = common::create_products_table(&dynamodb).await;
    let orders = common::create_orders_table(&dynamodb).await;
    common::put_product(&dynamodb, &products, "p-1", "books", 1299).await;
    let url = queue(&sqs).await;
    let request = ApiRequest::new("POST", "/orders")
        .with_json(&json!({"items": [{"productId": "p-1", "quantity": 1}]}))
        .with_header("Idempotency-Key", "k-9")
        .with_claims("user-9", None);

    let broken = OrderEntryApi {
        catalog: DynamoCatalog::new(dynamodb.clone(), products.clone()),
        orders: DynamoOrders::new(dynamodb.clone(), orders.clone()),
        queue: SqsQueue::new(sqs.clone(), format!("{url}-missing")),
    };
    let failed = broken.handle(request.clone()).await;
    assert!(failed.status >= 500, "{}", failed.body);

    let working = OrderEntryApi {
        catalog: DynamoCatalog::new(dynamodb.clone(), products),
        orders: DynamoOrders::new(dynamodb.clone(), orders),
        queue: SqsQueue::new(sqs.clone(), url.clone()),
    };
    let retried = working.handle(request).await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(receive_all(&sqs, &url).await.len(), 1);
}

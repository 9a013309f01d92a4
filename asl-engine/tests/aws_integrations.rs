//! The optimized DynamoDB, SQS and SNS integrations against the emulator (moto), through the AWS SDK.
//! Run through `cargo xtask test`, which starts the emulator and sets AWS_ENDPOINT_URL.

use asl_engine::aws::AwsIntegrations;
use asl_engine::{Engine, ExecOptions, ExecutionStatus, TaskRegistry};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use serde_json::json;
use workflow_dsl::model::StateMachine;

async fn sdk_config() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run through `cargo xtask test`, which starts the emulator"
    );
    shop_model::aws::sdk_config().await
}

#[tokio::test]
async fn dynamodb_sqs_sns_integrations_call_the_services() {
    let conf = sdk_config().await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let table = format!("engine-orders-{suffix}");
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    ddb.create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("orderId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("orderId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("engine-q-{suffix}"))
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .unwrap()
        .to_string();
    let sns = aws_sdk_sns::Client::new(&conf);
    let topic_arn = sns
        .create_topic()
        .name(format!("engine-t-{suffix}"))
        .send()
        .await
        .expect("create topic")
        .topic_arn()
        .unwrap()
        .to_string();

    let machine = StateMachine::from_value(json!({
        "StartAt": "Put",
        "States": {
            "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                "Parameters": {"TableName": table, "Item": {"orderId": {"S.$": "$.orderId"}, "status": {"S": "PENDING"}, "totalCents": {"N": "1250"}}},
                "ResultPath": null, "Next": "Update"},
            "Update": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {"TableName": table, "Key": {"orderId": {"S.$": "$.orderId"}},
                    "UpdateExpression": "SET #s = :s", "ConditionExpression": "#s = :p",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "COMPLETED"}, ":p": {"S": "PENDING"}},
                    "ReturnValues": "ALL_NEW"},
                "ResultSelector": {"status.$": "$.Attributes.status.S"}, "ResultPath": "$.update", "Next": "Get"},
            "Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"orderId": {"S.$": "$.orderId"}}},
                "ResultSelector": {"total.$": "$.Item.totalCents.N"}, "ResultPath": "$.got", "Next": "Enqueue"},
            "Enqueue": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$"}, "ResultPath": "$.sqs", "Next": "Notify"},
            "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic_arn, "Message": {"orderId.$": "$.orderId"}}, "ResultPath": "$.sns", "Next": "UpdateAgain"},
            "UpdateAgain": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
                "Parameters": {"TableName": table, "Key": {"orderId": {"S.$": "$.orderId"}},
                    "UpdateExpression": "SET #s = :s", "ConditionExpression": "#s = :p",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "FAILED"}, ":p": {"S": "PENDING"}}},
                "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.conflict", "Next": "Done"}],
                "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    }))
    .unwrap();

    let mut registry = TaskRegistry::new();
    AwsIntegrations::from_conf(&conf).register(&mut registry);
    let r = Engine::new(registry)
        .execute(
            &machine,
            json!({"orderId": format!("o-{suffix}")}),
            ExecOptions::virtual_time(),
        )
        .await
        .unwrap();
    let ExecutionStatus::Succeeded { output } = r.status else {
        panic!("execution failed: {:?}", r.status);
    };
    assert_eq!(output["update"]["status"], "COMPLETED");
    assert_eq!(output["got"]["total"], "1250");
    assert!(output["sqs"]["MessageId"].is_string());
    assert!(output["sns"]["MessageId"].is_string());
    assert_eq!(
        output["conflict"]["Error"],
        "DynamoDB.ConditionalCheckFailedException"
    );

    let msgs = sqs
        .receive_message()
        .queue_url(&queue_url)
        .send()
        .await
        .expect("receive");
    let body: serde_json::Value = serde_json::from_str(msgs.messages()[0].body().unwrap()).unwrap();
    assert_eq!(body["orderId"], format!("o-{suffix}"));
}

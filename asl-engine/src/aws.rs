//! Optimized service integrations that call the real services through the AWS SDK for Rust
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html>): DynamoDB
//! getItem/putItem/updateItem/deleteItem, SNS publish, SQS sendMessage and Step Functions
//! startExecution. Parameters and results use the service API's JSON shapes (DynamoDB attribute
//! values as `{"S": "..."}`), as in ASL. Point the SDK at a local emulator with `AWS_ENDPOINT_URL`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::Blob;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::tasks::{TaskContext, TaskError, TaskHandler, TaskRegistry};

pub use crate::s3_items::S3ItemStore;

/// SDK clients for the optimized integrations.
#[derive(Clone, Debug)]
pub struct AwsIntegrations {
    dynamodb: aws_sdk_dynamodb::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    sfn: aws_sdk_sfn::Client,
    s3: S3ItemStore,
}

impl AwsIntegrations {
    /// Creates the DynamoDB, SNS, SQS and Step Functions clients from `conf`.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        AwsIntegrations {
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            sqs: aws_sdk_sqs::Client::new(conf),
            sfn: aws_sdk_sfn::Client::new(conf),
            s3: S3ItemStore::from_conf(conf),
        }
    }

    /// Serves `arn:aws:states:::dynamodb:*`, `sns:*`, `sqs:*` and `states:startExecution` from
    /// `registry`, and gives its distributed Map states Amazon S3 as their item store.
    pub fn register(self, registry: &mut TaskRegistry) {
        registry.set_item_store(Arc::new(self.s3.clone()));
        let me: Arc<dyn TaskHandler> = Arc::new(self);
        for prefix in [
            "arn:aws:states:::dynamodb:",
            "arn:aws:states:::sns:",
            "arn:aws:states:::sqs:",
            "arn:aws:states:::states:startExecution",
        ] {
            registry.register_resource(prefix, me.clone());
        }
    }
}

#[async_trait]
impl TaskHandler for AwsIntegrations {
    async fn invoke(&self, input: Value, ctx: &TaskContext) -> Result<Value, TaskError> {
        let api = ctx
            .resource
            .strip_prefix("arn:aws:states:::")
            .unwrap_or(&ctx.resource);
        // `.waitForTaskToken` calls the same API; the task then waits for its token's answer.
        let api = api.strip_suffix(".waitForTaskToken").unwrap_or(api);
        match api {
            "dynamodb:getItem" => self.get_item(&input).await,
            "dynamodb:putItem" => self.put_item(&input).await,
            "dynamodb:updateItem" => self.update_item(&input).await,
            "dynamodb:deleteItem" => self.delete_item(&input).await,
            "sns:publish" => self.publish(&input).await,
            "sqs:sendMessage" => self.send_message(&input).await,
            "states:startExecution" => self.start_execution(&input).await,
            other => Err(TaskError::new(
                crate::error::names::RUNTIME,
                format!("The integration '{other}' is not supported by this engine"),
            )),
        }
    }
}

fn param_error(field: &str, what: &str) -> TaskError {
    TaskError::new(
        crate::error::names::RUNTIME,
        format!("The parameter '{field}' {what}"),
    )
}

fn req_str<'v>(p: &'v Value, field: &str) -> Result<&'v str, TaskError> {
    p.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| param_error(field, "is required and must be a string"))
}

fn opt_str(p: &Value, field: &str) -> Option<String> {
    p.get(field).and_then(Value::as_str).map(str::to_string)
}

/// A message body: a string as is, any other JSON serialised (as Step Functions does).
fn body(p: &Value, field: &str) -> Result<String, TaskError> {
    match p.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Ok(v.to_string()),
        None => Err(param_error(field, "is required")),
    }
}

fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug>(service: &str, e: E) -> TaskError {
    let code = e.code().unwrap_or("ServiceException").to_string();
    let msg = e
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{e:?}"));
    TaskError::new(format!("{service}.{code}"), msg)
}

/// DynamoDB JSON (`{"S": "x"}`) to an SDK attribute value.
pub fn to_attr(v: &Value) -> Result<AttributeValue, String> {
    let Some(m) = v.as_object().filter(|m| m.len() == 1) else {
        return Err(format!("not a DynamoDB attribute value: {v}"));
    };
    let (t, x) = m.iter().next().expect("one entry");
    let strs = |x: &Value| -> Result<Vec<String>, String> {
        x.as_array()
            .ok_or_else(|| format!("{t} needs an array"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{t} needs strings"))
            })
            .collect()
    };
    let num = |x: &Value| -> Result<String, String> {
        match x {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("N needs a number string".into()),
        }
    };
    let blob = |x: &Value| -> Result<Blob, String> {
        let s = x.as_str().ok_or("B needs a base64 string")?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob::new)
            .map_err(|e| e.to_string())
    };
    Ok(match t.as_str() {
        "S" => AttributeValue::S(x.as_str().ok_or("S needs a string")?.to_string()),
        "N" => AttributeValue::N(num(x)?),
        "BOOL" => AttributeValue::Bool(x.as_bool().ok_or("BOOL needs a boolean")?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(x)?),
        "SS" => AttributeValue::Ss(strs(x)?),
        "NS" => AttributeValue::Ns(
            x.as_array()
                .ok_or("NS needs an array")?
                .iter()
                .map(num)
                .collect::<Result<_, _>>()?,
        ),
        "BS" => AttributeValue::Bs(
            x.as_array()
                .ok_or("BS needs an array")?
                .iter()
                .map(blob)
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            x.as_array()
                .ok_or("L needs an array")?
                .iter()
                .map(to_attr)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(to_attr_map(x)?),
        other => return Err(format!("unknown attribute type '{other}'")),
    })
}

/// A map of DynamoDB JSON values (`{"id": {"S": "x"}}`) to SDK attribute values.
pub fn to_attr_map(v: &Value) -> Result<HashMap<String, AttributeValue>, String> {
    v.as_object()
        .ok_or_else(|| format!("expected a map of attribute values, found {v}"))?
        .iter()
        .map(|(k, x)| Ok((k.clone(), to_attr(x)?)))
        .collect()
}

/// An SDK attribute value as DynamoDB JSON.
pub fn from_attr(a: &AttributeValue) -> Value {
    let b64 = |b: &Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match a {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::B(b) => json!({"B": b64(b)}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(b64).collect::<Vec<_>>()}),
        AttributeValue::L(v) => json!({"L": v.iter().map(from_attr).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": from_attr_map(m)}),
        _ => Value::Null,
    }
}

/// A map of SDK attribute values as DynamoDB JSON.
pub fn from_attr_map(m: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), from_attr(v)))
            .collect::<Map<_, _>>(),
    )
}

fn names(p: &Value) -> Option<HashMap<String, String>> {
    p.get("ExpressionAttributeNames")?.as_object().map(|m| {
        m.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    })
}

fn values(p: &Value) -> Result<Option<HashMap<String, AttributeValue>>, TaskError> {
    p.get("ExpressionAttributeValues")
        .map(|v| to_attr_map(v).map_err(|e| param_error("ExpressionAttributeValues", &e)))
        .transpose()
}

fn attr_map_param(p: &Value, field: &str) -> Result<HashMap<String, AttributeValue>, TaskError> {
    to_attr_map(
        p.get(field)
            .ok_or_else(|| param_error(field, "is required"))?,
    )
    .map_err(|e| param_error(field, &e))
}

fn return_values(p: &Value) -> Option<ReturnValue> {
    opt_str(p, "ReturnValues").map(|s| ReturnValue::from(s.as_str()))
}

impl AwsIntegrations {
    async fn get_item(&self, p: &Value) -> Result<Value, TaskError> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(req_str(p, "TableName")?)
            .set_key(Some(attr_map_param(p, "Key")?))
            .set_consistent_read(p.get("ConsistentRead").and_then(Value::as_bool))
            .set_projection_expression(opt_str(p, "ProjectionExpression"))
            .set_expression_attribute_names(names(p))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB", e.into_service_error()))?;
        let mut r = Map::new();
        if let Some(item) = out.item() {
            r.insert("Item".into(), from_attr_map(item));
        }
        Ok(Value::Object(r))
    }

    async fn put_item(&self, p: &Value) -> Result<Value, TaskError> {
        let out = self
            .dynamodb
            .put_item()
            .table_name(req_str(p, "TableName")?)
            .set_item(Some(attr_map_param(p, "Item")?))
            .set_condition_expression(opt_str(p, "ConditionExpression"))
            .set_expression_attribute_names(names(p))
            .set_expression_attribute_values(values(p)?)
            .set_return_values(return_values(p))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB", e.into_service_error()))?;
        Ok(attributes_output(out.attributes()))
    }

    async fn update_item(&self, p: &Value) -> Result<Value, TaskError> {
        let out = self
            .dynamodb
            .update_item()
            .table_name(req_str(p, "TableName")?)
            .set_key(Some(attr_map_param(p, "Key")?))
            .set_update_expression(opt_str(p, "UpdateExpression"))
            .set_condition_expression(opt_str(p, "ConditionExpression"))
            .set_expression_attribute_names(names(p))
            .set_expression_attribute_values(values(p)?)
            .set_return_values(return_values(p))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB", e.into_service_error()))?;
        Ok(attributes_output(out.attributes()))
    }

    async fn delete_item(&self, p: &Value) -> Result<Value, TaskError> {
        let out = self
            .dynamodb
            .delete_item()
            .table_name(req_str(p, "TableName")?)
            .set_key(Some(attr_map_param(p, "Key")?))
            .set_condition_expression(opt_str(p, "ConditionExpression"))
            .set_expression_attribute_names(names(p))
            .set_expression_attribute_values(values(p)?)
            .set_return_values(return_values(p))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB", e.into_service_error()))?;
        Ok(attributes_output(out.attributes()))
    }

    async fn publish(&self, p: &Value) -> Result<Value, TaskError> {
        let out = self
            .sns
            .publish()
            .set_topic_arn(opt_str(p, "TopicArn"))
            .set_target_arn(opt_str(p, "TargetArn"))
            .set_phone_number(opt_str(p, "PhoneNumber"))
            .message(body(p, "Message")?)
            .set_subject(opt_str(p, "Subject"))
            .set_message_structure(opt_str(p, "MessageStructure"))
            .set_message_group_id(opt_str(p, "MessageGroupId"))
            .set_message_deduplication_id(opt_str(p, "MessageDeduplicationId"))
            .send()
            .await
            .map_err(|e| sdk_error("SNS", e.into_service_error()))?;
        Ok(json!({"MessageId": out.message_id()}))
    }

    async fn send_message(&self, p: &Value) -> Result<Value, TaskError> {
        let out = self
            .sqs
            .send_message()
            .queue_url(req_str(p, "QueueUrl")?)
            .message_body(body(p, "MessageBody")?)
            .set_delay_seconds(
                p.get("DelaySeconds")
                    .and_then(Value::as_i64)
                    .map(|d| d as i32),
            )
            .set_message_group_id(opt_str(p, "MessageGroupId"))
            .set_message_deduplication_id(opt_str(p, "MessageDeduplicationId"))
            .send()
            .await
            .map_err(|e| sdk_error("SQS", e.into_service_error()))?;
        Ok(json!({"MessageId": out.message_id(), "MD5OfMessageBody": out.md5_of_message_body()}))
    }

    async fn start_execution(&self, p: &Value) -> Result<Value, TaskError> {
        let input = match p.get("Input") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => Some(v.to_string()),
        };
        let out = self
            .sfn
            .start_execution()
            .state_machine_arn(req_str(p, "StateMachineArn")?)
            .set_name(opt_str(p, "Name"))
            .set_input(input)
            .send()
            .await
            .map_err(|e| sdk_error("StepFunctions", e.into_service_error()))?;
        Ok(json!({
            "ExecutionArn": out.execution_arn(),
            "StartDate": out.start_date().secs() as f64 + out.start_date().subsec_nanos() as f64 / 1e9,
        }))
    }
}

/// The task result of PutItem, UpdateItem and DeleteItem: `{"Attributes": {...}}` when DynamoDB
/// returned attributes (`ReturnValues`), else `{}`, as the optimized integration does.
fn attributes_output(attributes: Option<&HashMap<String, AttributeValue>>) -> Value {
    let mut result = Map::new();
    if let Some(attributes) = attributes {
        result.insert("Attributes".into(), from_attr_map(attributes));
    }
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_round_trip() {
        let v = json!({"id": {"S": "p-1"}, "n": {"N": "3"}, "tags": {"SS": ["a"]}, "ok": {"BOOL": true},
            "items": {"L": [{"M": {"q": {"N": "1"}}}]}, "none": {"NULL": true}, "bin": {"B": "aGk="}});
        let m = to_attr_map(&v).unwrap();
        assert_eq!(from_attr_map(&m), v);
        assert!(to_attr(&json!({"X": 1})).is_err());
    }
}

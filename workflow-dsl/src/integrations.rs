//! Optimized AWS service integrations: resource ARNs, integration patterns and request
//! templates for Lambda, DynamoDB, SNS, SQS and Step Functions, plus the SAM
//! `DefinitionSubstitutions` placeholders (`${Name}`) the templates refer to.
//!
//! Reference: <https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html> and
//! <https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html> (patterns).
//!
//! ```
//! use serde_json::json;
//! use workflow_dsl::integrations::{dynamodb, placeholder};
//!
//! let update = dynamodb::update_item(
//!     &placeholder("OrdersTableName"),
//!     json!({ "orderId": dynamodb::s_path("$.orderId") }),
//!     "SET #s = :s",
//! )
//! .parameter("ExpressionAttributeNames", json!({ "#s": "status" }))
//! .parameter("ExpressionAttributeValues", json!({ ":s": dynamodb::s("COMPLETED") }));
//! assert_eq!(update.resource(), "arn:aws:states:::dynamodb:updateItem");
//! assert_eq!(update.parameters()["TableName"], "${OrdersTableName}");
//! ```

use serde_json::{json, Map, Value};
/// A SAM `DefinitionSubstitutions` placeholder: `placeholder("OrderTopicArn")` is
/// `${OrderTopicArn}`.
pub fn placeholder(name: &str) -> String {
    format!("${{{name}}}")
}

/// How Step Functions waits for an integrated service
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationPattern {
    /// Call the service and continue with its HTTP response.
    RequestResponse,
    /// `.sync`: wait for the job to complete.
    Sync,
    /// `.sync:2`: wait for the job; Step Functions `StartExecution` returns parsed JSON output.
    Sync2,
    /// `.waitForTaskToken`: pause until `SendTaskSuccess`/`SendTaskFailure` with the task token
    /// (`$$.Task.Token`) that must be passed in the request.
    WaitForTaskToken,
}

impl IntegrationPattern {
    /// The resource ARN suffix (`""`, `.sync`, `.sync:2`, `.waitForTaskToken`).
    pub fn suffix(self) -> &'static str {
        match self {
            IntegrationPattern::RequestResponse => "",
            IntegrationPattern::Sync => ".sync",
            IntegrationPattern::Sync2 => ".sync:2",
            IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }
}

/// `arn:aws:states:::<service>:<action><suffix>`.
pub fn resource_arn(service: &str, action: &str, pattern: IntegrationPattern) -> String {
    format!("arn:aws:states:::{service}:{action}{}", pattern.suffix())
}

/// A service integration call: resource ARN, `Parameters` template and the schema of the result.
/// Turn it into a state with [`crate::builder::Task::call`].
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    service: &'static str,
    action: &'static str,
    pattern: IntegrationPattern,
    supported: &'static [IntegrationPattern],
    parameters: Map<String, Value>,
    result_schema: Value,
}

impl Integration {
    fn new(
        service: &'static str,
        action: &'static str,
        supported: &'static [IntegrationPattern],
        parameters: Value,
        result_schema: Value,
    ) -> Self {
        let Value::Object(parameters) = parameters else {
            unreachable!("integration templates are objects")
        };
        Integration {
            service,
            action,
            pattern: IntegrationPattern::RequestResponse,
            supported,
            parameters,
            result_schema,
        }
    }

    /// Uses another integration pattern. An unsupported one is reported at emit time.
    pub fn pattern(mut self, pattern: IntegrationPattern) -> Self {
        self.pattern = pattern;
        self
    }

    /// Sets one request field (`"Key"` for a literal, `"Key.$"` for a path or intrinsic).
    /// Setting `"Key"` removes `"Key.$"` and the other way round.
    pub fn parameter(mut self, key: &str, value: impl Into<Value>) -> Self {
        let other = match key.strip_suffix(".$") {
            Some(plain) => plain.to_owned(),
            None => format!("{key}.$"),
        };
        self.parameters.remove(&other);
        self.parameters.insert(key.to_owned(), value.into());
        self
    }

    /// The resource ARN, e.g. `arn:aws:states:::sqs:sendMessage.waitForTaskToken`.
    pub fn resource(&self) -> String {
        resource_arn(self.service, self.action, self.pattern)
    }

    /// The `Parameters` template.
    pub fn parameters(&self) -> Value {
        Value::Object(self.parameters.clone())
    }

    /// JSON Schema of what the call returns (before ResultSelector/ResultPath).
    pub fn result_schema(&self) -> &Value {
        &self.result_schema
    }

    /// The chosen pattern.
    pub fn integration_pattern(&self) -> IntegrationPattern {
        self.pattern
    }

    /// A message naming the supported patterns if the chosen one is not.
    /// True when the service action supports `pattern`.
    pub fn supports(&self, pattern: IntegrationPattern) -> bool {
        self.supported.contains(&pattern)
    }

    pub(crate) fn pattern_problem(&self) -> Option<String> {
        (!self.supported.contains(&self.pattern)).then(|| {
            format!(
                "{}:{} does not support the {:?} integration pattern; supported: {}",
                self.service,
                self.action,
                self.pattern,
                self.supported
                    .iter()
                    .map(|p| format!("{p:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

const RR: &[IntegrationPattern] = &[IntegrationPattern::RequestResponse];
const RR_TOKEN: &[IntegrationPattern] = &[
    IntegrationPattern::RequestResponse,
    IntegrationPattern::WaitForTaskToken,
];
const ALL_PATTERNS: &[IntegrationPattern] = &[
    IntegrationPattern::RequestResponse,
    IntegrationPattern::Sync,
    IntegrationPattern::Sync2,
    IntegrationPattern::WaitForTaskToken,
];

fn object_schema(properties: Value) -> Value {
    json!({ "type": "object", "properties": properties })
}

/// Errors the Lambda service raises around an invocation
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaError {
    /// `Lambda.ServiceException`: the Lambda service had an internal error.
    ServiceException,
    /// `Lambda.AWSLambdaException`: the Lambda service raised a general (transient) exception.
    AwsLambdaException,
    /// `Lambda.SdkClientException`: the call to Lambda failed on the client side, e.g. on the
    /// network.
    SdkClientException,
    /// `Lambda.TooManyRequestsException`: Lambda throttled the invocation.
    TooManyRequestsException,
    /// The function returned an unhandled error (`Lambda.Unknown`), e.g. it timed out.
    Unknown,
}

impl LambdaError {
    /// The transient errors AWS recommends retrying.
    pub const TRANSIENT: &'static [LambdaError] = &[
        LambdaError::ServiceException,
        LambdaError::AwsLambdaException,
        LambdaError::SdkClientException,
        LambdaError::TooManyRequestsException,
    ];

    /// The ASL error name, e.g. `Lambda.ServiceException`.
    pub fn name(self) -> &'static str {
        match self {
            LambdaError::ServiceException => "Lambda.ServiceException",
            LambdaError::AwsLambdaException => "Lambda.AWSLambdaException",
            LambdaError::SdkClientException => "Lambda.SdkClientException",
            LambdaError::TooManyRequestsException => "Lambda.TooManyRequestsException",
            LambdaError::Unknown => "Lambda.Unknown",
        }
    }
}

/// Lambda `Invoke` (`arn:aws:states:::lambda:invoke`).
pub mod lambda {
    use super::*;

    /// Invokes `function` (ARN or placeholder) with the whole state input as payload.
    /// The result is `{"Payload": <function output>, "StatusCode": ..., ...}`.
    /// Supports request-response and `.waitForTaskToken` (then put `$$.Task.Token` in the
    /// payload with [`Integration::parameter`]).
    pub fn invoke(function: &str) -> Integration {
        Integration::new(
            "lambda",
            "invoke",
            RR_TOKEN,
            json!({ "FunctionName": function, "Payload.$": "$" }),
            object_schema(json!({
                "Payload": true,
                "StatusCode": { "type": "integer" },
                "ExecutedVersion": { "type": "string" },
                "SdkHttpMetadata": true,
                "SdkResponseMetadata": true,
            })),
        )
    }
}

/// DynamoDB `GetItem`, `PutItem`, `UpdateItem`, `DeleteItem` (request-response only).
pub mod dynamodb {
    use super::*;

    /// A string attribute value `{"S": value}`.
    pub fn s(value: &str) -> Value {
        json!({ "S": value })
    }
    /// A string attribute read from a path `{"S.$": path}`.
    pub fn s_path(path: &str) -> Value {
        json!({ "S.$": path })
    }
    /// A number attribute value `{"N": "value"}` (DynamoDB numbers travel as strings).
    pub fn n(value: impl std::fmt::Display) -> Value {
        json!({ "N": value.to_string() })
    }
    /// A number attribute from a path: `{"N.$": "States.JsonToString(path)"}`, since the path
    /// holds a JSON number and DynamoDB wants a string.
    pub fn n_path(path: &str) -> Value {
        json!({ "N.$": crate::intrinsics::json_to_string(crate::intrinsics::path(path)).to_string() })
    }

    fn item_schema() -> Value {
        json!({ "type": "object", "additionalProperties": true })
    }

    /// `GetItem` of `key` from `table`; the result is `{"Item": {...}}` (absent if not found).
    pub fn get_item(table: &str, key: Value) -> Integration {
        Integration::new(
            "dynamodb",
            "getItem",
            RR,
            json!({ "TableName": table, "Key": key }),
            object_schema(json!({ "Item": item_schema() })),
        )
    }

    /// `PutItem` of `item` into `table`.
    pub fn put_item(table: &str, item: Value) -> Integration {
        Integration::new(
            "dynamodb",
            "putItem",
            RR,
            json!({ "TableName": table, "Item": item }),
            object_schema(json!({ "Attributes": item_schema() })),
        )
    }

    /// `UpdateItem` of `key` in `table` with `update_expression`; add
    /// `ExpressionAttributeNames`/`Values`, `ConditionExpression`, `ReturnValues` with
    /// [`Integration::parameter`].
    pub fn update_item(table: &str, key: Value, update_expression: &str) -> Integration {
        Integration::new(
            "dynamodb",
            "updateItem",
            RR,
            json!({ "TableName": table, "Key": key, "UpdateExpression": update_expression }),
            object_schema(json!({ "Attributes": item_schema() })),
        )
    }

    /// `DeleteItem` of `key` from `table`.
    pub fn delete_item(table: &str, key: Value) -> Integration {
        Integration::new(
            "dynamodb",
            "deleteItem",
            RR,
            json!({ "TableName": table, "Key": key }),
            object_schema(json!({ "Attributes": item_schema() })),
        )
    }
}

/// SNS `Publish`.
pub mod sns {
    use super::*;

    /// Publishes the state input (as JSON) to `topic` (ARN or placeholder). Replace the message
    /// with `.parameter("Message", ...)` or `.parameter("Message.$", path)`, add `Subject`,
    /// `MessageAttributes`...
    pub fn publish(topic: &str) -> Integration {
        Integration::new(
            "sns",
            "publish",
            RR_TOKEN,
            json!({ "TopicArn": topic, "Message.$": "$" }),
            object_schema(
                json!({ "MessageId": { "type": "string" }, "SdkHttpMetadata": true, "SdkResponseMetadata": true }),
            ),
        )
    }
}

/// SQS `SendMessage`.
pub mod sqs {
    use super::*;

    /// Sends the state input (as JSON) to `queue_url` (URL or placeholder). Replace the body
    /// with `.parameter("MessageBody", ...)` / `.parameter("MessageBody.$", path)`.
    pub fn send_message(queue_url: &str) -> Integration {
        Integration::new(
            "sqs",
            "sendMessage",
            RR_TOKEN,
            json!({ "QueueUrl": queue_url, "MessageBody.$": "$" }),
            object_schema(json!({
                "MessageId": { "type": "string" },
                "MD5OfMessageBody": { "type": "string" },
                "SdkHttpMetadata": true,
                "SdkResponseMetadata": true,
            })),
        )
    }
}

/// Step Functions `StartExecution` (request-response, `.sync`, `.sync:2`, `.waitForTaskToken`).
pub mod states {
    use super::*;

    /// Starts `state_machine` (ARN or placeholder) with the state input. With `.sync`/`.sync:2`
    /// the result holds the child's `Output` (a JSON string with `.sync`, JSON with `.sync:2`).
    pub fn start_execution(state_machine: &str) -> Integration {
        Integration::new(
            "states",
            "startExecution",
            ALL_PATTERNS,
            json!({ "StateMachineArn": state_machine, "Input.$": "$" }),
            object_schema(json!({
                "ExecutionArn": { "type": "string" },
                "StartDate": true,
                "Output": true,
                "Status": { "type": "string" },
                "SdkHttpMetadata": true,
                "SdkResponseMetadata": true,
            })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_patterns() {
        assert_eq!(
            states::start_execution("arn")
                .pattern(IntegrationPattern::Sync2)
                .resource(),
            "arn:aws:states:::states:startExecution.sync:2"
        );
        let bad = dynamodb::get_item("t", json!({})).pattern(IntegrationPattern::Sync);
        let problem = bad.pattern_problem().unwrap();
        assert!(problem.contains("supported: RequestResponse"), "{problem}");
        assert!(sqs::send_message("q")
            .pattern(IntegrationPattern::WaitForTaskToken)
            .pattern_problem()
            .is_none());
    }

    #[test]
    fn parameter_replaces_the_other_form() {
        let publish = sns::publish("${T}").parameter("Message", "hi");
        assert_eq!(
            publish.parameters(),
            json!({ "TopicArn": "${T}", "Message": "hi" })
        );
    }
}

//! TestState's `mock.fieldValidationMode`: a mocked `result` checked against the response shape
//! of the API its Task state calls
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html>).
//!
//! `STRICT` (the default): every required member is present and every present member has the
//! member's type; `PRESENT`: every present member has its type; `NONE`: nothing is checked.
//! Members the API does not define are never checked. The shapes below are the response shapes of
//! the integrations this engine runs (Lambda Invoke, DynamoDB item APIs, SNS Publish, SQS
//! SendMessage, Step Functions StartExecution) and EventBridge PutEvents, written from each API
//! reference (URL beside each). A resource with no shape here (a Lambda function ARN, whose result
//! is the function's own payload; `.sync` and `.waitForTaskToken` patterns, whose result is not
//! the API's response; other `aws-sdk:*` APIs) is not checked, in any mode.
//!
//! The messages ("Mock result schema validation error: Required field 'X' is missing", "Field 'X'
//! must be a string|a number|an array") are AWS's as recorded in public test snapshots made against
//! AWS; "must be an object" and "must be a boolean" follow their pattern (no recording seen).

use serde_json::Value;

/// How strictly a mocked result is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Required members present, present members typed.
    Strict,
    /// Present members typed.
    Present,
    /// Nothing checked.
    None,
}

impl Mode {
    /// `STRICT`, `PRESENT` or `NONE`.
    pub(super) fn parse(s: &str) -> Option<Mode> {
        match s {
            "STRICT" => Some(Mode::Strict),
            "PRESENT" => Some(Mode::Present),
            "NONE" => Some(Mode::None),
            _ => None,
        }
    }
}

/// The type of a member of an API response.
#[derive(Debug)]
pub(super) enum Shape {
    String,
    Number,
    Boolean,
    /// A timestamp: Step Functions passes it as a string.
    Timestamp,
    /// A blob: base64 text.
    Blob,
    List(&'static Shape),
    Map(&'static Shape),
    Struct(&'static [Member]),
}

/// A member of a structure.
#[derive(Debug)]
pub(super) struct Member {
    name: &'static str,
    shape: &'static Shape,
    required: bool,
}

const fn opt(name: &'static str, shape: &'static Shape) -> Member {
    Member {
        name,
        shape,
        required: false,
    }
}

const fn req(name: &'static str, shape: &'static Shape) -> Member {
    Member {
        name,
        shape,
        required: true,
    }
}

const S: &Shape = &Shape::String;
const N: &Shape = &Shape::Number;

/// <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_ResponseSyntax>:
/// `Payload` is a blob in the API's model, so a mocked payload is text (the interpreter hands a
/// real invocation's JSON payload on as JSON).
static LAMBDA_INVOKE: Shape = Shape::Struct(&[
    opt("ExecutedVersion", S),
    opt("FunctionError", S),
    opt("LogResult", S),
    opt("Payload", &Shape::Blob),
    opt("StatusCode", N),
]);

/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html>
static ATTRIBUTE_VALUE: Shape = Shape::Struct(&[
    opt("B", &Shape::Blob),
    opt("BOOL", &Shape::Boolean),
    opt("BS", &Shape::List(&Shape::Blob)),
    opt("L", &Shape::List(&ATTRIBUTE_VALUE)),
    opt("M", &ATTRIBUTE_MAP),
    opt("N", S),
    opt("NS", &Shape::List(S)),
    opt("NULL", &Shape::Boolean),
    opt("S", S),
    opt("SS", &Shape::List(S)),
]);
static ATTRIBUTE_MAP: Shape = Shape::Map(&ATTRIBUTE_VALUE);

/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Capacity.html>
static CAPACITY: Shape = Shape::Struct(&[
    opt("CapacityUnits", N),
    opt("ReadCapacityUnits", N),
    opt("WriteCapacityUnits", N),
]);

/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ConsumedCapacity.html>
static CONSUMED_CAPACITY: Shape = Shape::Struct(&[
    opt("CapacityUnits", N),
    opt("GlobalSecondaryIndexes", &Shape::Map(&CAPACITY)),
    opt("LocalSecondaryIndexes", &Shape::Map(&CAPACITY)),
    opt("ReadCapacityUnits", N),
    opt("Table", &CAPACITY),
    opt("TableName", S),
    opt("WriteCapacityUnits", N),
]);

/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ItemCollectionMetrics.html>
static ITEM_COLLECTION_METRICS: Shape = Shape::Struct(&[
    opt("ItemCollectionKey", &ATTRIBUTE_MAP),
    opt("SizeEstimateRangeGB", &Shape::List(N)),
]);

/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html#API_GetItem_ResponseSyntax>
static DYNAMODB_GET_ITEM: Shape = Shape::Struct(&[
    opt("ConsumedCapacity", &CONSUMED_CAPACITY),
    opt("Item", &ATTRIBUTE_MAP),
]);

/// PutItem, UpdateItem and DeleteItem answer the same members:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#API_PutItem_ResponseSyntax>
static DYNAMODB_WRITE_ITEM: Shape = Shape::Struct(&[
    opt("Attributes", &ATTRIBUTE_MAP),
    opt("ConsumedCapacity", &CONSUMED_CAPACITY),
    opt("ItemCollectionMetrics", &ITEM_COLLECTION_METRICS),
]);

/// <https://docs.aws.amazon.com/sns/latest/api/API_Publish.html> (Response Elements)
static SNS_PUBLISH: Shape = Shape::Struct(&[opt("MessageId", S), opt("SequenceNumber", S)]);

/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_ResponseSyntax>
static SQS_SEND_MESSAGE: Shape = Shape::Struct(&[
    opt("MD5OfMessageAttributes", S),
    opt("MD5OfMessageBody", S),
    opt("MD5OfMessageSystemAttributes", S),
    opt("MessageId", S),
    opt("SequenceNumber", S),
]);

/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#API_StartExecution_ResponseSyntax>
/// (the Step Functions integration capitalises the members).
static SFN_START_EXECUTION: Shape =
    Shape::Struct(&[req("ExecutionArn", S), req("StartDate", &Shape::Timestamp)]);

/// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html#API_PutEvents_ResponseSyntax>
static EVENTS_PUT_EVENTS: Shape = Shape::Struct(&[
    opt(
        "Entries",
        &Shape::List(&Shape::Struct(&[
            opt("ErrorCode", S),
            opt("ErrorMessage", S),
            opt("EventId", S),
        ])),
    ),
    opt("FailedEntryCount", N),
]);

/// The response shape of the API a Task `resource` calls, if this module knows it.
pub(super) fn shape_of(resource: &str) -> Option<&'static Shape> {
    let api = resource.strip_prefix("arn:aws:states:::")?;
    // A `.waitForTaskToken` task's result is what SendTaskSuccess sends, and a `.sync` task's is
    // the finished job's description, not the called API's response: neither is checked.
    if api.contains('.') {
        return None;
    }
    Some(match api {
        "lambda:invoke" => &LAMBDA_INVOKE,
        "dynamodb:getItem" | "aws-sdk:dynamodb:getItem" => &DYNAMODB_GET_ITEM,
        "dynamodb:putItem"
        | "dynamodb:updateItem"
        | "dynamodb:deleteItem"
        | "aws-sdk:dynamodb:putItem"
        | "aws-sdk:dynamodb:updateItem"
        | "aws-sdk:dynamodb:deleteItem" => &DYNAMODB_WRITE_ITEM,
        "sns:publish" | "aws-sdk:sns:publish" => &SNS_PUBLISH,
        "sqs:sendMessage" | "aws-sdk:sqs:sendMessage" => &SQS_SEND_MESSAGE,
        "states:startExecution" | "aws-sdk:sfn:startExecution" => &SFN_START_EXECUTION,
        "events:putEvents" | "aws-sdk:eventbridge:putEvents" => &EVENTS_PUT_EVENTS,
        _ => return None,
    })
}

/// Checks a mocked result against `shape`; the error is AWS's ValidationException message.
pub(super) fn check(result: &Value, shape: &Shape, mode: Mode) -> Result<(), String> {
    if mode == Mode::None {
        return Ok(());
    }
    check_value(result, shape, "result", mode)
        .map_err(|e| format!("Mock result schema validation error: {e}"))
}

fn check_value(v: &Value, shape: &Shape, name: &str, mode: Mode) -> Result<(), String> {
    let ok = match shape {
        Shape::String | Shape::Timestamp | Shape::Blob => v.is_string(),
        Shape::Number => v.is_number(),
        Shape::Boolean => v.is_boolean(),
        Shape::List(item) => {
            let Some(a) = v.as_array() else {
                return Err(format!("Field '{name}' must be an array"));
            };
            for x in a {
                check_value(x, item, name, mode)?;
            }
            true
        }
        Shape::Map(value) => {
            let Some(o) = v.as_object() else {
                return Err(format!("Field '{name}' must be an object"));
            };
            for (k, x) in o {
                check_value(x, value, k, mode)?;
            }
            true
        }
        Shape::Struct(members) => {
            let Some(o) = v.as_object() else {
                return Err(format!("Field '{name}' must be an object"));
            };
            for m in members.iter() {
                match o.get(m.name) {
                    Some(x) => check_value(x, m.shape, m.name, mode)?,
                    None if m.required && mode == Mode::Strict => {
                        return Err(format!("Required field '{}' is missing", m.name));
                    }
                    None => {}
                }
            }
            true
        }
    };
    if ok {
        return Ok(());
    }
    let what = match shape {
        Shape::Number => "a number",
        Shape::Boolean => "a boolean",
        _ => "a string",
    };
    Err(format!("Field '{name}' must be {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SFN: &str = "arn:aws:states:::states:startExecution";

    fn strict(resource: &str, v: Value) -> Result<(), String> {
        check(&v, shape_of(resource).unwrap(), Mode::Strict)
    }

    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html: STRICT
    // needs every required field.
    #[test]
    fn strict_needs_required_members_present_does_not() {
        let e = strict(SFN, json!({})).unwrap_err();
        assert_eq!(
            e,
            "Mock result schema validation error: Required field 'ExecutionArn' is missing"
        );
        // Members are case-sensitive: a lower-case name is an unknown member.
        assert!(strict(SFN, json!({"executionArn": "a", "startDate": "b"})).is_err());
        let present = shape_of(SFN).unwrap();
        assert!(check(&json!({}), present, Mode::Present).is_ok());
        assert!(check(&json!({"ExecutionArn": 1}), present, Mode::Present).is_err());
        assert!(check(&json!({"ExecutionArn": 1}), present, Mode::None).is_ok());
    }

    #[test]
    fn present_members_must_have_their_type_anywhere_in_the_result() {
        assert_eq!(
            strict(
                "arn:aws:states:::lambda:invoke",
                json!({"StatusCode": "200"})
            )
            .unwrap_err(),
            "Mock result schema validation error: Field 'StatusCode' must be a number"
        );
        assert_eq!(
            strict("arn:aws:states:::events:putEvents", json!({"Entries": "x"})).unwrap_err(),
            "Mock result schema validation error: Field 'Entries' must be an array"
        );
        let second_bad = json!({"Entries": [{"EventId": "a"}, {"EventId": ["b"]}]});
        assert_eq!(
            strict("arn:aws:states:::events:putEvents", second_bad).unwrap_err(),
            "Mock result schema validation error: Field 'EventId' must be a string"
        );
        let capacity = json!({"ConsumedCapacity": {"CapacityUnits": "1.5"}});
        assert!(strict("arn:aws:states:::dynamodb:putItem", capacity).is_err());
        let item = json!({"Item": {"id": {"S": "1"}, "tags": {"L": [{"N": 2}]}}});
        assert_eq!(
            strict("arn:aws:states:::dynamodb:getItem", item).unwrap_err(),
            "Mock result schema validation error: Field 'N' must be a string"
        );
    }

    #[test]
    fn unknown_members_and_resources_are_not_checked() {
        assert!(strict(
            "arn:aws:states:::events:putEvents",
            json!({"random": "json"})
        )
        .is_ok());
        let text = json!({"StatusCode": 200, "Payload": "function output", "SdkHttpMetadata": {}});
        assert!(strict("arn:aws:states:::lambda:invoke", text).is_ok());
        let object = json!({"Payload": {"any": ["thing"]}});
        assert!(strict("arn:aws:states:::lambda:invoke", object).is_err());
        assert!(shape_of("arn:aws:states:::lambda:invoke.waitForTaskToken").is_none());
        assert!(shape_of("arn:aws:states:::states:startExecution.sync:2").is_none());
        assert!(shape_of("arn:aws:lambda:us-east-1:123456789012:function:f").is_none());
        assert!(shape_of("arn:aws:states:::aws-sdk:s3:getObject").is_none());
    }
}

//! The AWS JSON 1.0 wire protocol: request field access, error shapes, paging tokens and
//! timestamps (epoch seconds as JSON numbers)
//! (<https://smithy.io/2.0/aws/protocols/aws-json-1_0-protocol.html>).

use std::fmt;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// An error answered to the client: AWS's error code (the `__type` after `#`), its message, the
/// `reason` some errors carry (a `ValidationException`'s `ValidationExceptionReason`) and the HTTP
/// status (400 for every modelled Step Functions error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// AWS's error code, e.g. `ValidationException`.
    pub code: &'static str,
    /// The error message.
    pub message: String,
    /// The HTTP status of the response.
    pub status: StatusCode,
    /// The error's `reason` member, e.g. `CANNOT_UPDATE_COMPLETED_MAP_RUN`
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_UpdateMapRun.html>).
    pub reason: Option<&'static str>,
}

impl From<crate::requests::Refusal> for ApiError {
    fn from(r: crate::requests::Refusal) -> Self {
        ApiError::new(r.code, r.message)
    }
}

impl ApiError {
    /// An error with `code` and `message`, answered with HTTP 400.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            reason: None,
        }
    }

    /// The same error with its `reason` member.
    pub fn with_reason(self, reason: &'static str) -> Self {
        ApiError {
            reason: Some(reason),
            ..self
        }
    }

    /// A `ValidationException` with `message`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// AWS's message for a missing required member.
    pub fn missing(field: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The SDKs take the code from `__type` after the `#`.
        let mut body = serde_json::json!({
            "__type": format!("com.amazonaws.swf.service.v2.model#{}", self.code),
            "message": self.message,
        });
        if let Some(reason) = self.reason {
            body["reason"] = Value::from(reason);
        }
        json_response(self.status, &body)
    }
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-RequestId", id);
    }
    resp
}

/// The region of a SigV4 `Authorization` header's credential scope
/// (`Credential=<key>/<date>/<region>/states/aws4_request`): where the client thinks it is, so
/// the ARNs it gets back name that region (and its partition), as AWS's would.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>
pub(super) fn signing_region(authorization: &str) -> Option<String> {
    let credential = authorization.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    let region = scope.split('/').nth(2)?;
    let valid = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| region.to_string())
}

/// A request: its body, with typed accessors that answer AWS's validation errors, and the
/// region the client signed for.
pub(super) struct Req {
    pub body: Value,
    pub region: String,
}

impl Req {
    /// An optional string member; a non-string is a validation error.
    pub fn opt_str(&self, field: &str) -> Result<Option<&str>, ApiError> {
        match self.body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::new(
                "SerializationException",
                format!("'{field}' must be a string"),
            )),
        }
    }

    pub fn str(&self, field: &str) -> Result<&str, ApiError> {
        self.opt_str(field)?.ok_or_else(|| ApiError::missing(field))
    }

    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::new(
                "SerializationException",
                format!("'{field}' must be a boolean"),
            )),
        }
    }

    /// `maxResults`: 0 or absent means the default; AWS allows up to 1000.
    pub fn max_results(&self, default: usize) -> Result<usize, ApiError> {
        match self.body.get("maxResults") {
            None | Some(Value::Null) => Ok(default),
            Some(v) => match v.as_u64() {
                Some(0) => Ok(default),
                Some(n) if n <= 1000 => Ok(n as usize),
                _ => Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
                ))),
            },
        }
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.body.get(field).filter(|v| !v.is_null())
    }
}

/// A timestamp as AWS JSON 1.0 sends it: epoch seconds with a fraction.
pub(super) fn epoch(t: &DateTime<Utc>) -> Value {
    let ms = t.timestamp_millis();
    serde_json::Number::from_f64(ms as f64 / 1000.0)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Paging tokens: an opaque encoding of the next offset and of the request it continues
/// (`binding`: the operation and its filters). A token sent with other filters than the request
/// that issued it is `InvalidToken`, as AWS answers.
pub(super) fn page_token(offset: usize, binding: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(format!("offset:{offset}:{:016x}", fnv1a(binding)))
}

pub(super) fn parse_page_token(token: Option<&str>, binding: &str) -> Result<usize, ApiError> {
    use base64::Engine as _;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let invalid = || ApiError::new("InvalidToken", format!("Invalid Token: '{token}'"));
    let text = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = text.strip_prefix("offset:").ok_or_else(invalid)?.split(':');
    let offset = parts
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    if parts.next() != Some(format!("{:016x}", fnv1a(binding)).as_str()) {
        return Err(invalid());
    }
    Ok(offset)
}

/// One page of a listing: the items from `offset` (at most `max`) under `member`, and a
/// `nextToken` bound to `binding` when more follow.
pub(super) fn page_of(
    all: Vec<Value>,
    member: &str,
    offset: usize,
    max: usize,
    binding: &str,
) -> Value {
    let total = all.len();
    let page: Vec<Value> = all.into_iter().skip(offset).take(max).collect();
    let mut out = Map::new();
    out.insert(member.to_string(), Value::Array(page));
    if offset + max < total {
        out.insert(
            "nextToken".into(),
            Value::String(page_token(offset + max, binding)),
        );
    }
    Value::Object(out)
}

/// 64-bit FNV-1a: a stable fingerprint of a token's request (not a security measure).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_regions_come_from_the_credential_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20261203/us-west-2/states/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signing_region(header).as_deref(), Some("us-west-2"));
        assert_eq!(signing_region("Bearer x"), None);
        assert_eq!(
            signing_region("AWS4-HMAC-SHA256 Credential=A/2026/US_WEST/s/x"),
            None
        );
        assert_eq!(crate::partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(crate::partition_of("us-isob-east-1"), "aws-iso-b");
        assert_eq!(crate::partition_of("us-iso-east-1"), "aws-iso");
        assert_eq!(crate::partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(crate::partition_of("eu-west-1"), "aws");
    }

    #[test]
    fn page_tokens_are_bound_to_their_request() {
        let token = page_token(100, "ListExecutions|arn|RUNNING");
        assert_eq!(
            parse_page_token(Some(&token), "ListExecutions|arn|RUNNING"),
            Ok(100)
        );
        let other = parse_page_token(Some(&token), "ListExecutions|arn|FAILED").unwrap_err();
        assert_eq!(other.code, "InvalidToken");
        assert_eq!(parse_page_token(None, "x"), Ok(0));
        assert!(parse_page_token(Some("garbage"), "x").is_err());
    }
}

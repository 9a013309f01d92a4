//! Framework-independent HTTP types: the request the router sees, the response it gives,
//! the caller's claims, and strict JSON body reading (size, media type, syntax, fields).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest accepted request body (API Gateway's own limit is 10 MB; ours is 64 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The user-pool group whose members are staff: they manage the catalog and its images.
/// Everyone else who signs in is a shopper. The template creates the group
/// (`AWS::Cognito::UserPoolGroup`) under this name.
pub const STAFF_GROUP: &str = "admin";

/// The verified identity of the caller, from the Cognito authorizer claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Cognito `sub`: the stable user id.
    pub sub: String,
    /// Cognito `email`, if the token carries it.
    pub email: Option<String>,
    /// Cognito `cognito:groups`: the user-pool groups the user belongs to.
    pub groups: Vec<String>,
}

impl Claims {
    /// The claims of a verified token or of an API Gateway Cognito authorizer
    /// (`requestContext.authorizer.claims`); `None` without a non-empty `sub`.
    ///
    /// A JWT carries `cognito:groups` as a JSON array; a REST API's Cognito authorizer hands
    /// every claim to the integration as a string, an array one as `"[admin staff]"` or
    /// `"admin,staff"`
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html>).
    /// All of these forms are read; group names never contain spaces or commas in practice.
    pub fn from_token_claims(claims: &Value) -> Option<Claims> {
        let sub = claims.get("sub")?.as_str()?.trim();
        if sub.is_empty() {
            return None;
        }
        let email = claims
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_string);
        let groups = match claims.get("cognito:groups") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(text)) => text
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        Some(Claims {
            sub: sub.to_string(),
            email,
            groups,
        })
    }

    /// True when the caller is in the staff group.
    pub fn is_staff(&self) -> bool {
        self.groups.iter().any(|g| g == STAFF_GROUP)
    }
}

/// An HTTP request as the router sees it, whatever delivered it (API Gateway through
/// `lambda_http`, or a local gateway).
#[derive(Clone, Default)]
pub struct ApiRequest {
    /// Upper-case method (`GET`, `POST`).
    pub method: String,
    /// Path without stage prefix or query (`/products/p-1`).
    pub path: String,
    /// Path parameters as the gateway matched them (informational: the router parses the path).
    pub path_params: BTreeMap<String, String>,
    /// Query parameters (first value of each).
    pub query: BTreeMap<String, String>,
    /// Headers with lower-case names.
    pub headers: BTreeMap<String, String>,
    /// Raw body bytes.
    pub body: Vec<u8>,
    /// Verified caller identity, if the gateway authenticated the request.
    pub claims: Option<Claims>,
    /// Request id for the logs (the Lambda or gateway request id).
    pub request_id: Option<String>,
}

impl fmt::Debug for ApiRequest {
    // Bodies and headers may carry passwords and tokens: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.len())
            .field("authenticated", &self.claims.is_some())
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl ApiRequest {
    /// A request with no headers, query or body.
    pub fn new(method: &str, path: &str) -> Self {
        ApiRequest {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            ..Default::default()
        }
    }

    /// Adds a header (name lower-cased).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .insert(name.to_ascii_lowercase(), value.to_string());
        self
    }

    /// Adds a query parameter.
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.query.insert(name.to_string(), value.to_string());
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn with_json(self, body: &Value) -> Self {
        self.with_body("application/json", body.to_string().into_bytes())
    }

    /// Sets a raw body with its content type.
    pub fn with_body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .insert("content-type".into(), content_type.to_string());
        self.body = body;
        self
    }

    /// Sets the caller's claims.
    pub fn with_claims(mut self, sub: &str, email: Option<&str>) -> Self {
        self.claims = Some(Claims {
            sub: sub.to_string(),
            email: email.map(str::to_string),
            groups: Vec::new(),
        });
        self
    }

    /// Sets the caller's claims as a member of the staff group.
    pub fn with_staff_claims(mut self, sub: &str) -> Self {
        self.claims = Some(Claims {
            sub: sub.to_string(),
            email: None,
            groups: vec![STAFF_GROUP.to_string()],
        });
        self
    }

    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The caller's claims, or 401 when the authorizer supplied none (or an empty `sub`).
    pub fn require_claims(&self) -> Result<&Claims, ApiError> {
        match &self.claims {
            Some(claims) if !claims.sub.trim().is_empty() => Ok(claims),
            _ => Err(ApiError::Unauthorized(
                "missing or invalid authentication".into(),
            )),
        }
    }

    /// The caller's claims if the caller is staff: 401 without claims, 403 for a shopper.
    pub fn require_staff(&self) -> Result<&Claims, ApiError> {
        let claims = self.require_claims()?;
        if claims.is_staff() {
            Ok(claims)
        } else {
            Err(ApiError::Forbidden(format!(
                "this route is for members of the {STAFF_GROUP} group"
            )))
        }
    }

    /// The body as a JSON object: 413 if too large, 415 if not `application/json`,
    /// 400 if not JSON, 422 if JSON but not an object.
    pub fn json_object(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        if !is_json_media_type(self.header("content-type")) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let value: Value = serde_json::from_slice(&self.body).map_err(|e| {
            // serde_json's message gives line/column and the kind of error, never the input.
            ApiError::MalformedJson(e.to_string())
        })?;
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(ApiError::field("body", "must be a JSON object")),
        }
    }
}

/// True for `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json_media_type(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// An HTTP response: status, lower-case headers and a (JSON) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl ApiResponse {
    /// A JSON response.
    pub fn json(status: u16, body: &impl Serialize) -> Self {
        let body = serde_json::to_string(body).unwrap_or_else(|_| {
            r#"{"error":{"code":"internal_error","message":"internal error"}}"#.to_string()
        });
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_string(), "application/json".to_string());
        ApiResponse {
            status,
            headers,
            body,
        }
    }

    /// The body parsed as JSON (`Value::Null` if it is not JSON); for tests and gateways.
    pub fn json_body(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Reads typed fields out of a JSON object, naming the field in every 422.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// Fields of a top-level object.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields {
            map,
            prefix: String::new(),
        }
    }

    /// Fields of a nested object whose path is `prefix` (`items[3]`).
    pub fn nested(map: &'a Map<String, Value>, prefix: String) -> Self {
        Fields { map, prefix }
    }

    /// Full name of a field, for error messages.
    pub fn name(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{}", self.prefix, field)
        }
    }

    /// A field's raw value, if present.
    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field)
    }

    /// A required, non-empty string.
    pub fn string(&self, field: &str) -> Result<&'a str, ApiError> {
        match self.optional_string(field)? {
            Some(s) => Ok(s),
            None => Err(ApiError::field(self.name(field), "is required")),
        }
    }

    /// An optional string; `null` counts as absent, `""` is rejected.
    pub fn optional_string(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => {
                Err(ApiError::field(self.name(field), "must not be empty"))
            }
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::field(self.name(field), "must be a string")),
        }
    }

    /// A required integer within `min..=max`.
    pub fn integer(&self, field: &str, min: i64, max: i64) -> Result<i64, ApiError> {
        let out_of_range = || {
            ApiError::field(
                self.name(field),
                format!("must be an integer from {min} to {max}"),
            )
        };
        match self.map.get(field) {
            None | Some(Value::Null) => Err(ApiError::field(self.name(field), "is required")),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Ok(v),
                _ => Err(out_of_range()),
            },
            Some(_) => Err(out_of_range()),
        }
    }

    /// A required array.
    pub fn array(&self, field: &str) -> Result<&'a Vec<Value>, ApiError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Err(ApiError::field(self.name(field), "is required")),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(ApiError::field(self.name(field), "must be an array")),
        }
    }
}

/// True for a plain identifier: 1–128 characters of `A-Z a-z 0-9 - _`, so it is safe in
/// a DynamoDB key and an S3 key segment (no `/`, no `..`, no `%`).
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// How an [`ApiError`] is answered: the one error shape, with `Retry-After` where it applies.
impl ApiError {
    /// The error as an API response in the one error shape.
    pub fn to_response(&self) -> ApiResponse {
        let body = crate::contract::ErrorBody {
            error: crate::contract::ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
            },
        };
        let mut response = ApiResponse::json(self.status(), &body);
        if let Some(secs) = self.retry_after() {
            response
                .headers
                .insert("retry-after".into(), secs.to_string());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_media_type_accepts_parameters_and_case() {
        assert!(is_json_media_type(Some("application/json")));
        assert!(is_json_media_type(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json_media_type(Some("text/plain")));
        assert!(!is_json_media_type(Some("application/jsonx")));
        assert!(!is_json_media_type(None));
    }

    #[test]
    fn body_checks_size_then_media_type_then_syntax() {
        let big =
            ApiRequest::new("POST", "/x").with_body("text/plain", vec![b' '; MAX_BODY_BYTES + 1]);
        assert!(matches!(big.json_object(), Err(ApiError::PayloadTooLarge)));
        let text = ApiRequest::new("POST", "/x").with_body("text/plain", b"{}".to_vec());
        assert!(matches!(
            text.json_object(),
            Err(ApiError::UnsupportedMediaType)
        ));
        let broken = ApiRequest::new("POST", "/x").with_body("application/json", b"{".to_vec());
        assert!(matches!(
            broken.json_object(),
            Err(ApiError::MalformedJson(_))
        ));
        let array = ApiRequest::new("POST", "/x").with_json(&json!([1]));
        assert!(matches!(
            array.json_object(),
            Err(ApiError::Validation { .. })
        ));
    }

    #[test]
    fn fields_name_nested_paths() {
        let value = json!({"quantity": 0, "name": 3});
        let map = value.as_object().unwrap();
        let fields = Fields::nested(map, "items[2]".into());
        match fields.integer("quantity", 1, 100) {
            Err(ApiError::Validation { field, .. }) => assert_eq!(field, "items[2].quantity"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(fields.string("name").is_err());
        assert!(fields.string("missing").is_err());
    }

    #[test]
    fn groups_are_read_from_jwt_arrays_and_authorizer_strings() {
        let jwt = json!({"sub": "u", "cognito:groups": ["admin", "x"]});
        assert_eq!(
            Claims::from_token_claims(&jwt).unwrap().groups,
            ["admin", "x"]
        );
        for text in ["[admin x]", "admin,x", "[admin, x]", " admin x "] {
            let rest = json!({"sub": "u", "cognito:groups": text});
            let claims = Claims::from_token_claims(&rest).unwrap();
            assert_eq!(claims.groups, ["admin", "x"], "{text}");
            assert!(claims.is_staff());
        }
        let shopper = Claims::from_token_claims(&json!({"sub": "u", "email": "e@x"})).unwrap();
        assert!(shopper.groups.is_empty() && !shopper.is_staff());
        // A group that merely contains the staff group's name is another group.
        let lookalike = json!({"sub": "u", "cognito:groups": "[administrators]"});
        assert!(!Claims::from_token_claims(&lookalike).unwrap().is_staff());
        assert!(Claims::from_token_claims(&json!({"sub": " "})).is_none());
    }

    #[test]
    fn staff_routes_tell_401_from_403() {
        let anonymous = ApiRequest::new("GET", "/x");
        assert_eq!(anonymous.require_staff().unwrap_err().status(), 401);
        let shopper = ApiRequest::new("GET", "/x").with_claims("u", None);
        let error = shopper.require_staff().unwrap_err();
        assert_eq!((error.status(), error.code()), (403, "forbidden"));
        assert!(ApiRequest::new("GET", "/x")
            .with_staff_claims("s")
            .require_staff()
            .is_ok());
    }

    #[test]
    fn plain_ids_exclude_traversal() {
        assert!(is_plain_id("p-1_A"));
        for bad in ["", "../x", "a/b", "..", "a%2F", "a b", &"x".repeat(129)] {
            assert!(!is_plain_id(bad), "{bad}");
        }
    }

    #[test]
    fn debug_never_prints_the_body() {
        let request = ApiRequest::new("POST", "/auth").with_json(&json!({"password": "hunter2"}));
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}

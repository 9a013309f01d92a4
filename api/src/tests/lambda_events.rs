//! API Gateway REST proxy events through `lambda_http` into the router and back.

use base64::Engine;
use serde_json::{json, Value};

use super::Harness;
use crate::lambda::{from_lambda, to_lambda};

/// A REST API proxy event (stage `prod`) as API Gateway sends it to Lambda.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format>
fn rest_event(
    method: &str,
    path: &str,
    resource: &str,
    body: Option<&Value>,
    claims: Option<Value>,
) -> String {
    let mut context = json!({
        "accountId": "123456789012",
        "resourceId": "abc123",
        "stage": "prod",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": { "sourceIp": "203.0.113.1" },
        "resourcePath": resource,
        "httpMethod": method,
        "path": format!("/prod{path}"),
        "apiId": "1234567890",
        "protocol": "HTTP/1.1"
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({ "claims": claims });
    }
    let encoded = body.map(|b| base64::engine::general_purpose::STANDARD.encode(b.to_string()));
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {
            "Content-Type": "application/json",
            "Host": "1234567890.execute-api.us-east-1.amazonaws.com",
            "Idempotency-Key": "evt-1"
        },
        "multiValueHeaders": {
            "Content-Type": ["application/json"],
            "Host": ["1234567890.execute-api.us-east-1.amazonaws.com"],
            "Idempotency-Key": ["evt-1"]
        },
        "queryStringParameters": { "limit": "2" },
        "multiValueQueryStringParameters": { "limit": ["2"] },
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": context,
        "body": encoded,
        "isBase64Encoded": true
    })
    .to_string()
}

#[tokio::test]
async fn rest_event_with_claims_reaches_the_order_route() {
    let event = rest_event(
        "POST",
        "/orders",
        "/orders",
        Some(&json!({"items": [{"productId": "p-2", "quantity": 1}]})),
        Some(json!({"sub": "user-42", "email": "u42@example.com", "email_verified": "true"})),
    );
    let request = from_lambda(lambda_http::request::from_str(&event).expect("valid event"));
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path, "/orders",
        "stage is not part of the routed path"
    );
    assert_eq!(request.header("idempotency-key"), Some("evt-1"));
    let claims = request.claims.clone().expect("claims from the authorizer");
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.email.as_deref(), Some("u42@example.com"));

    let h = Harness::new();
    let response = h.app.handle(request).await;
    assert_eq!(response.status, 202, "{}", response.body);
    assert_eq!(h.queue.messages()[0].user_sub, "user-42");

    let lambda_response = to_lambda(response);
    assert_eq!(lambda_response.status(), 202);
    assert_eq!(
        lambda_response.headers()["content-type"],
        "application/json"
    );
}

#[tokio::test]
async fn rest_event_without_claims_is_401_on_auth_routes() {
    let event = rest_event("GET", "/orders/o-1", "/orders/{orderId}", None, None);
    let request = from_lambda(lambda_http::request::from_str(&event).unwrap());
    assert!(request.claims.is_none());
    let response = Harness::new().app.handle(request).await;
    assert_eq!(response.status, 401);

    let event = rest_event(
        "GET",
        "/orders/o-1",
        "/orders/{orderId}",
        None,
        Some(json!({"email": "a@b.co"})),
    );
    let request = from_lambda(lambda_http::request::from_str(&event).unwrap());
    assert!(request.claims.is_none(), "no sub, no identity");
}

#[tokio::test]
async fn rest_event_query_parameters_reach_the_listing() {
    let event = rest_event("GET", "/products", "/products", None, None);
    let request = from_lambda(lambda_http::request::from_str(&event).unwrap());
    assert_eq!(request.query.get("limit").map(String::as_str), Some("2"));
    let response = Harness::new().app.handle(request).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json_body()["items"].as_array().unwrap().len(), 2);
}

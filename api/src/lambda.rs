//! The Lambda edge: converts API Gateway REST proxy events (through `lambda_http`) to
//! [`ApiRequest`] and back, sets up JSON logs, and runs a [`Service`].

use std::collections::BTreeMap;
use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;

use crate::app::Service;
use crate::http::{ApiRequest, ApiResponse, Claims};

/// JSON logs to stdout (CloudWatch), level from `RUST_LOG` (default `info`), with the
/// current span (the runtime's span carries the request id).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}

/// A required environment variable, or an error naming it.
pub fn env_var(name: &str) -> Result<String, lambda_http::Error> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(format!("environment variable {name} is not set").into()),
    }
}

/// True when an environment variable is set to `true` or `1`.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The caller's claims from a REST API Cognito authorizer
/// (`requestContext.authorizer.claims`: `sub`, `email`, `cognito:groups`).
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html>
fn claims(request: &Request) -> Option<Claims> {
    let RequestContext::ApiGatewayV1(context) = request.request_context_ref()? else {
        return None;
    };
    let claims = context.authorizer.fields.get("claims")?;
    // API Gateway passes claims as an object; tolerate a JSON-encoded string as well.
    let claims: Value = match claims {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    Claims::from_token_claims(&claims)
}

/// Converts a `lambda_http` request (API Gateway REST proxy event) into an [`ApiRequest`].
pub fn from_lambda(request: Request) -> ApiRequest {
    let claims = claims(&request);
    let request_id = request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty());
    // The event's `path` without the stage prefix that `lambda_http` adds to the URI.
    let path = match request.raw_http_path() {
        "" => request.uri().path().to_string(),
        raw => raw.to_string(),
    };
    let query: BTreeMap<String, String> = request
        .query_string_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let path_params: BTreeMap<String, String> = request
        .path_parameters_ref()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.as_str().to_ascii_lowercase(),
                value.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let method = request.method().as_str().to_string();
    let body = match request.into_body() {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    ApiRequest {
        method,
        path,
        path_params,
        query,
        headers,
        body,
        claims,
        request_id,
    }
}

/// Converts an [`ApiResponse`] into a `lambda_http` response.
pub fn to_lambda(response: ApiResponse) -> Response<Body> {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::Text(response.body)).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Text(
            r#"{"error":{"code":"internal_error","message":"internal error"}}"#.to_string(),
        ));
        *fallback.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// Adds the CORS header of a proxy integration's response. With a Lambda proxy integration,
/// API Gateway's CORS settings only answer the preflight (`OPTIONS`); the actual response must
/// carry `Access-Control-Allow-Origin` itself:
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html#apigateway-enable-cors-proxy>.
pub fn with_cors(mut response: ApiResponse, allowed_origin: Option<&str>) -> ApiResponse {
    if let Some(origin) = allowed_origin.filter(|o| !o.trim().is_empty()) {
        response
            .headers
            .insert("access-control-allow-origin".into(), origin.trim().into());
    }
    response
}

/// Runs a service as a Lambda function behind API Gateway until the runtime stops.
pub async fn run<S: Service + 'static>(service: S) -> Result<(), lambda_http::Error> {
    let service = Arc::new(service);
    let allowed_origin: Option<Arc<str>> = std::env::var(shop_model::env::ALLOWED_ORIGIN)
        .ok()
        .map(Arc::from);
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        let service = Arc::clone(&service);
        let allowed_origin = allowed_origin.clone();
        async move {
            let request = from_lambda(request);
            let route = crate::routes::match_route(&request.method, &request.path);
            let response = service.handle(request).await;
            // Business metrics as EMF log lines (stdout is the function's log stream).
            crate::metrics::emit(
                crate::metrics::ORDER_ENTRY_SERVICE,
                &crate::metrics::request_metrics(route.as_ref(), &response),
            );
            let response = with_cors(response, allowed_origin.as_deref());
            Ok::<_, std::convert::Infallible>(to_lambda(response))
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_response_carries_the_allowed_origin_when_one_is_configured() {
        let error = ApiResponse::json(404, &json!({"error": {"code": "not_found"}}));
        let with = with_cors(error.clone(), Some("https://shop.example.com"));
        assert_eq!(
            with.headers
                .get("access-control-allow-origin")
                .map(String::as_str),
            Some("https://shop.example.com")
        );
        assert_eq!(with.status, 404);
        assert_eq!(with.body, error.body);
        let lambda = to_lambda(with);
        assert_eq!(
            lambda.headers()["access-control-allow-origin"],
            "https://shop.example.com"
        );
        assert!(!with_cors(error.clone(), None)
            .headers
            .contains_key("access-control-allow-origin"));
        assert!(!with_cors(error, Some("  "))
            .headers
            .contains_key("access-control-allow-origin"));
    }
}

//! The local API Gateway: serves the `api` handlers on the routes `template.yaml` declares
//! (the `Api` events of its functions), with the Cognito authorizer where a route has it, the
//! stage prefix, CORS preflight answers from the API's `Cors` settings and the
//! `GatewayResponses` headers on the gateway's own errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use api::{ApiError, ApiRequest, ApiResponse, Claims, Service};
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use crate::authorizer::CognitoVerifier;
use crate::cfn::Stack;

/// API Gateway's largest request payload (10 MB):
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// One segment of a resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// One method of one resource, from a function's `Api` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: String,
    pub path: String,
    segments: Vec<Segment>,
    /// Needs the Cognito authorizer.
    pub authorized: bool,
    /// Logical id of the function behind it.
    pub function: String,
}

/// What the gateway serves, read from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySpec {
    pub stage: String,
    pub routes: Vec<RouteSpec>,
    /// Headers of the CORS preflight (`OPTIONS`) answers.
    pub cors: Vec<(String, String)>,
    /// Headers added to the gateway's own 4xx answers (`GatewayResponses.DEFAULT_4XX`).
    pub error_headers: Vec<(String, String)>,
}

/// Unquotes a SAM header value (`"'*'"` is the literal `*`).
fn unquote(value: &str) -> String {
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value)
        .to_string()
}

impl GatewaySpec {
    /// Reads the routes of the `AWS::Serverless::Api` resource `api_id` from the template.
    pub fn from_template(stack: &Stack<'_>, api_id: &str) -> Result<Self> {
        let template = stack.template();
        let api = stack
            .resource(api_id)
            .with_context(|| format!("template.yaml has no resource {api_id}"))?;
        let props = &api["Properties"];
        let stage = stack.resolve_string(&props["StageName"])?;
        let authorizers: Vec<&String> = props["Auth"]["Authorizers"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        let default_authorizer = props["Auth"]["DefaultAuthorizer"].as_str();
        let mut routes = Vec::new();
        for (function, resource) in template["Resources"].as_object().into_iter().flatten() {
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            for event in resource["Properties"]["Events"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
            {
                if event["Type"] != "Api" {
                    continue;
                }
                let ep = &event["Properties"];
                let belongs = match &ep["RestApiId"] {
                    Value::Null => true,
                    other => other == &serde_json::json!({"Ref": api_id}),
                };
                if !belongs {
                    continue;
                }
                let path = stack.resolve_string(&ep["Path"])?;
                let method = stack.resolve_string(&ep["Method"])?.to_ascii_uppercase();
                let authorizer = ep["Auth"]["Authorizer"].as_str().or(default_authorizer);
                let authorized = match authorizer {
                    None | Some("NONE") => false,
                    Some(name) if authorizers.iter().any(|a| *a == name) => true,
                    Some(name) => bail!("{function}: unknown authorizer {name}"),
                };
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(
                        |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some(name) => Segment::Param(name.to_string()),
                            None => Segment::Literal(s.to_string()),
                        },
                    )
                    .collect();
                routes.push(RouteSpec {
                    method,
                    path,
                    segments,
                    authorized,
                    function: function.clone(),
                });
            }
        }
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        let mut cors = Vec::new();
        let c = &props["Cors"];
        for (key, header) in [
            ("AllowOrigin", "access-control-allow-origin"),
            ("AllowMethods", "access-control-allow-methods"),
            ("AllowHeaders", "access-control-allow-headers"),
            ("MaxAge", "access-control-max-age"),
        ] {
            if !c[key].is_null() {
                cors.push((header.to_string(), unquote(&stack.resolve_string(&c[key])?)));
            }
        }
        let mut error_headers = Vec::new();
        for (name, value) in props["GatewayResponses"]["DEFAULT_4XX"]["ResponseParameters"]
            ["Headers"]
            .as_object()
            .into_iter()
            .flatten()
        {
            error_headers.push((
                name.to_ascii_lowercase(),
                unquote(&stack.resolve_string(value)?),
            ));
        }
        Ok(GatewaySpec {
            stage,
            routes,
            cors,
            error_headers,
        })
    }

    /// The route of a method and path (stage prefix removed), with its path parameters.
    /// Literal segments win over `{param}` ones, as in API Gateway's resource tree.
    pub fn find(&self, method: &str, path: &str) -> Option<(&RouteSpec, BTreeMap<String, String>)> {
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let parts: Vec<&str> = trimmed.split('/').skip(1).collect();
        if parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        self.routes
            .iter()
            .filter(|r| r.method == method || r.method == "ANY")
            .filter(|r| r.segments.len() == parts.len())
            .filter(|r| {
                r.segments.iter().zip(&parts).all(|(s, p)| match s {
                    Segment::Literal(l) => l == p,
                    Segment::Param(_) => true,
                })
            })
            .max_by_key(|r| {
                r.segments
                    .iter()
                    .map(|s| matches!(s, Segment::Literal(_)))
                    .collect::<Vec<_>>()
            })
            .map(|r| {
                let params = r
                    .segments
                    .iter()
                    .zip(&parts)
                    .filter_map(|(s, p)| match s {
                        Segment::Param(name) => Some((name.clone(), p.to_string())),
                        Segment::Literal(_) => None,
                    })
                    .collect();
                (r, params)
            })
    }

    /// True if some method is declared on this path (for `OPTIONS`).
    fn has_path(&self, path: &str) -> bool {
        ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "ANY"]
            .iter()
            .any(|m| self.find(m, path).is_some())
    }
}

/// The gateway's shared state.
pub struct Gateway {
    pub spec: GatewaySpec,
    pub verifier: CognitoVerifier,
    pub app: Arc<dyn Service>,
    /// The functions' `ALLOWED_ORIGIN`: their responses carry it as the deployed Lambdas do.
    pub allowed_origin: Option<String>,
}

/// The axum application of the gateway.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .with_state(gateway)
}

fn to_response(response: ApiResponse) -> Response {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    builder
        .body(Body::from(response.body))
        .unwrap_or_else(|_| Response::new(Body::from("internal error")))
}

fn with_headers(mut response: ApiResponse, headers: &[(String, String)]) -> ApiResponse {
    for (name, value) in headers {
        response.headers.insert(name.clone(), value.clone());
    }
    response
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = serve(&gateway, &method, &uri, &headers, body).await;
    let status = response.status;
    tracing::info!(target: "gateway", "{method} {} -> {status} ({} ms)", uri.path(), started.elapsed().as_millis());
    to_response(response)
}

async fn serve(
    gateway: &Gateway,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResponse {
    let spec = &gateway.spec;
    let stage_prefix = format!("/{}", spec.stage);
    // The stage prefix of the invoke URL (`/dev/products`); requests without it are served too.
    let path = match uri.path().strip_prefix(&stage_prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => uri.path(),
    }
    .to_string();
    let not_found = || {
        with_headers(
            ApiError::RouteNotFound {
                method: method.to_string(),
                path: path.clone(),
            }
            .to_response(),
            &spec.error_headers,
        )
    };
    if method == Method::OPTIONS {
        if !spec.has_path(&path) {
            return not_found();
        }
        let mut response = ApiResponse {
            status: StatusCode::OK.as_u16(),
            headers: BTreeMap::new(),
            body: String::new(),
        };
        for (name, value) in &spec.cors {
            response.headers.insert(name.clone(), value.clone());
        }
        return response;
    }
    let Some((route, path_params)) = spec.find(method.as_str(), &path) else {
        return not_found();
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let claims = if route.authorized {
        match gateway
            .verifier
            .verify_header(header("authorization"))
            .await
        {
            // The verifier required a `sub`; groups come through as the token has them.
            Ok(claims) => Claims::from_token_claims(&Value::Object(claims)),
            Err(error) => {
                tracing::info!(target: "gateway", "{method} {path}: unauthorized ({error})");
                return with_headers(
                    ApiError::Unauthorized(error.to_string()).to_response(),
                    &spec.error_headers,
                );
            }
        }
    } else {
        None
    };
    let mut query = BTreeMap::new();
    if let Some(raw) = uri.query() {
        if let Ok(url) = reqwest::Url::parse(&format!("http://gateway/?{raw}")) {
            for (k, v) in url.query_pairs() {
                query
                    .entry(k.into_owned())
                    .or_insert_with(|| v.into_owned());
            }
        }
    }
    let request = ApiRequest {
        method: method.as_str().to_string(),
        path,
        path_params,
        query,
        headers: headers
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect(),
        body: body.to_vec(),
        claims,
        request_id: Some(uuid::Uuid::new_v4().to_string()),
    };
    let response = gateway.app.handle(request).await;
    api::lambda::with_cors(response, gateway.allowed_origin.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Cors: {AllowOrigin: "'*'", MaxAge: "'600'"}
      Auth: {Authorizers: {CognitoAuthorizer: {UserPoolArn: x}}}
      GatewayResponses:
        DEFAULT_4XX: {ResponseParameters: {Headers: {Access-Control-Allow-Origin: "'*'"}}}
  Products:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        List: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /products, Method: get}}
        One: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/products/{id}", Method: get}}
  Upload:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Up: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /products/upload, Method: get, Auth: {Authorizer: CognitoAuthorizer}}}
        Queue: {Type: SQS, Properties: {Queue: q}}
"#;

    #[test]
    fn reads_routes_authorizers_and_cors_from_the_template() {
        let template = template::parse(TEMPLATE).unwrap();
        let stack = Stack::new(&template, &[]);
        let spec = GatewaySpec::from_template(&stack, "Api").unwrap();
        assert_eq!(spec.stage, "dev");
        let routes: Vec<(&str, &str, bool)> = spec
            .routes
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.authorized))
            .collect();
        assert_eq!(
            routes,
            [
                ("GET", "/products", false),
                ("GET", "/products/upload", true),
                ("GET", "/products/{id}", false)
            ]
        );
        assert!(spec
            .cors
            .contains(&("access-control-allow-origin".into(), "*".into())));
        assert_eq!(
            spec.error_headers,
            [("access-control-allow-origin".to_string(), "*".to_string())]
        );
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let template = template::parse(TEMPLATE).unwrap();
        let spec = GatewaySpec::from_template(&Stack::new(&template, &[]), "Api").unwrap();
        let (route, params) = spec.find("GET", "/products/upload").unwrap();
        assert_eq!(route.function, "Upload");
        assert!(params.is_empty());
        let (route, params) = spec.find("GET", "/products/p-1").unwrap();
        assert_eq!(route.function, "Products");
        assert_eq!(params["id"], "p-1");
        assert!(spec.find("POST", "/products").is_none());
        assert!(spec.find("GET", "/products/a/b").is_none());
        assert!(spec.find("GET", "/products//").is_none());
        assert!(spec.find("GET", "/products/").is_some());
    }
}

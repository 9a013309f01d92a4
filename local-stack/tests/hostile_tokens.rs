//! Hostile tokens against the local API Gateway: the routes and authorizer of the real
//! `template.yaml`, the Cognito verifier with a test key set, and the `api` handlers on
//! in-memory ports, served on loopback. Every forged, expired, unsigned (`alg: none`),
//! key-confused, wrong-issuer, wrong-client, access-instead-of-id or tampered token gets 401
//! `unauthorized` on every authorized route, never echoes the token, and changes nothing.

use std::path::PathBuf;
use std::sync::Arc;

use api::memory::{MemoryCatalog, MemoryIdentity, MemoryImages, MemoryOrders, MemoryQueue};
use api::ports::OrderRecord;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use local_stack::authorizer::CognitoVerifier;
use local_stack::cfn::Stack;
use local_stack::gateway::{router, Gateway, GatewaySpec};
use serde_json::{json, Value};
use shop_model::{OrderStatus, Product};

const PRIVATE_KEY: &str = include_str!("../testdata/test-only-rsa-key.pem");
/// Modulus of the public half of the test key (as in the authorizer's unit tests).
const MODULUS: &str = "xHVKV59YQaENvov011taX0kHBCvFq3mdO5d8N_H9K1uhV1nkmSDXV3vQUb_fLXsld1_RV8EP9hQTBsfr8i-RH_QhbCc3NNqzNARawScmI3sVxXxi0HJrCWDAavz1S9zGpJokXTyNCX-CIZEKYmuf3j5Xa5124mMMXJNjfWoqPPGW5wgSJgYbV9YVc4RszoisAwzMcR3hn9NSAAG3oyukabNxH23xPMJSqDeL5BWoOevV3WBwzCuJDVthdG7WQ2iVNb4NlWcVa8YjMoLr5HyjkNu0adsudjOP5s75Rpx8lHfmOeusrVsBI2puVX9Ly8H8f9JfAyqAEjPqd0NvbG8Ymw";
const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool";
const CLIENT: &str = "client-1";
const USER: &str = "user-a";
const OTHER_ORDER: &str = "o-other";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims() -> Value {
    json!({
        "sub": USER, "email": "a@example.com", "iss": ISSUER, "aud": CLIENT,
        "token_use": "id", "iat": now(), "exp": now() + 3600,
    })
}

fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn sign_with_kid(claims: &Value, kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_string);
    let key = EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn sign(claims: &Value) -> String {
    sign_with_kid(claims, Some("key-1"))
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// The served gateway and handles on the stores behind it.
struct Served {
    base: String,
    orders: Arc<MemoryOrders>,
    queue: Arc<MemoryQueue>,
}

async fn serve() -> Served {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = local_stack::template::load(&root.join("template.yaml")).expect("template.yaml");
    let stack = Stack::new(&template, &[("Stage", "dev")]);
    let spec = GatewaySpec::from_template(&stack, "ShopApi").expect("gateway spec");
    let keys: JwkSet = serde_json::from_value(json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "key-1", "n": MODULUS, "e": "AQAB"
    }]}))
    .unwrap();
    let verifier = CognitoVerifier::with_keys(ISSUER, vec![CLIENT.into()], keys);
    let orders = Arc::new(MemoryOrders::default());
    orders.put(OrderRecord {
        order_id: OTHER_ORDER.into(),
        user_sub: "user-b".into(),
        status: OrderStatus::Pending,
        items: vec![],
        total_cents: 1,
        currency: "USD".into(),
        payment_token: Some("tok_other_secret".into()),
        payment_id: None,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        queued_at: None,
        idempotency_key: None,
        failure_error: None,
        failure_reason: None,
    });
    let queue = Arc::new(MemoryQueue::default());
    let app = api::App {
        identity: Arc::new(MemoryIdentity::default()),
        catalog: Arc::new(MemoryCatalog::new([Product {
            id: "p-1".into(),
            name: "Mug".into(),
            description: String::new(),
            category: "kitchen".into(),
            price_cents: 1299,
            currency: "USD".into(),
            image_key: None,
            stock: 5,
            version: 1,
            archived: false,
        }])),
        orders: orders.clone(),
        queue: queue.clone(),
        images: Arc::new(MemoryImages::default()),
        auth: api::AuthConfig::default(),
    };
    let gateway = Arc::new(Gateway {
        spec,
        verifier,
        app: Arc::new(app),
        allowed_origin: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/dev", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(gateway)).await;
    });
    Served {
        base,
        orders,
        queue,
    }
}

/// The authorized routes of the API, as requests that would succeed with a good token.
fn authorized_requests(client: &reqwest::Client, base: &str) -> Vec<reqwest::RequestBuilder> {
    vec![
        client
            .post(format!("{base}/orders"))
            .json(&json!({"items": [{"productId": "p-1", "quantity": 1}]})),
        client.get(format!("{base}/orders/{OTHER_ORDER}")),
        client.get(format!("{base}/orders")),
    ]
    .into_iter()
    .chain(staff_requests(client, base))
    .collect()
}

/// The staff routes, as requests that would succeed with a staff token.
fn staff_requests(client: &reqwest::Client, base: &str) -> Vec<reqwest::RequestBuilder> {
    vec![
        client.get(format!(
            "{base}/products/upload?productId=p-1&contentType=image/png"
        )),
        client.post(format!("{base}/products")).json(&json!({
            "id": "p-9", "name": "x", "category": "c", "priceCents": 1, "currency": "USD", "stock": 1
        })),
        client
            .put(format!("{base}/products/p-1"))
            .json(&json!({"name": "x", "category": "c", "priceCents": 1, "currency": "USD", "version": 1})),
        client.delete(format!("{base}/products/p-1")),
        client
            .post(format!("{base}/products/p-1/stock"))
            .json(&json!({"adjustment": 1})),
    ]
}

/// (name, `Authorization` header value, or `None` for no header).
fn token_cases() -> Vec<(&'static str, Option<Vec<u8>>)> {
    let good = sign(&claims());
    let parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("key-1".into());
        jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(MODULUS.as_bytes()),
        )
        .unwrap()
    };
    let text = |s: String| Some(s.into_bytes());
    let mut elevated = claims();
    elevated["cognito:groups"] = json!(["admin"]);
    let elevated_payload = b64(&elevated);
    vec![
        ("no Authorization header", None),
        (
            "a shopper's token with an admin group spliced in, signature kept",
            text(format!(
                "Bearer {}.{elevated_payload}.{}",
                parts[0], parts[2]
            )),
        ),
        ("empty header", text(String::new())),
        ("Bearer without token", text("Bearer ".into())),
        ("not a JWT", text("Bearer not-a-jwt".into())),
        ("three garbage parts", text("Bearer a.b.c".into())),
        ("Basic credentials", text("Basic dXNlcjpwYXNz".into())),
        ("Bearer twice", text(format!("Bearer Bearer {good}"))),
        (
            "alg none, no signature",
            text(format!(
                "Bearer {}.{}.",
                b64(&json!({"alg": "none", "kid": "key-1"})),
                parts[1]
            )),
        ),
        (
            "alg none, real signature kept",
            text(format!(
                "Bearer {}.{}.{}",
                b64(&json!({"alg": "none", "kid": "key-1", "typ": "JWT"})),
                parts[1],
                parts[2]
            )),
        ),
        (
            "alg None (capitalised)",
            text(format!(
                "Bearer {}.{}.",
                b64(&json!({"alg": "None", "kid": "key-1"})),
                parts[1]
            )),
        ),
        (
            "HS256 signed with the public key",
            text(format!("Bearer {hs256}")),
        ),
        (
            "forged payload, original signature",
            text(format!(
                "Bearer {}.{}.{}",
                parts[0],
                b64(&with(json!({"sub": "user-b"}))),
                parts[2]
            )),
        ),
        (
            "signature stripped",
            text(format!("Bearer {}.{}.", parts[0], parts[1])),
        ),
        (
            "expired an hour ago",
            text(format!(
                "Bearer {}",
                sign(&with(json!({"iat": now() - 7200, "exp": now() - 3600})))
            )),
        ),
        (
            "expired one second ago",
            text(format!("Bearer {}", sign(&with(json!({"exp": now() - 1}))))),
        ),
        (
            "no exp",
            text(format!("Bearer {}", sign(&with(json!({"exp": null}))))),
        ),
        (
            "wrong issuer",
            text(format!(
                "Bearer {}",
                sign(&with(
                    json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil"})
                ))
            )),
        ),
        (
            "issuer with trailing slash",
            text(format!(
                "Bearer {}",
                sign(&with(json!({"iss": format!("{ISSUER}/")})))
            )),
        ),
        (
            "wrong client",
            text(format!(
                "Bearer {}",
                sign(&with(json!({"aud": "client-2"})))
            )),
        ),
        (
            "no audience",
            text(format!("Bearer {}", sign(&with(json!({"aud": null}))))),
        ),
        (
            "access token instead of ID token",
            text(format!(
                "Bearer {}",
                sign(&with(
                    json!({"token_use": "access", "aud": null, "client_id": CLIENT})
                ))
            )),
        ),
        (
            "access token_use with the client as audience",
            text(format!(
                "Bearer {}",
                sign(&with(json!({"token_use": "access"})))
            )),
        ),
        (
            "no token_use",
            text(format!(
                "Bearer {}",
                sign(&with(json!({"token_use": null})))
            )),
        ),
        (
            "no sub",
            text(format!("Bearer {}", sign(&with(json!({"sub": null}))))),
        ),
        (
            "blank sub",
            text(format!("Bearer {}", sign(&with(json!({"sub": "  "}))))),
        ),
        (
            "unknown key id",
            text(format!(
                "Bearer {}",
                sign_with_kid(&claims(), Some("key-2"))
            )),
        ),
        (
            "no key id",
            text(format!("Bearer {}", sign_with_kid(&claims(), None))),
        ),
        (
            "100 KB token",
            text(format!(
                "Bearer {}.{}.{}",
                parts[0],
                "A".repeat(100_000),
                parts[2]
            )),
        ),
        (
            "non-UTF-8 header bytes",
            Some([b"Bearer ".as_slice(), &[0xff, 0xfe, b'.', 0x80, b'.', 0x81]].concat()),
        ),
    ]
}

#[tokio::test]
async fn hostile_tokens_get_401_on_every_authorized_route_and_change_nothing() {
    let stack = serve().await;
    let client = reqwest::Client::new();
    let cases = token_cases();
    assert!(cases.len() >= 25, "{} token cases", cases.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, header) in &cases {
        for (route, request) in authorized_requests(&client, &stack.base)
            .into_iter()
            .enumerate()
        {
            let request = match header {
                Some(bytes) => request.header(
                    "authorization",
                    reqwest::header::HeaderValue::from_bytes(bytes).expect("header bytes"),
                ),
                None => request,
            };
            let response = request.send().await.expect("gateway answers");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            checked += 1;
            if status != 401 || parsed["error"]["code"] != "unauthorized" {
                failures.push(format!("{name} (route {route}): {status} {body}"));
                continue;
            }
            if parsed["error"]["message"]
                .as_str()
                .is_none_or(str::is_empty)
            {
                failures.push(format!("{name} (route {route}): no message"));
            }
            if let Some(bytes) = header {
                let token = String::from_utf8_lossy(bytes);
                let token = token.trim_start_matches("Bearer ");
                if token.len() > 8 && body.contains(token) {
                    failures.push(format!("{name} (route {route}): token echoed"));
                }
            }
        }
    }
    assert_eq!(stack.orders.len(), 1, "an order was recorded");
    assert!(stack.queue.messages().is_empty(), "a message was queued");
    assert!(
        failures.is_empty(),
        "{} of {checked} token checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_good_token_works_and_still_cannot_read_another_users_order() {
    let stack = serve().await;
    let client = reqwest::Client::new();
    let auth = format!("Bearer {}", sign(&claims()));
    let placed = client
        .post(format!("{}/orders", stack.base))
        .header("authorization", &auth)
        .json(&json!({"items": [{"productId": "p-1", "quantity": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status().as_u16(), 202);
    let body: Value = placed.json().await.unwrap();
    assert_eq!(body["totalCents"], 2598);
    assert_eq!(
        stack
            .orders
            .order(body["orderId"].as_str().unwrap())
            .unwrap()
            .user_sub,
        USER
    );
    let other = client
        .get(format!("{}/orders/{OTHER_ORDER}", stack.base))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let text = other.text().await.unwrap();
    assert!(text.contains("not_found"), "{text}");
    assert!(!text.contains("tok_other_secret"));
}

#[tokio::test]
async fn staff_routes_take_the_group_from_the_verified_token_only() {
    let stack = serve().await;
    let client = reqwest::Client::new();
    let shopper = format!("Bearer {}", sign(&claims()));
    for request in staff_requests(&client, &stack.base) {
        let response = request
            .header("authorization", &shopper)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
    }
    // A header the client adds cannot make anyone staff: only the token's claim counts.
    let spoofed = client
        .post(format!("{}/products", stack.base))
        .header("authorization", &shopper)
        .header("cognito-groups", "admin")
        .header("x-amzn-oidc-data", "admin")
        .json(&json!({"id": "p-9", "name": "x", "category": "c", "priceCents": 1, "currency": "USD", "stock": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status().as_u16(), 403);
    let mut staff = claims();
    staff["cognito:groups"] = json!(["admin"]);
    let created = client
        .post(format!("{}/products", stack.base))
        .header("authorization", format!("Bearer {}", sign(&staff)))
        .json(&json!({"id": "p-9", "name": "x", "category": "c", "priceCents": 1, "currency": "USD", "stock": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
}

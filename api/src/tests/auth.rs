//! `POST /auth`: every answer, including Cognito's errors as clear statuses.

use serde_json::json;

use super::{code, message, Harness};
use crate::app::AuthConfig;
use crate::http::{ApiRequest, MAX_BODY_BYTES};
use crate::memory::Fault;

const PASSWORD: &str = "Sup3r-secret!";

fn auth(body: serde_json::Value) -> ApiRequest {
    ApiRequest::new("POST", "/auth").with_json(&body)
}

fn register(email: &str, password: &str) -> ApiRequest {
    auth(json!({"action": "register", "email": email, "password": password}))
}

fn login(email: &str, password: &str) -> ApiRequest {
    auth(json!({"action": "login", "email": email, "password": password}))
}

#[tokio::test]
async fn register_confirm_login_refresh() {
    let h = Harness::new();
    let (response, body) = h.call(register("ann@example.com", PASSWORD)).await;
    assert_eq!(response.status, 201);
    assert_eq!(body["confirmed"], false);
    assert!(body["userSub"].as_str().is_some_and(|s| !s.is_empty()));

    // Not confirmed yet: 403.
    let (response, body) = h.call(login("ann@example.com", PASSWORD)).await;
    assert_eq!(response.status, 403);
    assert_eq!(code(&body), "user_not_confirmed");

    // Wrong code: 400.
    let wrong = auth(json!({"action": "confirm", "email": "ann@example.com", "code": "x"}));
    let (response, body) = h.call(wrong).await;
    assert_eq!(response.status, 400);
    assert_eq!(code(&body), "invalid_code");

    let code_sent = h.identity.confirmation_code("ann@example.com").unwrap();
    let confirm = auth(json!({"action": "confirm", "email": "ann@example.com", "code": code_sent}));
    let (response, _) = h.call(confirm).await;
    assert_eq!(response.status, 200);

    let (response, tokens) = h.call(login("ann@example.com", PASSWORD)).await;
    assert_eq!(response.status, 200);
    for field in ["idToken", "accessToken", "refreshToken"] {
        assert!(
            tokens[field].as_str().is_some_and(|t| !t.is_empty()),
            "{field}"
        );
    }
    assert!(tokens["expiresIn"].as_i64().is_some_and(|e| e > 0));

    let refresh = auth(json!({"action": "refresh", "refreshToken": tokens["refreshToken"]}));
    let (response, fresh) = h.call(refresh).await;
    assert_eq!(response.status, 200);
    assert_ne!(fresh["accessToken"], tokens["accessToken"]);
    assert_ne!(fresh["idToken"], tokens["idToken"]);
    // Not rotated by the provider: the old refresh token is handed back.
    assert_eq!(fresh["refreshToken"], tokens["refreshToken"]);
}

#[tokio::test]
async fn wrong_credentials_are_401() {
    let h = Harness::with_auth(AuthConfig { auto_confirm: true });
    h.call(register("bob@example.com", PASSWORD)).await;
    for request in [
        login("bob@example.com", "Wrong-pass1!"),
        login("nobody@example.com", PASSWORD),
        auth(json!({"action": "refresh", "refreshToken": "not-a-token"})),
    ] {
        let (response, body) = h.call(request).await;
        assert_eq!(response.status, 401);
        assert_eq!(code(&body), "invalid_credentials");
    }
}

#[tokio::test]
async fn auto_confirm_confirms_on_register() {
    let h = Harness::with_auth(AuthConfig { auto_confirm: true });
    let (response, body) = h.call(register("cat@example.com", PASSWORD)).await;
    assert_eq!(response.status, 201);
    assert_eq!(body["confirmed"], true);
    assert_eq!(h.identity.is_confirmed("cat@example.com"), Some(true));
    assert_eq!(
        h.call(login("cat@example.com", PASSWORD)).await.0.status,
        200
    );
}

#[tokio::test]
async fn existing_user_is_409() {
    let h = Harness::new();
    assert_eq!(
        h.call(register("dan@example.com", PASSWORD)).await.0.status,
        201
    );
    let (response, body) = h.call(register("dan@example.com", PASSWORD)).await;
    assert_eq!(response.status, 409);
    assert_eq!(code(&body), "user_exists");
}

#[tokio::test]
async fn weak_password_and_bad_email_are_400() {
    let h = Harness::new();
    for request in [
        register("eve@example.com", "short"),
        register("not-an-email", PASSWORD),
        register("eve@example.com", &"Aa1!".repeat(65)),
    ] {
        let (response, body) = h.call(request).await;
        assert_eq!(response.status, 400);
        assert_eq!(code(&body), "invalid_parameter");
        assert!(
            !body.to_string().contains("short"),
            "password echoed: {body}"
        );
    }
}

#[tokio::test]
async fn contract_breaks_are_422_naming_the_field() {
    let h = Harness::new();
    let cases = [
        (json!({"email": "a@b.co"}), "action"),
        (json!({"action": "dance"}), "action"),
        (json!({"action": 5}), "action"),
        (json!({"action": "register", "password": PASSWORD}), "email"),
        (json!({"action": "register", "email": "a@b.co"}), "password"),
        (
            json!({"action": "register", "email": "a@b.co", "password": 12345678}),
            "password",
        ),
        (json!({"action": "confirm", "email": "a@b.co"}), "code"),
        (json!({"action": "refresh"}), "refreshToken"),
        (
            json!({"action": "login", "email": "", "password": PASSWORD}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let (response, answer) = h.call(auth(body.clone())).await;
        assert_eq!(response.status, 422, "{body}");
        assert_eq!(code(&answer), "validation_failed");
        assert!(message(&answer).starts_with(field), "{body}: {answer}");
    }
}

#[tokio::test]
async fn body_problems_are_400_413_415() {
    let h = Harness::new();
    let broken =
        ApiRequest::new("POST", "/auth").with_body("application/json", b"{\"action\":".to_vec());
    let (response, body) = h.call(broken).await;
    assert_eq!((response.status, code(&body)), (400, "malformed_json"));

    let text = ApiRequest::new("POST", "/auth").with_body("text/plain", b"{}".to_vec());
    let (response, body) = h.call(text).await;
    assert_eq!(
        (response.status, code(&body)),
        (415, "unsupported_media_type")
    );

    let mut no_type = ApiRequest::new("POST", "/auth");
    no_type.body = b"{}".to_vec();
    assert_eq!(h.call(no_type).await.0.status, 415);

    let huge = format!(
        "{{\"action\":\"login\",\"email\":\"{}\"}}",
        "a".repeat(MAX_BODY_BYTES)
    );
    let big = ApiRequest::new("POST", "/auth").with_body("application/json", huge.into_bytes());
    let (response, body) = h.call(big).await;
    assert_eq!((response.status, code(&body)), (413, "payload_too_large"));
}

#[tokio::test]
async fn throttling_is_429_and_outage_is_503() {
    let h = Harness::new();
    h.identity.faults.fail_next(Fault::TooManyRequests, 1);
    let (response, body) = h.call(login("fay@example.com", PASSWORD)).await;
    assert_eq!((response.status, code(&body)), (429, "too_many_requests"));
    assert!(response.headers.contains_key("retry-after"));

    h.identity.faults.fail_next(Fault::Unavailable, 1);
    let (response, body) = h.call(register("fay@example.com", PASSWORD)).await;
    assert_eq!((response.status, code(&body)), (503, "service_unavailable"));
    assert!(response.headers["retry-after"].parse::<u32>().is_ok());
}

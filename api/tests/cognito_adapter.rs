//! The Cognito adapter against the emulator: sign-up, confirmation (by code and by
//! AdminConfirmSignUp), login, refresh, and Cognito's errors as HTTP answers.

mod common;

use api::app::{AuthApi, AuthConfig, Service};
use api::aws::CognitoIdentity;
use api::ApiRequest;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PasswordPolicyType, UserPoolPolicyType, UsernameAttributeType,
};
use aws_sdk_cognitoidentityprovider::Client;
use serde_json::{json, Value};

const PASSWORD: &str = "Sup3r-secret!";

/// A user pool with e-mail user names and the default password policy, and an app
/// client without a secret that allows the password and refresh flows.
async fn pool(client: &Client) -> (String, String) {
    let pool = client
        .create_user_pool()
        .pool_name(common::unique("shop"))
        .username_attributes(UsernameAttributeType::Email)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(8)
                        .require_uppercase(true)
                        .require_lowercase(true)
                        .require_numbers(true)
                        .require_symbols(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create user pool")
        .user_pool
        .unwrap();
    let pool_id = pool.id.unwrap();
    let app_client = client
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("web")
        .generate_secret(false)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("create user pool client")
        .user_pool_client
        .unwrap();
    (pool_id, app_client.client_id.unwrap())
}

async fn auth_api(auto_confirm: bool) -> AuthApi<CognitoIdentity> {
    let config = common::sdk_config().await;
    let client = Client::new(&config);
    let (pool_id, client_id) = pool(&client).await;
    AuthApi {
        identity: CognitoIdentity::new(client, client_id, Some(pool_id)),
        config: AuthConfig { auto_confirm },
    }
}

async fn post(api: &AuthApi<CognitoIdentity>, body: Value) -> (u16, Value) {
    let response = api
        .handle(ApiRequest::new("POST", "/auth").with_json(&body))
        .await;
    (response.status, response.json_body())
}

fn email() -> String {
    format!("{}@example.com", common::unique("user"))
}

#[tokio::test]
async fn register_confirm_login_refresh() {
    let api = auth_api(false).await;
    let email = email();

    let (status, body) = post(
        &api,
        json!({"action": "register", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["confirmed"], false);
    assert!(body["userSub"].as_str().is_some_and(|s| !s.is_empty()));

    let (status, body) = post(
        &api,
        json!({"action": "login", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 403, "unconfirmed: {body}");
    assert_eq!(body["error"]["code"], "user_not_confirmed");

    // moto accepts any code for a pending user (it sends no e-mail).
    let (status, body) = post(
        &api,
        json!({"action": "confirm", "email": email, "code": "123456"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, tokens) = post(
        &api,
        json!({"action": "login", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    for field in ["idToken", "accessToken", "refreshToken"] {
        let token = tokens[field].as_str().unwrap_or("");
        assert!(token.len() > 20, "{field}");
    }
    assert!(tokens["expiresIn"].as_i64().is_some_and(|e| e > 0));

    let (status, fresh) = post(
        &api,
        json!({"action": "refresh", "refreshToken": tokens["refreshToken"]}),
    )
    .await;
    assert_eq!(status, 200, "{fresh}");
    assert!(fresh["accessToken"].as_str().is_some_and(|t| t.len() > 20));
    assert!(fresh["refreshToken"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn auto_confirm_uses_admin_confirm_sign_up() {
    let api = auth_api(true).await;
    let email = email();
    let (status, body) = post(
        &api,
        json!({"action": "register", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["confirmed"], true);
    let (status, _) = post(
        &api,
        json!({"action": "login", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn cognito_errors_become_clear_answers() {
    let api = auth_api(true).await;
    let email = email();
    let register = json!({"action": "register", "email": email, "password": PASSWORD});
    assert_eq!(post(&api, register.clone()).await.0, 201);

    let (status, body) = post(&api, register).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("user_exists")),
        "{body}"
    );

    let (status, body) = post(
        &api,
        json!({"action": "login", "email": email, "password": "Wrong-pass1!"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );

    let (status, _) = post(
        &api,
        json!({"action": "login", "email": "nobody-here@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 401);

    let (status, body) = post(
        &api,
        json!({"action": "register", "email": format!("weak-{email}"), "password": "weakpassword"}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_parameter")),
        "{body}"
    );
    assert!(!body.to_string().contains("weakpassword"));

    let (status, _) = post(
        &api,
        json!({"action": "refresh", "refreshToken": "garbage"}),
    )
    .await;
    assert_eq!(status, 401);
}

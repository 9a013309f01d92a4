//! Lambda `auth-handler`: `POST /auth` against the Cognito user pool.

use api::app::{AuthApi, AuthConfig};
use api::aws::{sdk_config, CognitoIdentity};
use api::lambda::{env_flag, env_var, init_logging, run};
use shop_model::env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_logging();
    let config = sdk_config().await;
    // Local stacks only: confirm users on sign-up (AdminConfirmSignUp needs USER_POOL_ID).
    let auto_confirm = env_flag("AUTO_CONFIRM_USERS");
    let pool_id = if auto_confirm {
        Some(env_var(env::USER_POOL_ID)?)
    } else {
        None
    };
    let identity = CognitoIdentity::new(
        aws_sdk_cognitoidentityprovider::Client::new(&config),
        env_var(env::USER_POOL_CLIENT_ID)?,
        pool_id,
    );
    run(AuthApi {
        identity,
        config: AuthConfig { auto_confirm },
    })
    .await
}

//! [`IdentityProvider`] over a Cognito user pool (app client without a secret, e-mail as
//! the user name, `USER_PASSWORD_AUTH` and `REFRESH_TOKEN_AUTH` flows enabled).

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType,
};
use aws_sdk_cognitoidentityprovider::Client;

use super::errors::{classify, service_code};
use crate::error::ApiError;
use crate::ports::{IdentityProvider, SignUp, Tokens};

/// The user pool and its app client.
#[derive(Debug, Clone)]
pub struct CognitoIdentity {
    client: Client,
    client_id: String,
    /// Needed only for `AdminConfirmSignUp` (auto-confirm on local stacks).
    user_pool_id: Option<String>,
}

impl CognitoIdentity {
    pub fn new(client: Client, client_id: impl Into<String>, user_pool_id: Option<String>) -> Self {
        CognitoIdentity {
            client,
            client_id: client_id.into(),
            user_pool_id,
        }
    }
}

/// Maps Cognito's errors to answers. Messages are fixed strings: Cognito's own messages
/// can quote parameter values, and a parameter may be a password.
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html#API_InitiateAuth_Errors>
fn map_error<E>(
    operation: &'static str,
    error: &SdkError<E, aws_sdk_cognitoidentityprovider::config::http::HttpResponse>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match service_code(error) {
        Some("UsernameExistsException" | "AliasExistsException") => ApiError::UserExists,
        Some("NotAuthorizedException" | "UserNotFoundException") => ApiError::WrongCredentials,
        Some("UserNotConfirmedException") => ApiError::NotConfirmed,
        Some("PasswordResetRequiredException") => {
            ApiError::ChallengeRequired("PASSWORD_RESET".into())
        }
        Some("InvalidPasswordException") => {
            ApiError::InvalidParameter("password does not conform to the password policy".into())
        }
        Some("InvalidParameterException") => {
            ApiError::InvalidParameter("email or password is not acceptable".into())
        }
        Some("CodeMismatchException") => ApiError::InvalidCode("invalid confirmation code".into()),
        Some("ExpiredCodeException") => {
            ApiError::InvalidCode("confirmation code has expired".into())
        }
        Some(
            "TooManyRequestsException"
            | "LimitExceededException"
            | "TooManyFailedAttemptsException",
        ) => ApiError::TooManyRequests,
        // Cognito's own message stays out even of the log: it can quote a parameter.
        code => match classify("Cognito", operation, error) {
            ApiError::Internal(_) => ApiError::Internal(format!(
                "Cognito {operation} failed: {}",
                code.unwrap_or("request could not be sent")
            )),
            other => other,
        },
    }
}

fn tokens(
    result: Option<AuthenticationResultType>,
    challenge: Option<String>,
) -> Result<Tokens, ApiError> {
    let Some(result) = result else {
        return Err(match challenge {
            Some(challenge) => ApiError::ChallengeRequired(challenge),
            None => ApiError::Internal("Cognito returned neither tokens nor a challenge".into()),
        });
    };
    let (Some(id_token), Some(access_token)) = (result.id_token, result.access_token) else {
        return Err(ApiError::Internal(
            "Cognito returned incomplete tokens".into(),
        ));
    };
    Ok(Tokens {
        id_token,
        access_token,
        refresh_token: result.refresh_token,
        expires_in: result.expires_in,
    })
}

#[async_trait]
impl IdentityProvider for CognitoIdentity {
    async fn sign_up(&self, email: &str, password: &str) -> Result<SignUp, ApiError> {
        let email_attribute = AttributeType::builder()
            .name("email")
            .value(email)
            .build()
            .map_err(|e| ApiError::Internal(format!("email attribute: {e}")))?;
        let output = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(email)
            .password(password)
            .user_attributes(email_attribute)
            .send()
            .await
            .map_err(|e| map_error("SignUp", &e))?;
        Ok(SignUp {
            user_sub: output.user_sub,
            confirmed: output.user_confirmed,
        })
    }

    async fn confirm_sign_up(&self, email: &str, code: &str) -> Result<(), ApiError> {
        self.client
            .confirm_sign_up()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map_err(|e| match map_error("ConfirmSignUp", &e) {
                // An unknown user cannot have a valid code.
                ApiError::WrongCredentials => {
                    ApiError::InvalidCode("invalid confirmation code".into())
                }
                other => other,
            })?;
        Ok(())
    }

    async fn admin_confirm_sign_up(&self, email: &str) -> Result<(), ApiError> {
        let Some(pool) = &self.user_pool_id else {
            return Err(ApiError::Internal("auto-confirm needs USER_POOL_ID".into()));
        };
        self.client
            .admin_confirm_sign_up()
            .user_pool_id(pool)
            .username(email)
            .send()
            .await
            .map_err(|e| map_error("AdminConfirmSignUp", &e))?;
        Ok(())
    }

    async fn login(&self, email: &str, password: &str) -> Result<Tokens, ApiError> {
        let output = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(|e| map_error("InitiateAuth", &e))?;
        tokens(
            output.authentication_result,
            output.challenge_name.map(|c| c.as_str().to_string()),
        )
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, ApiError> {
        let output = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(|e| map_error("InitiateAuth", &e))?;
        tokens(
            output.authentication_result,
            output.challenge_name.map(|c| c.as_str().to_string()),
        )
    }
}

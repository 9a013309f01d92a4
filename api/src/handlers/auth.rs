//! `POST /auth`: register, confirm, login and refresh against the identity provider.

use crate::contract::{Confirmed, Registered, TokenSet};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse, Fields};
use crate::ports::{IdentityProvider, Tokens};

/// Longest password Cognito accepts.
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html>
const MAX_PASSWORD_LEN: usize = 256;
/// Longest e-mail address (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;
/// Longest confirmation code Cognito accepts.
const MAX_CODE_LEN: usize = 2048;

/// Settings of the auth handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthConfig {
    /// Confirm users right after sign-up (`AdminConfirmSignUp`); only for local stacks.
    pub auto_confirm: bool,
}

/// Handles `POST /auth`.
pub async fn handle<I: IdentityProvider>(
    identity: &I,
    config: AuthConfig,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let body = request.json_object()?;
    let fields = Fields::new(&body);
    match fields.string("action")? {
        "register" => {
            let email = email(&fields)?;
            let password = password(&fields)?;
            let mut sign_up = identity.sign_up(email, password).await?;
            if config.auto_confirm && !sign_up.confirmed {
                identity.admin_confirm_sign_up(email).await?;
                sign_up.confirmed = true;
            }
            tracing::info!(user_sub = %sign_up.user_sub, confirmed = sign_up.confirmed, "user registered");
            Ok(ApiResponse::json(
                201,
                &Registered {
                    user_sub: sign_up.user_sub,
                    confirmed: sign_up.confirmed,
                },
            ))
        }
        "confirm" => {
            let email = email(&fields)?;
            let code = fields.string("code")?;
            if code.len() > MAX_CODE_LEN || code.chars().any(char::is_whitespace) {
                return Err(ApiError::field("code", "is not a confirmation code"));
            }
            identity.confirm_sign_up(email, code).await?;
            Ok(ApiResponse::json(200, &Confirmed { confirmed: true }))
        }
        "login" => {
            let email = email(&fields)?;
            let password = password(&fields)?;
            let tokens = identity.login(email, password).await?;
            Ok(tokens_response(tokens, None))
        }
        "refresh" => {
            let refresh_token = fields.string("refreshToken")?;
            let tokens = identity.refresh(refresh_token).await?;
            Ok(tokens_response(tokens, Some(refresh_token)))
        }
        _ => Err(ApiError::field(
            "action",
            "must be one of register, confirm, login, refresh",
        )),
    }
}

/// The token answer; a refresh that did not rotate the refresh token echoes the old one.
fn tokens_response(tokens: Tokens, previous_refresh: Option<&str>) -> ApiResponse {
    let refresh_token = tokens
        .refresh_token
        .or_else(|| previous_refresh.map(str::to_owned));
    ApiResponse::json(
        200,
        &TokenSet {
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token,
            expires_in: tokens.expires_in,
        },
    )
}

/// The `email` field: required (422), and shaped like an address (400, as Cognito would).
fn email<'a>(fields: &Fields<'a>) -> Result<&'a str, ApiError> {
    let email = fields.string("email")?;
    if !looks_like_email(email) {
        return Err(ApiError::InvalidParameter(
            "email is not a valid email address".into(),
        ));
    }
    Ok(email)
}

/// The `password` field: required (422); over Cognito's length limit is 400.
fn password<'a>(fields: &Fields<'a>) -> Result<&'a str, ApiError> {
    let password = fields.string("password")?;
    if password.chars().count() > MAX_PASSWORD_LEN {
        return Err(ApiError::InvalidParameter(
            "password is longer than 256 characters".into(),
        ));
    }
    Ok(password)
}

/// A deliberately loose check: one `@`, non-empty local part, a dotted domain, no spaces.
fn looks_like_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shape() {
        assert!(looks_like_email("a@b.co"));
        assert!(looks_like_email("first.last+tag@example.com"));
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a@.b", "a@b.", "a b@c.de", "a@b..c",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}

//! The crate's one error type: every failure a handler or port can report, and how it
//! becomes the API's single error shape `{"error":{"code":"...","message":"..."}}`.

/// Seconds a client should wait after a throttled downstream call.
pub const RETRY_AFTER_THROTTLED: u32 = 2;
/// Seconds a client should wait after a downstream service could not be reached.
pub const RETRY_AFTER_UNREACHABLE: u32 = 5;

/// Everything that can go wrong while serving a request.
///
/// Messages never carry passwords, tokens or payment tokens: variants built from client
/// input name the field, never echo its value.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not parseable JSON.
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// A parameter the identity provider rejected (weak password, bad e-mail, ...).
    #[error("{0}")]
    InvalidParameter(String),
    /// A confirmation code that is wrong or expired.
    #[error("{0}")]
    InvalidCode(String),
    /// A field that breaks the contract; `field` names it (`items[2].quantity`).
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The same `Idempotency-Key` was sent before with a different body.
    #[error("Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// Missing or unusable caller identity.
    #[error("{0}")]
    Unauthorized(String),
    /// Wrong e-mail/password, or a refresh token that is not (or no longer) valid.
    #[error("incorrect email, password or token")]
    WrongCredentials,
    /// An authenticated caller who may not use this route (a shopper on a staff route).
    #[error("{0}")]
    Forbidden(String),
    /// The user has not confirmed the sign-up yet.
    #[error("the user has not confirmed the sign-up")]
    NotConfirmed,
    /// The identity provider wants another challenge answered (e.g. a new password).
    #[error("sign-in needs the challenge {0}, which this API does not support")]
    ChallengeRequired(String),
    /// A resource that does not exist (or is not the caller's).
    #[error("{0}")]
    NotFound(String),
    /// No route for this method and path.
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    /// A user with this e-mail exists already.
    #[error("a user with this email already exists")]
    UserExists,
    /// A versioned write named a version that is no longer current.
    #[error("version {sent} is stale: the product is at version {current}; read it again and reapply the change")]
    VersionConflict { sent: i64, current: i64 },
    /// A stock adjustment that would take the stock below zero.
    #[error("the stock is {stock}; an adjustment of {adjustment} would take it below zero")]
    InsufficientStock { stock: i64, adjustment: i64 },
    /// A stored resource conflicts with the request.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the largest body the API reads.
    #[error("request body is larger than 65536 bytes")]
    PayloadTooLarge,
    /// The body is not declared as `application/json`.
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// The identity provider throttled the caller (Cognito `TooManyRequestsException`).
    #[error("too many requests, retry later")]
    TooManyRequests,
    /// A downstream service is throttling or cannot be reached.
    #[error("{service} is unavailable, retry later")]
    Unavailable {
        service: &'static str,
        retry_after_secs: u32,
    },
    /// Anything else. The detail goes to the log only; the client sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A 422 for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_)
            | ApiError::InvalidParameter(_)
            | ApiError::InvalidCode(_) => 400,
            ApiError::Unauthorized(_) | ApiError::WrongCredentials => 401,
            ApiError::Forbidden(_) | ApiError::NotConfirmed | ApiError::ChallengeRequired(_) => 403,
            ApiError::NotFound(_) | ApiError::RouteNotFound { .. } => 404,
            ApiError::UserExists
            | ApiError::Conflict(_)
            | ApiError::VersionConflict { .. }
            | ApiError::InsufficientStock { .. } => 409,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Validation { .. } | ApiError::IdempotencyKeyReused => 422,
            ApiError::TooManyRequests => 429,
            ApiError::Internal(_) => 500,
            ApiError::Unavailable { .. } => 503,
        }
    }

    /// Machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::InvalidCode(_) => "invalid_code",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::WrongCredentials => "invalid_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotConfirmed => "user_not_confirmed",
            ApiError::ChallengeRequired(_) => "challenge_required",
            ApiError::NotFound(_) => "not_found",
            ApiError::RouteNotFound { .. } => "route_not_found",
            ApiError::UserExists => "user_exists",
            ApiError::Conflict(_) => "conflict",
            ApiError::VersionConflict { .. } => "version_conflict",
            ApiError::InsufficientStock { .. } => "insufficient_stock",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyRequests => "too_many_requests",
            ApiError::Unavailable { .. } => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// Seconds for the `Retry-After` header, if the client should retry.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::TooManyRequests => Some(RETRY_AFTER_THROTTLED),
            _ => None,
        }
    }

    /// The message the client sees (internal details stay in the log).
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error".to_string(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_is_not_shown_to_the_client() {
        let response = ApiError::Internal("table xyz exploded".into()).to_response();
        assert_eq!(response.status, 500);
        let body = response.json_body();
        assert_eq!(body["error"]["code"], "internal_error");
        assert_eq!(body["error"]["message"], "internal error");
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let response = ApiError::Unavailable {
            service: "DynamoDB",
            retry_after_secs: 2,
        }
        .to_response();
        assert_eq!(response.status, 503);
        assert_eq!(response.headers["retry-after"], "2");
    }
}

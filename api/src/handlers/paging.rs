//! Paged listings: the `limit` query parameter and the opaque `cursor` (a DynamoDB
//! `LastEvaluatedKey` as base64url JSON) that every listing route shares.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::ports::PageKey;

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor accepted (a DynamoDB key of a few short strings is far smaller).
const MAX_CURSOR_LEN: usize = 2048;

/// The `limit` query parameter: 1 to 100, [`DEFAULT_LIMIT`] when absent; 422 otherwise.
pub fn limit(request: &ApiRequest) -> Result<u32, ApiError> {
    match request.query.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::field("limit", "must be an integer from 1 to 100")),
        },
    }
}

/// The opaque cursor of a page key: base64url (no padding) of its JSON.
pub fn encode_cursor(key: &PageKey) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// The `cursor` query parameter decoded, if present. The key must be one `belongs` accepts
/// (a key of the listing it continues); anything else is a 422 on `cursor`.
pub fn cursor(
    request: &ApiRequest,
    belongs: impl FnOnce(&PageKey) -> bool,
) -> Result<Option<PageKey>, ApiError> {
    request
        .query
        .get("cursor")
        .map(|cursor| decode_cursor(cursor, belongs))
        .transpose()
}

/// Decodes a cursor that `belongs` accepts; anything else is a 422 on `cursor`.
pub fn decode_cursor(
    cursor: &str,
    belongs: impl FnOnce(&PageKey) -> bool,
) -> Result<PageKey, ApiError> {
    let invalid = || ApiError::field("cursor", "is not a cursor of this listing");
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let key: PageKey = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if belongs(&key) {
        Ok(key)
    } else {
        Err(invalid())
    }
}

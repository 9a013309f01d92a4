//! `GET /products` and `GET /products/{id}`: the public catalog, paged with opaque cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use shop_model::products as attr;

use crate::contract::{ProductPage, ProductView};
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse};
use crate::ports::{PageKey, ProductCatalog};

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size.
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor accepted (a DynamoDB key of two short strings is far smaller).
const MAX_CURSOR_LEN: usize = 2048;
/// Longest category name accepted.
const MAX_CATEGORY_LEN: usize = 100;

/// Handles `GET /products`.
pub async fn list<C: ProductCatalog>(
    catalog: &C,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let limit = match request.query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::field("limit", "must be an integer from 1 to 100")),
        },
    };
    let category = match request.query.get("category").map(String::as_str) {
        None => None,
        Some(c) if c.is_empty() || c.len() > MAX_CATEGORY_LEN => {
            return Err(ApiError::field("category", "must be 1 to 100 characters"))
        }
        Some(c) => Some(c),
    };
    let start = match request.query.get("cursor") {
        None => None,
        Some(cursor) => Some(decode_cursor(cursor, category)?),
    };
    let page = catalog
        .list_products(category, limit, start.as_ref())
        .await?;
    let items = page.items.iter().map(ProductView::from).collect();
    let next_cursor = page.last_key.as_ref().map(encode_cursor);
    Ok(ApiResponse::json(200, &ProductPage { items, next_cursor }))
}

/// Handles `GET /products/{id}`.
pub async fn get<C: ProductCatalog>(catalog: &C, id: &str) -> Result<ApiResponse, ApiError> {
    // An id that is not a plain id cannot name a product.
    if !is_plain_id(id) {
        return Err(ApiError::NotFound("no such product".into()));
    }
    match catalog.get_product(id).await? {
        Some(product) => Ok(ApiResponse::json(200, &ProductView::from(&product))),
        None => Err(ApiError::NotFound("no such product".into())),
    }
}

/// The opaque cursor of a page key: base64url (no padding) of its JSON.
pub fn encode_cursor(key: &PageKey) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes and validates a cursor: it must be a key of the listing it continues (the
/// table key `{id}` for a full listing, `{category, id}` of the same category for a
/// category listing). Anything else is a 422 on `cursor`.
pub fn decode_cursor(cursor: &str, category: Option<&str>) -> Result<PageKey, ApiError> {
    let invalid = || ApiError::field("cursor", "is not a cursor of this listing");
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let key: PageKey = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let id_ok = key.get(attr::ID).is_some_and(|id| is_plain_id(id));
    let shape_ok = match category {
        None => key.len() == 1,
        Some(category) => {
            key.len() == 2 && key.get(attr::CATEGORY).map(String::as_str) == Some(category)
        }
    };
    if id_ok && shape_ok {
        Ok(key)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> PageKey {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cursor_round_trips() {
        let k = key(&[("id", "p-9")]);
        assert_eq!(decode_cursor(&encode_cursor(&k), None).unwrap(), k);
        let k = key(&[("id", "p-9"), ("category", "books")]);
        assert_eq!(decode_cursor(&encode_cursor(&k), Some("books")).unwrap(), k);
    }

    #[test]
    fn cursor_garbage_is_rejected() {
        let listing = encode_cursor(&key(&[("id", "p-9")]));
        let books = encode_cursor(&key(&[("id", "p-9"), ("category", "books")]));
        let cases = [
            "!!!".to_string(),
            URL_SAFE_NO_PAD.encode("not json"),
            URL_SAFE_NO_PAD.encode("[1,2]"),
            URL_SAFE_NO_PAD.encode(r#"{"id":5}"#),
            URL_SAFE_NO_PAD.encode(r#"{"id":"../x"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"id":"a","extra":"b"}"#),
            books.clone(),
        ];
        for cursor in &cases {
            assert!(decode_cursor(cursor, None).is_err(), "{cursor}");
        }
        assert!(decode_cursor(&listing, Some("books")).is_err());
        assert!(decode_cursor(&books, Some("games")).is_err());
    }
}

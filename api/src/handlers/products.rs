//! `GET /products` and `GET /products/{id}`: the public catalog, paged with opaque cursors.

use shop_model::products as attr;

use crate::contract::{ProductPage, ProductView};
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse};
use crate::ports::{PageKey, ProductCatalog};

use super::paging::{self, encode_cursor};
/// Longest category name accepted.
const MAX_CATEGORY_LEN: usize = 100;

/// Handles `GET /products`.
pub async fn list<C: ProductCatalog>(
    catalog: &C,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let limit = paging::limit(request)?;
    let category = match request.query.get("category").map(String::as_str) {
        None => None,
        Some(c) if c.is_empty() || c.len() > MAX_CATEGORY_LEN => {
            return Err(ApiError::field("category", "must be 1 to 100 characters"))
        }
        Some(c) => Some(c),
    };
    let start = paging::cursor(request, |key| continues_listing(key, category))?;
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

/// True for a key of the listing a cursor continues: the table key `{id}` for a full
/// listing, `{category, id}` of the same category for a category listing.
fn continues_listing(key: &PageKey, category: Option<&str>) -> bool {
    let id_ok = key.get(attr::ID).is_some_and(|id| is_plain_id(id));
    let shape_ok = match category {
        None => key.len() == 1,
        Some(category) => {
            key.len() == 2 && key.get(attr::CATEGORY).map(String::as_str) == Some(category)
        }
    };
    id_ok && shape_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn decode_cursor(cursor: &str, category: Option<&str>) -> Result<PageKey, ApiError> {
        paging::decode_cursor(cursor, |key| continues_listing(key, category))
    }

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

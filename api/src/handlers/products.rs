//! `GET /products` and `GET /products/{id}`: the public catalog (archived products hidden),
//! paged with opaque cursors, each product with a short-lived URL of its image.

use std::time::Duration;

use shop_model::products as attr;

use crate::contract::{ProductPage, ProductView};
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse};
use crate::ports::{ImageStore, PageKey, ProductCatalog};

use super::paging::{self, encode_cursor};
/// Longest category name, in characters (catalog management uses the same limit).
pub const MAX_CATEGORY_CHARS: usize = 100;

/// Lifetime of an image URL: two hours, twice the longest time API Gateway's cache may serve
/// a catalog answer (`ApiCacheTtlSeconds` is at most 3600), so a cached URL still loads.
/// (A URL signed with a Lambda role's temporary credentials also ends when they do.)
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html>
pub const IMAGE_URL_EXPIRES_SECS: u64 = 7200;

/// A pre-signed URL of the product's image, if it has one.
pub async fn image_url<S: ImageStore>(
    images: &S,
    product: &shop_model::Product,
) -> Result<Option<String>, ApiError> {
    match &product.image_key {
        Some(key) => Ok(Some(
            images
                .presign_download(key, Duration::from_secs(IMAGE_URL_EXPIRES_SECS))
                .await?,
        )),
        None => Ok(None),
    }
}

/// The public view of a product, with its image URL.
async fn view<S: ImageStore>(
    images: &S,
    product: &shop_model::Product,
) -> Result<ProductView, ApiError> {
    Ok(ProductView::from(product).with_image_url(image_url(images, product).await?))
}

/// Handles `GET /products`.
pub async fn list<C: ProductCatalog, S: ImageStore>(
    catalog: &C,
    images: &S,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let limit = paging::limit(request)?;
    let category = match request.query.get("category").map(String::as_str) {
        None => None,
        Some(c) if c.is_empty() || c.chars().count() > MAX_CATEGORY_CHARS => {
            return Err(ApiError::field("category", "must be 1 to 100 characters"))
        }
        Some(c) => Some(c),
    };
    let start = paging::cursor(request, |key| continues_listing(key, category))?;
    let page = catalog
        .list_products(category, limit, start.as_ref())
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for product in page.items.iter().filter(|p| !p.archived) {
        items.push(view(images, product).await?);
    }
    let next_cursor = page.last_key.as_ref().map(encode_cursor);
    Ok(ApiResponse::json(200, &ProductPage { items, next_cursor }))
}

/// Handles `GET /products/{id}` (an archived product is not found).
pub async fn get<C: ProductCatalog, S: ImageStore>(
    catalog: &C,
    images: &S,
    id: &str,
) -> Result<ApiResponse, ApiError> {
    // An id that is not a plain id cannot name a product.
    if !is_plain_id(id) {
        return Err(ApiError::NotFound("no such product".into()));
    }
    match catalog.get_product(id).await? {
        Some(product) if !product.archived => {
            Ok(ApiResponse::json(200, &view(images, &product).await?))
        }
        _ => Err(ApiError::NotFound("no such product".into())),
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

//! `GET /products/upload`: a pre-signed S3 `PUT` URL for one new image of one product.

use std::time::Duration;

use uuid::Uuid;

use crate::contract::UploadTarget;
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse};
use crate::ports::{ImageStore, ProductCatalog};

/// Lifetime of an upload URL, in seconds (the contract caps it at 300).
pub const UPLOAD_URL_EXPIRES_SECS: u64 = 300;

/// The image types accepted, with the file extension of each.
const CONTENT_TYPES: [(&str, &str); 3] = [
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
];

/// Handles `GET /products/upload?productId=...&contentType=...`.
pub async fn handle<C: ProductCatalog, S: ImageStore>(
    catalog: &C,
    images: &S,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    request.require_claims()?;
    let product_id = match request.query.get("productId").map(String::as_str) {
        None | Some("") => return Err(ApiError::field("productId", "is required")),
        Some(id) if !is_plain_id(id) => {
            return Err(ApiError::field(
                "productId",
                "must be a plain id (letters, digits, - and _)",
            ))
        }
        Some(id) => id,
    };
    let content_type = match request.query.get("contentType").map(String::as_str) {
        None | Some("") => return Err(ApiError::field("contentType", "is required")),
        Some(ct) => ct.trim().to_ascii_lowercase(),
    };
    let Some((content_type, extension)) = CONTENT_TYPES.iter().find(|(ct, _)| *ct == content_type)
    else {
        return Err(ApiError::field(
            "contentType",
            "must be image/jpeg, image/png or image/webp",
        ));
    };
    if catalog.get_product(product_id).await?.is_none() {
        return Err(ApiError::NotFound("no such product".into()));
    }
    // A random v4 UUID (122 random bits) makes the key unguessable; the product prefix
    // namespaces it.
    let key = format!("products/{product_id}/{}.{extension}", Uuid::new_v4());
    let expires_in = Duration::from_secs(UPLOAD_URL_EXPIRES_SECS);
    let upload_url = images
        .presign_upload(&key, content_type, expires_in)
        .await?;
    tracing::info!(product_id, key = %key, "upload URL issued");
    Ok(ApiResponse::json(
        200,
        &UploadTarget {
            upload_url,
            method: "PUT".into(),
            headers: [("Content-Type".to_owned(), content_type.to_string())].into(),
            key,
            expires_in: UPLOAD_URL_EXPIRES_SECS,
        },
    ))
}

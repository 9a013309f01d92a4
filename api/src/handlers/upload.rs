//! `GET /products/upload` (staff only): a pre-signed S3 POST form for one new image of one
//! product, bounded in size, type and time. The image-intake function checks what arrives
//! before the product shows it.

use std::time::Duration;

use uuid::Uuid;

use crate::contract::UploadTarget;
use crate::error::ApiError;
use crate::http::{is_plain_id, ApiRequest, ApiResponse};
use crate::ports::{ImageStore, ProductCatalog, UploadRules};

/// Lifetime of an upload form, in seconds (the contract caps it at 300).
pub const UPLOAD_URL_EXPIRES_SECS: u64 = 300;
/// Largest image accepted, in bytes (5 MiB; S3 refuses a larger file with `EntityTooLarge`).
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;

/// The image types accepted, with the file extension of each.
pub const CONTENT_TYPES: [(&str, &str); 3] = [
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
    request.require_staff()?;
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
    let rules = UploadRules {
        key,
        content_type: content_type.to_string(),
        max_bytes: MAX_IMAGE_BYTES,
        expires_in: Duration::from_secs(UPLOAD_URL_EXPIRES_SECS),
    };
    let form = images.presign_upload(&rules).await?;
    tracing::info!(product_id, key = %rules.key, "upload form issued");
    Ok(ApiResponse::json(
        200,
        &UploadTarget {
            upload_url: form.url,
            method: "POST".into(),
            fields: form.fields,
            key: rules.key,
            max_bytes: MAX_IMAGE_BYTES,
            expires_in: UPLOAD_URL_EXPIRES_SECS,
        },
    ))
}

//! Image intake: what happens to an object uploaded under `products/` before a shopper sees
//! it. S3 sends `s3:ObjectCreated:*` for the prefix to the image-upload queue; the
//! `image-intake` Lambda takes each record, checks that the bytes really are a JPEG, PNG or
//! WebP image of acceptable size and dimensions and of the type its key names, and makes it the
//! product's image (deleting the previous one). Anything else is deleted: nothing a client
//! uploads is ever shown unchecked.
//!
//! Why S3 → SQS → Lambda rather than a direct S3 → Lambda notification: the queue retries a
//! failed record (a throttled table) with backoff and parks a poison record in its DLQ, where
//! an alarm sees it, instead of S3's asynchronous invocation dropping it after two retries; the
//! local stack drives the same queue, so the path is the same everywhere.
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html>

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::error::ApiError;
use crate::handlers::upload::{CONTENT_TYPES, MAX_IMAGE_BYTES};
use crate::http::is_plain_id;
use crate::ports::CatalogAdmin;

/// Smallest accepted width and height, in pixels.
pub const MIN_SIDE: u32 = 16;
/// Largest accepted width and height, in pixels.
pub const MAX_SIDE: u32 = 4096;

/// The image formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    WebP,
}

impl ImageFormat {
    /// The format a key's extension names (the upload form's content type chose it).
    pub fn from_extension(extension: &str) -> Option<Self> {
        let content_type = CONTENT_TYPES
            .iter()
            .find(|(_, ext)| *ext == extension)
            .map(|(ct, _)| *ct)?;
        match content_type {
            "image/jpeg" => Some(ImageFormat::Jpeg),
            "image/png" => Some(ImageFormat::Png),
            "image/webp" => Some(ImageFormat::WebP),
            _ => None,
        }
    }
}

/// Why an upload is not an acceptable product image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the key is not products/<productId>/<name>.<jpg|png|webp>")]
    UnexpectedKey,
    #[error("{size} bytes is more than the {MAX_IMAGE_BYTES} an image may have")]
    TooLarge { size: u64 },
    #[error("the object is empty")]
    Empty,
    #[error("the bytes are not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the bytes are {found:?} but the key says {expected:?}")]
    WrongFormat {
        expected: ImageFormat,
        found: ImageFormat,
    },
    #[error("the image is truncated or has data after its end")]
    Malformed,
    #[error("{width}x{height} is outside {MIN_SIDE}..={MAX_SIDE} pixels per side")]
    BadDimensions { width: u32, height: u32 },
    #[error("no product {0}")]
    NoSuchProduct(String),
}

/// The product and format an upload's key names: `products/<productId>/<name>.<ext>`.
pub fn parse_key(key: &str) -> Result<(&str, ImageFormat), Rejection> {
    let rest = key
        .strip_prefix("products/")
        .ok_or(Rejection::UnexpectedKey)?;
    let (product_id, file) = rest.split_once('/').ok_or(Rejection::UnexpectedKey)?;
    let (stem, extension) = file.rsplit_once('.').ok_or(Rejection::UnexpectedKey)?;
    if !is_plain_id(product_id) || !is_plain_id(stem) {
        return Err(Rejection::UnexpectedKey);
    }
    let format = ImageFormat::from_extension(extension).ok_or(Rejection::UnexpectedKey)?;
    Ok((product_id, format))
}

/// Checks that `bytes` are a whole image of `expected` format with acceptable dimensions;
/// returns (width, height). The header gives the format and size; the end marker (PNG `IEND`,
/// JPEG `EOI`) or the RIFF length (WebP) shows the file is whole, with nothing appended.
pub fn inspect(bytes: &[u8], expected: ImageFormat) -> Result<(u32, u32), Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Err(Rejection::TooLarge {
            size: bytes.len() as u64,
        });
    }
    let found = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Jpeg) => ImageFormat::Jpeg,
        Ok(imagesize::ImageType::Png) => ImageFormat::Png,
        Ok(imagesize::ImageType::Webp) => ImageFormat::WebP,
        _ => return Err(Rejection::NotAnImage),
    };
    if found != expected {
        return Err(Rejection::WrongFormat { expected, found });
    }
    let whole = match found {
        // PNG: the last chunk is IEND (length 0, type, CRC).
        // <https://www.w3.org/TR/png-3/#11IEND>
        ImageFormat::Png => bytes.ends_with(b"\0\0\0\0IEND\xAE\x42\x60\x82"),
        // JPEG: the file ends with the End Of Image marker.
        ImageFormat::Jpeg => bytes.ends_with(&[0xFF, 0xD9]),
        // WebP: a RIFF container whose size field counts every byte after the first 8.
        // <https://developers.google.com/speed/webp/docs/riff_container>
        ImageFormat::WebP => {
            bytes.len() >= 12
                && u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize
                    == bytes.len() - 8
        }
    };
    if !whole {
        return Err(Rejection::Malformed);
    }
    let size = imagesize::blob_size(bytes).map_err(|_| Rejection::Malformed)?;
    let (width, height) = (size.width as u32, size.height as u32);
    let ok = |side: u32| (MIN_SIDE..=MAX_SIDE).contains(&side);
    if !ok(width) || !ok(height) {
        return Err(Rejection::BadDimensions { width, height });
    }
    Ok((width, height))
}

/// The images bucket as the intake uses it: read what arrived, delete what is refused or
/// replaced.
#[async_trait]
pub trait ImageObjects: Send + Sync {
    /// The object's size, or `None` if it is gone (deleted, or a redelivered record).
    async fn size(&self, key: &str) -> Result<Option<u64>, ApiError>;
    /// The object's bytes, or `None` if it is gone.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError>;
    /// Deletes the object (deleting a missing object is not an error).
    async fn delete(&self, key: &str) -> Result<(), ApiError>;
}

/// What the intake did with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// The object is the product's image now; `replaced` was deleted.
    Accepted {
        product_id: String,
        width: u32,
        height: u32,
        replaced: Option<String>,
    },
    /// The object was deleted.
    Rejected(Rejection),
    /// The object was already gone (a redelivery after it was handled).
    Gone,
}

/// Handles one uploaded object.
pub async fn take_in<C: CatalogAdmin + ?Sized, O: ImageObjects + ?Sized>(
    catalog: &C,
    objects: &O,
    key: &str,
) -> Result<Intake, ApiError> {
    let (product_id, format) = match parse_key(key) {
        Ok(parsed) => parsed,
        Err(rejection) => return reject(objects, key, rejection).await,
    };
    // The size first: an oversized object is deleted without reading it.
    match objects.size(key).await? {
        None => return Ok(Intake::Gone),
        Some(size) if size > MAX_IMAGE_BYTES => {
            return reject(objects, key, Rejection::TooLarge { size }).await
        }
        Some(_) => {}
    }
    let Some(bytes) = objects.read(key).await? else {
        return Ok(Intake::Gone);
    };
    let (width, height) = match inspect(&bytes, format) {
        Ok(size) => size,
        Err(rejection) => return reject(objects, key, rejection).await,
    };
    let previous = match catalog.set_image(product_id, key).await {
        Ok(previous) => previous,
        Err(ApiError::NotFound(_)) => {
            return reject(objects, key, Rejection::NoSuchProduct(product_id.into())).await
        }
        Err(error) => return Err(error),
    };
    // A redelivered record finds its own key already set: nothing to clean up.
    let replaced = previous.filter(|old| old != key);
    if let Some(old) = &replaced {
        objects.delete(old).await?;
    }
    Ok(Intake::Accepted {
        product_id: product_id.to_string(),
        width,
        height,
        replaced,
    })
}

async fn reject<O: ImageObjects + ?Sized>(
    objects: &O,
    key: &str,
    rejection: Rejection,
) -> Result<Intake, ApiError> {
    objects.delete(key).await?;
    Ok(Intake::Rejected(rejection))
}

/// The object keys of one SQS record's body: an S3 event notification (keys are URL-encoded,
/// `+` for space). S3's `s3:TestEvent`, sent when the notification is configured, has none.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
pub fn object_keys(body: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("not JSON ({:?} at line {})", e.classify(), e.line()))?;
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    let records = value
        .get("Records")
        .and_then(|r| r.as_array())
        .ok_or_else(|| "not an S3 event notification".to_string())?;
    records
        .iter()
        .filter(|r| {
            r.get("eventName")
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.starts_with("ObjectCreated:"))
        })
        .map(|r| {
            let raw = r
                .pointer("/s3/object/key")
                .and_then(|k| k.as_str())
                .ok_or("record without a key")?;
            url_decode(raw).ok_or_else(|| "a key that is not URL-encoded UTF-8".to_string())
        })
        .collect()
}

/// Decodes S3's form encoding of a key (`%XX`, and `+` for a space).
fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Handles a batch of the image-upload queue: every object of every record. A record whose
/// objects could not all be handled (a throttled table, S3 unreachable) is a batch item failure,
/// so SQS redelivers it and finally moves it to the DLQ; handling an object twice is harmless.
pub async fn take_in_batch<C: CatalogAdmin + ?Sized, O: ImageObjects + ?Sized>(
    catalog: &C,
    objects: &O,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let keys = match object_keys(record.body.as_deref().unwrap_or_default()) {
            Ok(keys) => keys,
            Err(reason) => {
                // Nothing to retry: a malformed notification stays malformed. Logged, dropped.
                tracing::warn!(%message_id, %reason, "record ignored");
                continue;
            }
        };
        for key in keys {
            match take_in(catalog, objects, &key).await {
                Ok(Intake::Accepted {
                    product_id,
                    width,
                    height,
                    replaced,
                }) => {
                    tracing::info!(%key, %product_id, width, height, replaced = ?replaced, "image accepted")
                }
                Ok(Intake::Rejected(rejection)) => {
                    tracing::warn!(%key, reason = %rejection, "upload rejected and deleted")
                }
                Ok(Intake::Gone) => tracing::info!(%key, "object already gone"),
                Err(error) => {
                    tracing::warn!(%key, %error, "intake failed; the record will be retried");
                    response.add_failure(message_id.clone());
                    break;
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid PNG of `width` x `height` (the header and an IEND; no pixels are read).
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(b"\0\0\0\0IEND\xAE\x42\x60\x82");
        bytes
    }

    #[test]
    fn keys_name_a_product_and_a_format() {
        assert_eq!(
            parse_key("products/mug/0b4e.png"),
            Ok(("mug", ImageFormat::Png))
        );
        assert_eq!(
            parse_key("products/mug/main.jpg"),
            Ok(("mug", ImageFormat::Jpeg))
        );
        for bad in [
            "products/mug.png",
            "products/mug/a/b.png",
            "products/../x.png",
            "products/mug/x.gif",
            "products/mug/x.svg",
            "other/mug/x.png",
            "products/mug/.png",
            "products/mug/x",
        ] {
            assert_eq!(parse_key(bad), Err(Rejection::UnexpectedKey), "{bad}");
        }
    }

    #[test]
    fn whole_images_of_the_named_format_and_size_pass() {
        assert_eq!(inspect(&png(64, 48), ImageFormat::Png), Ok((64, 48)));
        assert_eq!(
            inspect(&png(64, 48), ImageFormat::Jpeg),
            Err(Rejection::WrongFormat {
                expected: ImageFormat::Jpeg,
                found: ImageFormat::Png
            })
        );
        assert_eq!(
            inspect(&png(8, 48), ImageFormat::Png),
            Err(Rejection::BadDimensions {
                width: 8,
                height: 48
            })
        );
        assert!(matches!(
            inspect(&png(5000, 48), ImageFormat::Png),
            Err(Rejection::BadDimensions { .. })
        ));
        let mut appended = png(64, 48);
        appended.extend_from_slice(b"<script>alert(1)</script>");
        assert_eq!(
            inspect(&appended, ImageFormat::Png),
            Err(Rejection::Malformed)
        );
        let truncated = &png(64, 48)[..30];
        assert_eq!(
            inspect(truncated, ImageFormat::Png),
            Err(Rejection::Malformed)
        );
        assert_eq!(
            inspect(b"<html>not an image</html>", ImageFormat::Png),
            Err(Rejection::NotAnImage)
        );
        assert_eq!(inspect(b"", ImageFormat::Png), Err(Rejection::Empty));
        let huge = vec![0u8; MAX_IMAGE_BYTES as usize + 1];
        assert!(matches!(
            inspect(&huge, ImageFormat::Png),
            Err(Rejection::TooLarge { .. })
        ));
    }

    #[test]
    fn jpeg_and_webp_are_checked_whole() {
        // SOI, a SOF0 segment of 32x20, EOI.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
        jpeg.extend_from_slice(&20u16.to_be_bytes());
        jpeg.extend_from_slice(&32u16.to_be_bytes());
        jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(inspect(&jpeg, ImageFormat::Jpeg), Ok((32, 20)));
        assert_eq!(
            inspect(&jpeg[..jpeg.len() - 2], ImageFormat::Jpeg),
            Err(Rejection::Malformed)
        );
        // RIFF....WEBPVP8X with a 24x18 canvas.
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
        webp.extend_from_slice(&10u32.to_le_bytes());
        webp.extend_from_slice(&[0, 0, 0, 0]);
        webp.extend_from_slice(&(24u32 - 1).to_le_bytes()[..3]);
        webp.extend_from_slice(&(18u32 - 1).to_le_bytes()[..3]);
        let size = (webp.len() - 8) as u32;
        webp[4..8].copy_from_slice(&size.to_le_bytes());
        assert_eq!(inspect(&webp, ImageFormat::WebP), Ok((24, 18)));
        webp.push(0);
        assert_eq!(inspect(&webp, ImageFormat::WebP), Err(Rejection::Malformed));
    }

    #[test]
    fn notifications_yield_decoded_created_keys() {
        let body = r#"{"Records":[
            {"eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"products/mug/a%2Bb+c.png","size":5}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"products/mug/x.png"}}}
        ]}"#;
        assert_eq!(object_keys(body).unwrap(), ["products/mug/a+b c.png"]);
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert!(object_keys(test_event).unwrap().is_empty());
        assert!(object_keys("nope").is_err());
        assert!(object_keys(r#"{"Records":"x"}"#).is_err());
    }

    mod take_in {
        use super::*;
        use crate::memory::{Fault, MemoryCatalog, MemoryObjects};

        fn catalog() -> MemoryCatalog {
            let mut mug = crate::tests::product("mug", "kitchen", 1299);
            mug.image_key = Some("products/mug/old.png".into());
            MemoryCatalog::new([mug])
        }

        #[tokio::test]
        async fn an_image_becomes_the_products_image_and_the_old_one_goes() {
            let (catalog, objects) = (catalog(), MemoryObjects::default());
            objects.put("products/mug/old.png", png(64, 64));
            objects.put("products/mug/new.png", png(64, 48));
            let intake = take_in(&catalog, &objects, "products/mug/new.png")
                .await
                .unwrap();
            assert_eq!(
                intake,
                Intake::Accepted {
                    product_id: "mug".into(),
                    width: 64,
                    height: 48,
                    replaced: Some("products/mug/old.png".into()),
                }
            );
            assert_eq!(
                catalog.get("mug").unwrap().image_key.as_deref(),
                Some("products/mug/new.png")
            );
            assert!(!objects.contains("products/mug/old.png"));
            // A redelivery changes nothing and deletes nothing.
            let again = take_in(&catalog, &objects, "products/mug/new.png")
                .await
                .unwrap();
            assert!(matches!(again, Intake::Accepted { replaced: None, .. }));
            assert!(objects.contains("products/mug/new.png"));
        }

        #[tokio::test]
        async fn anything_else_is_deleted_and_never_shown() {
            let (catalog, objects) = (catalog(), MemoryObjects::default());
            let cases: Vec<(&str, Vec<u8>)> = vec![
                ("products/mug/a.png", b"<svg onload=alert(1)>".to_vec()),
                ("products/mug/b.jpg", png(64, 64)),
                ("products/mug/c.png", png(20_000, 10)),
                ("products/nope/d.png", png(64, 64)),
                ("products/mug/e.exe", png(64, 64)),
                ("products/mug/f.png", vec![0; MAX_IMAGE_BYTES as usize + 1]),
            ];
            for (key, bytes) in cases {
                objects.put(key, bytes);
                let intake = take_in(&catalog, &objects, key).await.unwrap();
                assert!(matches!(intake, Intake::Rejected(_)), "{key}: {intake:?}");
                assert!(!objects.contains(key), "{key} deleted");
            }
            // The oversized one was refused by its size, unread.
            assert!(!objects.reads().contains(&"products/mug/f.png".to_string()));
            assert_eq!(
                catalog.get("mug").unwrap().image_key.as_deref(),
                Some("products/mug/old.png")
            );
            assert_eq!(
                take_in(&catalog, &objects, "products/mug/gone.png")
                    .await
                    .unwrap(),
                Intake::Gone
            );
        }

        #[tokio::test]
        async fn an_outage_fails_the_record_for_a_retry() {
            let (catalog, objects) = (catalog(), MemoryObjects::default());
            objects.put("products/mug/new.png", png(64, 48));
            catalog.faults.fail_next(Fault::Unavailable, 1);
            let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
            record.message_id = Some("m-1".into());
            record.body = Some(
                r#"{"Records":[{"eventName":"ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"products/mug/new.png"}}}]}"#
                    .into(),
            );
            let mut event = SqsEvent::default();
            event.records.push(record);
            let response = take_in_batch(&catalog, &objects, event.clone()).await;
            assert_eq!(response.batch_item_failures.len(), 1);
            assert!(
                objects.contains("products/mug/new.png"),
                "kept for the retry"
            );
            let response = take_in_batch(&catalog, &objects, event).await;
            assert!(response.batch_item_failures.is_empty());
            assert_eq!(
                catalog.get("mug").unwrap().image_key.as_deref(),
                Some("products/mug/new.png")
            );
        }
    }
}

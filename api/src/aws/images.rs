//! [`ImageStore`] over S3: pre-signed `PutObject` URLs bound to one key and content type.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;

use super::errors::classify;
use crate::error::ApiError;
use crate::ports::ImageStore;

/// The images bucket.
#[derive(Debug, Clone)]
pub struct S3Images {
    client: Client,
    bucket: String,
}

impl S3Images {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Images {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl ImageStore for S3Images {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String, ApiError> {
        // Query-string SigV4 presigning: the key and the `content-type` header are signed,
        // `X-Amz-Expires` bounds the lifetime (a URL signed with temporary credentials also
        // stops working when they expire).
        // <https://docs.aws.amazon.com/AmazonS3/latest/userguide/PresignedUrlUploadObject.html>
        let config = PresigningConfig::expires_in(expires_in)
            .map_err(|e| ApiError::Internal(format!("presigning config: {e}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(|e| classify("S3", "PutObject", &e))?;
        Ok(request.uri().to_string())
    }
}

//! [`ImageStore`] and [`ImageObjects`] over S3: pre-signed POST forms bound to one key,
//! content type and size range, pre-signed `GetObject` URLs for showing images of the private
//! bucket, and the reads and deletes of the image intake.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;

use super::errors::classify;
use super::post_policy::{signed_fields, SigningCredentials};
use crate::error::ApiError;
use crate::intake::ImageObjects;
use crate::ports::{ImageStore, UploadForm, UploadRules};

/// The images bucket.
#[derive(Debug, Clone)]
pub struct S3Images {
    client: Client,
    /// Signs upload forms: the SDK configuration's provider (`SdkConfig::credentials_provider`),
    /// since an S3 client does not expose its own.
    credentials: Option<SharedCredentialsProvider>,
    bucket: String,
}

impl S3Images {
    pub fn new(
        client: Client,
        credentials: Option<SharedCredentialsProvider>,
        bucket: impl Into<String>,
    ) -> Self {
        S3Images {
            client,
            credentials,
            bucket: bucket.into(),
        }
    }

    /// The images bucket of a Lambda: `IMAGES_BUCKET` from the environment, signed with the
    /// SDK configuration's credentials.
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, lambda_http::Error> {
        Ok(S3Images::new(
            super::s3_client(config),
            config.credentials_provider(),
            crate::lambda::env_var(shop_model::env::IMAGES_BUCKET)?,
        ))
    }

    fn presigning(expires_in: Duration) -> Result<PresigningConfig, ApiError> {
        PresigningConfig::expires_in(expires_in)
            .map_err(|e| ApiError::Internal(format!("presigning config: {e}")))
    }

    /// The bucket's own URL as the client's endpoint resolution gives it (virtual-hosted on
    /// AWS, path-style on an emulator): a pre-signed `GetObject` URL of `key` without the
    /// query and the key.
    async fn bucket_url(&self, key: &str) -> Result<String, ApiError> {
        let object = self.presign_download(key, Duration::from_secs(60)).await?;
        let without_query = object.split('?').next().unwrap_or_default();
        without_query
            .strip_suffix(key)
            .map(|base| base.trim_end_matches('/').to_string())
            .ok_or_else(|| ApiError::Internal(format!("unexpected S3 object URL for {key}")))
    }
}

#[async_trait]
impl ImageStore for S3Images {
    async fn presign_upload(&self, rules: &UploadRules) -> Result<UploadForm, ApiError> {
        let config = self.client.config();
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| ApiError::Internal("the S3 client has no credentials".into()))?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            tracing::error!(error = %e, "loading credentials to sign an upload failed");
            ApiError::Unavailable {
                service: "S3",
                retry_after_secs: crate::error::RETRY_AFTER_UNREACHABLE,
            }
        })?;
        let region = config
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| ApiError::Internal("the S3 client has no region".into()))?;
        let signing = SigningCredentials {
            access_key_id: credentials.access_key_id().to_string(),
            secret_access_key: credentials.secret_access_key().to_string(),
            session_token: credentials.session_token().map(str::to_string),
        };
        let fields = signed_fields(&self.bucket, rules, &signing, &region, SystemTime::now());
        Ok(UploadForm {
            url: self.bucket_url(&rules.key).await?,
            fields,
        })
    }

    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<String, ApiError> {
        // Query-string SigV4: the key is signed, `X-Amz-Expires` bounds the lifetime (a URL
        // signed with temporary credentials also stops working when they expire).
        // <https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html>
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presigning(expires_in)?)
            .await
            .map_err(|e| classify("S3", "GetObject", &e))?;
        Ok(request.uri().to_string())
    }
}

#[async_trait]
impl ImageObjects for S3Images {
    async fn size(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(classify("S3", "HeadObject", &e)),
        }
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(classify("S3", "GetObject", &e)),
        };
        let bytes = object.body.collect().await.map_err(|e| {
            tracing::warn!(error = %e, "reading an object body failed");
            ApiError::Unavailable {
                service: "S3",
                retry_after_secs: crate::error::RETRY_AFTER_UNREACHABLE,
            }
        })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn delete(&self, key: &str) -> Result<(), ApiError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("S3", "DeleteObject", &e))?;
        Ok(())
    }
}

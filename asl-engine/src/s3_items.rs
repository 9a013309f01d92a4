//! The distributed Map's [`ItemStore`] on Amazon S3 through the AWS SDK for Rust: GetObject,
//! ListObjectsV2 and PutObject, as Step Functions calls them for `ItemReader` and `ResultWriter`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html>).

use async_trait::async_trait;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::dmap::{ItemStore, ListPage, ObjectInfo, StoreError};

/// [`ItemStore`] on an S3 client.
#[derive(Clone, Debug)]
pub struct S3ItemStore {
    client: aws_sdk_s3::Client,
}

impl S3ItemStore {
    /// The store on `client`.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3ItemStore { client }
    }

    /// The store on a client made from `conf`; with an endpoint URL set (an emulator on
    /// loopback), path-style addressing, as virtual-hosted bucket names cannot resolve there.
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(conf.endpoint_url().is_some())
            .build();
        S3ItemStore::new(aws_sdk_s3::Client::from_conf(s3))
    }
}

fn store_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    e: aws_sdk_s3::error::SdkError<E>,
) -> StoreError {
    match e.as_service_error() {
        Some(s) => StoreError::new(
            s.code().unwrap_or("Unknown"),
            s.message().unwrap_or("").to_string(),
        ),
        None => StoreError::new(
            "ServiceUnavailable",
            aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
        ),
    }
}

#[async_trait]
impl ItemStore for S3ItemStore {
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<u8>, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_string))
            .send()
            .await
            .map_err(store_error)?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::new("ReadError", e.to_string()))?;
        Ok(body.into_bytes().to_vec())
    }

    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        continuation: Option<String>,
    ) -> Result<ListPage, StoreError> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .set_prefix(prefix.map(str::to_string))
            .set_continuation_token(continuation)
            .send()
            .await
            .map_err(store_error)?;
        let objects = out
            .contents()
            .iter()
            .map(|o| ObjectInfo {
                key: o.key().unwrap_or_default().to_string(),
                etag: o.e_tag().unwrap_or_default().to_string(),
                last_modified: o.last_modified().map_or(0, |t| t.secs()),
                size: o.size().unwrap_or(0),
                storage_class: o
                    .storage_class()
                    .map_or("STANDARD", |c| c.as_str())
                    .to_string(),
            })
            .collect();
        let next = if out.is_truncated() == Some(true) {
            out.next_continuation_token().map(str::to_string)
        } else {
            None
        };
        Ok(ListPage { objects, next })
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }
}

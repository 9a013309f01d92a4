//! AWS SDK adapters of the ports, and the shared SDK setup and error mapping.

mod catalog;
mod errors;
mod identity;
mod images;
mod orders;
pub mod post_policy;
mod queue;

pub use catalog::DynamoCatalog;
pub use identity::CognitoIdentity;
pub use images::S3Images;
pub use orders::DynamoOrders;
pub use queue::SqsQueue;

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::ApiError;
use crate::ports::PageKey;

/// Loads the SDK configuration from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL` when pointed at an emulator).
pub async fn sdk_config() -> SdkConfig {
    shop_model::aws::sdk_config().await
}

/// An S3 client; path-style addressing when an endpoint override is set (emulators
/// cannot serve virtual-hosted bucket names on loopback).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// A DynamoDB `LastEvaluatedKey` as a [`PageKey`] (every key attribute here is a string).
pub(crate) fn page_key(key: &HashMap<String, AttributeValue>) -> Result<PageKey, ApiError> {
    key.iter()
        .map(|(name, value)| match value {
            AttributeValue::S(s) => Ok((name.clone(), s.clone())),
            _ => Err(ApiError::Internal(format!(
                "non-string key attribute {name}"
            ))),
        })
        .collect()
}

/// A [`PageKey`] as a DynamoDB `ExclusiveStartKey`.
pub(crate) fn start_key(key: &PageKey) -> HashMap<String, AttributeValue> {
    key.iter()
        .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
        .collect()
}

/// A string attribute.
pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// A number attribute.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

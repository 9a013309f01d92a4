//! The S3 presigner against the emulator. moto verifies neither S3 signatures nor POST
//! policies, so the form is checked by inspection (its fields and decoded policy; the policy's
//! signature is unit-tested in `api::aws::post_policy`) and then used once to show it stores
//! the right object; download URLs are checked the same way.

mod common;

use std::collections::HashMap;

use api::app::{CatalogAdminApi, Service};
use api::aws::{s3_client, DynamoCatalog, S3Images};
use api::ports::ImageStore;
use api::ApiRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Query parameters of a URL, percent-decoded.
fn query_params(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Sends a `multipart/form-data` POST (the fields, then `file`) to a URL on the loopback
/// emulator, as a browser form or `curl -F` would; returns the status code.
async fn post_form(
    url: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
    file: &[u8],
) -> u16 {
    let rest = url
        .strip_prefix("http://")
        .expect("emulator URL is plain http");
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let boundary = "----shop-upload-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{}\r\n",
                value.as_str().unwrap()
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"img\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn upload_forms_are_bound_to_key_content_type_size_and_300_seconds() {
    let config = common::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let products = common::create_products_table(&dynamodb).await;
    common::put_product(&dynamodb, &products, "p-1", "books", 1299).await;
    let s3 = s3_client(&config);
    let bucket = common::unique("images");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let images = S3Images::new(s3.clone(), config.credentials_provider(), bucket.clone());
    let api = CatalogAdminApi {
        catalog: DynamoCatalog::new(dynamodb, products),
        images: images.clone(),
    };
    let request = ApiRequest::new("GET", "/products/upload")
        .with_query("productId", "p-1")
        .with_query("contentType", "image/webp")
        .with_staff_claims("staff-1");
    let response = api.handle(request.clone()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.json_body();
    let key = body["key"].as_str().unwrap();
    assert!(
        key.starts_with("products/p-1/") && key.ends_with(".webp"),
        "{key}"
    );
    assert_eq!(body["method"], "POST");
    // Path-style on the emulator: the form goes to /<bucket>.
    let url = body["uploadUrl"].as_str().unwrap();
    assert!(url.ends_with(&format!("/{bucket}")), "{url}");
    let fields = body["fields"].as_object().unwrap();
    assert_eq!(fields["key"], key);
    assert_eq!(fields["Content-Type"], "image/webp");
    assert_eq!(fields["x-amz-algorithm"], "AWS4-HMAC-SHA256");
    assert_eq!(fields["x-amz-signature"].as_str().unwrap().len(), 64);
    let policy: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            fields["policy"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&serde_json::json!({ "bucket": bucket })));
    assert!(conditions.contains(&serde_json::json!({ "key": key })));
    assert!(conditions.contains(&serde_json::json!(["content-length-range", 1, 5_242_880])));
    let expiration =
        chrono::DateTime::parse_from_rfc3339(policy["expiration"].as_str().unwrap()).unwrap();
    let left = expiration
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    assert!(left > 0 && left <= 300, "policy expires in {left} s");
    assert_eq!(body["expiresIn"], 300);

    // A second form names a different object.
    let other = api.handle(request).await.json_body();
    assert_ne!(other["key"], body["key"]);

    // The form stores exactly that key with its content type.
    let status = post_form(url, fields, b"RIFF....WEBP").await;
    assert!(
        status == 204 || status == 201 || status == 200,
        "POST answered {status}"
    );
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("object exists");
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(head.content_length(), Some(12));

    // A download URL is signed for that key and short-lived, and it reads the object.
    let download = images
        .presign_download(key, std::time::Duration::from_secs(600))
        .await
        .unwrap();
    assert!(download
        .split('?')
        .next()
        .unwrap()
        .ends_with(&format!("/{bucket}/{key}")));
    let params = query_params(&download);
    assert_eq!(params["X-Amz-Expires"], "600");
    assert!(params.contains_key("X-Amz-Signature"));

    let unknown = ApiRequest::new("GET", "/products/upload")
        .with_query("productId", "p-404")
        .with_query("contentType", "image/png")
        .with_staff_claims("staff-1");
    assert_eq!(api.handle(unknown).await.status, 404);
}

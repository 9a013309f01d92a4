//! The S3 presigner against the emulator. moto does not verify S3 signatures, so the URL
//! is checked by inspection (key, signed content-type, `X-Amz-Expires` <= 300) and then
//! used once to show it addresses the right object.

mod common;

use std::collections::HashMap;

use api::app::{Service, UploadApi};
use api::aws::{s3_client, DynamoCatalog, S3Images};
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

/// Sends a `PUT` with a body to a URL on the loopback emulator; returns the status code.
async fn put(url: &str, content_type: &str, body: &[u8]) -> u16 {
    let rest = url
        .strip_prefix("http://")
        .expect("emulator URL is plain http");
    let (authority, path_and_query) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let head = format!(
        "PUT {path_and_query} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn upload_urls_are_bound_to_key_content_type_and_300_seconds() {
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

    let api = UploadApi {
        catalog: DynamoCatalog::new(dynamodb, products),
        images: S3Images::new(s3.clone(), bucket.clone()),
    };
    let request = ApiRequest::new("GET", "/products/upload")
        .with_query("productId", "p-1")
        .with_query("contentType", "image/webp")
        .with_claims("user-1", None);
    let response = api.handle(request.clone()).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.json_body();
    let key = body["key"].as_str().unwrap();
    assert!(
        key.starts_with("products/p-1/") && key.ends_with(".webp"),
        "{key}"
    );
    let url = body["uploadUrl"].as_str().unwrap();

    // Path-style on the emulator: /<bucket>/<key>?<SigV4 query>.
    let path = url.split('?').next().unwrap();
    assert!(path.ends_with(&format!("/{bucket}/{key}")), "{url}");
    let params = query_params(url);
    assert_eq!(params["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
    let expires: u64 = params["X-Amz-Expires"].parse().unwrap();
    assert!(expires > 0 && expires <= 300, "X-Amz-Expires={expires}");
    assert_eq!(body["expiresIn"].as_u64(), Some(expires));
    let signed: Vec<&str> = params["X-Amz-SignedHeaders"].split(';').collect();
    // Exactly these: a client must send the signed content type and nothing else special.
    assert_eq!(signed, ["content-type", "host"], "signed headers");
    assert!(params.contains_key("X-Amz-Signature"));
    assert!(params.contains_key("X-Amz-Credential"));

    // A second URL names a different object.
    let other = api.handle(request).await.json_body();
    assert_ne!(other["key"], body["key"]);

    // The URL addresses that key: a PUT with the signed content type lands there.
    assert_eq!(put(url, "image/webp", b"RIFF....WEBP").await, 200);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("object exists");
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(head.content_length(), Some(12));

    let unknown = ApiRequest::new("GET", "/products/upload")
        .with_query("productId", "p-404")
        .with_query("contentType", "image/png")
        .with_claims("user-1", None);
    assert_eq!(api.handle(unknown).await.status, 404);
}

//! S3 browser-based uploads: the POST policy document of one upload and its SigV4 signature.
//!
//! A pre-signed `PUT` cannot bound the size of what is stored; a POST policy can
//! (`content-length-range`), and it pins the key and the `Content-Type` the form must send.
//! The SDK for Rust does not build POST policies, so this module does, with the SDK's own
//! SigV4 key derivation (`aws_sigv4`):
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html>.
//! S3 refuses a form whose fields break a condition (`403 AccessDenied`, "Invalid according to
//! Policy") and a file outside the length range (`400 EntityTooLarge` / `EntityTooSmall`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::ports::UploadRules;

/// The SigV4 algorithm name S3 expects in `x-amz-algorithm`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The credentials that sign the form. Never logged (see the `Debug` impl).
#[derive(Clone)]
pub struct SigningCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Present for temporary credentials (a Lambda's role): it becomes a signed form field.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for SigningCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The form fields of a signed upload, to be sent (in any order) before the `file` field.
pub fn signed_fields(
    bucket: &str,
    rules: &UploadRules,
    credentials: &SigningCredentials,
    region: &str,
    now: SystemTime,
) -> BTreeMap<String, String> {
    let at: DateTime<Utc> = now.into();
    let date = at.format("%Y%m%d").to_string();
    let amz_date = at.format("%Y%m%dT%H%M%SZ").to_string();
    let credential = format!(
        "{}/{date}/{region}/s3/aws4_request",
        credentials.access_key_id
    );
    let mut fields = BTreeMap::from([
        ("key".to_string(), rules.key.clone()),
        ("Content-Type".to_string(), rules.content_type.clone()),
        ("x-amz-algorithm".to_string(), ALGORITHM.to_string()),
        ("x-amz-credential".to_string(), credential),
        ("x-amz-date".to_string(), amz_date),
    ]);
    if let Some(token) = &credentials.session_token {
        fields.insert("x-amz-security-token".into(), token.clone());
    }
    let expiration: DateTime<Utc> = (now + rules.expires_in).into();
    let policy = policy_document(bucket, rules, &fields, expiration);
    let encoded = STANDARD.encode(policy.to_string());
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        &credentials.secret_access_key,
        now,
        region,
        "s3",
    );
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, encoded.as_bytes());
    fields.insert("policy".into(), encoded);
    fields.insert("x-amz-signature".into(), signature);
    fields
}

/// The policy document: its expiration, and one exact-match condition per signed field plus
/// the bucket and the length range.
pub fn policy_document(
    bucket: &str,
    rules: &UploadRules,
    fields: &BTreeMap<String, String>,
    expiration: DateTime<Utc>,
) -> Value {
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        // An empty file is no image.
        json!(["content-length-range", 1, rules.max_bytes]),
    ];
    conditions.extend(fields.iter().map(|(name, value)| json!({ name: value })));
    json!({
        "expiration": expiration.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "conditions": conditions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rules() -> UploadRules {
        UploadRules {
            key: "products/p-1/0b4e.png".into(),
            content_type: "image/png".into(),
            max_bytes: 5 * 1024 * 1024,
            expires_in: Duration::from_secs(300),
        }
    }

    fn credentials(session_token: Option<&str>) -> SigningCredentials {
        SigningCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: session_token.map(str::to_string),
        }
    }

    /// 2026-12-03T10:00:00Z.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_292_000)
    }

    fn decoded_policy(fields: &BTreeMap<String, String>) -> Value {
        serde_json::from_slice(&STANDARD.decode(&fields["policy"]).unwrap()).unwrap()
    }

    #[test]
    fn policy_pins_bucket_key_type_size_and_expiry() {
        let fields = signed_fields(
            "shop-images",
            &rules(),
            &credentials(None),
            "eu-west-1",
            now(),
        );
        let policy = decoded_policy(&fields);
        assert_eq!(policy["expiration"], "2026-12-03T10:05:00.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        for expected in [
            json!({"bucket": "shop-images"}),
            json!(["content-length-range", 1, 5_242_880]),
            json!({"key": "products/p-1/0b4e.png"}),
            json!({"Content-Type": "image/png"}),
            json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
            json!({"x-amz-credential": "AKIDEXAMPLE/20261203/eu-west-1/s3/aws4_request"}),
            json!({"x-amz-date": "20261203T100000Z"}),
        ] {
            assert!(conditions.contains(&expected), "missing {expected}");
        }
        // Every form field but the policy and the signature is a condition, and nothing else
        // is: a form with another field or value is refused by S3.
        assert_eq!(conditions.len(), 2 + fields.len() - 2);
        assert!(!fields.contains_key("x-amz-security-token"));
    }

    #[test]
    fn temporary_credentials_sign_their_session_token() {
        let fields = signed_fields(
            "shop-images",
            &rules(),
            &credentials(Some("tok")),
            "us-east-1",
            now(),
        );
        assert_eq!(fields["x-amz-security-token"], "tok");
        let policy = decoded_policy(&fields);
        assert!(policy["conditions"]
            .as_array()
            .unwrap()
            .contains(&json!({"x-amz-security-token": "tok"})));
    }

    #[test]
    fn signature_is_the_hmac_of_the_encoded_policy_with_the_sigv4_key() {
        let fields = signed_fields(
            "shop-images",
            &rules(),
            &credentials(None),
            "us-east-1",
            now(),
        );
        let key = aws_sigv4::sign::v4::generate_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            now(),
            "us-east-1",
            "s3",
        );
        let expected = aws_sigv4::sign::v4::calculate_signature(key, fields["policy"].as_bytes());
        assert_eq!(fields["x-amz-signature"], expected);
        assert_eq!(fields["x-amz-signature"].len(), 64);
        // A different secret, region or time gives a different signature.
        let other = signed_fields(
            "shop-images",
            &rules(),
            &credentials(None),
            "us-west-2",
            now(),
        );
        assert_ne!(other["x-amz-signature"], fields["x-amz-signature"]);
    }

    /// The signing-key derivation against AWS's published example
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>):
    /// the example secret, 2015-08-30, us-east-1, iam.
    #[test]
    fn signing_key_matches_the_aws_example() {
        let day = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_892_800);
        let key = aws_sigv4::sign::v4::generate_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            day,
            "us-east-1",
            "iam",
        );
        let hex: String = key.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let text = format!("{:?}", credentials(Some("tok")));
        assert!(!text.contains("wJalr") && !text.contains("tok"));
    }
}

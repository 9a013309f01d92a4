//! The local API Gateway's Cognito user pool authorizer: verifies the token of the
//! `Authorization` header as API Gateway does before any handler runs.
//!
//! API Gateway's REST API Cognito authorizer without OAuth scopes takes the ID token and
//! checks its signature against the pool's JWKS, its issuer, its expiry, that it is an ID
//! token (`token_use: id`) and that its audience is an app client of the pool:
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html>,
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html>.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Why a request is not authorized (the message is safe to show: it never holds the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization header")]
    Missing,
    #[error("the token is not a JWT")]
    Malformed,
    #[error("token algorithm {0} is not accepted (RS256 only)")]
    Algorithm(String),
    #[error("the token's signing key is not one of the user pool's keys")]
    UnknownKey,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("the token is expired")]
    Expired,
    #[error("the token was issued by another user pool")]
    WrongIssuer,
    #[error("the token was issued to another app client")]
    WrongAudience,
    #[error("an ID token is required (token_use is {0:?})")]
    WrongTokenUse(String),
    #[error("the user pool's keys could not be fetched: {0}")]
    Keys(String),
}

/// Verifies Cognito ID tokens of one user pool.
pub struct CognitoVerifier {
    issuer: String,
    audiences: Vec<String>,
    jwks_url: Option<String>,
    keys: RwLock<JwkSet>,
    last_refresh: RwLock<Option<Instant>>,
    http: reqwest::Client,
}

/// Least time between two JWKS re-fetches caused by an unknown `kid`.
const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

impl CognitoVerifier {
    /// A verifier with fixed keys (tests).
    pub fn with_keys(issuer: &str, audiences: Vec<String>, keys: JwkSet) -> Self {
        CognitoVerifier {
            issuer: issuer.to_string(),
            audiences,
            jwks_url: None,
            keys: RwLock::new(keys),
            last_refresh: RwLock::new(None),
            http: reqwest::Client::new(),
        }
    }

    /// A verifier that fetches the pool's keys from `jwks_url` now and again when a token
    /// names an unknown key. `issuer` is `https://cognito-idp.<region>.amazonaws.com/<pool id>`.
    pub async fn fetch(
        issuer: &str,
        audiences: Vec<String>,
        jwks_url: &str,
    ) -> Result<Self, AuthError> {
        let mut verifier = Self::with_keys(issuer, audiences, JwkSet { keys: Vec::new() });
        verifier.jwks_url = Some(jwks_url.to_string());
        let keys = verifier.download().await?;
        *verifier.keys.write().expect("keys lock") = keys;
        Ok(verifier)
    }

    async fn download(&self) -> Result<JwkSet, AuthError> {
        let url = self.jwks_url.as_deref().ok_or(AuthError::UnknownKey)?;
        *self.last_refresh.write().expect("refresh lock") = Some(Instant::now());
        let response = self
            .http
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| AuthError::Keys(e.to_string()))?;
        if !response.status().is_success() {
            return Err(AuthError::Keys(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        response
            .json::<JwkSet>()
            .await
            .map_err(|e| AuthError::Keys(e.to_string()))
    }

    /// The claims of the `Authorization` header's token (raw, or after `Bearer `).
    pub async fn verify_header(
        &self,
        header: Option<&str>,
    ) -> Result<Map<String, Value>, AuthError> {
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(AuthError::Missing)?;
        let token = match header.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => header,
        };
        match self.verify(token) {
            Err(AuthError::UnknownKey) if self.may_refresh() => {
                let keys = self.download().await?;
                *self.keys.write().expect("keys lock") = keys;
                self.verify(token)
            }
            other => other,
        }
    }

    fn may_refresh(&self) -> bool {
        self.jwks_url.is_some()
            && self
                .last_refresh
                .read()
                .expect("refresh lock")
                .is_none_or(|t| t.elapsed() >= REFRESH_INTERVAL)
    }

    /// Verifies one token: signature (RS256 with a key of the pool), `exp`, `iss`, `aud`, `token_use`.
    pub fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        if token.split('.').count() != 3 {
            return Err(AuthError::Malformed);
        }
        // `alg: none` and names jsonwebtoken does not know fail here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| match alg_of(token) {
            Some(alg) if alg != "RS256" => AuthError::Algorithm(alg),
            _ => AuthError::Malformed,
        })?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let key = {
            let keys = self.keys.read().expect("keys lock");
            let jwk = keys.find(&kid).ok_or(AuthError::UnknownKey)?;
            if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
                return Err(AuthError::UnknownKey);
            }
            DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Invalid(e.to_string()))?
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                    ErrorKind::InvalidAudience => AuthError::WrongAudience,
                    ErrorKind::InvalidSignature => AuthError::Invalid("bad signature".into()),
                    ErrorKind::MissingRequiredClaim(claim) => {
                        AuthError::Invalid(format!("claim {claim} is missing"))
                    }
                    ErrorKind::InvalidAlgorithm => AuthError::Algorithm("mismatch".into()),
                    _ => AuthError::Invalid("undecodable token".into()),
                }
            })?;
        let claims = data.claims;
        match claims.get("token_use").and_then(Value::as_str) {
            Some("id") => {}
            other => return Err(AuthError::WrongTokenUse(other.unwrap_or("").to_string())),
        }
        if claims
            .get("sub")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(AuthError::Invalid("claim sub is empty".into()));
        }
        Ok(claims)
    }
}

/// The `alg` of a token's header, read without trusting it (for the error message).
fn alg_of(token: &str) -> Option<String> {
    use base64::Engine;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["alg"].as_str().map(|s| s.chars().take(16).collect())
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const PRIVATE_KEY: &str = include_str!("../testdata/test-only-rsa-key.pem");
    const MODULUS: &str = "xHVKV59YQaENvov011taX0kHBCvFq3mdO5d8N_H9K1uhV1nkmSDXV3vQUb_fLXsld1_RV8EP9hQTBsfr8i-RH_QhbCc3NNqzNARawScmI3sVxXxi0HJrCWDAavz1S9zGpJokXTyNCX-CIZEKYmuf3j5Xa5124mMMXJNjfWoqPPGW5wgSJgYbV9YVc4RszoisAwzMcR3hn9NSAAG3oyukabNxH23xPMJSqDeL5BWoOevV3WBwzCuJDVthdG7WQ2iVNb4NlWcVa8YjMoLr5HyjkNu0adsudjOP5s75Rpx8lHfmOeusrVsBI2puVX9Ly8H8f9JfAyqAEjPqd0NvbG8Ymw";
    const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool";
    const CLIENT: &str = "client-1";

    fn jwks(modulus: &str) -> JwkSet {
        serde_json::from_value(json!({"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "key-1", "n": modulus, "e": "AQAB"
        }]}))
        .unwrap()
    }

    fn verifier() -> CognitoVerifier {
        CognitoVerifier::with_keys(ISSUER, vec![CLIENT.into()], jwks(MODULUS))
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    fn claims() -> Value {
        json!({
            "sub": "user-1", "email": "a@example.com", "iss": ISSUER, "aud": CLIENT,
            "token_use": "id", "iat": now(), "exp": now() + 3600,
        })
    }

    fn sign(claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("key-1".into());
        let key = EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    fn with(changes: Value) -> Value {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    fn b64(value: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn accepts_a_valid_id_token() {
        let claims = verifier().verify(&sign(&claims())).unwrap();
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["email"], "a@example.com");
    }

    #[tokio::test]
    async fn reads_the_authorization_header_raw_or_bearer() {
        let token = sign(&claims());
        let v = verifier();
        assert!(v.verify_header(Some(&token)).await.is_ok());
        assert!(v
            .verify_header(Some(&format!("Bearer {token}")))
            .await
            .is_ok());
        assert_eq!(v.verify_header(None).await, Err(AuthError::Missing));
        assert_eq!(v.verify_header(Some("  ")).await, Err(AuthError::Missing));
    }

    #[test]
    fn rejects_expired_foreign_and_misdirected_tokens() {
        let v = verifier();
        let expired = with(json!({"exp": now() - 1, "iat": now() - 3601}));
        assert_eq!(v.verify(&sign(&expired)), Err(AuthError::Expired));
        let foreign =
            with(json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"}));
        assert_eq!(v.verify(&sign(&foreign)), Err(AuthError::WrongIssuer));
        let other_client = with(json!({"aud": "client-2"}));
        assert_eq!(
            v.verify(&sign(&other_client)),
            Err(AuthError::WrongAudience)
        );
        let access = with(json!({"token_use": "access"}));
        assert_eq!(
            v.verify(&sign(&access)),
            Err(AuthError::WrongTokenUse("access".into()))
        );
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            v.verify(&sign(&no_exp)),
            Err(AuthError::Invalid(_))
        ));
        let blank_sub = with(json!({"sub": " "}));
        assert!(matches!(
            v.verify(&sign(&blank_sub)),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn rejects_tampered_unsigned_and_wrong_algorithm_tokens() {
        let v = verifier();
        let token = sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        // Same signature, different payload.
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64(&with(json!({"sub": "admin"}))),
            parts[2]
        );
        assert_eq!(
            v.verify(&tampered),
            Err(AuthError::Invalid("bad signature".into()))
        );
        // `alg: none` with no signature.
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "key-1"})),
            parts[1]
        );
        assert!(
            matches!(v.verify(&none), Err(AuthError::Algorithm(_))),
            "{:?}",
            v.verify(&none)
        );
        // HS256 "signed" with the public modulus as the secret (the classic key confusion).
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("key-1".into());
        let hs = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(MODULUS.as_bytes()),
        )
        .unwrap();
        assert_eq!(v.verify(&hs), Err(AuthError::Algorithm("HS256".into())));
        assert_eq!(v.verify("not-a-jwt"), Err(AuthError::Malformed));
        assert_eq!(v.verify("a.b.c"), Err(AuthError::Malformed));
    }

    #[test]
    fn rejects_tokens_of_other_keys() {
        // A key id the pool does not have.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("key-2".into());
        let key = EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
        assert_eq!(verifier().verify(&token), Err(AuthError::UnknownKey));
        // The pool's key id, but another modulus: the signature does not verify.
        let mut other = MODULUS.to_string();
        other.replace_range(10..11, if &MODULUS[10..11] == "A" { "B" } else { "A" });
        let v = CognitoVerifier::with_keys(ISSUER, vec![CLIENT.into()], jwks(&other));
        assert_eq!(
            v.verify(&sign(&claims())),
            Err(AuthError::Invalid("bad signature".into()))
        );
    }
}

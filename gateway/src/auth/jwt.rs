//! JWT bearer tokens: Warden as an OAuth 2.1 resource server. A token is
//! accepted when a key of the issuer signed it with an accepted algorithm,
//! and its issuer, audience (this server), expiry and not-before hold. Its
//! claims then name the caller, its roles and its scopes. The token itself
//! is never kept nor passed on.

use std::collections::BTreeSet;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::jwks::KeySet;
use super::jwks_fetch::JwksCache;
use crate::config::{JwksSource, JwtAlgorithm, JwtConfig};

/// The longest caller name a token may carry.
const MAX_CALLER_CHARS: usize = 256;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a well-formed JWT.
    #[error("the bearer token is not a valid JWT: {0}")]
    Malformed(String),
    /// Signed with an algorithm Warden does not accept (`none` included).
    #[error("the token's algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// No key of the issuer fits the token's `kid` and algorithm.
    #[error("no key of the issuer matches the token's key id and algorithm")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is not valid")]
    Signature,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before `nbf`.
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    /// Another issuer.
    #[error("the token was issued by another issuer")]
    Issuer,
    /// Not for this server.
    #[error("the token's audience is not this server")]
    Audience,
    /// A required claim is absent or of the wrong type.
    #[error("the token's `{claim}` claim {reason}")]
    Claim {
        /// The claim.
        claim: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The issuer's keys could not be fetched.
    #[error("the issuer's keys are unavailable: {0}")]
    KeysUnavailable(String),
}

/// What a valid token says of its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The caller claim.
    pub caller: String,
    /// The roles claim.
    pub roles: BTreeSet<String>,
    /// The scopes claim.
    pub scopes: BTreeSet<String>,
}

/// Checks tokens of one issuer.
#[derive(Debug)]
pub struct JwtVerifier {
    config: JwtConfig,
    keys: Keys,
}

#[derive(Debug)]
enum Keys {
    Fixed(KeySet),
    Fetched(JwksCache),
}

impl JwtVerifier {
    /// A verifier for `config`.
    pub fn new(config: &JwtConfig) -> Result<Self, String> {
        let keys = match &config.jwks {
            JwksSource::File { keys, path } => Keys::Fixed(
                KeySet::from_set(keys).map_err(|error| format!("{}: {error}", path.display()))?,
            ),
            JwksSource::Url {
                url,
                ca_file,
                refresh_secs,
                timeout_ms,
            } => Keys::Fetched(JwksCache::new(
                url.clone(),
                ca_file.as_deref(),
                Duration::from_secs(*refresh_secs),
                Duration::from_millis(*timeout_ms),
            )?),
        };
        Ok(Self {
            config: config.clone(),
            keys,
        })
    }

    /// The configuration it checks against.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Verifies `token` and reads its bearer's claims.
    pub async fn verify(&self, token: &str) -> Result<TokenClaims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| match error.kind() {
            // `alg: none` and other names the library does not know.
            ErrorKind::Json(_) if declared_algorithm(token).is_some() => {
                JwtError::Algorithm(declared_algorithm(token).unwrap_or_default())
            }
            _ => JwtError::Malformed(error.to_string()),
        })?;
        let algorithm = accepted(header.alg)
            .filter(|algorithm| self.config.algorithms.contains(algorithm))
            .ok_or_else(|| JwtError::Algorithm(format!("{:?}", header.alg)))?;
        let keys = match &self.keys {
            Keys::Fixed(keys) => keys.clone(),
            Keys::Fetched(cache) => cache
                .keys(header.kid.as_deref())
                .await
                .map_err(JwtError::KeysUnavailable)?,
        };
        let validation = self.validation(header.alg);
        let mut last_error = JwtError::UnknownKey;
        for key in keys.candidates(header.kid.as_deref(), algorithm) {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return self.claims(&data.claims),
                Err(error) => {
                    last_error = refusal(&error);
                    // Only a wrong signature means another key may fit.
                    if last_error != JwtError::Signature {
                        return Err(last_error);
                    }
                }
            }
        }
        Err(last_error)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.config.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation
    }

    fn claims(&self, claims: &Map<String, Value>) -> Result<TokenClaims, JwtError> {
        let name = &self.config.caller_claim;
        let caller = match claims.get(name) {
            Some(Value::String(caller))
                if !caller.is_empty()
                    && caller.chars().count() <= MAX_CALLER_CHARS
                    && !caller.chars().any(char::is_control) =>
            {
                caller.clone()
            }
            Some(_) => {
                return Err(JwtError::Claim {
                    claim: name.clone(),
                    reason: "must be a string of 1 to 256 characters without control characters",
                });
            }
            None => {
                return Err(JwtError::Claim {
                    claim: name.clone(),
                    reason: "is missing; it names the caller",
                });
            }
        };
        Ok(TokenClaims {
            caller,
            roles: string_set(claims, &self.config.roles_claim)?,
            scopes: string_set(claims, &self.config.scopes_claim)?,
        })
    }
}

/// A claim holding names: a space-separated string (OAuth's `scope`) or an
/// array of strings; absent means none.
fn string_set(claims: &Map<String, Value>, name: &str) -> Result<BTreeSet<String>, JwtError> {
    let bad = || JwtError::Claim {
        claim: name.to_owned(),
        reason: "must be a space-separated string or an array of strings",
    };
    match claims.get(name) {
        None | Some(Value::Null) => Ok(BTreeSet::new()),
        Some(Value::String(text)) => Ok(text.split_whitespace().map(str::to_owned).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn accepted(algorithm: Algorithm) -> Option<JwtAlgorithm> {
    match algorithm {
        Algorithm::RS256 => Some(JwtAlgorithm::Rs256),
        Algorithm::ES256 => Some(JwtAlgorithm::Es256),
        Algorithm::EdDSA => Some(JwtAlgorithm::EdDsa),
        Algorithm::HS256 => Some(JwtAlgorithm::Hs256),
        _ => None,
    }
}

/// The `alg` a token's header declares, read without the library (which
/// refuses names it does not know, such as `none`), for the message.
fn declared_algorithm(token: &str) -> Option<String> {
    use base64::Engine as _;
    let header = token.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    let alg = header.get("alg")?.as_str()?;
    Some(alg.chars().take(32).collect())
}

fn refusal(error: &jsonwebtoken::errors::Error) -> JwtError {
    match error.kind() {
        ErrorKind::InvalidSignature => JwtError::Signature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::Issuer,
        ErrorKind::InvalidAudience => JwtError::Audience,
        ErrorKind::MissingRequiredClaim(claim) => JwtError::Claim {
            claim: claim.clone(),
            reason: "is missing or of the wrong type",
        },
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            JwtError::Algorithm("of another key type".to_owned())
        }
        _ => JwtError::Malformed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::config::HttpUrl;

    /// A 2048-bit RSA key made for these tests only (PKCS#1 DER), and its
    /// public half as a JWK Set.
    const RSA_KEY: &[u8] = include_bytes!("testdata/rs256-test-key.der");
    const RSA_JWKS: &str = include_str!("testdata/rs256-test-jwks.json");
    const HMAC_SECRET: &[u8] = b"a shared secret of the issuer and warden";

    fn config(jwks: &str, algorithms: &[JwtAlgorithm]) -> JwtConfig {
        let resource = HttpUrl::parse("https://mcp.example.com/mcp").expect("url");
        JwtConfig {
            audience: resource.text.clone(),
            resource,
            issuer: "https://issuer.test".to_owned(),
            authorization_servers: vec!["https://issuer.test".to_owned()],
            jwks: JwksSource::File {
                path: "jwks.json".into(),
                keys: KeySet::parse_strict(jwks).expect("jwks"),
            },
            algorithms: algorithms.iter().copied().collect(),
            leeway_secs: 60,
            caller_claim: "sub".to_owned(),
            roles_claim: "roles".to_owned(),
            scopes_claim: "scope".to_owned(),
            required_scopes: BTreeSet::new(),
            scopes_supported: BTreeSet::new(),
        }
    }

    fn hmac_jwks() -> String {
        use base64::Engine as _;
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(HMAC_SECRET);
        format!(r#"{{"keys":[{{"kty":"oct","kid":"shared","k":"{k}"}}]}}"#)
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
    }

    fn claims(extra: Value) -> Value {
        let mut claims = json!({
            "iss": "https://issuer.test",
            "aud": ["https://mcp.example.com/mcp", "another-api"],
            "sub": "agent-7",
            "exp": now() + 300,
        });
        if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
            claims.extend(extra.clone());
        }
        claims
    }

    fn rs256(claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(RSA_KEY)).expect("sign")
    }

    fn hs256(claims: &Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(HMAC_SECRET),
        )
        .expect("sign")
    }

    #[tokio::test]
    async fn rs256_tokens_name_caller_roles_and_scopes() {
        let verifier =
            JwtVerifier::new(&config(RSA_JWKS, &[JwtAlgorithm::Rs256])).expect("verifier");
        let token = rs256(&claims(json!({
            "roles": ["reader", "writer"],
            "scope": "openid tools:files",
        })));
        let claims = verifier.verify(&token).await.expect("valid");
        assert_eq!(claims.caller, "agent-7");
        assert_eq!(claims.roles, ["reader", "writer"].map(str::to_owned).into());
        assert_eq!(
            claims.scopes,
            ["openid", "tools:files"].map(str::to_owned).into()
        );
    }

    #[tokio::test]
    async fn claims_of_the_wrong_shape_are_refused() {
        let verifier =
            JwtVerifier::new(&config(RSA_JWKS, &[JwtAlgorithm::Rs256])).expect("verifier");
        let cases = [
            (json!({"sub": 7}), "`sub` claim must be a string"),
            (json!({"sub": ""}), "`sub` claim must be a string"),
            (json!({"roles": {"admin": true}}), "`roles` claim must be"),
            (json!({"scope": ["a", 1]}), "`scope` claim must be"),
            (
                json!({"exp": "tomorrow"}),
                "`exp` claim is missing or of the wrong type",
            ),
        ];
        for (extra, expected) in cases {
            let error = verifier
                .verify(&rs256(&claims(extra.clone())))
                .await
                .expect_err("refused");
            assert!(error.to_string().contains(expected), "{extra}: {error}");
        }
    }

    #[tokio::test]
    async fn leeway_allows_small_clock_skew_only() {
        let verifier =
            JwtVerifier::new(&config(RSA_JWKS, &[JwtAlgorithm::Rs256])).expect("verifier");
        let just_expired = rs256(&claims(json!({"exp": now() - 30})));
        assert!(verifier.verify(&just_expired).await.is_ok());
        let long_expired = rs256(&claims(json!({"exp": now() - 120})));
        assert_eq!(verifier.verify(&long_expired).await, Err(JwtError::Expired));
    }

    #[tokio::test]
    async fn hs256_needs_listing_and_an_oct_key() {
        let token = hs256(&claims(json!({})));
        let listed =
            JwtVerifier::new(&config(&hmac_jwks(), &[JwtAlgorithm::Hs256])).expect("verifier");
        assert!(listed.verify(&token).await.is_ok());
        let unlisted =
            JwtVerifier::new(&config(&hmac_jwks(), &[JwtAlgorithm::Rs256])).expect("verifier");
        assert_eq!(
            unlisted.verify(&token).await,
            Err(JwtError::Algorithm("HS256".to_owned()))
        );
        // HS256 allowed, but the only key is RSA: no key verifies it, and
        // the RSA key is never used as a secret.
        let rsa_only = JwtVerifier::new(&config(
            RSA_JWKS,
            &[JwtAlgorithm::Rs256, JwtAlgorithm::Hs256],
        ))
        .expect("verifier");
        assert_eq!(rsa_only.verify(&token).await, Err(JwtError::UnknownKey));
    }
}

//! JWK Sets: an issuer's public keys, each tied to the one algorithm it
//! verifies, so a token cannot choose how its signature is checked (an RSA
//! public key is never used as an HMAC secret).

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};

use crate::config::JwtAlgorithm;

/// The most keys a JWK Set may hold: issuers publish a handful; more would
/// only make each token without a `kid` cost more to check.
pub const MAX_KEYS: usize = 64;

/// Why a JWK Set or one of its keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// Not a JSON object with a `keys` array.
    #[error("not a JWK Set (a JSON object with a \"keys\" array): {0}")]
    NotASet(String),
    /// No usable key.
    #[error("holds no signature verification key")]
    Empty,
    /// Over [`MAX_KEYS`].
    #[error("holds {0} keys; at most {MAX_KEYS} are accepted")]
    TooManyKeys(usize),
    /// One key is unusable.
    #[error("key {index}{kid}: {reason}", kid = .kid.as_deref().map(|k| format!(" (kid `{k}`)")).unwrap_or_default())]
    Key {
        /// Its place in `keys`.
        index: usize,
        /// Its `kid`, if any.
        kid: Option<String>,
        /// What is wrong.
        reason: String,
    },
}

/// One verification key.
pub struct VerifyingKey {
    /// The key's `kid`.
    pub kid: Option<String>,
    /// The only algorithm it verifies.
    pub algorithm: JwtAlgorithm,
    /// The key itself.
    pub key: DecodingKey,
}

/// The keys of one JWK Set.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| (k.kid.as_deref(), k.algorithm.name())),
            )
            .finish()
    }
}

impl KeySet {
    /// Parses a JWK Set in which every key must be usable (a file the
    /// operator wrote).
    pub fn parse_strict(text: &str) -> Result<JwkSet, JwksError> {
        let set: JwkSet =
            serde_json::from_str(text).map_err(|error| JwksError::NotASet(error.to_string()))?;
        Self::from_set(&set)?;
        Ok(set)
    }

    /// The keys of `set`, every one of which must be usable.
    pub fn from_set(set: &JwkSet) -> Result<Self, JwksError> {
        if set.keys.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys(set.keys.len()));
        }
        let keys = set
            .keys
            .iter()
            .enumerate()
            .map(|(index, jwk)| {
                verifying_key(jwk)
                    .map(Arc::new)
                    .map_err(|reason| JwksError::Key {
                        index,
                        kid: jwk.common.key_id.clone(),
                        reason,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        Ok(Self { keys })
    }

    /// Parses a JWK Set an issuer serves, which may hold keys Warden has no
    /// use for (encryption keys, other algorithms): those are skipped and
    /// returned as reasons.
    pub fn parse_lenient(body: &[u8]) -> Result<(Self, Vec<JwksError>), JwksError> {
        #[derive(serde::Deserialize)]
        struct LooseSet {
            keys: Vec<serde_json::Value>,
        }
        let set: LooseSet =
            serde_json::from_slice(body).map_err(|error| JwksError::NotASet(error.to_string()))?;
        if set.keys.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys(set.keys.len()));
        }
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (index, value) in set.keys.into_iter().enumerate() {
            let kid = value.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
            let parsed = serde_json::from_value::<Jwk>(value)
                .map_err(|error| format!("not a supported JWK: {error}"))
                .and_then(|jwk| verifying_key(&jwk));
            match parsed {
                Ok(key) => keys.push(Arc::new(key)),
                Err(reason) => skipped.push(JwksError::Key { index, kid, reason }),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::Empty);
        }
        Ok((Self { keys }, skipped))
    }

    /// The keys that may verify a token signed with `algorithm` whose header
    /// names `kid`: the key with that `kid`, or, for a token without one,
    /// every key of that algorithm.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        algorithm: JwtAlgorithm,
    ) -> impl Iterator<Item = &'a Arc<VerifyingKey>> + 'a {
        self.keys.iter().filter(move |key| {
            key.algorithm == algorithm && (kid.is_none() || key.kid.as_deref() == kid)
        })
    }

    /// Whether some key carries `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The key of `jwk` and the one algorithm it verifies.
fn verifying_key(jwk: &Jwk) -> Result<VerifyingKey, String> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key (`use`: \"enc\"), not a signing key".to_owned());
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => JwtAlgorithm::Rs256,
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            JwtAlgorithm::Es256
        }
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            JwtAlgorithm::EdDsa
        }
        AlgorithmParameters::OctetKey(_) => JwtAlgorithm::Hs256,
        AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::OctetKeyPair(_) => {
            return Err("unsupported curve: use P-256 (ES256) or Ed25519 (EdDSA)".to_owned());
        }
    };
    let declared = jwk.common.key_algorithm.map(|alg| match alg {
        KeyAlgorithm::RS256 => Some(JwtAlgorithm::Rs256),
        KeyAlgorithm::ES256 => Some(JwtAlgorithm::Es256),
        KeyAlgorithm::EdDSA => Some(JwtAlgorithm::EdDsa),
        KeyAlgorithm::HS256 => Some(JwtAlgorithm::Hs256),
        _ => None,
    });
    match declared {
        Some(Some(declared)) if declared != algorithm => {
            return Err(format!(
                "`alg` {} does not fit a {} key",
                declared.name(),
                algorithm.name()
            ));
        }
        Some(None) => {
            return Err(
                "unsupported `alg`: Warden verifies RS256, ES256, EdDSA and HS256".to_owned(),
            );
        }
        _ => {}
    }
    let key =
        DecodingKey::from_jwk(jwk).map_err(|error| format!("unusable key material: {error}"))?;
    Ok(VerifyingKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    const OCT: &str =
        r#"{"kty":"oct","kid":"hs","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}"#;

    #[test]
    fn keys_are_tied_to_their_algorithm() {
        let set = KeySet::from_set(
            &KeySet::parse_strict(&format!(r#"{{"keys":[{ED25519},{OCT}]}}"#)).expect("valid set"),
        )
        .expect("usable keys");
        assert_eq!(set.len(), 2);
        assert_eq!(set.candidates(Some("ed"), JwtAlgorithm::EdDsa).count(), 1);
        assert_eq!(set.candidates(Some("ed"), JwtAlgorithm::Hs256).count(), 0);
        assert_eq!(set.candidates(None, JwtAlgorithm::Hs256).count(), 1);
        assert_eq!(
            set.candidates(Some("other"), JwtAlgorithm::EdDsa).count(),
            0
        );
        assert!(set.has_kid("hs"));
    }

    #[test]
    fn an_operator_file_must_hold_only_usable_keys() {
        let cases = [
            ("[]", "not a JWK Set"),
            (r#"{"keys":[]}"#, "holds no signature verification key"),
            (
                r#"{"keys":[{"kty":"OKP","crv":"Ed25519","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
                "key 0: an encryption key",
            ),
            (
                r#"{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"HS256","kid":"x","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
                "key 0 (kid `x`): `alg` HS256 does not fit a EdDSA key",
            ),
            (
                r#"{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}"#,
                "unsupported curve",
            ),
        ];
        for (text, expected) in cases {
            let error = KeySet::parse_strict(text).expect_err(text).to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn a_served_set_skips_what_it_cannot_use() {
        let body = format!(
            r#"{{"keys":[{{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}},{ED25519},{{"kty":"XYZ"}}]}}"#
        );
        let (set, skipped) = KeySet::parse_lenient(body.as_bytes()).expect("one usable key");
        assert_eq!(set.len(), 1);
        assert_eq!(skipped.len(), 2);
        assert!(matches!(
            KeySet::parse_lenient(br#"{"keys":[{"kty":"XYZ"}]}"#),
            Err(JwksError::Empty)
        ));
        let many = format!(r#"{{"keys":[{}]}}"#, vec![ED25519; MAX_KEYS + 1].join(","));
        assert_eq!(
            KeySet::parse_lenient(many.as_bytes()).err(),
            Some(JwksError::TooManyKeys(MAX_KEYS + 1))
        );
    }
}

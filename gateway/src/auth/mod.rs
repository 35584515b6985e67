//! Who is calling: HTTP callers prove it with an API key or a JWT access
//! token (`Authorization: Bearer <credential>`) or a client certificate; the
//! stdio transport and the `warden call` command act for the local operator.
//! [`access`] decides which tools a caller may see and call.

pub mod access;
pub mod jwks;
mod jwks_fetch;
pub mod jwt;

use std::collections::BTreeSet;
use std::sync::Arc;

use ctutils::CtEq as _;
use hyper::header::HeaderValue;

use crate::config::{ApiKeyHash, AuthConfig, JwtConfig};
use jwt::{JwtError, JwtVerifier, TokenClaims};

/// The verified subject of a client certificate, put in each request's
/// extensions by the TLS connection that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity(pub String);

/// How a caller is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// No `[auth]` is configured (loopback only): HTTP callers are not told
    /// apart.
    Anonymous,
    /// Presented a configured API key.
    ApiKey,
    /// Presented a client certificate that a configured CA signed.
    ClientCertificate,
    /// Presented a JWT access token of the configured issuer.
    Token,
    /// The local operator: stdio, `warden call`. Access rules do not apply.
    Local,
}

/// A caller, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    name: String,
    roles: BTreeSet<String>,
    /// OAuth scopes of the caller's token; empty for other callers.
    scopes: BTreeSet<String>,
    kind: CallerKind,
    /// See [`session_owner`](Self::session_owner); made once, not per request.
    owner: Option<String>,
}

impl Caller {
    /// An HTTP caller when authentication is off.
    pub fn anonymous() -> Self {
        Self::new(CallerKind::Anonymous, "anonymous", BTreeSet::new())
    }

    /// The local operator.
    pub fn local() -> Self {
        Self::new(CallerKind::Local, "local", BTreeSet::new())
    }

    /// An API key's caller, for tests that need one that owns sessions.
    #[cfg(test)]
    pub(crate) fn api_key(name: &str) -> Self {
        Self::new(CallerKind::ApiKey, name, BTreeSet::new())
    }

    fn new(kind: CallerKind, name: &str, roles: BTreeSet<String>) -> Self {
        let owner = match kind {
            CallerKind::ApiKey => Some(format!("key:{name}")),
            CallerKind::ClientCertificate => Some(format!("cert:{name}")),
            CallerKind::Token => Some(format!("jwt:{name}")),
            CallerKind::Anonymous | CallerKind::Local => None,
        };
        Self {
            name: name.to_owned(),
            roles,
            scopes: BTreeSet::new(),
            kind,
            owner,
        }
    }

    pub(crate) fn from_token(claims: TokenClaims) -> Self {
        Self {
            scopes: claims.scopes,
            ..Self::new(CallerKind::Token, &claims.caller, claims.roles)
        }
    }

    /// The caller's name: an API key's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The caller's roles.
    pub fn roles(&self) -> &BTreeSet<String> {
        &self.roles
    }

    /// The scopes of the caller's access token.
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    /// How the caller is known.
    pub fn kind(&self) -> CallerKind {
        self.kind
    }

    /// The identity a session is bound to, so that no other caller can use
    /// it: how and as whom the caller authenticated (a key and a certificate
    /// with the same name are different callers); `None` when callers are
    /// not authenticated.
    pub fn session_owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }
}

/// Whether a bearer credential has the shape of a JWT (three base64url
/// parts joined by dots) rather than of an API key; `warden hash-key`
/// refuses keys of that shape.
pub fn looks_like_jwt(credential: &str) -> bool {
    let parts: Vec<&str> = credential.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Why an HTTP request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("authentication required: send `Authorization: Bearer <credential>`")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <credential>`")]
    Malformed,
    /// A key that matches no configured key.
    #[error("the API key is not valid")]
    UnknownKey,
    /// A JWT that was refused.
    #[error("{0}")]
    Token(JwtError),
    /// A valid token without every scope `auth.jwt.required_scopes` names.
    #[error("the token lacks the required scope(s): {}", .0.iter().cloned().collect::<Vec<_>>().join(" "))]
    InsufficientScope(BTreeSet<String>),
}

/// Checks HTTP credentials against the configured API keys and issuer.
pub struct Authenticator {
    enabled: bool,
    /// Whether API keys are a way in (a keys file with no entry counts).
    api_keys: bool,
    keys: Vec<(ApiKeyHash, Arc<Caller>)>,
    jwt: Option<Arc<JwtVerifier>>,
    anonymous: Arc<Caller>,
}

impl Authenticator {
    /// An authenticator for `auth`; with no `[auth]`, everyone is
    /// [`Caller::anonymous`]. `previous` (the one a reload replaces) hands
    /// over its JWT verifier, and with it the fetched keys, when `[auth.jwt]`
    /// did not change.
    pub fn new(auth: &AuthConfig, previous: Option<&Self>) -> Result<Self, String> {
        let keys = auth
            .api_keys
            .iter()
            .map(|key| {
                let caller = Caller::new(CallerKind::ApiKey, &key.name, key.roles.clone());
                (key.hash, Arc::new(caller))
            })
            .collect();
        let reusable = previous
            .and_then(|previous| previous.jwt.as_ref())
            .filter(|verifier| Some(verifier.config()) == auth.jwt.as_ref());
        let jwt = match (reusable, &auth.jwt) {
            (Some(verifier), _) => Some(Arc::clone(verifier)),
            (None, Some(config)) => Some(Arc::new(
                JwtVerifier::new(config).map_err(|error| format!("auth.jwt: {error}"))?,
            )),
            (None, None) => None,
        };
        Ok(Self {
            enabled: auth.is_enabled(),
            api_keys: !auth.api_keys.is_empty() || auth.api_keys_file.is_some(),
            keys,
            jwt,
            anonymous: Arc::new(Caller::anonymous()),
        })
    }

    /// Whether callers must authenticate.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The `[auth.jwt]` settings, when tokens are accepted.
    pub fn jwt(&self) -> Option<&JwtConfig> {
        self.jwt.as_ref().map(|verifier| verifier.config())
    }

    /// The caller a request's `Authorization` header names (an API key, or
    /// a JWT when `[auth.jwt]` is configured), else the one its
    /// connection's client certificate names.
    pub async fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
        certificate: Option<&ClientIdentity>,
    ) -> Result<Arc<Caller>, AuthError> {
        if !self.enabled {
            return Ok(Arc::clone(&self.anonymous));
        }
        let bearer_accepted = self.api_keys || self.jwt.is_some();
        let header = match (authorization, certificate) {
            (Some(header), _) if bearer_accepted => header,
            (_, Some(identity)) => {
                return Ok(Arc::new(Caller::new(
                    CallerKind::ClientCertificate,
                    &identity.0,
                    BTreeSet::new(),
                )));
            }
            (header, None) => header.ok_or(AuthError::Missing)?,
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Malformed)?;
        match &self.jwt {
            Some(verifier) if !self.api_keys || looks_like_jwt(token) => {
                let claims = verifier.verify(token).await.map_err(AuthError::Token)?;
                let missing: BTreeSet<String> = verifier
                    .config()
                    .required_scopes
                    .difference(&claims.scopes)
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    return Err(AuthError::InsufficientScope(missing));
                }
                Ok(Arc::new(Caller::from_token(claims)))
            }
            _ => self.api_key(token),
        }
    }

    fn api_key(&self, token: &str) -> Result<Arc<Caller>, AuthError> {
        let presented = ApiKeyHash::of(token);
        // Every configured hash is compared, in constant time, whatever
        // matched: the time taken says nothing about any key.
        let mut found = None;
        for (hash, caller) in &self.keys {
            if hash.0.ct_eq(&presented.0).to_bool() {
                found = Some(caller);
            }
        }
        found.map(Arc::clone).ok_or(AuthError::UnknownKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiKey;

    fn header(value: &str) -> HeaderValue {
        HeaderValue::from_str(value).expect("header")
    }

    #[tokio::test]
    async fn api_keys_name_their_callers() {
        let key = "k".repeat(40);
        let auth = AuthConfig {
            api_keys: vec![ApiKey {
                name: "ci-bot".to_owned(),
                hash: ApiKeyHash::of(&key),
                roles: BTreeSet::from(["reader".to_owned()]),
            }],
            api_keys_file: None,
            client_certificates: false,
            jwt: None,
        };
        let authenticator = Authenticator::new(&auth, None).expect("authenticator");
        let caller = authenticator
            .authenticate(Some(&header(&format!("Bearer {key}"))), None)
            .await
            .expect("known key");
        assert_eq!(caller.name(), "ci-bot");
        assert_eq!(caller.kind(), CallerKind::ApiKey);
        assert_eq!(caller.session_owner(), Some("key:ci-bot"));
        assert!(caller.roles().contains("reader"));
        assert!(
            authenticator
                .authenticate(Some(&header(&format!("bearer  {key} "))), None)
                .await
                .is_ok()
        );

        let refusals = [
            (None, AuthError::Missing),
            (Some(header(&format!("Basic {key}"))), AuthError::Malformed),
            (Some(header("Bearer ")), AuthError::Malformed),
            (Some(header(&key)), AuthError::Malformed),
            (
                Some(header(&format!("Bearer {key}x"))),
                AuthError::UnknownKey,
            ),
        ];
        for (value, expected) in refusals {
            assert_eq!(
                authenticator.authenticate(value.as_ref(), None).await,
                Err(expected),
                "{value:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_client_certificate_names_the_caller_unless_a_key_is_presented() {
        let certificates_only = Authenticator::new(
            &AuthConfig {
                client_certificates: true,
                ..AuthConfig::default()
            },
            None,
        )
        .expect("authenticator");
        let identity = ClientIdentity("ci-bot".to_owned());
        let caller = certificates_only
            .authenticate(Some(&header("Bearer ignored")), Some(&identity))
            .await
            .expect("the certificate");
        assert_eq!(caller.kind(), CallerKind::ClientCertificate);
        assert_eq!(caller.session_owner(), Some("cert:ci-bot"));
        assert_eq!(
            certificates_only.authenticate(None, None).await,
            Err(AuthError::Missing)
        );

        let key = "k".repeat(40);
        let both = Authenticator::new(
            &AuthConfig {
                client_certificates: true,
                api_keys: vec![ApiKey {
                    name: "deployer".to_owned(),
                    hash: ApiKeyHash::of(&key),
                    roles: BTreeSet::new(),
                }],
                api_keys_file: None,
                jwt: None,
            },
            None,
        )
        .expect("authenticator");
        let by_key = both
            .authenticate(Some(&header(&format!("Bearer {key}"))), Some(&identity))
            .await
            .expect("the key");
        assert_eq!(by_key.name(), "deployer");
        assert_eq!(
            both.authenticate(Some(&header("Bearer wrong")), Some(&identity))
                .await,
            Err(AuthError::UnknownKey),
            "a bad key is not rescued by the certificate"
        );
    }

    #[tokio::test]
    async fn without_auth_everyone_is_anonymous_and_a_file_without_keys_admits_nobody() {
        let open = Authenticator::new(&AuthConfig::default(), None).expect("authenticator");
        let caller = open.authenticate(None, None).await.expect("anonymous");
        assert_eq!(caller.kind(), CallerKind::Anonymous);
        assert_eq!(caller.session_owner(), None);

        let closed = Authenticator::new(
            &AuthConfig {
                api_keys: Vec::new(),
                api_keys_file: Some("keys.toml".into()),
                client_certificates: false,
                jwt: None,
            },
            None,
        )
        .expect("authenticator");
        assert_eq!(
            closed
                .authenticate(Some(&header("Bearer anything")), None)
                .await,
            Err(AuthError::UnknownKey)
        );
    }
}

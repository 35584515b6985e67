//! Who is calling: HTTP callers prove it with an API key (`Authorization:
//! Bearer <key>`); the stdio transport and the `warden call` command act for
//! the local operator. [`access`] decides which tools a caller may see and
//! call.

pub mod access;

use std::collections::BTreeSet;
use std::sync::Arc;

use ctutils::CtEq as _;
use hyper::header::HeaderValue;

use crate::config::{ApiKeyHash, AuthConfig};
use crate::http::tls::ClientIdentity;

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
    /// The local operator: stdio, `warden call`. Access rules do not apply.
    Local,
}

/// A caller, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    name: String,
    roles: BTreeSet<String>,
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

    fn new(kind: CallerKind, name: &str, roles: BTreeSet<String>) -> Self {
        let owner = match kind {
            CallerKind::ApiKey => Some(format!("key:{name}")),
            CallerKind::ClientCertificate => Some(format!("cert:{name}")),
            CallerKind::Anonymous | CallerKind::Local => None,
        };
        Self {
            name: name.to_owned(),
            roles,
            kind,
            owner,
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

/// Why an HTTP request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("authentication required: send `Authorization: Bearer <API key>`")]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be `Bearer <API key>`")]
    Malformed,
    /// A key that matches no configured key.
    #[error("the API key is not valid")]
    UnknownKey,
}

/// Checks HTTP credentials against the configured API keys.
pub struct Authenticator {
    enabled: bool,
    /// Whether API keys are a way in (a keys file with no entry counts).
    api_keys: bool,
    keys: Vec<(ApiKeyHash, Arc<Caller>)>,
    anonymous: Arc<Caller>,
}

impl Authenticator {
    /// An authenticator for `auth`; with no `[auth]`, everyone is
    /// [`Caller::anonymous`].
    pub fn new(auth: &AuthConfig) -> Self {
        let keys = auth
            .api_keys
            .iter()
            .map(|key| {
                let caller = Caller::new(CallerKind::ApiKey, &key.name, key.roles.clone());
                (key.hash, Arc::new(caller))
            })
            .collect();
        Self {
            enabled: auth.is_enabled(),
            api_keys: !auth.api_keys.is_empty() || auth.api_keys_file.is_some(),
            keys,
            anonymous: Arc::new(Caller::anonymous()),
        }
    }

    /// Whether callers must authenticate.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The caller a request's `Authorization` header names (when API keys
    /// are configured), else the one its connection's client certificate
    /// names.
    pub fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
        certificate: Option<&ClientIdentity>,
    ) -> Result<Arc<Caller>, AuthError> {
        if !self.enabled {
            return Ok(Arc::clone(&self.anonymous));
        }
        let header = match (authorization, certificate) {
            (Some(header), _) if self.api_keys => header,
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

    #[test]
    fn api_keys_name_their_callers() {
        let key = "k".repeat(40);
        let auth = AuthConfig {
            api_keys: vec![ApiKey {
                name: "ci-bot".to_owned(),
                hash: ApiKeyHash::of(&key),
                roles: BTreeSet::from(["reader".to_owned()]),
            }],
            api_keys_file: None,
            client_certificates: false,
        };
        let authenticator = Authenticator::new(&auth);
        let caller = authenticator
            .authenticate(Some(&header(&format!("Bearer {key}"))), None)
            .expect("known key");
        assert_eq!(caller.name(), "ci-bot");
        assert_eq!(caller.kind(), CallerKind::ApiKey);
        assert_eq!(caller.session_owner(), Some("key:ci-bot"));
        assert!(caller.roles().contains("reader"));
        assert!(
            authenticator
                .authenticate(Some(&header(&format!("bearer  {key} "))), None)
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
                authenticator.authenticate(value.as_ref(), None),
                Err(expected),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_client_certificate_names_the_caller_unless_a_key_is_presented() {
        let certificates_only = Authenticator::new(&AuthConfig {
            client_certificates: true,
            ..AuthConfig::default()
        });
        let identity = ClientIdentity("ci-bot".to_owned());
        let caller = certificates_only
            .authenticate(Some(&header("Bearer ignored")), Some(&identity))
            .expect("the certificate");
        assert_eq!(caller.kind(), CallerKind::ClientCertificate);
        assert_eq!(caller.session_owner(), Some("cert:ci-bot"));
        assert_eq!(
            certificates_only.authenticate(None, None),
            Err(AuthError::Missing)
        );

        let key = "k".repeat(40);
        let both = Authenticator::new(&AuthConfig {
            client_certificates: true,
            api_keys: vec![ApiKey {
                name: "deployer".to_owned(),
                hash: ApiKeyHash::of(&key),
                roles: BTreeSet::new(),
            }],
            api_keys_file: None,
        });
        let by_key = both
            .authenticate(Some(&header(&format!("Bearer {key}"))), Some(&identity))
            .expect("the key");
        assert_eq!(by_key.name(), "deployer");
        assert_eq!(
            both.authenticate(Some(&header("Bearer wrong")), Some(&identity)),
            Err(AuthError::UnknownKey),
            "a bad key is not rescued by the certificate"
        );
    }

    #[test]
    fn without_auth_everyone_is_anonymous_and_a_file_without_keys_admits_nobody() {
        let open = Authenticator::new(&AuthConfig::default());
        let caller = open.authenticate(None, None).expect("anonymous");
        assert_eq!(caller.kind(), CallerKind::Anonymous);
        assert_eq!(caller.session_owner(), None);

        let closed = Authenticator::new(&AuthConfig {
            api_keys: Vec::new(),
            api_keys_file: Some("keys.toml".into()),
            client_certificates: false,
        });
        assert_eq!(
            closed.authenticate(Some(&header("Bearer anything")), None),
            Err(AuthError::UnknownKey)
        );
    }
}

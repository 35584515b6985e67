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

/// How a caller is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// No `[auth]` is configured (loopback only): HTTP callers are not told
    /// apart.
    Anonymous,
    /// Presented a configured API key.
    ApiKey,
    /// The local operator: stdio, `warden call`. Access rules do not apply.
    Local,
}

/// A caller, as authentication established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    name: String,
    roles: BTreeSet<String>,
    kind: CallerKind,
}

impl Caller {
    /// An HTTP caller when authentication is off.
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".to_owned(),
            roles: BTreeSet::new(),
            kind: CallerKind::Anonymous,
        }
    }

    /// The local operator.
    pub fn local() -> Self {
        Self {
            name: "local".to_owned(),
            roles: BTreeSet::new(),
            kind: CallerKind::Local,
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
    /// it: the name of an authenticated caller, `None` otherwise.
    pub fn session_owner(&self) -> Option<&str> {
        (self.kind == CallerKind::ApiKey).then_some(self.name.as_str())
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
                let caller = Caller {
                    name: key.name.clone(),
                    roles: key.roles.clone(),
                    kind: CallerKind::ApiKey,
                };
                (key.hash, Arc::new(caller))
            })
            .collect();
        Self {
            enabled: auth.is_enabled(),
            keys,
            anonymous: Arc::new(Caller::anonymous()),
        }
    }

    /// Whether callers must authenticate.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The caller an `Authorization` header names.
    pub fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Arc<Caller>, AuthError> {
        if !self.enabled {
            return Ok(Arc::clone(&self.anonymous));
        }
        let header = authorization.ok_or(AuthError::Missing)?;
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
        };
        let authenticator = Authenticator::new(&auth);
        let caller = authenticator
            .authenticate(Some(&header(&format!("Bearer {key}"))))
            .expect("known key");
        assert_eq!(caller.name(), "ci-bot");
        assert_eq!(caller.kind(), CallerKind::ApiKey);
        assert_eq!(caller.session_owner(), Some("ci-bot"));
        assert!(caller.roles().contains("reader"));
        assert!(
            authenticator
                .authenticate(Some(&header(&format!("bearer  {key} "))))
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
                authenticator.authenticate(value.as_ref()),
                Err(expected),
                "{value:?}"
            );
        }
    }

    #[test]
    fn without_auth_everyone_is_anonymous_and_a_file_without_keys_admits_nobody() {
        let open = Authenticator::new(&AuthConfig::default());
        let caller = open.authenticate(None).expect("anonymous");
        assert_eq!(caller.kind(), CallerKind::Anonymous);
        assert_eq!(caller.session_owner(), None);

        let closed = Authenticator::new(&AuthConfig {
            api_keys: Vec::new(),
            api_keys_file: Some("keys.toml".into()),
        });
        assert_eq!(
            closed.authenticate(Some(&header("Bearer anything"))),
            Err(AuthError::UnknownKey)
        );
    }
}

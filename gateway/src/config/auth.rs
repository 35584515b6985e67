//! The `[auth]` table, the API keys file it may name, and the access rules
//! of components: who may call what.

use std::collections::HashMap;
use std::fs;
use std::net::SocketAddr;

use toml::Spanned;

use super::error::ConfigError;
use super::load::{Kind, Resolver, deserialize};
use super::model::{AccessPolicy, ApiKey, ApiKeyHash, AuthConfig};
use super::raw::{RawAccess, RawApiKey, RawApiKeysFile, RawAuth, Table};

/// Refuses to serve without authentication on an address other machines can
/// reach: with no `[auth]`, anyone who reaches it could call every tool.
pub fn check_exposure(listen: SocketAddr, auth: &AuthConfig) -> Result<(), String> {
    if auth.is_enabled() || listen.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "`{listen}` is reachable from other machines and no [auth] is configured, so anyone \
         reaching it could call every tool; configure [auth] api_keys (`warden hash-key \
         --generate` makes a key) or tls.client_ca_file, or listen on 127.0.0.1"
    ))
}

impl Resolver<'_> {
    /// `[auth]`; with `[auth.jwt]`, also whether its `scopes_supported`
    /// was written (else the access rules' scopes complete it).
    pub(super) fn auth(&self, raw: RawAuth) -> Result<(AuthConfig, bool), ConfigError> {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut hashes: HashMap<ApiKeyHash, String> = HashMap::new();
        let mut api_keys = Vec::new();
        for (index, key) in raw.api_keys.into_iter().enumerate() {
            let at = format!("auth.api_keys[{index}]");
            api_keys.push(self.api_key(key.0, &at, &mut names, &mut hashes)?);
        }
        let api_keys_file = match raw.api_keys_file {
            None => None,
            Some(written) => {
                let path = self.existing(&written, "auth.api_keys_file".to_owned(), Kind::File)?;
                let text = fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let file: RawApiKeysFile = deserialize(&text, &path)?;
                let in_file = Resolver {
                    text: &text,
                    origin: &path,
                    base: self.base.clone(),
                };
                for (index, key) in file.api_keys.into_iter().enumerate() {
                    let at = format!("api_keys[{index}]");
                    api_keys.push(in_file.api_key(key.0, &at, &mut names, &mut hashes)?);
                }
                Some(path)
            }
        };
        let (jwt, written_scopes) = match raw.jwt {
            None => (None, false),
            Some(table) => {
                let (jwt, written) = self.jwt(table)?;
                (Some(jwt), written)
            }
        };
        Ok((
            AuthConfig {
                client_certificates: false,
                api_keys,
                api_keys_file,
                jwt,
            },
            written_scopes,
        ))
    }

    /// One key, refused when its name or hash was already seen (`names` and
    /// `hashes` say where).
    fn api_key(
        &self,
        raw: RawApiKey,
        at: &str,
        names: &mut HashMap<String, String>,
        hashes: &mut HashMap<ApiKeyHash, String>,
    ) -> Result<ApiKey, ConfigError> {
        let here = format!("{}: {at}", self.origin.display());
        let name_span = raw.name.span();
        let name = raw.name.into_inner().0;
        if let Some(first) = names.insert(name.clone(), here.clone()) {
            return Err(self.invalid(
                name_span,
                format!("{at}.name"),
                format!("API key name `{name}` is already used by {first}"),
            ));
        }
        let hash_span = raw.hash.span();
        let hash = raw.hash.into_inner().0;
        if let Some(first) = hashes.insert(hash, here) {
            return Err(self.invalid(
                hash_span,
                format!("{at}.hash"),
                format!("the same key hash is already listed by {first}"),
            ));
        }
        Ok(ApiKey {
            name,
            hash,
            roles: raw.roles.into_iter().map(|role| role.0).collect(),
        })
    }

    pub(super) fn access(
        &self,
        prefix: &str,
        raw: Spanned<Table<RawAccess>>,
        auth: &AuthConfig,
    ) -> Result<AccessPolicy, ConfigError> {
        if !auth.is_enabled() {
            return Err(self.invalid(
                raw.span(),
                format!("{prefix}.access"),
                "access rules name callers, but neither [auth] nor tls.client_ca_file identifies them"
                    .to_owned(),
            ));
        }
        let span = raw.span();
        let raw = raw.into_inner().0;
        let names_scopes = raw.scopes.as_ref().is_some_and(|s| !s.is_empty())
            || [&raw.tools, &raw.prompts, &raw.resources]
                .into_iter()
                .flat_map(|table| table.0.values())
                .any(|rule| !rule.get_ref().0.scopes.is_empty());
        if names_scopes && auth.jwt.is_none() {
            return Err(self.invalid(
                span,
                format!("{prefix}.access"),
                "scopes come from JWT access tokens, but no [auth.jwt] is configured".to_owned(),
            ));
        }
        let restricts = raw.callers.is_some() || raw.roles.is_some() || raw.scopes.is_some();
        let rules = |table: Table<
            std::collections::BTreeMap<String, Spanned<Table<super::raw::RawAccessRule>>>,
        >| {
            table
                .0
                .into_iter()
                .map(|(key, rule)| (key, rule.into_inner().0.into()))
                .collect()
        };
        Ok(AccessPolicy {
            rule: restricts.then(|| {
                super::raw::RawAccessRule {
                    callers: raw.callers.unwrap_or_default(),
                    roles: raw.roles.unwrap_or_default(),
                    scopes: raw.scopes.unwrap_or_default(),
                }
                .into()
            }),
            tools: rules(raw.tools),
            prompts: rules(raw.prompts),
            resources: rules(raw.resources),
        })
    }
}

//! The `[auth.jwt]` table and the JWK Set file it may name.

use std::collections::BTreeSet;
use std::fs;

use toml::Spanned;

use super::error::ConfigError;
use super::load::{Kind, Resolver};
use super::model::{ComponentConfig, JwksSource, JwtAlgorithm, JwtConfig};
use super::raw::{RawJwt, Table};
use crate::auth::jwks::KeySet;

/// The algorithms accepted when `algorithms` is not set: the asymmetric
/// ones, whose keys an issuer can publish.
const DEFAULT_ALGORITHMS: [JwtAlgorithm; 3] = [
    JwtAlgorithm::Rs256,
    JwtAlgorithm::Es256,
    JwtAlgorithm::EdDsa,
];

impl Resolver<'_> {
    /// `[auth.jwt]`; `scopes_supported` is completed by [`complete_scopes`]
    /// once the components' access rules are known. Returns whether
    /// `scopes_supported` was written.
    pub(super) fn jwt(
        &self,
        raw: Spanned<Table<RawJwt>>,
    ) -> Result<(JwtConfig, bool), ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner().0;
        let missing = |key: &str, what: &str| {
            self.invalid(
                span.clone(),
                format!("auth.jwt.{key}"),
                format!("`{key}` is required: {what}"),
            )
        };
        let resource = raw
            .resource
            .ok_or_else(|| {
                missing(
                    "resource",
                    "the canonical URI of this MCP endpoint, e.g. \"https://mcp.example.com/mcp\"",
                )
            })?
            .0;
        let issuer = raw
            .issuer
            .ok_or_else(|| missing("issuer", "the `iss` of the authorization server's tokens"))?
            .0;
        let jwks = match (raw.jwks_file, raw.jwks_url) {
            (Some(file), None) => {
                let path = self.existing(&file, "auth.jwt.jwks_file".to_owned(), Kind::File)?;
                let text = fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let keys = KeySet::parse_strict(&text).map_err(|error| {
                    self.invalid(
                        file.span(),
                        "auth.jwt.jwks_file".to_owned(),
                        format!("`{}`: {error}", path.display()),
                    )
                })?;
                JwksSource::File { path, keys }
            }
            (None, Some(url)) => {
                let span = url.span();
                let url = url.into_inner().0;
                if !url.https && !url.loopback {
                    return Err(self.invalid(
                        span,
                        "auth.jwt.jwks_url".to_owned(),
                        format!(
                            "`{}`: keys are fetched over https; plain http only from localhost",
                            url.text
                        ),
                    ));
                }
                let ca_file = raw
                    .jwks_ca_file
                    .as_ref()
                    .map(|written| {
                        self.existing(written, "auth.jwt.jwks_ca_file".to_owned(), Kind::File)
                    })
                    .transpose()?;
                JwksSource::Url {
                    url,
                    ca_file,
                    refresh_secs: raw.jwks_refresh_secs,
                    timeout_ms: raw.jwks_timeout_ms,
                }
            }
            (Some(file), Some(_)) => {
                return Err(self.invalid(
                    file.span(),
                    "auth.jwt.jwks_file".to_owned(),
                    "give either `jwks_file` or `jwks_url`, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(missing(
                    "jwks_url",
                    "where the issuer's keys are (or `jwks_file` for a JWK Set file)",
                ));
            }
        };
        if let (Some(ca_file), JwksSource::File { .. }) = (&raw.jwks_ca_file, &jwks) {
            return Err(self.invalid(
                ca_file.span(),
                "auth.jwt.jwks_ca_file".to_owned(),
                "`jwks_ca_file` is for fetching `jwks_url`; a `jwks_file` is read directly"
                    .to_owned(),
            ));
        }
        let algorithms: BTreeSet<JwtAlgorithm> = match raw.algorithms {
            Some(listed) if listed.is_empty() => {
                return Err(self.invalid(
                    span,
                    "auth.jwt.algorithms".to_owned(),
                    "lists no algorithm, so no token could be accepted".to_owned(),
                ));
            }
            Some(listed) => listed.into_iter().map(|a| a.0).collect(),
            None => DEFAULT_ALGORITHMS.into_iter().collect(),
        };
        let required_scopes: BTreeSet<String> =
            raw.required_scopes.into_iter().map(|s| s.0).collect();
        let written_scopes = raw.scopes_supported.is_some();
        let scopes_supported = match raw.scopes_supported {
            Some(listed) => listed.into_iter().map(|s| s.0).collect(),
            None => required_scopes.clone(),
        };
        let audience = raw.audience.map_or_else(|| resource.text.clone(), |a| a.0);
        Ok((
            JwtConfig {
                authorization_servers: raw.authorization_servers.map_or_else(
                    || vec![issuer.clone()],
                    |servers| servers.into_iter().map(|url| url.0.text).collect(),
                ),
                resource,
                audience,
                issuer,
                jwks,
                algorithms,
                leeway_secs: raw.leeway_secs,
                caller_claim: raw.caller_claim.0,
                roles_claim: raw.roles_claim.0,
                scopes_claim: raw.scopes_claim.0,
                required_scopes,
                scopes_supported,
            },
            written_scopes,
        ))
    }
}

/// Adds the scopes the components' access rules name to the published
/// `scopes_supported`, so clients learn which scopes to ask for.
pub(super) fn complete_scopes(jwt: &mut JwtConfig, components: &[ComponentConfig]) {
    for access in components.iter().filter_map(|c| c.access.as_ref()) {
        for rule in access.rules() {
            jwt.scopes_supported.extend(rule.scopes.iter().cloned());
        }
    }
}

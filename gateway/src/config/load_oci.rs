//! Reading `[registry]` and a component's `path`, `oci`, `allow_tags` and
//! `verify` keys: files resolved, keys read, trust rules applied.

use std::fs;
use std::path::PathBuf;

use toml::Spanned;

use super::error::ConfigError;
use super::load::{Kind, Resolver};
use super::oci::{
    ComponentSource, OciSource, RegistryConfig, RegistryCredentials, TrustRule, Verification,
};
use super::raw::RawComponent;
use super::raw_oci::RawRegistry;
use super::raw_text::NonEmptyPath;
use super::secrets;
use crate::signing::VerifyingKey;

impl Resolver<'_> {
    /// The `[registry]` table and its trust rules.
    pub(super) fn registry(&self, raw: RawRegistry) -> Result<RegistryConfig, ConfigError> {
        let file = |path: Option<Spanned<NonEmptyPath>>, key: &str| {
            path.map(|path| self.existing(&path, format!("registry.{key}"), Kind::File))
                .transpose()
        };
        let auth_file = file(raw.auth_file, "auth_file")?;
        let ca_file = file(raw.ca_file, "ca_file")?;
        let mut secret_files = Vec::new();
        let mut credentials = Vec::with_capacity(raw.credentials.len());
        for (host, table) in raw.credentials {
            let key = |field: &str| format!("registry.credentials.\"{}\".{field}", host.0);
            let mut expand = |value: Spanned<String>, field: &str| {
                let span = value.span();
                secrets::expand(value.get_ref(), &self.base, &mut secret_files)
                    .map_err(|why| self.invalid(span, key(field), why))
            };
            let written = table.0.password.get_ref();
            if !(written.contains("${env:") || written.contains("${file:")) {
                return Err(self.invalid(
                    table.0.password.span(),
                    key("password"),
                    "write the password as a `${env:NAME}` or `${file:PATH}` reference: \
                     credentials are not kept in the configuration's text"
                        .to_owned(),
                ));
            }
            let username = expand(table.0.username, "username")?;
            let password = expand(table.0.password, "password")?;
            credentials.push((host.0, RegistryCredentials { username, password }));
        }
        let mut trust = Vec::with_capacity(raw.trust.len());
        for (index, rule) in raw.trust.into_iter().enumerate() {
            let span = rule.span();
            let rule = rule.into_inner().0;
            let key = format!("registry.trust[{index}]");
            if rule.prefix.get_ref().is_empty() {
                return Err(self.invalid(
                    rule.prefix.span(),
                    format!("{key}.prefix"),
                    "the prefix is empty; write the registry host at least".to_owned(),
                ));
            }
            let keys = self.keys(&rule.keys, &key, span, &mut secret_files)?;
            trust.push(TrustRule {
                prefix: rule.prefix.into_inner(),
                keys,
                written_as: key,
            });
        }
        let config = RegistryConfig {
            auth_file,
            ca_file,
            insecure: raw.insecure.into_iter().map(|host| host.0).collect(),
            max_component_bytes: raw.max_component_bytes,
            timeout_ms: raw.timeout_ms,
            credentials,
            secret_files,
            trust,
        };
        Ok(config)
    }

    /// A component's `path` or `oci` (taken out of `raw`); key files read
    /// are added to `files_read`.
    pub(super) fn component_source(
        &self,
        prefix: &str,
        table_span: std::ops::Range<usize>,
        raw: &mut RawComponent,
        trust: &[TrustRule],
        has_cache_dir: bool,
        files_read: &mut Vec<PathBuf>,
    ) -> Result<ComponentSource, ConfigError> {
        let (allow_tags, verify) = (raw.allow_tags, raw.verify.take());
        let oci = match (raw.path.take(), raw.oci.take()) {
            (Some(path), None) => {
                if let Some(verify) = verify {
                    return Err(self.invalid(
                        verify.span(),
                        format!("{prefix}.verify"),
                        "signatures are verified for `oci` components only".to_owned(),
                    ));
                }
                let path = self.existing(&path, format!("{prefix}.path"), Kind::File)?;
                return Ok(ComponentSource::File(path));
            }
            (Some(path), Some(_)) => {
                return Err(self.invalid(
                    path.span(),
                    prefix.to_owned(),
                    "give either `path` or `oci`, not both".to_owned(),
                ));
            }
            (None, None) => {
                return Err(self.invalid(
                    table_span,
                    prefix.to_owned(),
                    "the component needs `path` (a .wasm file) or `oci` (a registry reference)"
                        .to_owned(),
                ));
            }
            (None, Some(oci)) => oci,
        };
        let span = oci.span();
        let reference = oci.into_inner();
        if reference.digest().is_none() && !allow_tags {
            return Err(self.invalid(
                span,
                format!("{prefix}.oci"),
                format!(
                    "`{reference}` names no digest; pin it (`…@sha256:…`, `warden push` prints it) \
                     or set `allow_tags = true` to follow the tag"
                ),
            ));
        }
        if !has_cache_dir {
            return Err(self.invalid(
                span,
                format!("{prefix}.oci"),
                "components pulled from a registry are kept in server.cache_dir; set it".to_owned(),
            ));
        }
        let verify = match verify {
            Some(verify) => {
                let key = format!("{prefix}.verify");
                let span = verify.span();
                Some(Verification {
                    keys: self.keys(&verify.get_ref().keys, &key, span, files_read)?,
                    required_by: key,
                })
            }
            None => TrustRule::applying_to(trust, &reference),
        };
        Ok(ComponentSource::Oci(OciSource {
            reference,
            allow_tags,
            verify,
        }))
    }

    fn keys(
        &self,
        written: &[Spanned<NonEmptyPath>],
        key: &str,
        span: std::ops::Range<usize>,
        files_read: &mut Vec<PathBuf>,
    ) -> Result<Vec<VerifyingKey>, ConfigError> {
        if written.is_empty() {
            return Err(self.invalid(
                span,
                format!("{key}.keys"),
                "no keys: list the public keys (PEM) that may sign".to_owned(),
            ));
        }
        let mut keys = Vec::with_capacity(written.len());
        for (i, path) in written.iter().enumerate() {
            let at = format!("{key}.keys[{i}]");
            let file = self.existing(path, at.clone(), Kind::File)?;
            let text = fs::read(&file).map_err(|e| {
                self.invalid(
                    path.span(),
                    at.clone(),
                    format!("cannot read `{}`: {e}", file.display()),
                )
            })?;
            let verifying = VerifyingKey::from_pem(&text).map_err(|e| {
                self.invalid(
                    path.span(),
                    at.clone(),
                    format!("`{}`: {e}", file.display()),
                )
            })?;
            keys.push(verifying);
            files_read.push(file);
        }
        Ok(keys)
    }
}

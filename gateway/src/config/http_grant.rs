//! `[components.<name>.capabilities.http]` resolved: the URLs a component
//! may reach through wasi:http, the headers (secrets) the host adds to
//! them with their references read, trusted certificates, and the limits.

use std::path::PathBuf;

use crate::certificates::{CertificateFileError, read_pem_certificates};
use warden_sandbox::{HostPattern, HttpAllow, HttpGrant, HttpLimits, HttpScheme};
use warden_sandbox::{InjectedHeader, RESERVED_HEADERS, Secret};

use super::error::ConfigError;
use super::load::{Kind, Resolver};
use super::raw_http::{RawAllowEntry, RawAllowTable, RawHttpGrant};
use super::secrets;

impl Resolver<'_> {
    /// Checks `raw` and reads the secrets and certificates it names.
    pub(super) fn http_grant(
        &self,
        prefix: &str,
        raw: RawHttpGrant,
        files_read: &mut Vec<PathBuf>,
    ) -> Result<HttpGrant, ConfigError> {
        let key = format!("{prefix}.capabilities.http");
        let mut allow = Vec::with_capacity(raw.allow.len());
        for (index, entry) in raw.allow.into_iter().enumerate() {
            let entry_key = format!("{key}.allow[{index}]");
            let span = entry.span();
            allow.push(match entry.into_inner() {
                RawAllowEntry::Url(target) => HttpAllow::new(target),
                RawAllowEntry::Table(table) => {
                    self.allow_table(&entry_key, *table, raw.allow_plaintext_secrets, files_read)?
                }
            });
            let duplicate = allow[..allow.len() - 1]
                .iter()
                .position(|earlier| earlier.target == allow[allow.len() - 1].target);
            if let Some(earlier) = duplicate {
                return Err(self.invalid(
                    span,
                    entry_key,
                    format!("the same URL as allow[{earlier}]: the first would always win"),
                ));
            }
        }
        Ok(HttpGrant {
            allow,
            limits: HttpLimits {
                max_requests_per_call: raw.max_requests_per_call,
                max_request_bytes: raw.max_request_bytes,
                max_response_bytes: raw.max_response_bytes,
                connect_timeout_ms: raw.connect_timeout_ms,
                first_byte_timeout_ms: raw.first_byte_timeout_ms,
                max_concurrent_requests: raw.max_concurrent_requests,
            },
        })
    }

    fn allow_table(
        &self,
        key: &str,
        table: RawAllowTable,
        allow_plaintext_secrets: bool,
        files_read: &mut Vec<PathBuf>,
    ) -> Result<HttpAllow, ConfigError> {
        let url_span = table.url.span();
        let mut allow = HttpAllow::new(table.url.into_inner().0);
        if let Some(methods) = table.methods {
            let span = methods.span();
            let methods: Vec<String> = methods
                .into_inner()
                .into_iter()
                .map(|m| m.into_inner().0)
                .collect();
            if methods.is_empty() {
                return Err(self.invalid(
                    span,
                    format!("{key}.methods"),
                    "is empty: leave `methods` out to allow every method".to_owned(),
                ));
            }
            allow.methods = Some(methods);
        }
        if let Some(private) = table.private {
            if *private.get_ref() && matches!(allow.target.host, HostPattern::AnySubdomainOf(_)) {
                return Err(self.invalid(
                    private.span(),
                    format!("{key}.private"),
                    "a wildcard entry cannot reach internal addresses: name the host exactly"
                        .to_owned(),
                ));
            }
            allow.private = private.into_inner();
        }
        for (name, value) in table.headers.0 {
            let header_key = format!("{key}.headers.{name}");
            let lower = name.to_ascii_lowercase();
            let span = value.span();
            if http::HeaderName::from_bytes(lower.as_bytes()).is_err() {
                return Err(self.invalid(
                    span,
                    header_key,
                    format!("`{name}` is not a header name"),
                ));
            }
            if RESERVED_HEADERS.contains(&lower.as_str()) {
                return Err(self.invalid(
                    span,
                    header_key,
                    format!("`{name}` frames or routes the request: the host sets it"),
                ));
            }
            if allow.headers.iter().any(|header| header.name == lower) {
                return Err(self.invalid(
                    span,
                    header_key,
                    format!("`{name}` is set twice (header names ignore case)"),
                ));
            }
            let value = secrets::expand(value.get_ref(), &self.base, files_read)
                .map_err(|why| self.invalid(span.clone(), header_key.clone(), why))?;
            if http::HeaderValue::from_str(&value).is_err() {
                return Err(self.invalid(
                    span,
                    header_key,
                    "the value (after its references are read) holds characters a header \
                     may not carry, such as a line break"
                        .to_owned(),
                ));
            }
            allow.headers.push(InjectedHeader {
                name: lower,
                value: Secret::new(value),
            });
        }
        if !allow.headers.is_empty()
            && allow.target.scheme == HttpScheme::Http
            && !allow.target.is_loopback()
            && !allow_plaintext_secrets
        {
            return Err(self.invalid(
                url_span,
                format!("{key}.url"),
                "headers go only over https (or to loopback): plain http would show them to \
                 the network; set `allow_plaintext_secrets = true` in the http table to allow it"
                    .to_owned(),
            ));
        }
        if let Some(ca_file) = table.ca_file {
            let ca_key = format!("{key}.ca_file");
            if allow.target.scheme != HttpScheme::Https {
                return Err(self.invalid(
                    ca_file.span(),
                    ca_key,
                    "applies to `https://` entries only".to_owned(),
                ));
            }
            let path = self.existing(&ca_file, ca_key.clone(), Kind::File)?;
            files_read.push(path.clone());
            allow.trust_anchors = match read_pem_certificates(&path) {
                Ok(certificates) => certificates,
                Err(CertificateFileError::Empty) => {
                    return Err(self.invalid(
                        ca_file.span(),
                        ca_key,
                        format!("`{}` holds no PEM certificate", path.display()),
                    ));
                }
                Err(error @ CertificateFileError::Unreadable(_)) => {
                    return Err(self.invalid(
                        ca_file.span(),
                        ca_key,
                        format!(
                            "cannot read certificates from `{}`: {error}",
                            path.display()
                        ),
                    ));
                }
            };
        }
        Ok(allow)
    }
}

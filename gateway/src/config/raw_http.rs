//! The shape of `[components.<name>.capabilities.http]` as written: allow
//! entries (a URL, or a table with one) and the limits, each checked where
//! it is written so an error carries its span. `http_grant` resolves them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;
use warden_sandbox::{AllowTarget, HttpLimits};

use super::raw_text::{self, NonEmptyPath, Table};

/// `[components.<name>.capabilities.http]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawHttpGrant {
    pub allow: Vec<Spanned<RawAllowEntry>>,
    /// Lets headers go over plain `http://` to hosts other than loopback.
    pub allow_plaintext_secrets: bool,
    #[serde(deserialize_with = "raw_text::http_max_requests_per_call")]
    pub max_requests_per_call: u32,
    #[serde(deserialize_with = "raw_text::http_max_request_bytes")]
    pub max_request_bytes: u64,
    #[serde(deserialize_with = "raw_text::http_max_response_bytes")]
    pub max_response_bytes: u64,
    #[serde(deserialize_with = "raw_text::http_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    #[serde(deserialize_with = "raw_text::http_first_byte_timeout_ms")]
    pub first_byte_timeout_ms: u64,
    #[serde(deserialize_with = "raw_text::http_max_concurrent_requests")]
    pub max_concurrent_requests: u32,
}

impl Default for RawHttpGrant {
    fn default() -> Self {
        let limits = HttpLimits::DEFAULT;
        Self {
            allow: Vec::new(),
            allow_plaintext_secrets: false,
            max_requests_per_call: limits.max_requests_per_call,
            max_request_bytes: limits.max_request_bytes,
            max_response_bytes: limits.max_response_bytes,
            connect_timeout_ms: limits.connect_timeout_ms,
            first_byte_timeout_ms: limits.first_byte_timeout_ms,
            max_concurrent_requests: limits.max_concurrent_requests,
        }
    }
}

/// One entry of `allow`: a URL, or a table with one and what goes with it.
#[derive(Debug)]
pub(super) enum RawAllowEntry {
    Url(AllowTarget),
    Table(Box<RawAllowTable>),
}

/// `{ url, methods, headers, private, ca_file }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllowTable {
    pub url: Spanned<AllowUrl>,
    #[serde(default)]
    pub methods: Option<Spanned<Vec<Spanned<MethodName>>>>,
    #[serde(default)]
    pub headers: Table<BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    pub private: Option<Spanned<bool>>,
    #[serde(default)]
    pub ca_file: Option<Spanned<NonEmptyPath>>,
}

/// An allow URL, parsed where it is written.
#[derive(Debug)]
pub(super) struct AllowUrl(pub AllowTarget);

impl<'de> Deserialize<'de> for AllowUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).and_then(|url| {
            AllowTarget::parse(&url)
                .map(AllowUrl)
                .map_err(|error| de::Error::custom(format!("`{url}`: {error}")))
        })
    }
}

/// An HTTP method, upper case.
#[derive(Debug)]
pub(super) struct MethodName(pub String);

impl<'de> Deserialize<'de> for MethodName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let method = String::deserialize(d)?;
        let upper = method.to_ascii_uppercase();
        if warden_sandbox::NEVER_SENT.contains(&upper.as_str()) {
            return Err(de::Error::custom(format!(
                "`{upper}` is never sent: CONNECT would open a tunnel past every check, \
                 TRACE would echo the added headers back"
            )));
        }
        if upper.is_empty() || http::Method::from_bytes(upper.as_bytes()).is_err() {
            return Err(de::Error::custom(format!(
                "`{method}` is not an HTTP method such as \"GET\" or \"POST\""
            )));
        }
        Ok(Self(upper))
    }
}

impl<'de> Deserialize<'de> for RawAllowEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AllowEntryVisitor)
    }
}

struct AllowEntryVisitor;

impl<'de> Visitor<'de> for AllowEntryVisitor {
    type Value = RawAllowEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a URL string such as \"https://api.example.com/v1/\", or a table with `url`")
    }

    fn visit_str<E: de::Error>(self, url: &str) -> Result<Self::Value, E> {
        AllowTarget::parse(url)
            .map(RawAllowEntry::Url)
            .map_err(|error| E::custom(format!("`{url}`: {error}")))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawAllowTable::deserialize(de::value::MapAccessDeserializer::new(map))
            .map(|table| RawAllowEntry::Table(Box::new(table)))
    }
}

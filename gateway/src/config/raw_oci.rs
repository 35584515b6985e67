//! `[registry]` and a component's `oci`, `allow_tags` and `verify` keys as
//! serde sees them; see [`super::oci`] for their meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::oci::{self, OciReference};
use super::raw_text::{NonEmptyPath, ParsedStr, Table, Unit, ranged};

/// `[registry]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawRegistry {
    pub auth_file: Option<Spanned<NonEmptyPath>>,
    pub ca_file: Option<Spanned<NonEmptyPath>>,
    pub insecure: Vec<RegistryHost>,
    #[serde(deserialize_with = "max_component_bytes")]
    pub max_component_bytes: u64,
    #[serde(deserialize_with = "timeout_ms")]
    pub timeout_ms: u64,
    pub credentials: BTreeMap<RegistryHost, Table<RawCredentials>>,
    pub trust: Vec<Spanned<Table<RawTrust>>>,
}

impl Default for RawRegistry {
    fn default() -> Self {
        Self {
            auth_file: None,
            ca_file: None,
            insecure: Vec::new(),
            max_component_bytes: oci::DEFAULT_MAX_COMPONENT_BYTES,
            timeout_ms: oci::DEFAULT_REGISTRY_TIMEOUT_MS,
            credentials: BTreeMap::new(),
            trust: Vec::new(),
        }
    }
}

/// `[registry.credentials."<host>"]`: values may hold `${env:…}` and
/// `${file:…}` references, expanded at load.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCredentials {
    pub username: Spanned<String>,
    pub password: Spanned<String>,
}

/// One `[[registry.trust]]` rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrust {
    pub prefix: Spanned<String>,
    pub keys: Vec<Spanned<NonEmptyPath>>,
}

/// `[components.<name>.verify]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVerify {
    pub keys: Vec<Spanned<NonEmptyPath>>,
}

/// A registry's host, with its port where it has one: `ghcr.io`,
/// `127.0.0.1:5000`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RegistryHost(pub String);

impl<'de> Deserialize<'de> for RegistryHost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedStr {
            expecting: "a registry host such as `ghcr.io` or `127.0.0.1:5000`",
            parse: |s: &str| oci::check_registry_host(s).map(|()| RegistryHost(s.to_owned())),
        })
    }
}

impl<'de> Deserialize<'de> for OciReference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedStr {
            expecting: "an OCI reference such as `ghcr.io/acme/tool:1.0@sha256:…`",
            parse: |s: &str| OciReference::parse(s),
        })
    }
}

pub(super) fn max_component_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(d, oci::MAX_COMPONENT_BYTES_RANGE, Unit::Bytes)
}

pub(super) fn timeout_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(d, oci::REGISTRY_TIMEOUT_MS_RANGE, Unit::Of("milliseconds"))
}

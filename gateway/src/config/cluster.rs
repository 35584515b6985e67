//! `[cluster]`: the optional Redis (or Valkey) that replicas share quotas,
//! session revocations and tasks through. Without `redis_url`, every
//! replica keeps them in its own process.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::error::ConfigError;
use super::load::{Kind, Resolver};
use super::raw_text::{NonEmptyPath, ParsedStr, Unit, ranged};
use super::secrets;

/// Default `cluster.timeout_ms`: the longest a request waits for Redis.
pub const DEFAULT_CLUSTER_TIMEOUT_MS: u64 = 250;
/// Allowed `cluster.timeout_ms`.
pub const CLUSTER_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 10..=10_000;
/// Default `cluster.lease_max`: most request tokens a replica takes from a
/// shared quota at once.
pub const DEFAULT_LEASE_MAX: u32 = 64;
/// Allowed `cluster.lease_max`.
pub const LEASE_MAX_RANGE: RangeInclusive<u32> = 1..=1_000;
/// Default `cluster.lease_ms`: how long leased tokens and a fuel verdict
/// stay usable, and how often charged fuel is written back.
pub const DEFAULT_LEASE_MS: u64 = 100;
/// Allowed `cluster.lease_ms`.
pub const LEASE_MS_RANGE: RangeInclusive<u64> = 10..=10_000;

/// What a replica does while Redis cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnUnavailable {
    /// Enforce quotas per process and end sessions in this process only,
    /// logged and counted (the default): availability first.
    #[default]
    Local,
    /// Refuse what needs the shared state with 503: limits first.
    Reject,
}

impl OnUnavailable {
    /// The name the configuration uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Reject => "reject",
        }
    }
}

/// `[cluster]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The shared store; `None`: everything stays in this process.
    pub redis: Option<RedisConfig>,
    /// What happens while Redis cannot be reached.
    pub on_unavailable: OnUnavailable,
    /// The longest a request waits for Redis before it counts as
    /// unreachable.
    pub timeout_ms: u64,
    /// Most tokens of a shared request quota a replica takes at once.
    pub lease_max: u32,
    /// How long leased tokens and a fuel verdict stay usable here.
    pub lease_ms: u64,
    /// Prefix of every key Warden writes, so several deployments can share
    /// one Redis.
    pub key_prefix: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis: None,
            on_unavailable: OnUnavailable::default(),
            timeout_ms: DEFAULT_CLUSTER_TIMEOUT_MS,
            lease_max: DEFAULT_LEASE_MAX,
            lease_ms: DEFAULT_LEASE_MS,
            key_prefix: "warden".to_owned(),
        }
    }
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("redis", &self.redis)
            .field("on_unavailable", &self.on_unavailable)
            .field("timeout_ms", &self.timeout_ms)
            .field("lease_max", &self.lease_max)
            .field("lease_ms", &self.lease_ms)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

/// How to reach Redis.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port/db` or `rediss://…` (TLS), without credentials.
    pub url: String,
    /// The user of Redis ACLs; `None`: the default user.
    pub username: Option<String>,
    /// The password, expanded from its `${env:…}` or `${file:…}`
    /// reference; never logged.
    pub password: Option<String>,
    /// Certificates (PEM) trusted besides the built-in roots for
    /// `rediss://`.
    pub ca_file: Option<PathBuf>,
    /// Files read for `${file:…}` references.
    pub secret_files: Vec<PathBuf>,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// `[cluster]` as serde sees it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCluster {
    redis_url: Option<Spanned<RedisUrl>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    ca_file: Option<Spanned<NonEmptyPath>>,
    on_unavailable: OnUnavailable,
    #[serde(deserialize_with = "timeout_ms")]
    timeout_ms: u64,
    #[serde(deserialize_with = "lease_max")]
    lease_max: u32,
    #[serde(deserialize_with = "lease_ms")]
    lease_ms: u64,
    key_prefix: KeyPrefix,
    #[serde(skip)]
    password_span: Option<std::ops::Range<usize>>,
}

impl Default for RawCluster {
    fn default() -> Self {
        let defaults = ClusterConfig::default();
        Self {
            redis_url: None,
            username: None,
            password: None,
            ca_file: None,
            on_unavailable: defaults.on_unavailable,
            timeout_ms: defaults.timeout_ms,
            lease_max: defaults.lease_max,
            lease_ms: defaults.lease_ms,
            key_prefix: KeyPrefix(defaults.key_prefix),
            password_span: None,
        }
    }
}

fn timeout_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(d, CLUSTER_TIMEOUT_MS_RANGE, Unit::Of("milliseconds"))
}

fn lease_max<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, LEASE_MAX_RANGE, Unit::Of("tokens"))
}

fn lease_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(d, LEASE_MS_RANGE, Unit::Of("milliseconds"))
}

/// A Redis URL without credentials.
#[derive(Debug)]
struct RedisUrl(String);

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedStr {
            expecting: "a Redis URL such as `redis://redis:6379/0` or `rediss://redis:6380`",
            parse: |s: &str| check_redis_url(s).map(|()| RedisUrl(s.to_owned())),
        })
    }
}

/// Checks the scheme, the host and that no password is written in the URL.
pub(super) fn check_redis_url(text: &str) -> Result<(), String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!(
            "`{text}` is not a URL: expected `redis://host:port`"
        ));
    };
    if scheme != "redis" && scheme != "rediss" {
        return Err(format!(
            "the scheme `{scheme}` is not `redis` or `rediss` (TLS)"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && userinfo.contains(':')
    {
        return Err(
            "the URL holds a password: write it as `cluster.password = \"${env:NAME}\"` \
             (or `${file:PATH}`), which is never logged"
                .to_owned(),
        );
    }
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        return Err(format!("`{text}` names no host"));
    }
    let info = redis::IntoConnectionInfo::into_connection_info(text)
        .map_err(|error| format!("`{text}` is not a Redis URL: {error}"))?;
    drop(info);
    Ok(())
}

/// `key_prefix`: letters, digits and `-_.:`, at most 64 bytes.
#[derive(Debug)]
struct KeyPrefix(String);

impl<'de> Deserialize<'de> for KeyPrefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedStr {
            expecting: "a key prefix of letters, digits and `-_.:`",
            parse: |s: &str| {
                let fits = !s.is_empty()
                    && s.len() <= 64
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
                if fits {
                    Ok(KeyPrefix(s.to_owned()))
                } else {
                    Err(format!("`{s}` is not 1 to 64 letters, digits and `-_.:`"))
                }
            },
        })
    }
}

impl Resolver<'_> {
    /// The `[cluster]` table, its password expanded and its CA file checked.
    pub(super) fn cluster(&self, mut raw: RawCluster) -> Result<ClusterConfig, ConfigError> {
        let mut secret_files = Vec::new();
        raw.password_span = raw.password.as_ref().map(Spanned::span);
        let password = match raw.password.take() {
            None => None,
            Some(written) => {
                let text = written.get_ref();
                if !(text.contains("${env:") || text.contains("${file:")) {
                    return Err(self.invalid(
                        written.span(),
                        "cluster.password".to_owned(),
                        "write the password as a `${env:NAME}` or `${file:PATH}` reference: \
                         credentials are not kept in the configuration's text"
                            .to_owned(),
                    ));
                }
                let expanded = secrets::expand(text, &self.base, &mut secret_files)
                    .map_err(|why| self.invalid(written.span(), "cluster.password".into(), why))?;
                Some(expanded)
            }
        };
        let orphan = [
            raw.username.as_ref().map(|w| (w.span(), "username")),
            raw.password_span.clone().map(|span| (span, "password")),
            raw.ca_file.as_ref().map(|w| (w.span(), "ca_file")),
        ]
        .into_iter()
        .flatten()
        .next();
        if let (None, Some((span, field))) = (&raw.redis_url, orphan) {
            return Err(self.invalid(
                span,
                format!("cluster.{field}"),
                "set without `cluster.redis_url`, which it belongs to".to_owned(),
            ));
        }
        let ca_file = raw
            .ca_file
            .map(|path| self.existing(&path, "cluster.ca_file".to_owned(), Kind::File))
            .transpose()?;
        let redis = raw.redis_url.map(|url| RedisConfig {
            url: url.into_inner().0,
            username: raw.username.map(Spanned::into_inner),
            password,
            ca_file,
            secret_files,
        });
        Ok(ClusterConfig {
            redis,
            on_unavailable: raw.on_unavailable,
            timeout_ms: raw.timeout_ms,
            lease_max: raw.lease_max,
            lease_ms: raw.lease_ms,
            key_prefix: raw.key_prefix.0,
        })
    }
}

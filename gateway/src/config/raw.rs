//! The file's shape as serde sees it, before paths are resolved and checked.
//!
//! Values that can be judged on their own (ranges, names, origins, targets,
//! guest paths) are checked here, inside serde visitors, so that an error
//! carries the span of the offending value. Fields that need checks after
//! parsing (files, directories, duplicates) are kept as [`Spanned`].
//! The meaning and default of every field is documented on the public types
//! in [`super::model`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::RangeInclusive;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::model::{self, ComponentName, DirMode, LogFormat};
use super::values;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: Table<RawServer>,
    #[serde(default)]
    pub components: Table<BTreeMap<ComponentName, Table<RawComponent>>>,
    #[serde(default)]
    pub tracing: Table<RawTracing>,
    #[serde(default)]
    pub auth: Table<RawAuth>,
    #[serde(default)]
    pub rate_limits: Table<RawRateLimits>,
    #[serde(default)]
    pub audit: Option<Spanned<Table<RawAudit>>>,
    #[serde(default)]
    pub http: Table<RawHttp>,
    #[serde(default)]
    pub tls: Option<Table<RawTls>>,
}

/// `[tls]`; see [`model::TlsConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub cert_file: Spanned<NonEmptyPath>,
    pub key_file: Spanned<NonEmptyPath>,
    #[serde(default)]
    pub client_ca_file: Option<Spanned<NonEmptyPath>>,
}

/// `[http]`; see [`model::HttpConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawHttp {
    #[serde(deserialize_with = "header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    #[serde(deserialize_with = "body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    #[serde(deserialize_with = "request_timeout_ms")]
    pub request_timeout_ms: u64,
    #[serde(deserialize_with = "max_connections")]
    pub max_connections: u32,
    #[serde(deserialize_with = "max_requests_per_connection")]
    pub max_requests_per_connection: u32,
    pub keep_alive: bool,
    #[serde(deserialize_with = "max_header_bytes")]
    pub max_header_bytes: usize,
    #[serde(deserialize_with = "max_headers")]
    pub max_headers: usize,
    pub allowed_hosts: Vec<AllowedHost>,
}

impl Default for RawHttp {
    fn default() -> Self {
        let d = model::HttpConfig::default();
        Self {
            header_read_timeout_ms: d.header_read_timeout_ms,
            body_read_timeout_ms: d.body_read_timeout_ms,
            request_timeout_ms: d.request_timeout_ms,
            max_connections: d.max_connections,
            max_requests_per_connection: d.max_requests_per_connection,
            keep_alive: d.keep_alive,
            max_header_bytes: d.max_header_bytes,
            max_headers: d.max_headers,
            allowed_hosts: Vec::new(),
        }
    }
}

impl From<RawHttp> for model::HttpConfig {
    fn from(raw: RawHttp) -> Self {
        let mut allowed_hosts: Vec<String> = Vec::new();
        for host in raw.allowed_hosts {
            if !allowed_hosts.contains(&host.0) {
                allowed_hosts.push(host.0);
            }
        }
        Self {
            header_read_timeout_ms: raw.header_read_timeout_ms,
            body_read_timeout_ms: raw.body_read_timeout_ms,
            request_timeout_ms: raw.request_timeout_ms,
            max_connections: raw.max_connections,
            max_requests_per_connection: raw.max_requests_per_connection,
            keep_alive: raw.keep_alive,
            max_header_bytes: raw.max_header_bytes,
            max_headers: raw.max_headers,
            allowed_hosts,
        }
    }
}

/// Which sink `[audit]` writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawAuditSink {
    File,
    Stdout,
}

/// `[audit]`; see [`model::AuditConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub sink: RawAuditSink,
    #[serde(default)]
    pub path: Option<Spanned<NonEmptyPath>>,
    #[serde(
        default = "default_audit_max_file_bytes",
        deserialize_with = "audit_max_file_bytes"
    )]
    pub max_file_bytes: u64,
    #[serde(
        default = "default_audit_max_files",
        deserialize_with = "audit_max_files"
    )]
    pub max_files: u32,
    #[serde(
        default = "default_audit_queue_records",
        deserialize_with = "audit_queue_records"
    )]
    pub queue_records: u32,
    #[serde(default)]
    pub required: bool,
}

fn default_audit_max_file_bytes() -> u64 {
    model::DEFAULT_AUDIT_MAX_FILE_BYTES
}

fn default_audit_max_files() -> u32 {
    model::DEFAULT_AUDIT_MAX_FILES
}

fn default_audit_queue_records() -> u32 {
    model::DEFAULT_AUDIT_QUEUE_RECORDS
}

/// `[components.<name>.audit]`; see [`model::ToolAuditConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawToolAudit {
    pub log_arguments: bool,
    pub redact: Vec<String>,
}

impl From<RawToolAudit> for model::ToolAuditConfig {
    fn from(raw: RawToolAudit) -> Self {
        Self {
            log_arguments: raw.log_arguments,
            redact: raw.redact.into_iter().collect(),
        }
    }
}

/// `[rate_limits]`; see [`model::RateLimitsConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawRateLimits {
    pub caller_requests: Option<RateQuotaText>,
    pub caller_fuel: Option<FuelQuotaText>,
    #[serde(deserialize_with = "max_calls_in_flight")]
    pub max_calls_in_flight: u32,
    #[serde(deserialize_with = "call_queue")]
    pub call_queue: u32,
    #[serde(deserialize_with = "call_queue_timeout_ms")]
    pub call_queue_timeout_ms: u64,
}

impl Default for RawRateLimits {
    fn default() -> Self {
        let d = model::RateLimitsConfig::default();
        Self {
            caller_requests: None,
            caller_fuel: None,
            max_calls_in_flight: d.max_calls_in_flight,
            call_queue: d.call_queue,
            call_queue_timeout_ms: d.call_queue_timeout_ms,
        }
    }
}

impl From<RawRateLimits> for model::RateLimitsConfig {
    fn from(raw: RawRateLimits) -> Self {
        Self {
            caller_requests: raw.caller_requests.map(|quota| quota.0),
            caller_fuel: raw.caller_fuel.map(|quota| quota.0),
            max_calls_in_flight: raw.max_calls_in_flight,
            call_queue: raw.call_queue,
            call_queue_timeout_ms: raw.call_queue_timeout_ms,
        }
    }
}

/// `[components.<name>.rate_limits]`; see [`model::ToolQuotas`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawToolQuotas {
    pub tool: Option<RateQuotaText>,
    pub caller_tool: Option<RateQuotaText>,
    pub tools: Table<BTreeMap<String, Table<RawToolQuotaOverride>>>,
}

/// `[components.<name>.rate_limits.tools.<tool>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawToolQuotaOverride {
    pub tool: Option<RateQuotaText>,
    pub caller_tool: Option<RateQuotaText>,
}

impl From<RawToolQuotas> for model::ToolQuotas {
    fn from(raw: RawToolQuotas) -> Self {
        Self {
            tool: raw.tool.map(|quota| quota.0),
            caller_tool: raw.caller_tool.map(|quota| quota.0),
            tools: raw
                .tools
                .0
                .into_iter()
                .map(|(name, quotas)| {
                    let quotas = quotas.0;
                    let tool = model::ToolQuotaOverride {
                        tool: quotas.tool.map(|quota| quota.0),
                        caller_tool: quotas.caller_tool.map(|quota| quota.0),
                    };
                    (name, tool)
                })
                .collect(),
        }
    }
}

/// `[auth]`; see [`model::AuthConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAuth {
    pub api_keys: Vec<Table<RawApiKey>>,
    pub api_keys_file: Option<Spanned<NonEmptyPath>>,
    pub jwt: Option<Spanned<Table<RawJwt>>>,
}

/// `[auth.jwt]`; see [`model::JwtConfig`]. The required keys are options
/// here so that their absence is reported with the table's position.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawJwt {
    pub resource: Option<UrlText>,
    pub audience: Option<ClaimText>,
    pub issuer: Option<ClaimText>,
    pub authorization_servers: Option<Vec<UrlText>>,
    pub jwks_file: Option<Spanned<NonEmptyPath>>,
    pub jwks_url: Option<Spanned<UrlText>>,
    pub jwks_ca_file: Option<Spanned<NonEmptyPath>>,
    #[serde(deserialize_with = "jwks_refresh_secs")]
    pub jwks_refresh_secs: u64,
    #[serde(deserialize_with = "jwks_timeout_ms")]
    pub jwks_timeout_ms: u64,
    pub algorithms: Option<Vec<AlgorithmText>>,
    #[serde(deserialize_with = "jwt_leeway_secs")]
    pub leeway_secs: u64,
    pub caller_claim: ClaimText,
    pub roles_claim: ClaimText,
    pub scopes_claim: ClaimText,
    pub required_scopes: Vec<Scope>,
    pub scopes_supported: Option<Vec<Scope>>,
}

impl Default for RawJwt {
    fn default() -> Self {
        Self {
            resource: None,
            audience: None,
            issuer: None,
            authorization_servers: None,
            jwks_file: None,
            jwks_url: None,
            jwks_ca_file: None,
            jwks_refresh_secs: model::DEFAULT_JWKS_REFRESH_SECS,
            jwks_timeout_ms: model::DEFAULT_JWKS_TIMEOUT_MS,
            algorithms: None,
            leeway_secs: model::DEFAULT_JWT_LEEWAY_SECS,
            caller_claim: ClaimText("sub".to_owned()),
            roles_claim: ClaimText("roles".to_owned()),
            scopes_claim: ClaimText("scope".to_owned()),
            required_scopes: Vec::new(),
            scopes_supported: None,
        }
    }
}

/// The file `auth.api_keys_file` names: `[[api_keys]]` entries only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawApiKeysFile {
    pub api_keys: Vec<Table<RawApiKey>>,
}

/// One `[[api_keys]]` entry; see [`model::ApiKey`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApiKey {
    pub name: Spanned<Identity>,
    pub hash: Spanned<KeyHash>,
    #[serde(default)]
    pub roles: Vec<Identity>,
}

/// `[components.<name>.access]`; see [`model::AccessPolicy`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAccess {
    /// `None` when the key is absent, so that an access table holding only
    /// per-tool rules leaves the other tools open.
    pub callers: Option<Vec<Identity>>,
    pub roles: Option<Vec<Identity>>,
    pub scopes: Option<Vec<Scope>>,
    pub tools: Table<BTreeMap<String, Spanned<Table<RawAccessRule>>>>,
}

/// `[components.<name>.access.tools.<tool>]`; see [`model::AccessRule`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAccessRule {
    pub callers: Vec<Identity>,
    pub roles: Vec<Identity>,
    pub scopes: Vec<Scope>,
}

impl From<RawAccessRule> for model::AccessRule {
    fn from(raw: RawAccessRule) -> Self {
        Self {
            callers: raw.callers.into_iter().map(|c| c.0).collect(),
            roles: raw.roles.into_iter().map(|r| r.0).collect(),
            scopes: raw.scopes.into_iter().map(|s| s.0).collect(),
        }
    }
}

/// `[server]`; see [`model::ServerConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawServer {
    pub listen: Option<Spanned<Listen>>,
    pub allowed_origins: Vec<AllowedOrigin>,
    pub allow_localhost_origins: bool,
    #[serde(deserialize_with = "max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(deserialize_with = "max_json_depth")]
    pub max_json_depth: usize,
    #[serde(deserialize_with = "page_size")]
    pub page_size: usize,
    #[serde(deserialize_with = "session_idle_timeout_secs")]
    pub session_idle_timeout_secs: u64,
    #[serde(deserialize_with = "session_lifetime_secs")]
    pub session_lifetime_secs: u64,
    pub session_key: Option<SessionKeyText>,
    pub session_old_keys: Vec<SessionKeyText>,
    #[serde(deserialize_with = "drain_timeout_secs")]
    pub drain_timeout_secs: u64,
    #[serde(deserialize_with = "watch_interval_ms")]
    pub watch_interval_ms: u64,
    #[serde(deserialize_with = "max_sessions")]
    pub max_sessions: usize,
    #[serde(deserialize_with = "stream_replay_events")]
    pub stream_replay_events: usize,
    #[serde(deserialize_with = "stream_replay_bytes")]
    pub stream_replay_bytes: usize,
    #[serde(deserialize_with = "pool_instances")]
    pub pool_instances: u32,
    #[serde(deserialize_with = "pool_keep_resident_bytes")]
    pub pool_keep_resident_bytes: u64,
    pub cache_dir: Option<Spanned<NonEmptyPath>>,
    pub log_format: LogFormat,
    pub metrics_listen: Option<Listen>,
}

impl Default for RawServer {
    fn default() -> Self {
        let d = model::ServerConfig::default();
        Self {
            listen: None,
            allowed_origins: Vec::new(),
            allow_localhost_origins: d.allow_localhost_origins,
            max_body_bytes: d.max_body_bytes,
            max_json_depth: d.max_json_depth,
            page_size: d.page_size,
            session_idle_timeout_secs: d.session_idle_timeout_secs,
            session_lifetime_secs: d.session_lifetime_secs,
            session_key: None,
            session_old_keys: Vec::new(),
            drain_timeout_secs: d.drain_timeout_secs,
            watch_interval_ms: d.watch_interval_ms,
            max_sessions: d.max_sessions,
            stream_replay_events: d.stream_replay_events,
            stream_replay_bytes: d.stream_replay_bytes,
            pool_instances: d.pool_instances,
            pool_keep_resident_bytes: d.pool_keep_resident_bytes,
            cache_dir: None,
            log_format: d.log_format,
            metrics_listen: None,
        }
    }
}

/// `[tracing]`; see [`model::TracingConfig`] and [`model::OtlpConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTracing {
    pub otlp_endpoint: Option<OtlpEndpoint>,
    pub service_name: ServiceName,
    #[serde(deserialize_with = "sample_ratio")]
    pub sample_ratio: model::SampleRatio,
    #[serde(deserialize_with = "otlp_timeout_ms")]
    pub otlp_timeout_ms: u64,
}

impl Default for RawTracing {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: ServiceName(model::DEFAULT_SERVICE_NAME.to_owned()),
            sample_ratio: model::DEFAULT_SAMPLE_RATIO,
            otlp_timeout_ms: model::DEFAULT_OTLP_TIMEOUT_MS,
        }
    }
}

impl From<RawTracing> for model::TracingConfig {
    fn from(raw: RawTracing) -> Self {
        Self {
            otlp: raw.otlp_endpoint.map(|endpoint| model::OtlpConfig {
                endpoint: endpoint.0,
                service_name: raw.service_name.0,
                sample_ratio: raw.sample_ratio,
                timeout_ms: raw.otlp_timeout_ms,
            }),
        }
    }
}

/// `[components.<name>]`; see [`model::ComponentConfig`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComponent {
    pub path: Spanned<NonEmptyPath>,
    #[serde(default)]
    pub tool_prefix: Option<ToolPrefix>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub limits: Table<RawLimits>,
    #[serde(default)]
    pub capabilities: Table<RawCapabilities>,
    #[serde(default)]
    pub access: Option<Spanned<Table<RawAccess>>>,
    #[serde(default)]
    pub rate_limits: Table<RawToolQuotas>,
    #[serde(default)]
    pub audit: Table<RawToolAudit>,
}

fn enabled_by_default() -> bool {
    true
}

/// `[components.<name>.limits]`; see [`model::Limits`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLimits {
    #[serde(deserialize_with = "timeout_ms")]
    pub timeout_ms: u64,
    #[serde(deserialize_with = "fuel")]
    pub fuel: Option<u64>,
    #[serde(deserialize_with = "max_memory_bytes")]
    pub max_memory_bytes: u64,
    #[serde(deserialize_with = "max_output_bytes")]
    pub max_output_bytes: u64,
    #[serde(deserialize_with = "max_log_messages")]
    pub max_log_messages: u32,
    #[serde(deserialize_with = "max_concurrency")]
    pub max_concurrency: u32,
    #[serde(deserialize_with = "queue_timeout_ms")]
    pub queue_timeout_ms: u64,
    #[serde(deserialize_with = "client_request_timeout_ms")]
    pub client_request_timeout_ms: u64,
    #[serde(deserialize_with = "max_client_requests")]
    pub max_client_requests: u32,
}

impl Default for RawLimits {
    fn default() -> Self {
        let d = model::Limits::default();
        Self {
            timeout_ms: d.timeout_ms,
            fuel: d.fuel,
            max_memory_bytes: d.max_memory_bytes,
            max_output_bytes: d.max_output_bytes,
            max_log_messages: d.max_log_messages,
            max_concurrency: d.max_concurrency,
            queue_timeout_ms: d.queue_timeout_ms,
            client_request_timeout_ms: d.client_request_timeout_ms,
            max_client_requests: d.max_client_requests,
        }
    }
}

impl From<RawLimits> for model::Limits {
    fn from(raw: RawLimits) -> Self {
        Self {
            timeout_ms: raw.timeout_ms,
            fuel: raw.fuel,
            max_memory_bytes: raw.max_memory_bytes,
            max_output_bytes: raw.max_output_bytes,
            max_log_messages: raw.max_log_messages,
            max_concurrency: raw.max_concurrency,
            queue_timeout_ms: raw.queue_timeout_ms,
            client_request_timeout_ms: raw.client_request_timeout_ms,
            max_client_requests: raw.max_client_requests,
        }
    }
}

/// `[components.<name>.capabilities]`; see [`model::Capabilities`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCapabilities {
    pub dirs: Vec<Table<RawDirGrant>>,
    pub env: Table<BTreeMap<EnvName, EnvValue>>,
    pub tcp_connect: Vec<TcpTarget>,
}

/// One `{ host, guest, mode }` entry of `dirs`; see [`model::DirGrant`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirGrant {
    pub host: Spanned<NonEmptyPath>,
    pub guest: Spanned<GuestPath>,
    #[serde(default)]
    pub mode: DirMode,
}

// ---- Tables ---------------------------------------------------------------------

/// A TOML table deserialized as `T`, and nothing else: serde's derived
/// structs would also accept an array of values in field order (so
/// `limits = [5000]` would set `timeout_ms`), which a configuration file
/// should refuse.
#[derive(Debug, Default)]
pub(super) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TableVisitor(PhantomData))
    }
}

struct TableVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
    type Value = Table<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Table)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::invalid_type(
            de::Unexpected::Other("array"),
            &self,
        ))
    }
}

// ---- Validated strings --------------------------------------------------------

/// A visitor for a string checked (and normalised) by `parse`. Errors raised
/// inside the visitor get the span of the string itself.
struct ParsedStr<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for ParsedStr<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

/// Implements `Deserialize` for a newtype over a checked string.
macro_rules! parsed_str {
    ($ty:ty, $expecting:literal, $parse:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(ParsedStr {
                    expecting: $expecting,
                    parse: $parse,
                })
            }
        }
    };
}

/// `server.listen`.
#[derive(Debug)]
pub(super) struct Listen(pub SocketAddr);
parsed_str!(
    Listen,
    "an IP:port string such as \"127.0.0.1:8080\"",
    |s| { values::parse_listen(s).map(Listen) }
);

/// One entry of `server.allowed_origins`, normalised.
#[derive(Debug)]
pub(super) struct AllowedOrigin(pub String);
parsed_str!(
    AllowedOrigin,
    "an origin string such as \"https://app.example.com\"",
    |s| values::Origin::parse(s).map(|o| AllowedOrigin(o.to_string()))
);

/// One entry of `capabilities.tcp_connect`, normalised.
#[derive(Debug)]
pub(super) struct TcpTarget(pub String);
parsed_str!(
    TcpTarget,
    "a host:port string such as \"db.internal:5432\"",
    |s| values::parse_tcp_target(s).map(TcpTarget)
);

/// `server.session_key` and each of `server.session_old_keys`.
pub(super) struct SessionKeyText(pub model::SessionKey);
parsed_str!(
    SessionKeyText,
    "a base64 session key string (`warden new-session-key` makes one)",
    |s| model::SessionKey::parse(s).map(SessionKeyText)
);

impl fmt::Debug for SessionKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One entry of `http.allowed_hosts`, lowercase.
#[derive(Debug)]
pub(super) struct AllowedHost(pub String);
parsed_str!(
    AllowedHost,
    "a host name string such as \"mcp.example.com\"",
    |s| values::parse_allowed_host(s).map(AllowedHost)
);

/// A caller name or a role.
#[derive(Debug)]
pub(super) struct Identity(pub String);
parsed_str!(Identity, "a name string such as \"ci-bot\"", |s| {
    values::check_identity(s).map(|()| Identity(s.to_owned()))
});

/// An OAuth scope token (RFC 6749 §3.3).
#[derive(Debug)]
pub(super) struct Scope(pub String);
parsed_str!(Scope, "a scope string such as \"tools:read\"", |s| {
    values::check_scope(s).map(|()| Scope(s.to_owned()))
});

/// A claim's name or an expected claim value (`iss`, `aud`).
#[derive(Debug)]
pub(super) struct ClaimText(pub String);
parsed_str!(ClaimText, "a non-empty string", |s| {
    values::check_claim_text(s).map(|()| ClaimText(s.to_owned()))
});

/// A URL Warden fetches or publishes.
#[derive(Debug)]
pub(super) struct UrlText(pub model::HttpUrl);
parsed_str!(
    UrlText,
    "a URL string such as \"https://auth.example.com\"",
    |s| model::HttpUrl::parse(s).map(UrlText)
);

/// One of `auth.jwt.algorithms`.
#[derive(Debug)]
pub(super) struct AlgorithmText(pub model::JwtAlgorithm);
parsed_str!(AlgorithmText, "an algorithm name such as \"RS256\"", |s| {
    model::JwtAlgorithm::ALL
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, algorithm)| AlgorithmText(*algorithm))
        .ok_or_else(|| {
            let names: Vec<&str> = model::JwtAlgorithm::ALL.iter().map(|(n, _)| *n).collect();
            format!(
                "unsupported algorithm `{s}`: use one of {}",
                names.join(", ")
            )
        })
});

/// An API key's hash.
#[derive(Debug)]
pub(super) struct KeyHash(pub model::ApiKeyHash);
parsed_str!(
    KeyHash,
    "a hash string such as \"sha256:<64 hex digits>\"",
    |s| model::ApiKeyHash::parse(s).map(KeyHash)
);

/// A request rate such as `100/s burst 20`.
#[derive(Debug)]
pub(super) struct RateQuotaText(pub model::RateQuota);
parsed_str!(
    RateQuotaText,
    "a rate string such as \"100/s burst 20\"",
    |s| model::RateQuota::parse(s).map(RateQuotaText)
);

/// A fuel budget such as `50000000000/min`.
#[derive(Debug)]
pub(super) struct FuelQuotaText(pub model::FuelQuota);
parsed_str!(
    FuelQuotaText,
    "a fuel budget string such as \"50000000000/min\"",
    |s| model::FuelQuota::parse(s).map(FuelQuotaText)
);

/// `components.<name>.tool_prefix`.
#[derive(Debug)]
pub(super) struct ToolPrefix(pub String);
parsed_str!(ToolPrefix, "a tool name prefix string", |s| {
    values::check_tool_prefix(s).map(|()| ToolPrefix(s.to_owned()))
});

/// `tracing.otlp_endpoint`, normalised.
#[derive(Debug)]
pub(super) struct OtlpEndpoint(pub String);
parsed_str!(
    OtlpEndpoint,
    "a URL string such as \"http://127.0.0.1:4318/v1/traces\"",
    |s| values::parse_otlp_endpoint(s).map(OtlpEndpoint)
);

/// `tracing.service_name`.
#[derive(Debug)]
pub(super) struct ServiceName(pub String);
parsed_str!(ServiceName, "a service name string", |s| {
    values::check_service_name(s).map(|()| ServiceName(s.to_owned()))
});

/// `dirs[].guest`, normalised.
#[derive(Debug)]
pub(super) struct GuestPath(pub String);
parsed_str!(GuestPath, "an absolute guest path such as \"/data\"", |s| {
    values::parse_guest_path(s).map(GuestPath)
});

/// A key of `capabilities.env`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EnvName(pub String);
parsed_str!(EnvName, "an environment variable name", |s| {
    values::check_env_name(s).map(|()| EnvName(s.to_owned()))
});

/// A value of `capabilities.env`.
#[derive(Debug)]
pub(super) struct EnvValue(pub String);
parsed_str!(EnvValue, "a string", |s| {
    values::check_env_value(s).map(|()| EnvValue(s.to_owned()))
});

/// A file or directory path as written, relative to the config file's folder
/// unless absolute; never empty.
#[derive(Debug)]
pub(super) struct NonEmptyPath(pub String);
parsed_str!(NonEmptyPath, "a path string", |s| {
    if s.is_empty() {
        Err("the path is empty".to_owned())
    } else {
        Ok(NonEmptyPath(s.to_owned()))
    }
});

impl<'de> Deserialize<'de> for ComponentName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedStr {
            expecting: "a component name",
            parse: |s| ComponentName::new(s),
        })
    }
}

// ---- Range-checked integers -----------------------------------------------------

/// What an integer counts, for messages.
#[derive(Clone, Copy)]
enum Unit {
    /// Shown as bytes with a KiB/MiB/GiB hint.
    Bytes,
    /// A plural noun: "milliseconds", "levels", …
    Of(&'static str),
}

/// Accepts a TOML integer within `min..=max` (inclusive). The range check runs
/// inside the visitor so the error's span is the value's.
struct RangeVisitor<T> {
    min: u64,
    max: u64,
    unit: Unit,
    target: PhantomData<T>,
}

impl<T> RangeVisitor<T> {
    fn describe(&self) -> String {
        let open_ended = self.max == u64::MAX;
        match (self.unit, open_ended) {
            (Unit::Bytes, true) => format!("{} or more bytes", with_binary(self.min)),
            (Unit::Bytes, false) => format!(
                "between {} and {} bytes",
                with_binary(self.min),
                with_binary(self.max)
            ),
            (Unit::Of(noun), true) => format!("{} or more {noun}", self.min),
            (Unit::Of(noun), false) => {
                format!("between {} and {} {noun}", self.min, self.max)
            }
        }
    }
}

/// `1048576 (1 MiB)`; plain digits when not a whole number of KiB.
fn with_binary(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, name) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{n} ({} {name})", n / size);
        }
    }
    n.to_string()
}

impl<T: TryFrom<u64>> Visitor<'_> for RangeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer {}", self.describe())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!("must be {}, got {v}", self.describe()))),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        Err(E::custom(format!("must be {}, got {v}", self.describe())))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<T, E> {
        Err(E::custom(format!("must be {}, got {v}", self.describe())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        if !(self.min..=self.max).contains(&v) {
            return Err(E::custom(format!("must be {}, got {v}", self.describe())));
        }
        T::try_from(v).map_err(|_| E::custom(format!("must be {}, got {v}", self.describe())))
    }
}

fn ranged<'de, D, T>(d: D, range: RangeInclusive<T>, unit: Unit) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Copy + TryInto<u64> + TryFrom<u64>,
{
    d.deserialize_u64(RangeVisitor {
        min: (*range.start()).try_into().unwrap_or(u64::MAX),
        max: (*range.end()).try_into().unwrap_or(u64::MAX),
        unit,
        target: PhantomData,
    })
}

/// A `deserialize_with` function for one range-checked field.
macro_rules! ranged_field {
    ($name:ident: $ty:ty = $range:expr, $unit:expr) => {
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            ranged(d, $range, $unit)
        }
    };
}

ranged_field!(max_body_bytes: usize = model::MAX_BODY_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_json_depth: usize = model::MAX_JSON_DEPTH_RANGE, Unit::Of("levels"));
ranged_field!(page_size: usize = model::PAGE_SIZE_RANGE, Unit::Of("tools"));
ranged_field!(
    session_idle_timeout_secs: u64 = model::SESSION_IDLE_TIMEOUT_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    session_lifetime_secs: u64 = model::SESSION_LIFETIME_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    drain_timeout_secs: u64 = model::DRAIN_TIMEOUT_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    watch_interval_ms: u64 = model::WATCH_INTERVAL_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(max_sessions: usize = model::MAX_SESSIONS_RANGE, Unit::Of("sessions"));
ranged_field!(
    stream_replay_events: usize = model::STREAM_REPLAY_EVENTS_RANGE,
    Unit::Of("events")
);
ranged_field!(
    stream_replay_bytes: usize = model::STREAM_REPLAY_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(pool_instances: u32 = model::POOL_INSTANCES_RANGE, Unit::Of("instances"));
ranged_field!(
    pool_keep_resident_bytes: u64 = model::POOL_KEEP_RESIDENT_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(
    max_calls_in_flight: u32 = model::MAX_CALLS_IN_FLIGHT_RANGE,
    Unit::Of("calls")
);
ranged_field!(
    header_read_timeout_ms: u64 = model::HEADER_READ_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    body_read_timeout_ms: u64 = model::BODY_READ_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    request_timeout_ms: u64 = model::REQUEST_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(max_connections: u32 = model::MAX_CONNECTIONS_RANGE, Unit::Of("connections"));
ranged_field!(
    max_requests_per_connection: u32 = model::MAX_REQUESTS_PER_CONNECTION_RANGE,
    Unit::Of("requests")
);
ranged_field!(max_header_bytes: usize = model::MAX_HEADER_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_headers: usize = model::MAX_HEADERS_RANGE, Unit::Of("headers"));
ranged_field!(
    audit_max_file_bytes: u64 = model::AUDIT_MAX_FILE_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(audit_max_files: u32 = model::AUDIT_MAX_FILES_RANGE, Unit::Of("files"));
ranged_field!(
    audit_queue_records: u32 = model::AUDIT_QUEUE_RECORDS_RANGE,
    Unit::Of("records")
);
ranged_field!(call_queue: u32 = model::CALL_QUEUE_RANGE, Unit::Of("calls"));
ranged_field!(
    call_queue_timeout_ms: u64 = model::CALL_QUEUE_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    jwks_refresh_secs: u64 = model::JWKS_REFRESH_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    jwks_timeout_ms: u64 = model::JWKS_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(jwt_leeway_secs: u64 = model::JWT_LEEWAY_SECS_RANGE, Unit::Of("seconds"));
ranged_field!(otlp_timeout_ms: u64 = model::OTLP_TIMEOUT_MS_RANGE, Unit::Of("milliseconds"));
ranged_field!(timeout_ms: u64 = model::TIMEOUT_MS_RANGE, Unit::Of("milliseconds"));
ranged_field!(max_memory_bytes: u64 = model::MAX_MEMORY_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_output_bytes: u64 = model::MAX_OUTPUT_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_log_messages: u32 = model::MAX_LOG_MESSAGES_RANGE, Unit::Of("messages"));
ranged_field!(max_concurrency: u32 = model::MAX_CONCURRENCY_RANGE, Unit::Of("calls"));
ranged_field!(queue_timeout_ms: u64 = model::QUEUE_TIMEOUT_MS_RANGE, Unit::Of("milliseconds"));
ranged_field!(
    client_request_timeout_ms: u64 = model::CLIENT_REQUEST_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    max_client_requests: u32 = model::MAX_CLIENT_REQUESTS_RANGE,
    Unit::Of("requests")
);

/// `limits.fuel`: optional, so present means `Some`.
fn fuel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    ranged(d, model::FUEL_RANGE, Unit::Of("units of fuel")).map(Some)
}

/// `tracing.sample_ratio`: a number from 0 to 1 (TOML integers 0 and 1
/// included).
fn sample_ratio<'de, D: Deserializer<'de>>(d: D) -> Result<model::SampleRatio, D::Error> {
    struct RatioVisitor;

    impl Visitor<'_> for RatioVisitor {
        type Value = model::SampleRatio;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number between 0.0 and 1.0")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            model::SampleRatio::new(v)
                .ok_or_else(|| E::custom(format!("must be between 0.0 and 1.0, got {v}")))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(model::SampleRatio::NONE),
                1 => Ok(model::SampleRatio::ALL),
                _ => Err(E::custom(format!("must be between 0.0 and 1.0, got {v}"))),
            }
        }
    }

    d.deserialize_any(RatioVisitor)
}

//! The file's shape as serde sees it, before paths are resolved and checked.
//!
//! Values that can be judged on their own (ranges, names, origins, targets,
//! guest paths) are checked here, inside serde visitors, so that an error
//! carries the span of the offending value. Fields that need checks after
//! parsing (files, directories, duplicates) are kept as [`Spanned`].
//! The meaning and default of every field is documented on the public types
//! in [`super::model`].

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::model::{self, ComponentName, DirMode, LogFormat};
use super::oci::OciReference;
use super::raw_http::RawHttpGrant;
use super::raw_oci::{RawRegistry, RawVerify};
pub(super) use super::raw_text::*;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: Table<RawServer>,
    #[serde(default)]
    pub components: Table<BTreeMap<ComponentName, Spanned<Table<RawComponent>>>>,
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
    #[serde(default)]
    pub registry: Table<RawRegistry>,
    #[serde(default)]
    pub cluster: Table<super::cluster::RawCluster>,
    #[serde(default)]
    pub tasks: Option<toml::Spanned<Table<super::tasks::RawTasks>>>,
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
    #[serde(deserialize_with = "max_concurrent_streams")]
    pub max_concurrent_streams: u32,
    #[serde(deserialize_with = "max_unsent_bytes_per_connection")]
    pub max_unsent_bytes_per_connection: usize,
    #[serde(deserialize_with = "max_unsent_bytes")]
    pub max_unsent_bytes: usize,
    #[serde(deserialize_with = "send_timeout_ms")]
    pub send_timeout_ms: u64,
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
            max_concurrent_streams: d.max_concurrent_streams,
            max_unsent_bytes_per_connection: d.max_unsent_bytes_per_connection,
            max_unsent_bytes: d.max_unsent_bytes,
            send_timeout_ms: d.send_timeout_ms,
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
            max_concurrent_streams: raw.max_concurrent_streams,
            max_unsent_bytes_per_connection: raw.max_unsent_bytes_per_connection,
            max_unsent_bytes: raw.max_unsent_bytes,
            send_timeout_ms: raw.send_timeout_ms,
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
    pub prompts: Table<BTreeMap<String, Table<RawToolQuotaOverride>>>,
    pub resources: Table<BTreeMap<String, Table<RawToolQuotaOverride>>>,
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
        let overrides = |table: Table<BTreeMap<String, Table<RawToolQuotaOverride>>>| {
            table
                .0
                .into_iter()
                .map(|(name, quotas)| {
                    let quotas = quotas.0;
                    let own = model::ToolQuotaOverride {
                        tool: quotas.tool.map(|quota| quota.0),
                        caller_tool: quotas.caller_tool.map(|quota| quota.0),
                    };
                    (name, own)
                })
                .collect()
        };
        Self {
            tool: raw.tool.map(|quota| quota.0),
            caller_tool: raw.caller_tool.map(|quota| quota.0),
            tools: overrides(raw.tools),
            prompts: overrides(raw.prompts),
            resources: overrides(raw.resources),
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
    pub prompts: Table<BTreeMap<String, Spanned<Table<RawAccessRule>>>>,
    pub resources: Table<BTreeMap<String, Spanned<Table<RawAccessRule>>>>,
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
    #[serde(deserialize_with = "stream_replay_total_bytes")]
    pub stream_replay_total_bytes: usize,
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
            stream_replay_total_bytes: d.stream_replay_total_bytes,
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
    #[serde(default)]
    pub path: Option<Spanned<NonEmptyPath>>,
    #[serde(default)]
    pub oci: Option<Spanned<OciReference>>,
    #[serde(default)]
    pub allow_tags: bool,
    #[serde(default)]
    pub verify: Option<Spanned<RawVerify>>,
    #[serde(default)]
    pub tool_prefix: Option<ToolPrefix>,
    #[serde(default = "enabled_by_default")]
    pub serve_resources: bool,
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
    #[serde(deserialize_with = "min_pool_slots")]
    pub min_pool_slots: u32,
    #[serde(default, deserialize_with = "super::tasks::max_task_duration_ms")]
    pub max_task_duration_ms: Option<u64>,
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
            min_pool_slots: d.min_pool_slots,
            max_task_duration_ms: None,
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
            min_pool_slots: raw.min_pool_slots,
        }
    }
}

/// `[components.<name>.capabilities]`; see [`model::Capabilities`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCapabilities {
    pub dirs: Vec<Table<RawDirGrant>>,
    pub env: Table<BTreeMap<EnvName, Spanned<EnvValue>>>,
    pub tcp_connect: Vec<TcpTarget>,
    pub http: Table<RawHttpGrant>,
}

/// One `{ host, guest, mode }` entry of `dirs`; see [`model::DirGrant`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirGrant {
    pub host: Spanned<NonEmptyPath>,
    pub guest: Spanned<GuestPath>,
    #[serde(default)]
    pub mode: DirMode,
    /// Grants a folder that holds `/`, the configuration, the compile
    /// cache or the binary anyway (see `config::grants`).
    #[serde(default)]
    pub allow_sensitive: bool,
}

//! The validated configuration: plain data, ready to use.
//!
//! Every default and every accepted range is a named constant here, so the
//! code that enforces a limit, the documentation and the tests agree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

pub use warden_sandbox::{Capabilities, DirGrant, Limits};

pub use super::quota::{FuelQuota, QuotaPeriod, RateQuota};
use super::values;

pub use super::defaults::*;

// ---- Types ------------------------------------------------------------------

/// A 256-bit key that seals session ids. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey([u8; SessionKey::LEN]);

impl SessionKey {
    /// Bytes in a key.
    pub const LEN: usize = 32;

    /// A key from its base64 text (standard or URL-safe alphabet, padding
    /// optional), which must decode to exactly [`LEN`](Self::LEN) bytes.
    pub fn parse(text: &str) -> Result<Self, String> {
        super::values::parse_session_key(text).map(Self)
    }

    /// A new random key, from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; Self::LEN];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// The key as base64 text (standard alphabet, padded), as
    /// [`parse`](Self::parse) reads it.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A loaded, validated configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this configuration was read from, as given to
    /// [`load`](fn@super::load) or [`parse`](fn@super::parse).
    pub source: PathBuf,
    /// The `[server]` table.
    pub server: ServerConfig,
    /// The enabled components, sorted by name. Never empty.
    pub components: Vec<ComponentConfig>,
    /// The `[tracing]` table.
    pub tracing: TracingConfig,
    /// The `[auth]` table.
    pub auth: AuthConfig,
    /// The `[rate_limits]` table.
    pub rate_limits: RateLimitsConfig,
    /// The `[audit]` table; `None`: no audit log.
    pub audit: Option<AuditConfig>,
    /// The `[http]` table.
    pub http: HttpConfig,
    /// The `[tls]` table; `None`: plain HTTP.
    pub tls: Option<TlsConfig>,
    /// The `[registry]` table: how `oci` components are pulled.
    pub registry: super::RegistryConfig,
    /// The `[cluster]` table: what replicas share through Redis.
    pub cluster: super::ClusterConfig,
    /// The `[tasks]` table.
    pub tasks: super::TasksConfig,
}

impl Config {
    /// The enabled component called `name`, if any.
    pub fn component(&self, name: &str) -> Option<&ComponentConfig> {
        self.components
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.components.get(i))
    }
}

/// The `[server]` table: transport, protocol and process-wide limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address the HTTP endpoint binds. Default [`DEFAULT_LISTEN`]
    /// (`127.0.0.1:8080`); port 0 asks the OS for a free port.
    pub listen: SocketAddr,
    /// Browser origins accepted in addition to the localhost ones, normalised
    /// as `scheme://host[:port]` (lower case, default port omitted).
    /// Default: none.
    pub allowed_origins: Vec<String>,
    /// Whether `http(s)://localhost`, `127.0.0.1` and `[::1]` on any port are
    /// accepted origins. Default [`DEFAULT_ALLOW_LOCALHOST_ORIGINS`] (`true`).
    pub allow_localhost_origins: bool,
    /// Largest request body accepted, in bytes. Default
    /// [`DEFAULT_MAX_BODY_BYTES`] (4 MiB), range [`MAX_BODY_BYTES_RANGE`].
    pub max_body_bytes: usize,
    /// Deepest nesting of JSON arrays and objects accepted in a request, in
    /// levels. Default [`DEFAULT_MAX_JSON_DEPTH`] (64), range
    /// [`MAX_JSON_DEPTH_RANGE`].
    pub max_json_depth: usize,
    /// Tools per `tools/list` page. Default [`DEFAULT_PAGE_SIZE`] (50), range
    /// [`PAGE_SIZE_RANGE`].
    pub page_size: usize,
    /// Seconds without a request after which this process forgets a
    /// session's local state (its event stream) and stops counting it
    /// against [`max_sessions`](Self::max_sessions). The session itself stays
    /// valid until its lifetime ends. Default
    /// [`DEFAULT_SESSION_IDLE_TIMEOUT_SECS`] (30 minutes), range
    /// [`SESSION_IDLE_TIMEOUT_SECS_RANGE`].
    pub session_idle_timeout_secs: u64,
    /// Seconds from `initialize` after which a session id is refused by
    /// every replica: the expiry sealed into the id. Default
    /// [`DEFAULT_SESSION_LIFETIME_SECS`] (24 hours), range
    /// [`SESSION_LIFETIME_SECS_RANGE`].
    pub session_lifetime_secs: u64,
    /// The key that seals new session ids (and opens them). Replicas that
    /// share it accept each other's sessions. `None` (the default): a random
    /// key made at start, so sessions live and die with this process.
    /// `WARDEN_SESSION_KEY` overrides it.
    pub session_key: Option<SessionKey>,
    /// Former keys, accepted for opening session ids only, while a rotation
    /// rolls out. `WARDEN_SESSION_OLD_KEYS` overrides them.
    pub session_old_keys: Vec<SessionKey>,
    /// Seconds a shutdown waits for requests in flight before cancelling the
    /// calls still running. Default [`DEFAULT_DRAIN_TIMEOUT_SECS`] (25),
    /// range [`DRAIN_TIMEOUT_SECS_RANGE`].
    pub drain_timeout_secs: u64,
    /// How often the config file and the component files are checked for
    /// changes, which reload the catalog; 0 turns watching off (SIGHUP still
    /// reloads). Default [`DEFAULT_WATCH_INTERVAL_MS`] (2 s), range
    /// [`WATCH_INTERVAL_MS_RANGE`].
    pub watch_interval_ms: u64,
    /// Most sessions this process keeps local state for at once; beyond it
    /// (after forgetting idle ones) `initialize`, and a session new to this
    /// process, are refused with 503. Default [`DEFAULT_MAX_SESSIONS`]
    /// (10 000).
    pub max_sessions: usize,
    /// Events each session keeps so a client whose event stream broke can
    /// resume it (`GET` with `Last-Event-ID`); 0 makes streams
    /// unresumable, and a client closing a stream then cancels its call.
    /// Default [`DEFAULT_STREAM_REPLAY_EVENTS`], range
    /// [`STREAM_REPLAY_EVENTS_RANGE`].
    pub stream_replay_events: usize,
    /// Bytes of events each session keeps for resumption, at most. Default
    /// [`DEFAULT_STREAM_REPLAY_BYTES`], range [`STREAM_REPLAY_BYTES_RANGE`].
    pub stream_replay_bytes: usize,
    /// Bytes of events all sessions together keep for resumption; a session
    /// adding an event beyond it drops its own oldest. Default
    /// [`DEFAULT_STREAM_REPLAY_TOTAL_BYTES`], range
    /// [`STREAM_REPLAY_TOTAL_BYTES_RANGE`].
    pub stream_replay_total_bytes: usize,
    /// Most wasm instances alive at once across all components: the size of
    /// the pooling allocator. Default [`DEFAULT_POOL_INSTANCES`] (64), range
    /// [`POOL_INSTANCES_RANGE`].
    pub pool_instances: u32,
    /// Of each pool slot's linear memory and tables, the bytes kept
    /// resident between calls and reset in place. Default
    /// [`DEFAULT_POOL_KEEP_RESIDENT_BYTES`], range
    /// [`POOL_KEEP_RESIDENT_BYTES_RANGE`].
    pub pool_keep_resident_bytes: u64,
    /// Absolute folder where compiled components are cached; `None` (the
    /// default) compiles every component at each start.
    pub cache_dir: Option<PathBuf>,
    /// Format of the server's own log lines. Default [`LogFormat::Text`].
    pub log_format: LogFormat,
    /// Address of a separate listener serving Prometheus metrics at
    /// `/metrics`; `None` (the default) serves no metrics.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for ServerConfig {
    /// The defaults documented on each field: loopback on port 8080, only
    /// localhost origins, 4 MiB bodies, no compile cache, text logs.
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            allowed_origins: Vec::new(),
            allow_localhost_origins: DEFAULT_ALLOW_LOCALHOST_ORIGINS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            page_size: DEFAULT_PAGE_SIZE,
            session_idle_timeout_secs: DEFAULT_SESSION_IDLE_TIMEOUT_SECS,
            session_lifetime_secs: DEFAULT_SESSION_LIFETIME_SECS,
            session_key: None,
            session_old_keys: Vec::new(),
            drain_timeout_secs: DEFAULT_DRAIN_TIMEOUT_SECS,
            watch_interval_ms: DEFAULT_WATCH_INTERVAL_MS,
            max_sessions: DEFAULT_MAX_SESSIONS,
            stream_replay_events: DEFAULT_STREAM_REPLAY_EVENTS,
            stream_replay_bytes: DEFAULT_STREAM_REPLAY_BYTES,
            stream_replay_total_bytes: DEFAULT_STREAM_REPLAY_TOTAL_BYTES,
            pool_instances: DEFAULT_POOL_INSTANCES,
            pool_keep_resident_bytes: DEFAULT_POOL_KEEP_RESIDENT_BYTES,
            cache_dir: None,
            log_format: LogFormat::Text,
            metrics_listen: None,
        }
    }
}

impl ServerConfig {
    /// Whether a request's `Origin` header value is allowed: one of
    /// [`allowed_origins`](Self::allowed_origins) (compared after the same
    /// normalisation), or a localhost origin when
    /// [`allow_localhost_origins`](Self::allow_localhost_origins) is set.
    /// Anything that is not a well-formed http(s) origin (including `null`)
    /// is refused.
    pub fn is_origin_allowed(&self, origin: &str) -> bool {
        let Ok(origin) = values::Origin::parse(origin) else {
            return false;
        };
        (self.allow_localhost_origins && origin.is_localhost())
            || self
                .allowed_origins
                .iter()
                .any(|allowed| *allowed == origin.to_string())
    }
}

/// Format of the server's own log lines (`server.log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (`"text"`, the default).
    #[default]
    Text,
    /// One JSON object per line (`"json"`), for log collectors.
    Json,
}

/// A component's name: the key of its `[components.<name>]` table,
/// `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentName(String);

impl ComponentName {
    /// Checks `name` against `[A-Za-z0-9_-]{1,64}`.
    pub fn new(name: impl Into<String>) -> Result<Self, String> {
        let name = name.into();
        values::check_component_name(&name)?;
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ComponentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for ComponentName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ComponentName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<ComponentName> for String {
    fn from(name: ComponentName) -> Self {
        name.0
    }
}

/// One enabled `[components.<name>]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentConfig {
    /// The table's name.
    pub name: ComponentName,
    /// Where the table is written (its `path` key), for messages about the
    /// component that come after the file was read, such as load errors.
    pub defined_at: DefinedAt,
    /// Where the component's wasm comes from: a file or a registry.
    pub source: super::ComponentSource,
    /// Put before the name of each tool and prompt the component declares,
    /// as clients see it (`acme.` serves `count` as `acme.count`). Empty by
    /// default.
    pub tool_prefix: String,
    /// Whether the component's resources and resource templates are
    /// served. True by default; a URI is served by one component only, so a
    /// component configured twice serves them from one of its entries.
    pub serve_resources: bool,
    /// Resource limits applied to every call.
    pub limits: Limits,
    /// The wall-clock budget of a call run as a task
    /// (`limits.max_task_duration_ms`); `None`: its tools do not run as
    /// tasks.
    pub max_task_duration_ms: Option<u64>,
    /// What the component may reach outside its sandbox. Empty by default.
    pub capabilities: Capabilities,
    /// The files its capabilities were read from: `${file:…}` secrets and
    /// `ca_file` certificates. A change to one reloads the configuration,
    /// as a change to the component's own file does.
    pub secret_files: Vec<PathBuf>,
    /// Which callers may see and call the component's tools; `None` (no
    /// `access` table): every authenticated caller.
    pub access: Option<AccessPolicy>,
    /// Request quotas on the component's tools. None by default.
    pub rate_limits: ToolQuotas,
    /// What audit records of the component's calls may show.
    pub audit: ToolAuditConfig,
}

/// A line of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinedAt {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
}

impl std::fmt::Display for DefinedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// `[components.<name>.audit]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolAuditConfig {
    /// Whether records carry the call's arguments (always their SHA-256).
    /// Default `false`.
    pub log_arguments: bool,
    /// Keys whose values are replaced by `"[redacted]"` wherever they occur
    /// in logged arguments.
    pub redact: BTreeSet<String>,
}

/// Where audit records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSink {
    /// Standard output, one record per line (HTTP serving only: stdio
    /// serving speaks MCP there).
    Stdout,
    /// A file, rotated by size.
    File {
        /// Absolute path of the current file.
        path: PathBuf,
        /// Size past which the file is rotated.
        max_file_bytes: u64,
        /// Rotated files kept (`<path>.1` is the newest).
        max_files: u32,
    },
}

/// The `[tls]` table: HTTPS on the MCP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key of the leaf (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// PEM certificates of the CAs that sign client certificates; when set,
    /// every client must present one (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
}

/// The `[http]` table: limits of the HTTP layer, against slow, greedy or
/// misdirected clients. Restart-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Time to send a request's headers; the idle time of a keep-alive
    /// connection between requests. Default
    /// [`DEFAULT_HEADER_READ_TIMEOUT_MS`].
    pub header_read_timeout_ms: u64,
    /// Time to send a request's body once its headers arrived; beyond, 408.
    /// Default [`DEFAULT_BODY_READ_TIMEOUT_MS`].
    pub body_read_timeout_ms: u64,
    /// Time from a POST's headers to its response; beyond, 504 and the call
    /// is cancelled. Default [`DEFAULT_REQUEST_TIMEOUT_MS`].
    pub request_timeout_ms: u64,
    /// Connections open at once; more wait in the kernel's backlog. Default
    /// [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: u32,
    /// Requests one connection may carry before it is closed. Default
    /// [`DEFAULT_MAX_REQUESTS_PER_CONNECTION`].
    pub max_requests_per_connection: u32,
    /// HTTP/2 requests one connection may have open at once; more are
    /// refused (`REFUSED_STREAM`). Default [`DEFAULT_MAX_CONCURRENT_STREAMS`].
    pub max_concurrent_streams: u32,
    /// Bytes of responses one connection may hold unread before its event
    /// streams are let go and its new requests refused (503). Default
    /// [`DEFAULT_MAX_UNSENT_BYTES_PER_CONNECTION`].
    pub max_unsent_bytes_per_connection: usize,
    /// Bytes of unread responses of all connections together; beyond it
    /// event streams are let go and connections holding any get 503.
    /// Default [`DEFAULT_MAX_UNSENT_BYTES`].
    pub max_unsent_bytes: usize,
    /// How long a connection holding unread responses may take none of
    /// them before it is closed; also how long a request's event stream
    /// waits for room before it is let go. Default
    /// [`DEFAULT_SEND_TIMEOUT_MS`].
    pub send_timeout_ms: u64,
    /// Whether connections stay open between requests. Default `true`.
    pub keep_alive: bool,
    /// Largest request line and headers; beyond, 431. Default
    /// [`DEFAULT_MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// Most header fields in a request; beyond, 431. Default
    /// [`DEFAULT_MAX_HEADERS`].
    pub max_headers: usize,
    /// Host names `/mcp` answers to besides `localhost` and IP literals
    /// (lowercase, no port). Empty: any host when listening beyond
    /// loopback, only those when on loopback.
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_ms: DEFAULT_HEADER_READ_TIMEOUT_MS,
            body_read_timeout_ms: DEFAULT_BODY_READ_TIMEOUT_MS,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_requests_per_connection: DEFAULT_MAX_REQUESTS_PER_CONNECTION,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_unsent_bytes_per_connection: DEFAULT_MAX_UNSENT_BYTES_PER_CONNECTION,
            max_unsent_bytes: DEFAULT_MAX_UNSENT_BYTES,
            send_timeout_ms: DEFAULT_SEND_TIMEOUT_MS,
            keep_alive: true,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            allowed_hosts: Vec::new(),
        }
    }
}

impl HttpConfig {
    /// Whether a request whose `Host` header is `host` is for this server,
    /// served on `listen`. DNS rebinding makes a browser send a foreign
    /// name; `localhost` and IP literals cannot be rebound.
    pub fn is_host_allowed(&self, host: &str, listen: SocketAddr) -> bool {
        let Some(name) = values::host_name(host) else {
            return false;
        };
        name == "localhost"
            || name.parse::<IpAddr>().is_ok()
            || self.allowed_hosts.contains(&name)
            || (self.allowed_hosts.is_empty() && !listen.ip().is_loopback())
    }
}

/// The `[audit]` table: one JSON record per `tools/call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// Where records go.
    pub sink: AuditSink,
    /// Records waiting to be written at most; beyond it a record is dropped
    /// (counted), or the call refused when `required`.
    pub queue_records: u32,
    /// Whether a call whose record cannot be written is refused (fail
    /// closed) rather than run unrecorded.
    pub required: bool,
}

/// `[components.<name>.rate_limits]`: request quotas on a component's tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolQuotas {
    /// Calls of each tool, all callers together.
    pub tool: Option<RateQuota>,
    /// Calls of each tool by each caller.
    pub caller_tool: Option<RateQuota>,
    /// Quotas for single tools, by the name the component declares; a key a
    /// tool's table leaves out is the component's.
    pub tools: BTreeMap<String, ToolQuotaOverride>,
    /// Quotas for single prompts, as for tools.
    pub prompts: BTreeMap<String, ToolQuotaOverride>,
    /// Quotas shared by every read of a resource whose URI starts with the
    /// key (the longest matching prefix wins).
    pub resources: BTreeMap<String, ToolQuotaOverride>,
}

impl ToolQuotas {
    /// The `(tool, caller_tool)` quotas of the tool declared as `name`.
    pub fn for_tool(&self, name: &str) -> (Option<RateQuota>, Option<RateQuota>) {
        self.with_override(self.tools.get(name))
    }

    /// The `(tool, caller_tool)` quotas of the prompt declared as `name`.
    pub fn for_prompt(&self, name: &str) -> (Option<RateQuota>, Option<RateQuota>) {
        self.with_override(self.prompts.get(name))
    }

    /// The component's quotas, with `own`'s keys in their place.
    pub fn with_override(
        &self,
        own: Option<&ToolQuotaOverride>,
    ) -> (Option<RateQuota>, Option<RateQuota>) {
        (
            own.and_then(|quotas| quotas.tool).or(self.tool),
            own.and_then(|quotas| quotas.caller_tool)
                .or(self.caller_tool),
        )
    }
}

/// `[components.<name>.rate_limits.tools.<tool>]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolQuotaOverride {
    /// Replaces the component's `tool` quota.
    pub tool: Option<RateQuota>,
    /// Replaces the component's `caller_tool` quota.
    pub caller_tool: Option<RateQuota>,
}

/// The `[rate_limits]` table: per-caller quotas and the process-wide cap on
/// calls in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitsConfig {
    /// Requests to `/mcp` by each caller; beyond it, 429. None by default.
    pub caller_requests: Option<RateQuota>,
    /// Fuel each caller's calls may consume per window; once spent, calls
    /// are refused as rate limited until it refills. None by default.
    pub caller_fuel: Option<FuelQuota>,
    /// Tool calls running at once over HTTP. Default
    /// [`DEFAULT_MAX_CALLS_IN_FLIGHT`], range [`MAX_CALLS_IN_FLIGHT_RANGE`].
    pub max_calls_in_flight: u32,
    /// Calls that may wait for a place; beyond it, 503 at once. Default
    /// [`DEFAULT_CALL_QUEUE`], range [`CALL_QUEUE_RANGE`].
    pub call_queue: u32,
    /// How long a call waits for a place before 503. Default
    /// [`DEFAULT_CALL_QUEUE_TIMEOUT_MS`], range [`CALL_QUEUE_TIMEOUT_MS_RANGE`].
    pub call_queue_timeout_ms: u64,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        Self {
            caller_requests: None,
            caller_fuel: None,
            max_calls_in_flight: DEFAULT_MAX_CALLS_IN_FLIGHT,
            call_queue: DEFAULT_CALL_QUEUE,
            call_queue_timeout_ms: DEFAULT_CALL_QUEUE_TIMEOUT_MS,
        }
    }
}

/// `[components.<name>.access]`: who may see and call a component's tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The rule for the component's tools, when the table sets `callers` or
    /// `roles`; `None`: every caller.
    pub rule: Option<AccessRule>,
    /// Rules that replace `rule` for single tools, by the name the
    /// component declares (without `tool_prefix`).
    pub tools: BTreeMap<String, AccessRule>,
    /// Rules that replace `rule` for single prompts, by the name the
    /// component declares.
    pub prompts: BTreeMap<String, AccessRule>,
    /// Rules that replace `rule` for resources whose URI starts with the
    /// key; the longest matching prefix wins.
    pub resources: BTreeMap<String, AccessRule>,
}

impl AccessPolicy {
    /// Every rule the table states.
    pub fn rules(&self) -> impl Iterator<Item = &AccessRule> {
        self.rule
            .iter()
            .chain(self.tools.values())
            .chain(self.prompts.values())
            .chain(self.resources.values())
    }
}

/// Callers allowed by name, role or scope: a caller that matches any may
/// use the tool. All empty: nobody may.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRule {
    /// Caller names (an API key's `name`, a token's caller claim, a client
    /// certificate's common name).
    pub callers: BTreeSet<String>,
    /// Roles (an API key's `roles`, a token's roles claim).
    pub roles: BTreeSet<String>,
    /// OAuth scopes (a token's scopes claim).
    pub scopes: BTreeSet<String>,
}

pub use super::model_auth::*;

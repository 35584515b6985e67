//! Prometheus metrics: what is recorded, under which names, and rendering.
//!
//! Counters and histograms are recorded where things happen; gauges that
//! mirror live state (sessions, pool, in-flight calls) are set from that
//! state when `/metrics` is scraped, so they can never drift.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::{cluster_metrics, outbound_metrics};
use crate::outcome::{Outcome, Reason, Rejection};

/// `tools/call` outcomes, by tool, outcome and reason.
pub const TOOL_CALLS: &str = "warden_tool_calls_total";
/// Wall-clock time of `tools/call`, by tool.
pub const TOOL_CALL_DURATION: &str = "warden_tool_call_duration_seconds";
/// Time to instantiate a component for one call, by tool.
pub const INSTANTIATION_DURATION: &str = "warden_instantiation_duration_seconds";
/// Fuel one call consumed (only where fuel is metered), by tool.
pub const TOOL_FUEL: &str = "warden_tool_fuel_consumed";
/// Largest linear memory one call reached, by tool.
pub const TOOL_PEAK_MEMORY: &str = "warden_tool_peak_memory_bytes";
/// Arguments refused by a tool's input schema, by tool.
pub const SCHEMA_REJECTIONS: &str = "warden_schema_rejections_total";
/// `resources/read`, `prompts/get` and `completion/complete` outcomes, by
/// method, component, outcome and reason.
pub const SERVED_REQUESTS: &str = "warden_served_requests_total";
/// Wall-clock time of those requests, by method and component.
pub const SERVED_DURATION: &str = "warden_served_request_duration_seconds";
/// HTTP responses, by status code.
pub const HTTP_REQUESTS: &str = "warden_http_requests_total";
/// Components loaded, by whether the compiled artifact came from the cache.
pub const COMPONENT_LOADS: &str = "warden_component_loads_total";
/// Catalog reloads, by outcome (`ok`, `error`).
pub const CONFIG_RELOADS: &str = "warden_config_reloads_total";
/// When the catalog last loaded or reloaded successfully, in Unix seconds.
pub const CONFIG_LAST_RELOAD_SUCCESS: &str = "warden_config_last_reload_success_timestamp_seconds";
/// Sessions with local state in this process.
pub const SESSIONS_ACTIVE: &str = "warden_sessions_active";
/// Calls running now.
pub const CALLS_IN_FLIGHT: &str = "warden_calls_in_flight";
/// Instance-pool slots taken now.
pub const POOL_SLOTS_IN_USE: &str = "warden_pool_slots_in_use";
/// Instance-pool slots in all.
pub const POOL_SLOTS: &str = "warden_pool_slots";
/// Tools served.
pub const TOOLS_LOADED: &str = "warden_tools_loaded";
/// 1 while ready to serve, 0 once a drain has begun.
pub const READY: &str = "warden_ready";
/// Always 1, labelled with the version.
pub const BUILD_INFO: &str = "warden_build_info";
/// Bytes of responses produced and not yet taken by their connections.
pub const UNSENT_BYTES: &str = "warden_http_unsent_bytes";
/// Bytes of events all sessions keep for resuming broken streams.
pub const REPLAY_BYTES: &str = "warden_stream_replay_bytes";
/// Connections closed because their client took none of its responses for
/// `http.send_timeout_ms`.
pub const STALLED_CONNECTIONS: &str = "warden_http_stalled_connections_total";
/// Requests and calls refused by a quota or by load shedding, by `reason`:
/// `caller_requests` (429), `overloaded` (503), `unread_responses` (503: the
/// connection holds responses it has not read), `tool` (a tool or
/// caller-and-tool rate), `caller_fuel` (a spent fuel budget).
pub const REJECTIONS: &str = "warden_rejections_total";
/// Audit records by `result`: `written`, or `dropped` (the queue was full).
pub const AUDIT_RECORDS: &str = "warden_audit_records_total";
/// Failed attempts to write the audit log (each is retried).
pub const AUDIT_WRITE_ERRORS: &str = "warden_audit_write_errors_total";

/// Every metric Warden exports; dashboards and alert rules may use only
/// these (and the `_bucket`, `_sum` and `_count` series of the histograms).
pub const ALL: &[&str] = &[
    TOOL_CALLS,
    TOOL_CALL_DURATION,
    INSTANTIATION_DURATION,
    TOOL_FUEL,
    TOOL_PEAK_MEMORY,
    SCHEMA_REJECTIONS,
    HTTP_REQUESTS,
    COMPONENT_LOADS,
    CONFIG_RELOADS,
    CONFIG_LAST_RELOAD_SUCCESS,
    SESSIONS_ACTIVE,
    CALLS_IN_FLIGHT,
    POOL_SLOTS_IN_USE,
    POOL_SLOTS,
    TOOLS_LOADED,
    READY,
    BUILD_INFO,
    UNSENT_BYTES,
    REPLAY_BYTES,
    STALLED_CONNECTIONS,
    REJECTIONS,
    AUDIT_RECORDS,
    AUDIT_WRITE_ERRORS,
    outbound_metrics::OUTBOUND_REQUESTS,
    outbound_metrics::OUTBOUND_DURATION,
    outbound_metrics::OUTBOUND_BYTES,
    outbound_metrics::OUTBOUND_REFUSALS,
    cluster_metrics::STORE_UP,
    cluster_metrics::STORE_ERRORS,
    cluster_metrics::LOCAL_FALLBACKS,
];

const SECONDS_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
];
const BYTES_BUCKETS: &[f64] = &[
    65_536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
    268_435_456.0,
    1_073_741_824.0,
    4_294_967_296.0,
];
const FUEL_BUCKETS: &[f64] = &[1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11];

/// Installs the process-wide recorder once and returns its handle; later
/// calls (tests build several gateways in one process) share it.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|builder| {
                builder.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), BYTES_BUCKETS)
            })
            .and_then(|builder| {
                builder.set_buckets_for_metric(Matcher::Full(TOOL_FUEL.into()), FUEL_BUCKETS)
            });
        let recorder = match builder {
            Ok(builder) => builder.build_recorder(),
            // Only empty bucket lists are refused, and ours are constants.
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was already installed; /metrics shows only Warden's own"
            );
        }
        describe();
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// The `# HELP` text and unit of every metric.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    outbound_metrics::describe();
    cluster_metrics::describe();
    describe_counter!(
        SERVED_REQUESTS,
        "resources/read, prompts/get and completion/complete requests by method, component, \
         outcome and reason"
    );
    describe_histogram!(
        SERVED_DURATION,
        Unit::Seconds,
        "wall-clock time of resources/read, prompts/get and completion/complete, by method and \
         component"
    );
    describe_counter!(
        TOOL_CALLS,
        "tools/call requests by tool, outcome and reason"
    );
    describe_histogram!(
        TOOL_CALL_DURATION,
        Unit::Seconds,
        "wall-clock time of tools/call"
    );
    describe_histogram!(
        INSTANTIATION_DURATION,
        Unit::Seconds,
        "time to instantiate a component for one call"
    );
    describe_histogram!(TOOL_FUEL, "fuel one call consumed, where fuel is metered");
    describe_histogram!(
        TOOL_PEAK_MEMORY,
        Unit::Bytes,
        "largest linear memory one call reached"
    );
    describe_counter!(
        SCHEMA_REJECTIONS,
        "arguments refused by a tool's input schema"
    );
    describe_counter!(HTTP_REQUESTS, "HTTP responses by status code");
    describe_counter!(AUDIT_RECORDS, "audit records written or dropped");
    describe_counter!(
        AUDIT_WRITE_ERRORS,
        "failed attempts to write the audit log, each retried"
    );
    describe_counter!(
        REJECTIONS,
        "requests and calls refused by a quota or load shedding, by reason"
    );
    describe_counter!(
        COMPONENT_LOADS,
        "components loaded, by compiled-artifact cache hit or miss"
    );
    describe_counter!(CONFIG_RELOADS, "catalog reloads by outcome");
    describe_gauge!(
        CONFIG_LAST_RELOAD_SUCCESS,
        Unit::Seconds,
        "Unix time of the last successful catalog load or reload"
    );
    describe_gauge!(
        SESSIONS_ACTIVE,
        "MCP sessions with local state in this process (recently used for calls, streams or log levels)"
    );
    describe_gauge!(CALLS_IN_FLIGHT, "tool calls running now");
    describe_gauge!(POOL_SLOTS_IN_USE, "instance-pool slots taken now");
    describe_gauge!(POOL_SLOTS, "instance-pool slots in all");
    describe_gauge!(TOOLS_LOADED, "tools served");
    describe_gauge!(READY, "1 while ready to serve, 0 once a drain has begun");
    describe_gauge!(BUILD_INFO, "always 1, labelled with the Warden version");
    describe_gauge!(
        UNSENT_BYTES,
        Unit::Bytes,
        "response bytes produced and not yet taken by their connections"
    );
    describe_gauge!(
        REPLAY_BYTES,
        Unit::Bytes,
        "event bytes all sessions keep for resuming broken streams"
    );
    describe_counter!(
        STALLED_CONNECTIONS,
        "connections closed because their client read none of its responses for the send timeout"
    );
}

/// Records one finished `tools/call`.
pub fn record_call(
    tool: &ToolMetrics,
    outcome: Outcome,
    reason: Option<Reason>,
    duration: Duration,
) {
    if outcome == Outcome::Ok && reason.is_none() {
        tool.succeeded.increment(1);
    } else {
        let labels = [
            ("tool", tool.name.clone()),
            ("outcome", outcome.as_str().to_owned()),
            ("reason", reason.map_or("", Reason::as_str).to_owned()),
        ];
        metrics::counter!(TOOL_CALLS, &labels).increment(1);
    }
    tool.duration.record(duration.as_secs_f64());
    if reason == Some(Reason::InvalidArguments) {
        tool.schema_rejections.increment(1);
    }
}

/// Records one finished `resources/read`, `prompts/get` or
/// `completion/complete`. Labelled by component, not by URI or name: those
/// are the clients' to choose, and a label set must stay bounded.
pub fn record_served(
    method: &'static str,
    component: &str,
    outcome: Outcome,
    reason: Option<Reason>,
    duration: Duration,
) {
    let labels = [
        ("method", method.to_owned()),
        ("component", component.to_owned()),
        ("outcome", outcome.as_str().to_owned()),
        ("reason", reason.map_or("", Reason::as_str).to_owned()),
    ];
    metrics::counter!(SERVED_REQUESTS, &labels).increment(1);
    let labels = [
        ("method", method.to_owned()),
        ("component", component.to_owned()),
    ];
    metrics::histogram!(SERVED_DURATION, &labels).record(duration.as_secs_f64());
}

/// Records what a call that ran used.
pub fn record_usage(tool: &ToolMetrics, usage: &warden_sandbox::CallUsage) {
    tool.instantiation.record(usage.instantiation.as_secs_f64());
    tool.peak_memory.record(usage.peak_memory_bytes as f64);
    if let Some(fuel) = usage.fuel_consumed {
        tool.fuel.record(fuel as f64);
    }
}

/// One tool's series, registered when the catalog is built: every call
/// records into them without looking a series up by its labels (a hash of
/// the name and labels, and their allocation, several times per call).
/// The rarer outcomes of `warden_tool_calls_total` are still looked up.
#[derive(Clone)]
pub struct ToolMetrics {
    name: String,
    succeeded: metrics::Counter,
    duration: metrics::Histogram,
    instantiation: metrics::Histogram,
    peak_memory: metrics::Histogram,
    fuel: metrics::Histogram,
    schema_rejections: metrics::Counter,
}

impl ToolMetrics {
    /// Registers the series of tool `name` with the installed recorder.
    pub fn new(name: &str) -> Self {
        let tool = || ("tool", name.to_owned());
        Self {
            name: name.to_owned(),
            succeeded: metrics::counter!(
                TOOL_CALLS,
                &[
                    tool(),
                    ("outcome", Outcome::Ok.as_str().to_owned()),
                    ("reason", String::new())
                ]
            ),
            duration: metrics::histogram!(TOOL_CALL_DURATION, &[tool()]),
            instantiation: metrics::histogram!(INSTANTIATION_DURATION, &[tool()]),
            peak_memory: metrics::histogram!(TOOL_PEAK_MEMORY, &[tool()]),
            fuel: metrics::histogram!(TOOL_FUEL, &[tool()]),
            schema_rejections: metrics::counter!(SCHEMA_REJECTIONS, &[tool()]),
        }
    }
}

impl std::fmt::Debug for ToolMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolMetrics")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Records one HTTP response.
pub fn record_http(status: u16) {
    // Most responses are 200s: their series is kept at hand.
    static OK: OnceLock<metrics::Counter> = OnceLock::new();
    if status == 200 {
        OK.get_or_init(|| {
            recorder();
            metrics::counter!(HTTP_REQUESTS, "status" => "200")
        })
        .increment(1);
    } else {
        metrics::counter!(HTTP_REQUESTS, "status" => status.to_string()).increment(1);
    }
}

/// Records one request or call refused by a quota or by load shedding.
pub fn record_rejection(reason: Rejection) {
    metrics::counter!(REJECTIONS, "reason" => reason.as_str()).increment(1);
}

/// Records one connection closed for taking none of its responses.
pub fn record_stalled_connection() {
    metrics::counter!(STALLED_CONNECTIONS).increment(1);
}

/// Records one audit record `written` or `dropped`.
pub fn record_audit(result: &'static str) {
    metrics::counter!(AUDIT_RECORDS, "result" => result).increment(1);
}

/// Records one failed write of the audit log.
pub fn record_audit_write_error() {
    metrics::counter!(AUDIT_WRITE_ERRORS).increment(1);
}

/// Records one component load.
pub fn record_component_load(from_cache: bool) {
    let cache = if from_cache { "hit" } else { "miss" };
    metrics::counter!(COMPONENT_LOADS, "cache" => cache).increment(1);
}

/// Records one reload attempt; a success also stamps the time.
pub fn record_reload(ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!(CONFIG_RELOADS, "outcome" => outcome).increment(1);
    if ok {
        record_catalog_loaded();
    }
}

/// Stamps the time of a successful catalog load.
pub fn record_catalog_loaded() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    metrics::gauge!(CONFIG_LAST_RELOAD_SUCCESS).set(now.as_secs_f64());
}

/// The figures the gauges show, read from the running application when a
/// scrape comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveState {
    /// Sessions open.
    pub sessions: usize,
    /// Tool calls running, over all components.
    pub calls_in_flight: u32,
    /// Instance pool slots taken.
    pub pool_slots_in_use: u32,
    /// Instance pool slots in all.
    pub pool_slots: u32,
    /// Tools served.
    pub tools_loaded: usize,
    /// Whether the server takes new work (no drain has begun).
    pub ready: bool,
    /// Response bytes not yet taken by their connections.
    pub unsent_bytes: usize,
    /// Event bytes kept for resumption.
    pub replay_bytes: usize,
}

/// The exposition text, with the live-state gauges set from `live` first.
pub fn render(live: &LiveState) -> String {
    metrics::gauge!(SESSIONS_ACTIVE).set(live.sessions as f64);
    metrics::gauge!(CALLS_IN_FLIGHT).set(f64::from(live.calls_in_flight));
    metrics::gauge!(POOL_SLOTS_IN_USE).set(f64::from(live.pool_slots_in_use));
    metrics::gauge!(POOL_SLOTS).set(f64::from(live.pool_slots));
    metrics::gauge!(TOOLS_LOADED).set(live.tools_loaded as f64);
    metrics::gauge!(READY).set(if live.ready { 1.0 } else { 0.0 });
    metrics::gauge!(UNSENT_BYTES).set(live.unsent_bytes as f64);
    metrics::gauge!(REPLAY_BYTES).set(live.replay_bytes as f64);
    recorder().render()
}

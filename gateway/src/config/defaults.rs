//! Every default and every accepted range of the configuration, as named
//! constants, so the code that enforces a limit, the documentation and the
//! tests agree. Re-exported by [`super::model`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;

use warden_sandbox::Limits;

use super::model::SampleRatio;

pub(super) const KIB: u64 = 1 << 10;
pub(super) const MIB: u64 = 1 << 20;
pub(super) const GIB: u64 = 1 << 30;

// ---- [server] -------------------------------------------------------------

/// Default `server.listen`: loopback only, port 8080.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default `server.allow_localhost_origins`.
pub const DEFAULT_ALLOW_LOCALHOST_ORIGINS: bool = true;
/// Default `server.max_body_bytes`: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;
/// Accepted `server.max_body_bytes`: 1 KiB ..= 64 MiB.
pub const MAX_BODY_BYTES_RANGE: RangeInclusive<usize> = 1 << 10..=64 << 20;
/// Default `server.max_json_depth`, in nesting levels.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;
/// Accepted `server.max_json_depth`.
pub const MAX_JSON_DEPTH_RANGE: RangeInclusive<usize> = 2..=512;
/// Default `server.page_size`, in tools per `tools/list` page.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Accepted `server.page_size`.
pub const PAGE_SIZE_RANGE: RangeInclusive<usize> = 1..=1000;
/// Default `server.session_idle_timeout_secs`: 30 minutes.
pub const DEFAULT_SESSION_IDLE_TIMEOUT_SECS: u64 = 1800;
/// Accepted `server.session_idle_timeout_secs`: 1 second ..= 365 days (the
/// upper bound keeps deadline arithmetic far from overflow).
pub const SESSION_IDLE_TIMEOUT_SECS_RANGE: RangeInclusive<u64> = 1..=365 * 24 * 3600;
/// Default `server.session_lifetime_secs`: 24 hours.
pub const DEFAULT_SESSION_LIFETIME_SECS: u64 = 24 * 3600;
/// Accepted `server.session_lifetime_secs`: 1 second ..= 365 days.
pub const SESSION_LIFETIME_SECS_RANGE: RangeInclusive<u64> = 1..=365 * 24 * 3600;
/// Default `server.drain_timeout_secs`: 25 seconds, inside Kubernetes'
/// default 30-second termination grace period.
pub const DEFAULT_DRAIN_TIMEOUT_SECS: u64 = 25;
/// Accepted `server.drain_timeout_secs`: 0 (cancel calls in flight at once)
/// ..= 1 hour.
pub const DRAIN_TIMEOUT_SECS_RANGE: RangeInclusive<u64> = 0..=3600;
/// Default `server.watch_interval_ms`: the config and component files are
/// checked for changes every 2 seconds.
pub const DEFAULT_WATCH_INTERVAL_MS: u64 = 2000;
/// Accepted `server.watch_interval_ms`: 0 (no watching; SIGHUP only) ..= 1 hour.
pub const WATCH_INTERVAL_MS_RANGE: RangeInclusive<u64> = 0..=3_600_000;
/// Default `server.max_sessions`.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;
/// Accepted `server.max_sessions`: 1 or more.
pub const MAX_SESSIONS_RANGE: RangeInclusive<usize> = 1..=usize::MAX;
/// Default `server.stream_replay_events`: events each session keeps for
/// resuming a broken event stream.
pub const DEFAULT_STREAM_REPLAY_EVENTS: usize = 256;
/// Accepted `server.stream_replay_events`: 0 (streams are not resumable)
/// ..= 100 000.
pub const STREAM_REPLAY_EVENTS_RANGE: RangeInclusive<usize> = 0..=100_000;
/// Default `server.stream_replay_bytes`: 256 KiB per session.
pub const DEFAULT_STREAM_REPLAY_BYTES: usize = 256 * 1024;
/// Accepted `server.stream_replay_bytes`: 1 KiB ..= 64 MiB.
pub const STREAM_REPLAY_BYTES_RANGE: RangeInclusive<usize> = 1024..=64 * 1024 * 1024;
/// Default `server.stream_replay_total_bytes`: 256 MiB for all sessions'
/// replay logs together.
pub const DEFAULT_STREAM_REPLAY_TOTAL_BYTES: usize = 256 << 20;
/// Accepted `server.stream_replay_total_bytes`: 1 MiB ..= 64 GiB.
pub const STREAM_REPLAY_TOTAL_BYTES_RANGE: RangeInclusive<usize> = 1 << 20..=64 << 30;
/// Default `server.pool_instances`, in concurrently live wasm instances.
pub const DEFAULT_POOL_INSTANCES: u32 = 64;
/// Accepted `server.pool_instances`.
pub const POOL_INSTANCES_RANGE: RangeInclusive<u32> = 1..=10_000;
/// Default `server.pool_keep_resident_bytes`: 2 MiB, what a call of a
/// Python or JavaScript tool dirties; a small Rust call dirties far less
/// (`benches/`: `text.count` needs under 256 KiB).
pub const DEFAULT_POOL_KEEP_RESIDENT_BYTES: u64 = warden_sandbox::DEFAULT_KEEP_RESIDENT_BYTES;
/// Accepted `server.pool_keep_resident_bytes`: 0 ..= 64 MiB.
pub const POOL_KEEP_RESIDENT_BYTES_RANGE: RangeInclusive<u64> = 0..=64 * 1024 * 1024;

// ---- [rate_limits] ----------------------------------------------------------

/// Default `rate_limits.max_calls_in_flight`: tool calls running at once,
/// all callers and components together.
pub const DEFAULT_MAX_CALLS_IN_FLIGHT: u32 = 256;
/// Accepted `rate_limits.max_calls_in_flight`.
pub const MAX_CALLS_IN_FLIGHT_RANGE: RangeInclusive<u32> = 1..=100_000;
/// Default `rate_limits.call_queue`: calls that may wait for a place.
pub const DEFAULT_CALL_QUEUE: u32 = 256;
/// Accepted `rate_limits.call_queue`: 0 (refuse at once when full) ..= 100 000.
pub const CALL_QUEUE_RANGE: RangeInclusive<u32> = 0..=100_000;
/// Default `rate_limits.call_queue_timeout_ms`.
pub const DEFAULT_CALL_QUEUE_TIMEOUT_MS: u64 = 1000;
/// Accepted `rate_limits.call_queue_timeout_ms`: 0 ..= 1 minute.
pub const CALL_QUEUE_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 0..=60_000;

// ---- [http] -----------------------------------------------------------------

/// Default `http.header_read_timeout_ms`: a client has 10 s to send a
/// request's headers (also how long an idle keep-alive connection stays).
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Accepted `http.header_read_timeout_ms`: 100 ms ..= 5 minutes.
pub const HEADER_READ_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 100..=300_000;
/// Default `http.body_read_timeout_ms`: 30 s to send a request's body.
pub const DEFAULT_BODY_READ_TIMEOUT_MS: u64 = 30_000;
/// Accepted `http.body_read_timeout_ms`: 100 ms ..= 10 minutes.
pub const BODY_READ_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 100..=600_000;
/// Default `http.request_timeout_ms`: 15 minutes from a POST's headers to
/// its response, above the longest tool time limit and queue wait.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 900_000;
/// Accepted `http.request_timeout_ms`: 100 ms ..= 1 hour.
pub const REQUEST_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 100..=3_600_000;
/// Default `http.max_connections`: open connections at once.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
/// Accepted `http.max_connections`.
pub const MAX_CONNECTIONS_RANGE: RangeInclusive<u32> = 1..=1_000_000;
/// Default `http.max_requests_per_connection`.
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: u32 = 1000;
/// Accepted `http.max_requests_per_connection`.
pub const MAX_REQUESTS_PER_CONNECTION_RANGE: RangeInclusive<u32> = 1..=1_000_000;
/// Default `http.max_header_bytes`: request line and headers together.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 << 10;
/// Accepted `http.max_header_bytes`: 8 KiB (a sealed session id and a key
/// must fit) ..= 1 MiB.
pub const MAX_HEADER_BYTES_RANGE: RangeInclusive<usize> = 8 << 10..=1 << 20;
/// Default `http.max_concurrent_streams`: HTTP/2 requests one connection
/// may have open at once (RFC 9113 suggests no fewer than 100).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Accepted `http.max_concurrent_streams`.
pub const MAX_CONCURRENT_STREAMS_RANGE: RangeInclusive<u32> = 1..=10_000;
/// Default `http.max_unsent_bytes_per_connection`: 8 MiB of responses one
/// connection may leave unread before its streams are let go and its new
/// requests refused.
pub const DEFAULT_MAX_UNSENT_BYTES_PER_CONNECTION: usize = 8 << 20;
/// Accepted `http.max_unsent_bytes_per_connection`: 64 KiB ..= 1 GiB.
pub const MAX_UNSENT_BYTES_PER_CONNECTION_RANGE: RangeInclusive<usize> = 64 << 10..=1 << 30;
/// Default `http.max_unsent_bytes`: 256 MiB of unread responses, all
/// connections together.
pub const DEFAULT_MAX_UNSENT_BYTES: usize = 256 << 20;
/// Accepted `http.max_unsent_bytes`: 1 MiB ..= 64 GiB.
pub const MAX_UNSENT_BYTES_RANGE: RangeInclusive<usize> = 1 << 20..=64 << 30;
/// Default `http.send_timeout_ms`: a connection holding unread responses
/// that takes none of them for 30 s is closed.
pub const DEFAULT_SEND_TIMEOUT_MS: u64 = 30_000;
/// Accepted `http.send_timeout_ms`: 1 s ..= 10 minutes.
pub const SEND_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 1000..=600_000;
/// Default `http.max_headers`: header fields per request.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Accepted `http.max_headers`.
pub const MAX_HEADERS_RANGE: RangeInclusive<usize> = 8..=1000;

// ---- [audit] ----------------------------------------------------------------

/// Default `audit.max_file_bytes`: the file is rotated past 100 MiB.
pub const DEFAULT_AUDIT_MAX_FILE_BYTES: u64 = 100 << 20;
/// Accepted `audit.max_file_bytes`: 1 KiB ..= 1 TiB.
pub const AUDIT_MAX_FILE_BYTES_RANGE: RangeInclusive<u64> = 1 << 10..=1 << 40;
/// Default `audit.max_files`: rotated files kept besides the current one.
pub const DEFAULT_AUDIT_MAX_FILES: u32 = 5;
/// Accepted `audit.max_files`.
pub const AUDIT_MAX_FILES_RANGE: RangeInclusive<u32> = 1..=1000;
/// Default `audit.queue_records`: records waiting for the writer.
pub const DEFAULT_AUDIT_QUEUE_RECORDS: u32 = 10_000;
/// Accepted `audit.queue_records`.
pub const AUDIT_QUEUE_RECORDS_RANGE: RangeInclusive<u32> = 1..=1_000_000;

// ---- [tracing] --------------------------------------------------------------

/// Default `tracing.service_name`: the `service.name` exported spans carry.
pub const DEFAULT_SERVICE_NAME: &str = "warden";
/// Default `tracing.sample_ratio`: every new trace is exported.
pub const DEFAULT_SAMPLE_RATIO: SampleRatio = SampleRatio::ALL;
/// Default `tracing.otlp_timeout_ms`: 10 seconds per export request.
pub const DEFAULT_OTLP_TIMEOUT_MS: u64 = 10_000;
/// Accepted `tracing.otlp_timeout_ms`: 1 ms ..= 1 minute.
pub const OTLP_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 1..=60_000;

// ---- [components.<name>.limits] -------------------------------------------

/// Default `limits.timeout_ms`: 5 seconds of wall-clock time per call.
pub const DEFAULT_TIMEOUT_MS: u64 = Limits::DEFAULT.timeout_ms;
/// Accepted `limits.timeout_ms`: 1 ms ..= 10 minutes.
pub const TIMEOUT_MS_RANGE: RangeInclusive<u64> = 1..=600_000;
/// Accepted `limits.fuel` (there is no default: unset means unmetered).
pub const FUEL_RANGE: RangeInclusive<u64> = 1..=u64::MAX;
/// Default `limits.max_memory_bytes`: 64 MiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = Limits::DEFAULT.max_memory_bytes;
/// Accepted `limits.max_memory_bytes`: 1 MiB ..= 4 GiB.
pub const MAX_MEMORY_BYTES_RANGE: RangeInclusive<u64> = MIB..=4 * GIB;
/// Default `limits.max_output_bytes`: 1 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = Limits::DEFAULT.max_output_bytes;
/// Accepted `limits.max_output_bytes`: 1 KiB ..= 64 MiB.
pub const MAX_OUTPUT_BYTES_RANGE: RangeInclusive<u64> = KIB..=64 * MIB;
/// Default `limits.max_log_messages`, per call.
pub const DEFAULT_MAX_LOG_MESSAGES: u32 = Limits::DEFAULT.max_log_messages;
/// Accepted `limits.max_log_messages`.
pub const MAX_LOG_MESSAGES_RANGE: RangeInclusive<u32> = 0..=100_000;
/// Default `limits.max_concurrency`, in calls of one component at once.
pub const DEFAULT_MAX_CONCURRENCY: u32 = Limits::DEFAULT.max_concurrency;
/// Accepted `limits.max_concurrency`.
pub const MAX_CONCURRENCY_RANGE: RangeInclusive<u32> = 1..=10_000;
/// Default `limits.queue_timeout_ms`: 1 second.
pub const DEFAULT_QUEUE_TIMEOUT_MS: u64 = Limits::DEFAULT.queue_timeout_ms;
/// Accepted `limits.queue_timeout_ms`: 0 (fail at once when busy) ..= 1 minute.
pub const QUEUE_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 0..=60_000;
/// Default `limits.client_request_timeout_ms`: 5 minutes (a person may be
/// filling in a form).
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT_MS: u64 = Limits::DEFAULT.client_request_timeout_ms;
/// Accepted `limits.client_request_timeout_ms`: 100 ms ..= 1 hour.
pub const CLIENT_REQUEST_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 100..=3_600_000;
/// Default `limits.max_client_requests`, per call.
pub const DEFAULT_MAX_CLIENT_REQUESTS: u32 = Limits::DEFAULT.max_client_requests;
/// Accepted `limits.max_client_requests`: 0 (none) ..= 100.
pub const MAX_CLIENT_REQUESTS_RANGE: RangeInclusive<u32> = 0..=100;
/// Default `limits.min_pool_slots`: one instance-pool slot kept for each
/// component.
pub const DEFAULT_MIN_POOL_SLOTS: u32 = Limits::DEFAULT.min_pool_slots;
/// Accepted `limits.min_pool_slots`: 0 (none kept) ..= 10,000; all
/// components' together at most `server.pool_instances`.
pub const MIN_POOL_SLOTS_RANGE: RangeInclusive<u32> = 0..=10_000;

/// Range of `capabilities.http.max_requests_per_call` (default 16,
/// [`warden_sandbox::HttpLimits::DEFAULT`]).
pub const HTTP_MAX_REQUESTS_PER_CALL_RANGE: RangeInclusive<u32> = 1..=10_000;
/// Range of `capabilities.http.max_request_bytes` (default 1 MiB) and
/// `max_response_bytes` (default 8 MiB).
pub const HTTP_BODY_BYTES_RANGE: RangeInclusive<u64> = 1..=1 << 30;
/// Range of `capabilities.http.connect_timeout_ms` (default 5 s) and
/// `first_byte_timeout_ms` (default 10 s).
pub const HTTP_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 1..=600_000;
/// Range of `capabilities.http.max_concurrent_requests` (default 16).
pub const HTTP_MAX_CONCURRENT_REQUESTS_RANGE: RangeInclusive<u32> = 1..=10_000;

//! What a tool component may use: its limits and its capabilities.

use std::path::PathBuf;

use crate::outbound::HttpGrant;

/// Everything the sandbox enforces for one component.
///
/// `Policy::default()` grants no capability at all and applies the
/// conservative [`Limits::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Resource limits for every call.
    pub limits: Limits,
    /// What the component may reach outside its own memory.
    pub capabilities: Capabilities,
}

/// Resource limits applied to every call of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget per call, in milliseconds. Enforced preemptively by
    /// epoch interruption inside wasm and by an outer timer around host calls.
    pub timeout_ms: u64,
    /// Fuel (roughly, wasm instructions) per call; `None` means unmetered.
    pub fuel: Option<u64>,
    /// Largest linear memory a call may grow to, in bytes.
    pub max_memory_bytes: u64,
    /// Largest result a call may return, in bytes of content, and the size at
    /// which captured stdout and stderr are each truncated.
    pub max_output_bytes: u64,
    /// How many `log` calls one call may make before it fails.
    pub max_log_messages: u32,
    /// How many calls of this component may run at once.
    pub max_concurrency: u32,
    /// How long a call waits for one of `max_concurrency` slots before it
    /// fails as busy, in milliseconds.
    pub queue_timeout_ms: u64,
    /// How long one request to the client (`sample`, `elicit`) may wait for
    /// its answer, in milliseconds. The waiting does not count against
    /// `timeout_ms`.
    pub client_request_timeout_ms: u64,
    /// How many requests to the client one call may make.
    pub max_client_requests: u32,
    /// Instance-pool slots kept for this component's calls, whatever other
    /// components' calls hold: no other component can make it `busy` below
    /// this many calls at once.
    pub min_pool_slots: u32,
}

impl Limits {
    /// The conservative defaults: 5 s, unmetered, 64 MiB memory, 1 MiB
    /// output, 100 log messages, 16 concurrent calls, 1 s queue wait, 5
    /// minutes for each of at most 8 requests to the client, one pool slot
    /// kept for the component.
    pub const DEFAULT: Limits = Limits {
        timeout_ms: 5_000,
        fuel: None,
        max_memory_bytes: 64 << 20,
        max_output_bytes: 1 << 20,
        max_log_messages: 100,
        max_concurrency: 16,
        queue_timeout_ms: 1_000,
        client_request_timeout_ms: 300_000,
        max_client_requests: 8,
        min_pool_slots: 1,
    };
}

/// Wall-clock budget of a component's `list-tools` at load, in
/// milliseconds (or its per-call `timeout_ms`, if longer).
pub const LOAD_TIMEOUT_MS: u64 = 30_000;
/// Fuel of a component's `list-tools` at load, when fuel is metered (or its
/// per-call `fuel`, if larger): far more than building any tool listing
/// takes, so a component with many tools and tight per-call fuel loads.
pub const LOAD_FUEL: u64 = 10_000_000_000;
/// Largest `list-tools` answer and captured output at load, in bytes (or
/// the per-call `max_output_bytes`, if larger).
pub const LOAD_OUTPUT_BYTES: u64 = 16 << 20;

impl Limits {
    /// The limits a component's `list-tools` runs under when it loads: time,
    /// fuel and output of their own ([`LOAD_TIMEOUT_MS`], [`LOAD_FUEL`],
    /// [`LOAD_OUTPUT_BYTES`]), independent of what one call may spend;
    /// memory and the rest as per call.
    pub fn for_loading(&self) -> Limits {
        Limits {
            timeout_ms: self.timeout_ms.max(LOAD_TIMEOUT_MS),
            fuel: self.fuel.map(|fuel| fuel.max(LOAD_FUEL)),
            max_output_bytes: self.max_output_bytes.max(LOAD_OUTPUT_BYTES),
            ..self.clone()
        }
    }
}

impl Default for Limits {
    /// [`Limits::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Capabilities granted to a component. Everything is denied by default:
/// no directories, no environment variables, no network, no HTTP, empty
/// stdin.
/// Clocks and random numbers are always available.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Host directories made visible to the guest.
    pub dirs: Vec<DirGrant>,
    /// Environment variables the guest sees, exactly these.
    pub env: Vec<(String, String)>,
    /// `host:port` pairs the guest may open TCP connections to.
    pub tcp_connect: Vec<String>,
    /// What the guest may reach through `wasi:http`.
    pub http: HttpGrant,
}

/// One host directory preopened for the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it, e.g. `/data`.
    pub guest: String,
    /// Whether the guest may change it.
    pub mode: DirMode,
}

/// Access to a preopened directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DirMode {
    /// Read files and list directories only.
    #[default]
    ReadOnly,
    /// Also create, write, rename and remove.
    ReadWrite,
}

//! Errors of the sandbox, one enum per stage.

use std::path::PathBuf;

/// The engine could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// wasmtime rejected the engine configuration.
    #[error("cannot create the wasm engine: {0:#}")]
    Engine(wasmtime::Error),
    /// The artifact cache directory cannot be used.
    #[error("cannot use cache directory {path}: {source}")]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The epoch ticker thread could not be started.
    #[error("cannot start the epoch ticker thread: {0}")]
    Ticker(std::io::Error),
}

/// A component could not be loaded. Every message names the component.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The wasm file could not be read.
    #[error("component `{component}`: cannot read {path}: {source}")]
    Read {
        /// Component name.
        component: String,
        /// File path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid WebAssembly component.
    #[error("component `{component}`: cannot compile {path}: {reason}")]
    Compile {
        /// Component name.
        component: String,
        /// File path.
        path: PathBuf,
        /// wasmtime's reason.
        reason: String,
    },
    /// The component does not fit the `warden:tool` world or asks for
    /// imports the host does not provide.
    #[error("component `{component}`: cannot link: {reason}")]
    Link {
        /// Component name.
        component: String,
        /// wasmtime's reason.
        reason: String,
    },
    /// The component failed while listing its tools.
    #[error("component `{component}`: list-tools failed: {reason}")]
    ListTools {
        /// Component name.
        component: String,
        /// What happened.
        reason: String,
    },
    /// The component declared an unusable tool.
    #[error("component `{component}`: tool `{tool}`: {reason}")]
    InvalidTool {
        /// Component name.
        component: String,
        /// Tool name as declared.
        tool: String,
        /// What is wrong.
        reason: String,
    },
    /// A capability in the policy cannot be granted.
    #[error("component `{component}`: {reason}")]
    Capability {
        /// Component name.
        component: String,
        /// What is wrong.
        reason: String,
    },
}

/// A call did not produce a result. Each variant is one kind of failure with
/// a stable [`reason`](CallError::reason) code.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The tool used up its fuel budget.
    #[error("tool `{tool}` ran out of fuel (budget {limit} units)")]
    OutOfFuel {
        /// Tool name.
        tool: String,
        /// The fuel budget.
        limit: u64,
    },
    /// The tool ran past its wall-clock limit.
    #[error("tool `{tool}` exceeded its {limit_ms} ms time limit")]
    Timeout {
        /// Tool name.
        tool: String,
        /// The limit.
        limit_ms: u64,
    },
    /// The tool tried to grow its memory past the limit.
    #[error("tool `{tool}` exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// Tool name.
        tool: String,
        /// The limit.
        limit_bytes: u64,
    },
    /// The tool overflowed its wasm stack.
    #[error("tool `{tool}` overflowed its stack")]
    StackOverflow {
        /// Tool name.
        tool: String,
    },
    /// The tool's result was larger than allowed.
    #[error(
        "tool `{tool}` returned {actual_bytes} bytes of output, more than its limit of {limit_bytes} bytes"
    )]
    OutputTooLarge {
        /// Tool name.
        tool: String,
        /// The limit.
        limit_bytes: u64,
        /// What the tool returned.
        actual_bytes: u64,
    },
    /// The tool logged more messages than allowed.
    #[error("tool `{tool}` logged more than its limit of {limit} messages")]
    LogLimitExceeded {
        /// Tool name.
        tool: String,
        /// The limit.
        limit: u32,
    },
    /// The tool's log and progress messages together held more text than
    /// its output limit allows.
    #[error(
        "tool `{tool}` sent more than its limit of {limit_bytes} bytes of log and progress messages"
    )]
    MessageBytesExceeded {
        /// Tool name.
        tool: String,
        /// The limit (the component's `max_output_bytes`).
        limit_bytes: u64,
    },
    /// The tool sent more outbound HTTP requests than one call may.
    #[error("tool `{tool}` sent more than its limit of {limit} outbound HTTP requests in one call")]
    HttpRequestLimit {
        /// Tool name.
        tool: String,
        /// The limit (`max_requests_per_call`).
        limit: u32,
    },
    /// The tool trapped: a panic, an unreachable instruction, a bad memory
    /// access. `message` holds the guest's panic message when it printed one.
    #[error("tool `{tool}` crashed: {message}")]
    Trap {
        /// Tool name.
        tool: String,
        /// What happened.
        message: String,
    },
    /// The tool ended its instance with `exit(status)` (WASI's `exit`)
    /// instead of returning a result.
    #[error("tool `{tool}` exited with status {status} instead of returning a result")]
    Exited {
        /// Tool name.
        tool: String,
        /// The status it exited with.
        status: i32,
    },
    /// Every concurrency slot of the component stayed taken for the whole
    /// queue timeout, or the instance pool was exhausted.
    #[error("tool `{tool}` is busy: {detail}")]
    Busy {
        /// Tool name.
        tool: String,
        /// Which limit was full.
        detail: String,
    },
    /// The component has no tool by that name.
    #[error("component has no tool `{tool}`")]
    UnknownTool {
        /// Tool name.
        tool: String,
    },
    /// The embedder suspended the call at a request to the client: the
    /// answer comes with a later call (not a failure of the tool).
    #[error("tool `{tool}` waits for answers from the client")]
    AwaitingClient {
        /// Tool name.
        tool: String,
    },
    /// The host failed to set up the call (not the tool's fault).
    #[error("tool `{tool}` could not be started: {message}")]
    Host {
        /// Tool name.
        tool: String,
        /// What happened.
        message: String,
    },
}

impl CallError {
    /// The same failure, naming the tool `name`: the name the embedder's
    /// clients know it by, where that is not the one the component
    /// declares.
    #[must_use]
    pub fn for_tool(mut self, name: &str) -> Self {
        match &mut self {
            Self::OutOfFuel { tool, .. }
            | Self::Timeout { tool, .. }
            | Self::MemoryLimit { tool, .. }
            | Self::StackOverflow { tool }
            | Self::OutputTooLarge { tool, .. }
            | Self::LogLimitExceeded { tool, .. }
            | Self::MessageBytesExceeded { tool, .. }
            | Self::HttpRequestLimit { tool, .. }
            | Self::Trap { tool, .. }
            | Self::Exited { tool, .. }
            | Self::Busy { tool, .. }
            | Self::UnknownTool { tool }
            | Self::AwaitingClient { tool }
            | Self::Host { tool, .. } => name.clone_into(tool),
        }
        self
    }

    /// A stable, machine-readable code for the failure, e.g. `"timeout"`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::OutOfFuel { .. } => "out_of_fuel",
            Self::Timeout { .. } => "timeout",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::StackOverflow { .. } => "stack_overflow",
            Self::OutputTooLarge { .. } => "output_too_large",
            Self::LogLimitExceeded { .. } | Self::MessageBytesExceeded { .. } => {
                "log_limit_exceeded"
            }
            Self::HttpRequestLimit { .. } => "http_request_limit",
            Self::Trap { .. } => "trap",
            Self::Exited { .. } => "exited",
            Self::Busy { .. } => "busy",
            Self::UnknownTool { .. } => "unknown_tool",
            Self::AwaitingClient { .. } => "awaiting_client",
            Self::Host { .. } => "host_error",
        }
    }
}

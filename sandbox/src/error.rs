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
    /// The component failed while listing what it serves, or serves
    /// nothing.
    #[error("component `{component}`: {function} failed: {reason}")]
    Listing {
        /// Component name.
        component: String,
        /// The export that failed, e.g. `list-tools`.
        function: &'static str,
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
    /// The component declared an unusable resource, resource template,
    /// prompt or tool metadata.
    #[error("component `{component}`: {item}: {reason}")]
    InvalidItem {
        /// Component name.
        component: String,
        /// What is wrong, e.g. ``resource `file:///a` ``.
        item: String,
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
    #[error("{subject} ran out of fuel (budget {limit} units)")]
    OutOfFuel {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The fuel budget.
        limit: u64,
    },
    /// The tool ran past its wall-clock limit.
    #[error("{subject} exceeded its {limit_ms} ms time limit")]
    Timeout {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The limit.
        limit_ms: u64,
    },
    /// The tool tried to grow its memory past the limit.
    #[error("{subject} exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The limit.
        limit_bytes: u64,
    },
    /// The tool overflowed its wasm stack.
    #[error("{subject} overflowed its stack")]
    StackOverflow {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
    },
    /// The tool's result was larger than allowed.
    #[error(
        "{subject} returned {actual_bytes} bytes of output, more than its limit of {limit_bytes} bytes"
    )]
    OutputTooLarge {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The limit.
        limit_bytes: u64,
        /// What the tool returned.
        actual_bytes: u64,
    },
    /// The tool logged more messages than allowed.
    #[error("{subject} logged more than its limit of {limit} messages")]
    LogLimitExceeded {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The limit.
        limit: u32,
    },
    /// The tool's log and progress messages together held more text than
    /// its output limit allows.
    #[error(
        "{subject} sent more than its limit of {limit_bytes} bytes of log and progress messages"
    )]
    MessageBytesExceeded {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The limit (the component's `max_output_bytes`).
        limit_bytes: u64,
    },
    /// The tool sent more outbound HTTP requests than one call may.
    #[error("{subject} sent more than its limit of {limit} outbound HTTP requests in one call")]
    HttpRequestLimit {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The limit (`max_requests_per_call`).
        limit: u32,
    },
    /// The tool trapped: a panic, an unreachable instruction, a bad memory
    /// access. `message` holds the guest's panic message when it printed one.
    #[error("{subject} crashed: {message}")]
    Trap {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// What happened.
        message: String,
    },
    /// The tool ended its instance with `exit(status)` (WASI's `exit`)
    /// instead of returning a result.
    #[error("{subject} exited with status {status} instead of returning a result")]
    Exited {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// The status it exited with.
        status: i32,
    },
    /// Every concurrency slot of the component stayed taken for the whole
    /// queue timeout, or the instance pool was exhausted.
    #[error("{subject} is busy: {detail}")]
    Busy {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
        /// Which limit was full.
        detail: String,
    },
    /// The component has no tool by that name.
    #[error("component has no {subject}")]
    UnknownTool {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
    },
    /// The embedder suspended the call at a request to the client: the
    /// answer comes with a later call (not a failure of the tool).
    #[error("{subject} waits for answers from the client")]
    AwaitingClient {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
    },
    /// The host failed to set up the call (not the tool's fault).
    #[error("{subject} could not be started: {message}")]
    Host {
        /// What ran, as messages name it (see [`Subject`](crate::Subject)).
        subject: String,
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
            Self::OutOfFuel { subject, .. }
            | Self::Timeout { subject, .. }
            | Self::MemoryLimit { subject, .. }
            | Self::StackOverflow { subject }
            | Self::OutputTooLarge { subject, .. }
            | Self::LogLimitExceeded { subject, .. }
            | Self::MessageBytesExceeded { subject, .. }
            | Self::HttpRequestLimit { subject, .. }
            | Self::Trap { subject, .. }
            | Self::Exited { subject, .. }
            | Self::Busy { subject, .. }
            | Self::UnknownTool { subject }
            | Self::AwaitingClient { subject }
            | Self::Host { subject, .. } => *subject = format!("tool `{name}`"),
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

//! What a running tool reports while it works: log messages and progress,
//! and what it consumed once it stops.

use crate::client::{ClientReply, ClientReplyFuture, ClientRequest, ClientRequestError};
use crate::component::CallUsage;
use crate::outbound::{OutboundRefusal, OutboundRequest};

/// Severity of a tool's log message (the syslog levels MCP uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detailed debugging information.
    Debug,
    /// Normal operational messages.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LogLevel {
    /// The MCP name of the level, e.g. `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Notice => "notice",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
            Self::Alert => "alert",
            Self::Emergency => "emergency",
        }
    }
}

/// Receives what a tool reports during one call. Called on the thread that
/// runs the tool: implementations must return quickly and never block.
pub trait CallEvents: Send + Sync {
    /// The tool logged `message` at `level`.
    fn log(&self, tool: &str, level: LogLevel, message: &str);
    /// The tool reported progress.
    fn progress(&self, tool: &str, done: f64, total: Option<f64>, message: Option<&str>);
    /// The call's instance has stopped, successfully or not; `usage` is what
    /// it consumed (the fuel of a failed call too, which the call's error
    /// does not carry). Not called when the call never got an instance.
    fn finished(&self, _tool: &str, _usage: &CallUsage) {}
    /// The tool's outbound HTTP request ended: answered and its body done
    /// with, or failed. Called from the task that sent it.
    fn outbound_finished(&self, _tool: &str, _request: &OutboundRequest) {}
    /// The host refused one of the tool's outbound HTTP requests.
    fn outbound_refused(&self, _tool: &str, _refusal: &OutboundRefusal) {}
    /// The tool asks the client something. The future may wait for the
    /// client; the sandbox bounds it with the component's
    /// `client_request_timeout_ms`, and runs the requests of one
    /// `ask-client` concurrently. By default no client is reachable.
    fn client_request(&self, _tool: &str, request: ClientRequest) -> ClientReplyFuture {
        Box::pin(std::future::ready(ClientReply::Failed(
            ClientRequestError::Unsupported(format!(
                "no client can answer `{}` requests here",
                request.kind.as_str()
            )),
        )))
    }
}

/// Discards every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl CallEvents for NoEvents {
    fn log(&self, _tool: &str, _level: LogLevel, _message: &str) {}
    fn progress(&self, _tool: &str, _done: f64, _total: Option<f64>, _message: Option<&str>) {}
}

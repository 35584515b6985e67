//! How a call ended and why, as typed values: the names that go into the
//! call's log line, its metrics, its audit record and the `_meta` of a
//! failed result are spelled here and nowhere else.

use serde::{Serialize, Serializer};

/// Key under `_meta` of a failed call's result (and `data` of its error)
/// holding the stable [`Reason`].
pub const REASON_META_KEY: &str = "warden/reason";

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The tool returned a result.
    Ok,
    /// The tool returned a result that says it failed (`isError`).
    ToolError,
    /// The call ran and failed (a trap, a limit, output refused).
    Failed,
    /// The call was refused before it ran.
    Rejected,
    /// The call was stopped before it ended.
    Cancelled,
    /// The call needs the client's input first (2026-07-28 retry round).
    InputRequired,
}

impl Outcome {
    /// The name logs, metrics and audit records use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::InputRequired => "input_required",
        }
    }
}

/// Why a call did not end with the tool's own result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No tool of that name for this caller.
    UnknownTool,
    /// No resource at that URI for this caller.
    UnknownResource,
    /// No prompt of that name for this caller.
    UnknownPrompt,
    /// The component declined: a resource it does not have, arguments it
    /// does not accept, or its own failure.
    ComponentError,
    /// A quota (the tool's rate, the caller's fuel budget) refused it.
    RateLimited,
    /// The arguments do not match the tool's input schema.
    InvalidArguments,
    /// The client cancelled it (`notifications/cancelled`).
    ClientCancelled,
    /// A shutdown's drain deadline cancelled it.
    Shutdown,
    /// The request went away before the call ended.
    Abandoned,
    /// The tool asked the client for something its capabilities lack.
    MissingClientCapability,
    /// The audit log could not take the call's record.
    AuditUnavailable,
    /// The result does not match the tool's output schema.
    OutputSchemaViolation,
    /// The result is not one MCP allows.
    InvalidOutput,
    /// The tool's own result says it failed (`isError`).
    ToolError,
    /// The shared store of its quotas (Redis) did not answer.
    SharedStoreUnavailable,
    /// The sandbox stopped it: the name its `CallError::reason` gives.
    Sandbox(&'static str),
}

impl Reason {
    /// The name logs, metrics, audit records and results use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownTool => "unknown_tool",
            Self::UnknownResource => "unknown_resource",
            Self::UnknownPrompt => "unknown_prompt",
            Self::ComponentError => "component_error",
            Self::RateLimited => "rate_limited",
            Self::InvalidArguments => "invalid_arguments",
            Self::ClientCancelled => "client_cancelled",
            Self::Shutdown => "shutdown",
            Self::Abandoned => "abandoned",
            Self::MissingClientCapability => "missing_client_capability",
            Self::AuditUnavailable => "audit_unavailable",
            Self::OutputSchemaViolation => "output_schema_violation",
            Self::InvalidOutput => "invalid_output",
            Self::ToolError => "tool_error",
            Self::SharedStoreUnavailable => "shared_store_unavailable",
            Self::Sandbox(name) => name,
        }
    }
}

/// Why a request was refused before it could run, as counted by
/// `warden_rejections_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The caller's request quota.
    CallerRequests,
    /// The cap on calls in flight and its queue.
    Overloaded,
    /// The audit log could not take the record.
    AuditUnavailable,
    /// The tool's rate quota.
    ToolRate,
    /// The caller's fuel budget.
    CallerFuel,
    /// The connection holds responses it has not read.
    UnreadResponses,
    /// The shared store (Redis) of the quotas did not answer and
    /// `on_unavailable = "reject"`.
    SharedStoreUnavailable,
}

impl Rejection {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallerRequests => "caller_requests",
            Self::Overloaded => "overloaded",
            Self::AuditUnavailable => "audit_unavailable",
            Self::ToolRate => "tool",
            Self::CallerFuel => "caller_fuel",
            Self::UnreadResponses => "unread_responses",
            Self::SharedStoreUnavailable => "shared_store_unavailable",
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

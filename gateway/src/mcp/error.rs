//! The one protocol error type. Every refusal and every failed request of
//! every transport is an [`McpError`]; [`McpError::to_message`] is the one
//! way to a JSON-RPC error response, and a transport with a status of its
//! own (HTTP) maps [`ErrorKind`] to it in one function.

use std::time::Duration;

use serde_json::{Map, Value};

use super::jsonrpc::{self, DecodeError, RequestId, code};
use crate::outcome::{REASON_META_KEY, Reason};

/// What kind of failure an error is: fixes its JSON-RPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The message is not JSON (-32700).
    Parse,
    /// Not a valid JSON-RPC message, or not one this state accepts (-32600).
    InvalidRequest,
    /// The method does not exist in the session's revision (-32601).
    MethodNotFound,
    /// The params cannot be used, including an unknown tool (-32602).
    InvalidParams,
    /// The server failed, or ended the request before its result (-32603).
    Internal,
    /// 2026-07-28: a routing header disagrees with the body (-32020).
    HeaderMismatch,
    /// 2026-07-28: a client capability the request needs is not declared
    /// (-32021).
    MissingClientCapability,
    /// 2026-07-28: the protocol version is not served here (-32022).
    UnsupportedProtocolVersion,
    /// The session named is unknown, expired, ended or another caller's
    /// (-32600).
    UnknownSession,
    /// This process cannot take the session now (-32603); retry later.
    Unavailable,
    /// Too many calls in flight (-32603); retry later.
    Overloaded,
    /// The request did not finish in time and was cancelled (-32603).
    TimedOut,
    /// The caller's request quota is spent (-32600); retry later.
    RateLimited,
    /// No resource at the URI (-32002; 2026-07-28 says this with -32602).
    ResourceNotFound,
}

impl ErrorKind {
    /// The JSON-RPC error code.
    pub fn code(self) -> i64 {
        match self {
            Self::Parse => code::PARSE_ERROR,
            Self::InvalidRequest | Self::UnknownSession | Self::RateLimited => {
                code::INVALID_REQUEST
            }
            Self::MethodNotFound => code::METHOD_NOT_FOUND,
            Self::InvalidParams => code::INVALID_PARAMS,
            Self::Internal | Self::Unavailable | Self::Overloaded | Self::TimedOut => {
                code::INTERNAL_ERROR
            }
            Self::HeaderMismatch => code::HEADER_MISMATCH,
            Self::MissingClientCapability => code::MISSING_REQUIRED_CLIENT_CAPABILITY,
            Self::UnsupportedProtocolVersion => code::UNSUPPORTED_PROTOCOL_VERSION,
            Self::ResourceNotFound => code::RESOURCE_NOT_FOUND,
        }
    }

    /// Whether 2026-07-28 refuses a request with this error as a whole (an
    /// HTTP status says it) rather than answering it in the message.
    pub fn refuses_stateless_request(self) -> bool {
        matches!(
            self,
            Self::Parse
                | Self::InvalidRequest
                | Self::MethodNotFound
                | Self::InvalidParams
                | Self::HeaderMismatch
                | Self::MissingClientCapability
                | Self::UnsupportedProtocolVersion
        )
    }
}

/// A protocol error: its kind, what went wrong for a person, details for a
/// program, and when to retry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct McpError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, saying what to fix.
    pub message: String,
    /// Details for a program (the JSON-RPC error's `data`).
    pub data: Option<Value>,
    /// When the client may try again, for a refusal that will pass later.
    pub retry_after: Option<Duration>,
    /// Why a call ended without a result, when one did.
    pub reason: Option<Reason>,
    /// Whether `reason` goes to the client in `data` too.
    pub reason_in_data: bool,
}

impl McpError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            data: None,
            retry_after: None,
            reason: None,
            reason_in_data: true,
        }
    }

    /// Invalid params (-32602).
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParams, message)
    }

    /// An invalid request (-32600).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// A method the revision does not have (-32601).
    pub fn method_not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::MethodNotFound, message)
    }

    /// A call that ended without a result for `reason`; the reason also
    /// goes to the client in `data`.
    pub fn call_ended(reason: Reason, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message).with_reason(reason)
    }

    /// The JSON-RPC code.
    pub fn code(&self) -> i64 {
        self.kind.code()
    }

    /// Adds machine-readable details.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Says when to retry.
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Records why a call ended; the message's `data` carries it too.
    #[must_use]
    pub fn with_reason(mut self, reason: Reason) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Records why a request ended for the log, metrics and audit record
    /// only: for an error whose `data` MCP fixes (a resource not found
    /// carries exactly `{uri}`, which clients match on).
    #[must_use]
    pub fn recorded_as(mut self, reason: Reason) -> Self {
        self.reason = Some(reason);
        self.reason_in_data = false;
        self
    }

    /// Whether this ends a call the client cancelled, which gets no answer.
    pub fn is_client_cancellation(&self) -> bool {
        self.reason == Some(Reason::ClientCancelled)
    }

    /// The JSON-RPC error response for request `id` (`null` when unknown).
    pub fn to_message(&self, id: Option<&RequestId>) -> Value {
        let mut data = self.data.clone();
        if let Some(reason) = self.reason.filter(|_| self.reason_in_data) {
            let fields = data.get_or_insert_with(|| Value::Object(Map::new()));
            if let Some(fields) = fields.as_object_mut() {
                fields.insert(REASON_META_KEY.to_owned(), Value::from(reason.as_str()));
            }
        }
        jsonrpc::error(id, self.code(), &self.message, data)
    }
}

impl From<&DecodeError> for McpError {
    fn from(error: &DecodeError) -> Self {
        let kind = match error {
            DecodeError::Parse(_) => ErrorKind::Parse,
            DecodeError::Batch | DecodeError::Invalid { .. } => ErrorKind::InvalidRequest,
            DecodeError::InvalidParams { .. } => ErrorKind::InvalidParams,
        };
        Self::new(kind, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_kind_has_its_json_rpc_code() {
        for (kind, expected) in [
            (ErrorKind::Parse, -32700),
            (ErrorKind::InvalidRequest, -32600),
            (ErrorKind::UnknownSession, -32600),
            (ErrorKind::MethodNotFound, -32601),
            (ErrorKind::InvalidParams, -32602),
            (ErrorKind::Internal, -32603),
            (ErrorKind::Overloaded, -32603),
            (ErrorKind::HeaderMismatch, -32020),
            (ErrorKind::MissingClientCapability, -32021),
            (ErrorKind::UnsupportedProtocolVersion, -32022),
        ] {
            assert_eq!(kind.code(), expected, "{kind:?}");
        }
    }

    #[test]
    fn a_message_carries_code_text_data_and_the_reason() {
        let id = RequestId::Number(7.into());
        let error = McpError::call_ended(Reason::Shutdown, "stopped").with_data(json!({"k": 1}));
        assert_eq!(
            error.to_message(Some(&id)),
            json!({"jsonrpc": "2.0", "id": 7, "error": {
                "code": -32603, "message": "stopped",
                "data": {"k": 1, "warden/reason": "shutdown"}
            }})
        );
        let reasoned = McpError::new(ErrorKind::Internal, "x").with_reason(Reason::Shutdown);
        assert_eq!(
            reasoned.to_message(None)["error"]["data"],
            json!({"warden/reason": "shutdown"})
        );
        assert!(McpError::call_ended(Reason::ClientCancelled, "c").is_client_cancellation());
    }
}

//! What a transport hands the server with a message, and what it gets back.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::super::error::McpError;
use super::super::jsonrpc::{self, DecodeError, Message, RequestId};
use super::super::notify::Notifications;
use super::super::revision::Transport;
use super::super::session::Session;
use super::super::stateless::Envelope;
use crate::auth::Caller;
use crate::catalog::Tool;

/// A message as a transport read it.
#[derive(Debug)]
pub enum Incoming {
    /// One JSON-RPC message.
    One(Message),
    /// A JSON-RPC batch (2025-03-26): each message, or why it is not one.
    Batch(Vec<Result<Message, DecodeError>>),
    /// Not one usable message.
    Malformed(DecodeError),
}

impl Incoming {
    /// Decodes a transport's frame (a POST body, a line), refusing nesting
    /// deeper than `max_depth`.
    pub fn decode(frame: &[u8], max_depth: usize) -> Self {
        match jsonrpc::decode(frame, max_depth) {
            Ok(message) => Self::One(message),
            Err(DecodeError::Batch) => match jsonrpc::decode_batch(frame, max_depth) {
                Ok(messages) => Self::Batch(messages),
                Err(error) => Self::Malformed(error),
            },
            Err(error) => Self::Malformed(error),
        }
    }
}

/// Which session a message belongs to, as its transport knows it.
#[derive(Debug, Clone)]
pub enum SessionRef {
    /// None named (HTTP without `Mcp-Session-Id`, stdio before
    /// `initialize`).
    Absent,
    /// Named by its id, with the revision the client says it speaks, as
    /// sent (HTTP's `Mcp-Session-Id` and `MCP-Protocol-Version`).
    Named {
        /// The session id.
        id: String,
        /// The protocol version the request names, if any.
        protocol_version: Option<String>,
    },
    /// The connection's own session (stdio).
    Held(Arc<Session>),
}

/// How a transport tells a 2026-07-28 message (no session, an envelope in
/// `params._meta`) from a session's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The transport already knows: 2026-07-28 (HTTP, by its headers).
    Stateless,
    /// The transport already knows: a handshake revision's session.
    Session,
    /// Each request says, by carrying an envelope or not (stdio).
    PerMessage,
}

/// Whether each `tools/call` takes a place under `max_calls_in_flight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Each call waits for its place, or is shed (HTTP).
    Capped,
    /// Calls take no place (stdio, whose one client is the operator's).
    Uncapped,
}

/// A W3C trace context a request continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The `traceparent` value, checked well formed.
    pub traceparent: String,
    /// The `tracestate` value, if sent.
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// The context of a `traceparent` (`version-traceid-parentid-flags`)
    /// and `tracestate`; `None` unless the `traceparent` is well formed.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        trace_id_of(traceparent)?;
        Some(Self {
            traceparent: traceparent.trim().to_owned(),
            tracestate: tracestate.map(str::to_owned),
        })
    }

    /// The trace id, so a call's log lines can be found from the caller's
    /// trace.
    pub fn trace_id(&self) -> &str {
        trace_id_of(&self.traceparent).unwrap_or_default()
    }
}

/// The trace id of a well-formed `traceparent`.
fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let all_zero = |text: &str| text.bytes().all(|b| b == b'0');
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && !all_zero(trace)
        && hex(parent, 16)
        && !all_zero(parent)
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then_some(trace)
}

/// A check of a 2026-07-28 request against what its transport carries
/// beside the body (HTTP's routing headers): -32020 when they disagree.
/// It gets the envelope, the method, the params and, for a `tools/call`,
/// the tool the caller may use by the name it gives.
pub type RoutingCheck<'a> = &'a (
        dyn Fn(&Envelope, &str, Option<&Map<String, Value>>, Option<&Tool>) -> Result<(), McpError>
            + Sync
    );

/// Everything about a message that is not the message: who sent it, over
/// what, in which session, and how it is to be run.
pub struct RequestContext<'a> {
    /// The authenticated caller.
    pub caller: Arc<Caller>,
    /// The transport it came over.
    pub transport: Transport,
    /// The session it names or belongs to.
    pub session: SessionRef,
    /// How to tell a 2026-07-28 message.
    pub framing: Framing,
    /// Whether calls take a place under the cap.
    pub admission: Admission,
    /// The trace the request continues, if the client sent one.
    pub trace: Option<TraceContext>,
    /// The transport's own check of a 2026-07-28 request.
    pub routing: Option<RoutingCheck<'a>>,
    /// Where this connection's 2026-07-28 requests are listed while they
    /// run, so `notifications/cancelled` can reach them (stdio).
    pub in_flight: Option<&'a Arc<InFlight>>,
}

impl<'a> RequestContext<'a> {
    /// A context for `caller` over `transport`, in `session`, with no trace,
    /// no routing check and no in-flight list.
    pub fn new(
        caller: Arc<Caller>,
        transport: Transport,
        session: SessionRef,
        framing: Framing,
        admission: Admission,
    ) -> Self {
        Self {
            caller,
            transport,
            session,
            framing,
            admission,
            trace: None,
            routing: None,
            in_flight: None,
        }
    }
}

/// The 2026-07-28 requests running on one connection, each with the state
/// its envelope declared, by request id (its JSON text).
#[derive(Debug, Default)]
pub struct InFlight(Mutex<HashMap<String, Arc<Session>>>);

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        // Every update is one insert or remove: a poisoned map is whole.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lists the request `id` until the returned guard drops.
    pub(super) fn list(self: &Arc<Self>, id: &RequestId, session: &Arc<Session>) -> Listed {
        let key = id.to_value().to_string();
        self.lock().insert(key.clone(), Arc::clone(session));
        Listed {
            in_flight: Arc::clone(self),
            key,
        }
    }

    /// The state of the request `id` names (JSON), if it runs.
    pub(super) fn find(&self, id: &Value) -> Option<Arc<Session>> {
        self.lock().get(&id.to_string()).cloned()
    }
}

/// A request's place in its connection's [`InFlight`] list.
pub(super) struct Listed {
    in_flight: Arc<InFlight>,
    key: String,
}

impl Drop for Listed {
    fn drop(&mut self) {
        self.in_flight.lock().remove(&self.key);
    }
}

/// A JSON-RPC answer: a response (or a batch's array of them), and the
/// error it carries when that error refuses the request as a whole, which
/// a transport with a status of its own (HTTP) shows there too.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The message to send.
    pub message: Value,
    /// The refusal, for the transport's status; `None`: the message says
    /// all (a result, or an error a handshake session answers in the body).
    pub refusal: Option<McpError>,
}

impl Answer {
    /// A result for request `id`.
    pub fn result(id: &RequestId, result: Value) -> Self {
        Self {
            message: jsonrpc::result(id, result),
            refusal: None,
        }
    }

    /// `error`, answered to request `id` in the message only.
    pub fn error(id: Option<&RequestId>, error: &McpError) -> Self {
        Self {
            message: error.to_message(id),
            refusal: None,
        }
    }

    /// `error` refusing request `id` (`null`: the message as a whole).
    pub fn refusal(id: Option<&RequestId>, error: McpError) -> Self {
        Self {
            message: error.to_message(id),
            refusal: Some(error),
        }
    }

    /// A batch's answers.
    pub fn batch(answers: Vec<Value>) -> Self {
        Self {
            message: Value::Array(answers),
            refusal: None,
        }
    }
}

/// The answer of a request still running.
pub type PendingAnswer = Pin<Box<dyn Future<Output = Option<Answer>> + Send>>;

/// A request that runs on after [`super::McpServer::handle`] returns: its
/// answer (`None`: none is sent, for a call the client cancelled), and the
/// notifications it sends meanwhile.
pub struct Running {
    /// The session, or the request's own state in 2026-07-28.
    pub session: Arc<Session>,
    /// What it reports while it runs; `None` for a request that reports
    /// nothing.
    pub notifications: Option<Notifications>,
    /// Resolves to its answer. Dropping it cancels the request.
    pub answer: PendingAnswer,
}

/// What the server makes of a message.
pub enum Reply {
    /// Nothing goes back (a notification, a response, a batch of those).
    Nothing,
    /// An answer known at once.
    Answer(Answer),
    /// `initialize` opened a session.
    Opened {
        /// The `initialize` result.
        answer: Answer,
        /// The new session's id, for the client.
        session_id: String,
        /// The new session.
        session: Arc<Session>,
    },
    /// A request running.
    Running(Running),
    /// `subscriptions/listen` opened a stream of notifications.
    Subscription(super::subscription::Subscription),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nothing => f.write_str("Nothing"),
            Self::Answer(answer) => f.debug_tuple("Answer").field(answer).finish(),
            Self::Opened { answer, .. } => f.debug_tuple("Opened").field(answer).finish(),
            Self::Running(_) => f.write_str("Running"),
            Self::Subscription(_) => f.write_str("Subscription"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_come_only_from_well_formed_traceparents() {
        let trace = |value: &str| TraceContext::parse(value, None);
        assert_eq!(
            trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
                .as_ref()
                .map(TraceContext::trace_id),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f35-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(trace(bad), None, "{bad}");
        }
    }
}

//! `GET /mcp`: a session's server-to-client event stream (handshake
//! revisions). It carries `notifications/tools/list_changed` when a reload
//! changes the tool listing, and a comment every [`KEEPALIVE_INTERVAL`] so
//! proxies keep it open and a vanished client is noticed.
//!
//! One stream per session and process: a second `GET` while one is open is
//! refused with 409. The stream ends when the session ends (DELETE or
//! expiry), when the client goes away, or when a drain begins, so it never
//! holds a shutdown open; clients reconnect, to another replica if need be.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderMap;
use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::Gateway;
use super::mcp_endpoint::{accepts_sse, session_of};
use super::response::{self, Body};
use crate::auth::Caller;
use crate::mcp::jsonrpc::code;
use crate::mcp::session::{Session, StreamState};

/// How often an idle stream sends a comment. Each one also counts as use
/// of the session, so a session with an open stream does not idle out.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// The reconnection delay suggested to 2025-11-25 clients.
const RETRY_AFTER_MS: u64 = 1000;

/// Events queued for a client that is not reading; past that the client is
/// taken as gone and its stream closed.
const QUEUED_EVENTS: usize = 32;

/// Answers `GET /mcp`: opens the session's event stream or says why not.
pub fn open(gateway: &Arc<Gateway>, headers: &HeaderMap, caller: &Caller) -> Response<Body> {
    if !accepts_sse(headers) {
        return response::rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "GET opens an event stream: the Accept header must allow text/event-stream",
        );
    }
    let (id, session) = match session_of(gateway, headers, caller) {
        Ok(found) => found,
        Err(refusal) => return *refusal,
    };
    if gateway.mcp.lifecycle().is_draining() {
        return response::rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            code::INVALID_REQUEST,
            "the server is shutting down; open the stream on another replica",
        );
    }
    if !session.stream.claim() {
        return response::rpc_error(
            StatusCode::CONFLICT,
            code::INVALID_REQUEST,
            "this session already has an open event stream",
        );
    }
    let (sender, receiver) = mpsc::channel(QUEUED_EVENTS);
    tracing::debug!(session = %session.log_tag, "event stream opened");
    tokio::spawn(feed(Arc::clone(gateway), id, session, sender));
    response::event_stream(receiver)
}

/// Gives the session's stream back when the feeding task ends, however it
/// ends.
struct Release(Arc<StreamState>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Writes the session's events into `events` until the stream should end.
async fn feed(
    gateway: Arc<Gateway>,
    id: String,
    session: Arc<Session>,
    events: mpsc::Sender<Bytes>,
) {
    let _release = Release(Arc::clone(&session.stream));
    let mut tools_changed = gateway.mcp.subscribe_tools_changed();
    let drain_begun = gateway.mcp.lifecycle().drain_begun();
    let session_ended = session.stream.ended();
    let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: it primes the stream instead.
    keepalive.tick().await;
    let mut next = if session.revision.primes_event_streams() {
        Some(priming_event(session.stream.next_event_id()))
    } else {
        None
    };
    let reason = loop {
        if let Some(chunk) = next.take() {
            match events.try_send(chunk) {
                Ok(()) => {}
                Err(TrySendError::Closed(_)) => break "the client closed it",
                Err(TrySendError::Full(_)) => break "the client stopped reading",
            }
        }
        next = tokio::select! {
            () = drain_begun.cancelled() => break "the server is draining",
            () = session_ended.cancelled() => break "the session ended",
            () = events.closed() => break "the client closed it",
            changed = tools_changed.recv() => match changed {
                // A lagged receiver missed changes; one notification covers them.
                Ok(()) | Err(RecvError::Lagged(_)) => {
                    Some(message_event(session.stream.next_event_id(), &json!({
                        "jsonrpc": "2.0",
                        "method": "notifications/tools/list_changed",
                    })))
                }
                Err(RecvError::Closed) => break "the server stopped",
            },
            _ = keepalive.tick() => {
                if gateway.mcp.sessions().touch(&id).is_err() {
                    break "the session ended";
                }
                Some(Bytes::from_static(b": keep-alive\n\n"))
            }
        };
    };
    tracing::debug!(session = %session.log_tag, reason, "event stream closed");
}

/// An event with an id and no data, and the delay a client should wait
/// before reconnecting.
pub(super) fn priming_event(id: u64) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {RETRY_AFTER_MS}\ndata:\n\n"))
}

/// One JSON-RPC message as an event. `serde_json` escapes newlines inside
/// strings, so the message is always one `data:` line.
pub(super) fn message_event(id: u64, message: &serde_json::Value) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: message\ndata: {message}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_well_formed_sse() {
        assert_eq!(&priming_event(0)[..], b"id: 0\nretry: 1000\ndata:\n\n");
        let event = message_event(7, &json!({"text": "two\nlines"}));
        assert_eq!(
            &event[..],
            b"id: 7\nevent: message\ndata: {\"text\":\"two\\nlines\"}\n\n"
        );
    }
}

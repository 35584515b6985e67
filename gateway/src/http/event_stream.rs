//! `GET /mcp`: a session's server-to-client event stream (handshake
//! revisions). It carries `notifications/tools/list_changed` when a reload
//! changes the tool listing, and a comment every [`KEEPALIVE_INTERVAL`] so
//! proxies keep it open and a vanished client is noticed.
//!
//! One stream per session and process: a second `GET` while one is open is
//! refused with 409. The stream ends when the session ends (DELETE or
//! expiry), when the client goes away, or when a drain begins, so it never
//! holds a shutdown open; clients reconnect, to another replica if need be.
//!
//! A `GET` with `Last-Event-ID` resumes a broken stream from the session's
//! replay log instead: a request's stream gets the events it missed, then
//! the rest until its response; the `GET` stream gets what it missed and
//! goes on, replacing the feed of the broken connection. A `GET` stream
//! that cannot be replayed (another replica's, or past the log's bounds)
//! starts afresh with `notifications/tools/list_changed`, since a change
//! may have been missed; a request's stream that cannot be replayed is
//! refused with 409, as its response cannot be delivered.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::HeaderMap;
use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::mcp_endpoint::{accepts_sse, session_of};
use super::response::{self, Body};
use crate::app::Gateway;
use crate::auth::Caller;
use crate::mcp::server::LocalState;

use super::replay::{EventId, StreamKind};
use super::sse::{message_event, priming_event};
use super::stream_state::{FeedClaim, StreamState};
use super::unsent::{EventSender, NotQueued, Unsent, event_channel};
use crate::mcp::session::Session;

/// The header a reconnecting client names its last event with.
const LAST_EVENT_ID: &str = "last-event-id";

/// How often an idle stream sends a comment. Each one also counts as use
/// of the session, so a session with an open stream does not idle out.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// Events queued for a client that is not reading; past that the client is
/// taken as gone and its stream closed.
const QUEUED_EVENTS: usize = 32;

/// Answers `GET /mcp`: opens the session's event stream, on the connection
/// `unsent` counts for, or says why not.
pub fn open(
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    caller: &Caller,
    unsent: &Arc<Unsent>,
) -> Response<Body> {
    if !accepts_sse(headers) {
        return response::http_refusal(
            StatusCode::NOT_ACCEPTABLE,
            "GET opens an event stream: the Accept header must allow text/event-stream",
        );
    }
    let (id, session) = match session_of(gateway, headers, caller, LocalState::Needed) {
        Ok(found) => found,
        Err(refusal) => return *refusal,
    };
    if gateway.mcp.lifecycle().is_draining() {
        return response::http_refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down; open the stream on another replica",
        );
    }
    if let Some(last) = headers.get(LAST_EVENT_ID) {
        let last = last.to_str().ok().and_then(EventId::parse).ok_or(());
        return match last {
            Ok(last) => resume(gateway, (id, session), last, unsent),
            Err(()) => response::http_refusal(
                StatusCode::BAD_REQUEST,
                "Last-Event-ID is not an event id this server issued",
            ),
        };
    }
    let streams = StreamState::of(&session, gateway);
    let Some(claim) = streams.claim() else {
        return response::http_refusal(
            StatusCode::CONFLICT,
            "this session already has an open event stream",
        );
    };
    let (sender, receiver) = event_channel(QUEUED_EVENTS, unsent);
    tracing::debug!(session = %session.log_tag, "event stream opened");
    let fed = Fed {
        session,
        streams,
        claim,
    };
    tokio::spawn(feed(Arc::clone(gateway), id, fed, sender, false));
    response::event_stream(receiver)
}

/// A session's `GET` stream, with the right to feed it.
struct Fed {
    session: Arc<Session>,
    streams: Arc<StreamState>,
    claim: FeedClaim,
}

/// Answers a `GET` with `Last-Event-ID`: the rest of the stream it names.
fn resume(
    gateway: &Arc<Gateway>,
    (id, session): (String, Arc<Session>),
    last: EventId,
    unsent: &Arc<Unsent>,
) -> Response<Body> {
    let streams = StreamState::of(&session, gateway);
    let resumed = streams.replay().resume(last, unsent);
    match (resumed, last.kind) {
        (Ok(resumed), _) => {
            tracing::debug!(session = %session.log_tag, %last, "event stream resumed");
            if let Some(sender) = resumed.feed {
                let claim = streams.take_over();
                let fed = Fed {
                    session,
                    streams,
                    claim,
                };
                tokio::spawn(feed(Arc::clone(gateway), id, fed, sender, false));
            }
            response::event_stream(resumed.events)
        }
        (Err(error), StreamKind::Standalone) => {
            tracing::debug!(session = %session.log_tag, %last, %error, "event stream restarted");
            let claim = streams.take_over();
            let (sender, receiver) = event_channel(QUEUED_EVENTS, unsent);
            let fed = Fed {
                session,
                streams,
                claim,
            };
            tokio::spawn(feed(Arc::clone(gateway), id, fed, sender, true));
            response::event_stream(receiver)
        }
        (Err(error), StreamKind::Request) => response::http_refusal(
            StatusCode::CONFLICT,
            &format!("cannot resume the stream: Last-Event-ID `{last}` {error}"),
        ),
    }
}

/// Gives the session's stream back when the feeding task ends, however it
/// ends.
struct Release(Arc<StreamState>, FeedClaim);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release(&self.1);
    }
}

/// Writes the session's events into `events` until the stream should end;
/// `changed_first` opens with `notifications/tools/list_changed`.
async fn feed(
    gateway: Arc<Gateway>,
    id: String,
    fed: Fed,
    events: EventSender,
    changed_first: bool,
) {
    let Fed {
        session,
        streams,
        claim,
    } = fed;
    let superseded = claim.superseded();
    let _release = Release(Arc::clone(&streams), claim);
    let stream = streams
        .replay()
        .open(StreamKind::Standalone, Some(events.clone()));
    let mut changes = gateway.mcp.subscribe_changes();
    let drain_begun = gateway.mcp.lifecycle().drain_begun();
    let session_ended = session.ended();
    let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: it primes the stream instead.
    keepalive.tick().await;
    let record = |message: Option<&serde_json::Value>| {
        streams.replay().record(stream, |event_id| match message {
            Some(message) => message_event(&event_id, message),
            None => priming_event(&event_id),
        });
    };
    let list_changed = json!({
        "jsonrpc": "2.0",
        "method": "notifications/tools/list_changed",
    });
    if session.revision.primes_event_streams() {
        record(None);
    }
    if changed_first {
        record(Some(&list_changed));
    }
    let reason = loop {
        if !streams.replay().is_connected(stream) {
            break "the client closed it or stopped reading";
        }
        tokio::select! {
            () = drain_begun.cancelled() => break "the server is draining",
            () = session_ended.cancelled() => break "the session ended",
            () = superseded.cancelled() => break "a resumed stream took over",
            () = events.closed() => break "the client closed it",
            changed = changes.recv() => match changed {
                Ok(change) => {
                    for message in session.change_messages(&change) {
                        record(Some(&message));
                    }
                }
                // A lagged receiver missed changes; the tool listing is the
                // one every client acts on.
                Err(RecvError::Lagged(_)) => record(Some(&list_changed)),
                Err(RecvError::Closed) => break "the server stopped",
            },
            _ = keepalive.tick() => {
                if gateway.mcp.sessions().touch(&id).is_err() {
                    break "the session ended";
                }
                // A comment, not an event: nothing to replay.
                match events.try_send(Bytes::from_static(b": keep-alive\n\n")) {
                    Ok(()) => {}
                    Err(NotQueued::Closed) => break "the client closed it",
                    Err(NotQueued::Full) => break "the client stopped reading",
                }
            }
        }
    };
    streams.replay().finish(stream);
    tracing::debug!(session = %session.log_tag, reason, "event stream closed");
}

//! The answer to a `POST` whose request produces notifications while it
//! runs (a `tools/call` whose tool logs or reports progress): an SSE
//! stream carrying them, in order, before the response. A request that
//! produces none is answered with plain JSON, so clients that never asked
//! for progress or logs see the simplest form.
//!
//! The choice is made by whichever comes first: the request finishing (JSON,
//! or one SSE body of what was queued and the response) or its first
//! notification (a stream fed as the tool runs).
//!
//! Every event goes through the session's replay log, so a client whose
//! connection breaks can resume the stream (`GET` with `Last-Event-ID`).
//! While streams are resumable a broken connection is not a cancellation
//! (MCP asks clients to cancel explicitly): the call runs on and its events
//! wait in the log. With resumption turned off, a client closing the stream
//! cancels the call, as closing a JSON request does.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use hyper::Response;
use serde_json::Value;

use super::replay::StreamKind;
use super::response::{self, Body};
use super::sse::{message_event, priming_event};
use super::stream_state::StreamState;
use super::unsent::{EventSender, Unsent, event_channel};
use crate::mcp::notify::{Notifications, QUEUED_NOTIFICATIONS};
use crate::mcp::server::PendingAnswer;
use crate::mcp::session::Session;

/// Where a request's stream goes: the connection's count of what it has
/// not read, and how long a client that reads nothing is waited for before
/// its stream is let go. Until then the stream waits for it (what the tool
/// reports meanwhile is bounded by the request's notification queue);
/// after it the events stay in the replay log for a resumption.
pub struct Connection<'a> {
    /// The connection's count.
    pub unsent: &'a Arc<Unsent>,
    /// `http.send_timeout_ms`.
    pub send_timeout: Duration,
}

/// Answers with the answer `request` resolves to (`None` for a call the
/// client cancelled: the stream then ends without one) and the
/// notifications `notifications` receives meanwhile. A plain JSON answer
/// gets the status of the error refusing the request, if any.
pub async fn answer(
    session: &Session,
    streams: Arc<StreamState>,
    (request, mut notifications): (PendingAnswer, Notifications),
    to: Connection<'_>,
) -> Response<Body> {
    let mut request = request;
    let first = tokio::select! {
        biased;
        reply = &mut request => {
            let queued = drain(&mut notifications);
            if let (true, Some(reply)) = (queued.is_empty(), &reply) {
                return response::answer(reply);
            }
            // One body: the connection counts it whole, and the log keeps
            // each event for a resumption.
            let writer = StreamWriter::open(session, streams, None);
            let mut body = BytesMut::new();
            if let Some(priming) = writer.prime() {
                body.extend_from_slice(&priming);
            }
            for message in queued.iter().chain(reply.as_ref().map(|reply| &reply.message)) {
                body.extend_from_slice(&writer.send(message));
            }
            return response::whole_event_stream(body.freeze());
        }
        Some(first) = notifications.recv() => first,
    };
    let (events, body) = event_channel(QUEUED_NOTIFICATIONS, to.unsent);
    let send_timeout = to.send_timeout;
    // Without resumption, the connection's end is the call's end.
    let connection = (!streams.replay().resumable()).then(|| events.clone());
    let writer = StreamWriter::open(session, streams, Some(events.clone()));
    tokio::spawn(async move {
        writer.prime();
        writer.send(&first);
        let client_gone = async {
            match &connection {
                Some(connection) => connection.closed().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(client_gone);
        // A notification waiting for room on the connection: the call runs
        // on meanwhile, and its newer notifications wait in their queue.
        let mut next = None;
        let mut held = HeldBack::default();
        let reply = loop {
            if writer.is_connected() {
                // A client that resumed gets what was held back at once.
                for message in held.take() {
                    writer.send(&message);
                }
            }
            tokio::select! {
                biased;
                reply = &mut request => break reply,
                // Dropping the request cancels the call.
                () = &mut client_gone => return,
                () = room(&writer, &events), if next.is_some() => {
                    // The writer is the only sender to this stream while
                    // the request runs; another stream of the connection
                    // may take the room first, and then this one is let go.
                    if let Some(notification) = next.take() {
                        writer.send(&notification);
                    }
                }
                Some(notification) = notifications.recv(), if next.is_none() => {
                    if writer.is_connected() {
                        next = Some(notification);
                    } else {
                        held.keep(notification);
                    }
                }
            }
        };
        let mut rest: Vec<Value> = next.into_iter().collect();
        let queued = drain(&mut notifications);
        if writer.is_connected() {
            rest.extend(held.take());
            rest.extend(queued);
        } else {
            for notification in queued {
                held.keep(notification);
            }
            rest.extend(held.take());
        }
        rest.extend(reply.map(|answer| answer.message));
        for message in rest {
            // A client that reads gets every event; one that has stopped
            // reading is let go after the send timeout, and the response
            // waits in the replay log.
            let _ = tokio::time::timeout(send_timeout, room(&writer, &events)).await;
            writer.send(&message);
        }
    });
    response::event_stream(body)
}

/// Waits for room on the stream's connection, unless the stream has been
/// let go: then its events go to the replay log only, and need none.
async fn room(writer: &StreamWriter, events: &EventSender) {
    if writer.is_connected() {
        events.room().await;
    }
}

/// The notifications of a stream that no client reads live, until one
/// resumes it or the call ends: log messages in order, and of progress
/// only the newest report, which is what a client resuming wants to see.
#[derive(Default)]
struct HeldBack {
    messages: Vec<Value>,
    progress: Option<Value>,
}

impl HeldBack {
    fn keep(&mut self, notification: Value) {
        if notification.get("method").and_then(Value::as_str) == Some("notifications/progress") {
            self.progress = Some(notification);
        } else {
            self.messages.push(notification);
        }
    }

    /// What is held, emptied.
    fn take(&mut self) -> Vec<Value> {
        let mut held = std::mem::take(&mut self.messages);
        held.extend(self.progress.take());
        held
    }
}

/// What is already queued.
fn drain(notifications: &mut Notifications) -> Vec<Value> {
    let mut queued = Vec::new();
    while let Some(notification) = notifications.try_recv() {
        queued.push(notification);
    }
    queued
}

/// Writes one request's stream through the session's replay log; the
/// stream ends when the writer is dropped.
struct StreamWriter {
    streams: Arc<StreamState>,
    stream: u64,
    /// Whether the session's revision opens streams with a priming event.
    primes: bool,
}

impl StreamWriter {
    /// A new stream of `session` whose events go to `live`, if any.
    fn open(session: &Session, streams: Arc<StreamState>, live: Option<EventSender>) -> Self {
        let stream = streams.replay().open(StreamKind::Request, live);
        Self {
            streams,
            stream,
            primes: session.revision.primes_event_streams(),
        }
    }

    /// The priming event of revisions that resume streams (2025-11-25).
    fn prime(&self) -> Option<Bytes> {
        self.primes.then(|| {
            self.streams
                .replay()
                .record(self.stream, |id| priming_event(&id))
        })
    }

    /// Whether a client reads the stream live.
    fn is_connected(&self) -> bool {
        self.streams.replay().is_connected(self.stream)
    }

    /// Sends one message; returns its event.
    fn send(&self, message: &Value) -> Bytes {
        self.streams
            .replay()
            .record(self.stream, |id| message_event(&id, message))
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.streams.replay().finish(self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn held_back_notifications_keep_every_log_message_and_the_newest_progress() {
        let mut held = HeldBack::default();
        let progress = |value: u32| {
            json!({"jsonrpc": "2.0", "method": "notifications/progress",
                   "params": {"progressToken": "t", "progress": value}})
        };
        let log = |text: &str| {
            json!({"jsonrpc": "2.0", "method": "notifications/message",
                   "params": {"level": "info", "data": text}})
        };
        held.keep(progress(1));
        held.keep(log("a"));
        held.keep(progress(2));
        held.keep(log("b"));
        held.keep(progress(3));
        assert_eq!(held.take(), [log("a"), log("b"), progress(3)]);
        assert!(held.take().is_empty());
    }
}

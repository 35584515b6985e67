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

use bytes::Bytes;
use hyper::Response;
use serde_json::Value;
use tokio::sync::mpsc;

use super::event_stream::{message_event, priming_event};
use super::replay::StreamKind;
use super::response::{self, Body};
use super::stream_state::StreamState;
use crate::mcp::notify::{Notifications, QUEUED_NOTIFICATIONS};
use crate::mcp::server::PendingAnswer;
use crate::mcp::session::Session;

/// How long a connected client may read nothing before its stream is let
/// go. Until then the stream waits for it (what the tool reports
/// meanwhile is bounded by the request's notification queue); after it
/// the events stay in the replay log for a resumption.
const STALLED_READER: Duration = Duration::from_secs(30);

/// Answers with the answer `request` resolves to (`None` for a call the
/// client cancelled: the stream then ends without one) and the
/// notifications `notifications` receives meanwhile. A plain JSON answer
/// gets the status of the error refusing the request, if any.
pub async fn answer(
    session: &Session,
    streams: Arc<StreamState>,
    request: PendingAnswer,
    mut notifications: Notifications,
) -> Response<Body> {
    let mut request = request;
    let first = tokio::select! {
        biased;
        reply = &mut request => {
            let queued = drain(&mut notifications);
            if let (true, Some(reply)) = (queued.is_empty(), &reply) {
                return response::answer(reply);
            }
            let (events, body) = mpsc::channel(queued.len() + 2);
            let writer = StreamWriter::open(session, streams, events);
            writer.prime();
            for notification in &queued {
                writer.send(notification);
            }
            if let Some(reply) = &reply {
                writer.send(&reply.message);
            }
            return response::event_stream(body);
        }
        Some(first) = notifications.recv() => first,
    };
    let (events, body) = mpsc::channel(QUEUED_NOTIFICATIONS);
    // Without resumption, the connection's end is the call's end.
    let connection = (!streams.replay().resumable()).then(|| events.clone());
    let writer = StreamWriter::open(session, streams, events.clone());
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
        let reply = loop {
            tokio::select! {
                biased;
                reply = &mut request => break reply,
                // Dropping the request cancels the call.
                () = &mut client_gone => return,
                room = events.reserve(), if next.is_some() => {
                    // The room stays this stream's: the writer is the only
                    // sender to this connection while the request runs.
                    drop(room);
                    if let Some(notification) = next.take() {
                        writer.send(&notification);
                    }
                }
                Some(notification) = notifications.recv(), if next.is_none() => {
                    next = Some(notification);
                }
            }
        };
        let rest = next
            .into_iter()
            .chain(drain(&mut notifications))
            .chain(reply.map(|answer| answer.message));
        for message in rest {
            // A client that reads gets every event; one that has stopped
            // reading is let go after a while, and the response waits in
            // the replay log.
            let _ = tokio::time::timeout(STALLED_READER, events.reserve()).await;
            writer.send(&message);
        }
    });
    response::event_stream(body)
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
    /// A new stream of `session` whose events go to `live`.
    fn open(session: &Session, streams: Arc<StreamState>, live: mpsc::Sender<Bytes>) -> Self {
        let stream = streams.replay().open(StreamKind::Request, Some(live));
        Self {
            streams,
            stream,
            primes: session.revision.primes_event_streams(),
        }
    }

    /// The priming event of revisions that resume streams (2025-11-25).
    fn prime(&self) {
        if self.primes {
            self.streams
                .replay()
                .record(self.stream, |id| priming_event(&id));
        }
    }

    /// Sends one message.
    fn send(&self, message: &Value) {
        self.streams
            .replay()
            .record(self.stream, |id| message_event(&id, message));
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.streams.replay().finish(self.stream);
    }
}

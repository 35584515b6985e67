//! The answer to a `POST` whose request produces notifications while it
//! runs (a `tools/call` whose tool logs or reports progress): an SSE
//! stream carrying them, in order, before the response. A request that
//! produces none is answered with plain JSON, so clients that never asked
//! for progress or logs see the simplest form.
//!
//! The choice is made by whichever comes first: the request finishing (JSON,
//! or one SSE body of what was queued and the response) or its first
//! notification (a stream fed as the tool runs). A client that closes the
//! stream cancels the call, as closing a JSON request does.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::event_stream::{message_event, priming_event};
use super::response::{self, Body};
use crate::mcp::notify::QUEUED_NOTIFICATIONS;
use crate::mcp::session::Session;

/// Answers with the JSON-RPC response `request` resolves to (`None` for a
/// call the client cancelled: the stream then ends without one) and the
/// notifications `notifications` receives meanwhile.
pub async fn answer<F>(
    session: Arc<Session>,
    request: F,
    mut notifications: mpsc::Receiver<Value>,
) -> Response<Body>
where
    F: Future<Output = Option<Value>> + Send + 'static,
{
    let mut request = Box::pin(request);
    let first = tokio::select! {
        biased;
        reply = &mut request => {
            let queued = drain(&mut notifications);
            if let (true, Some(reply)) = (queued.is_empty(), &reply) {
                return response::json(StatusCode::OK, reply);
            }
            let (events, body) = mpsc::channel(queued.len() + 2);
            let mut writer = EventWriter { session, events };
            writer.prime().await;
            for notification in &queued {
                writer.send(notification).await;
            }
            if let Some(reply) = &reply {
                writer.send(reply).await;
            }
            return response::event_stream(body);
        }
        Some(first) = notifications.recv() => first,
    };
    let (events, body) = mpsc::channel(QUEUED_NOTIFICATIONS);
    let mut writer = EventWriter { session, events };
    tokio::spawn(async move {
        writer.prime().await;
        if !writer.send(&first).await {
            return;
        }
        let reply = loop {
            tokio::select! {
                biased;
                reply = &mut request => break reply,
                Some(notification) = notifications.recv() => {
                    if !writer.send(&notification).await {
                        // The client is gone: dropping the request cancels it.
                        return;
                    }
                }
                () = writer.events.closed() => return,
            }
        };
        for notification in drain(&mut notifications) {
            writer.send(&notification).await;
        }
        if let Some(reply) = &reply {
            writer.send(reply).await;
        }
    });
    response::event_stream(body)
}

/// What is already queued.
fn drain(notifications: &mut mpsc::Receiver<Value>) -> Vec<Value> {
    let mut queued = Vec::new();
    while let Ok(notification) = notifications.try_recv() {
        queued.push(notification);
    }
    queued
}

/// Writes events with ids unique in the session.
struct EventWriter {
    session: Arc<Session>,
    events: mpsc::Sender<Bytes>,
}

impl EventWriter {
    /// The priming event of revisions that resume streams (2025-11-25).
    async fn prime(&mut self) {
        if self.session.revision.primes_event_streams() {
            let id = self.session.stream.next_event_id();
            let _ = self.events.send(priming_event(id)).await;
        }
    }

    /// Sends one message; false once the client is gone.
    async fn send(&mut self, message: &Value) -> bool {
        let id = self.session.stream.next_event_id();
        self.events.send(message_event(id, message)).await.is_ok()
    }
}

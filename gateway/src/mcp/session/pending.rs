//! Requests the server sent a session's client (a tool's `sample` or
//! `elicit`) that wait for the client's response, by JSON-RPC id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::oneshot;

use crate::mcp::jsonrpc::RequestId;

/// What the client answered: its `result`, or its `error` object.
pub type ClientAnswer = Result<Value, Value>;

/// The server-to-client requests of one session still waiting for answers.
#[derive(Debug, Default)]
pub struct PendingRequests {
    next: AtomicU64,
    waiting: Mutex<HashMap<String, oneshot::Sender<ClientAnswer>>>,
}

/// One request waiting for its answer; forgotten when dropped, so a call
/// that ends (or is cancelled) leaves nothing behind.
#[derive(Debug)]
pub struct Waiting {
    /// The request's id, for the message sent to the client.
    pub id: RequestId,
    key: String,
    answer: oneshot::Receiver<ClientAnswer>,
    pending: Arc<PendingRequests>,
}

impl Waiting {
    /// The client's answer; `None` if the session's state went away first.
    pub async fn answer(&mut self) -> Option<ClientAnswer> {
        (&mut self.answer).await.ok()
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.key);
    }
}

impl PendingRequests {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, oneshot::Sender<ClientAnswer>>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A new request id, waiting for its answer. Ids are unique within the
    /// session in this process and never numbers, so they cannot collide
    /// with anything a client counts.
    pub fn register(self: &Arc<Self>) -> Waiting {
        let sequence = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let id = RequestId::String(format!("warden-{sequence}"));
        let key = id.to_value().to_string();
        let (sender, answer) = oneshot::channel();
        self.lock().insert(key.clone(), sender);
        Waiting {
            id,
            key,
            answer,
            pending: Arc::clone(self),
        }
    }

    /// Hands the client's response to the request it answers; false when
    /// no request of this session waits under `id` (answered already, given
    /// up, or never sent).
    pub fn answer(&self, id: &RequestId, answer: ClientAnswer) -> bool {
        let Some(sender) = self.lock().remove(&id.to_value().to_string()) else {
            return false;
        };
        sender.send(answer).is_ok()
    }

    /// Requests still waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn an_answer_reaches_its_request_once() {
        let pending = Arc::new(PendingRequests::default());
        let mut first = pending.register();
        let second = pending.register();
        assert_ne!(first.id, second.id);
        assert!(pending.answer(&first.id, Ok(json!({"action": "accept"}))));
        assert!(
            !pending.answer(&first.id, Ok(json!({}))),
            "answered already"
        );
        assert_eq!(first.answer().await, Some(Ok(json!({"action": "accept"}))));
        drop(second);
        assert!(pending.is_empty(), "a dropped request is forgotten");
        assert!(!pending.answer(&RequestId::String("warden-9".into()), Ok(json!({}))));
    }
}

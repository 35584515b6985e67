//! Sessions of the handshake revisions: issued on `initialize`, looked up on
//! every later request, ended by `DELETE` or by idling too long.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::revision::Revision;

/// What the server remembers about one session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The negotiated revision.
    pub revision: Revision,
    /// The client's declared capabilities.
    pub client_capabilities: Value,
    /// The client's `clientInfo`.
    pub client_info: Value,
    /// A short random name for the session in logs. The id itself is a
    /// bearer secret and is never logged.
    pub log_tag: String,
    /// The session's server-to-client stream, shared by every copy.
    pub stream: Arc<StreamState>,
    last_seen: Instant,
}

/// The state of a session's `GET` event stream in this process.
#[derive(Debug, Default)]
pub struct StreamState {
    open: AtomicBool,
    next_event_id: AtomicU64,
    ended: CancellationToken,
}

impl StreamState {
    /// Claims the session's one stream; false when one is already open.
    pub fn claim(&self) -> bool {
        !self.open.swap(true, Ordering::SeqCst)
    }

    /// Gives the stream back once it has closed.
    pub fn release(&self) {
        self.open.store(false, Ordering::SeqCst);
    }

    /// The next event id, unique within the session.
    pub fn next_event_id(&self) -> u64 {
        self.next_event_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Cancelled when the session ends (DELETE, expiry).
    pub fn ended(&self) -> CancellationToken {
        self.ended.clone()
    }
}

/// Why a session could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The live-session cap is reached.
    #[error("too many live sessions (limit {0}); retry later")]
    TooMany(usize),
    /// The OS random source failed.
    #[error("cannot generate a session id: {0}")]
    Random(String),
}

/// Live sessions of this process.
pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    idle_timeout: Duration,
    max_sessions: usize,
}

/// Bytes of randomness in a session id (256 bits).
const SESSION_ID_BYTES: usize = 32;

/// Bytes of a session's log tag, unrelated to its id.
const LOG_TAG_BYTES: usize = 4;

impl SessionStore {
    /// An empty store.
    pub fn new(idle_timeout: Duration, max_sessions: usize) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            idle_timeout,
            max_sessions,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Every update leaves the map consistent, so a poisoned lock is safe to reuse.
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a session and returns its id: 256 random bits, base64url,
    /// which is visible ASCII as the transport requires.
    pub fn create(
        &self,
        revision: Revision,
        client_capabilities: Value,
        client_info: Value,
    ) -> Result<String, SessionError> {
        let mut bytes = [0u8; SESSION_ID_BYTES + LOG_TAG_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| SessionError::Random(error.to_string()))?;
        let (secret, tag) = bytes.split_at(SESSION_ID_BYTES);
        let id = URL_SAFE_NO_PAD.encode(secret);
        let log_tag = tag.iter().map(|byte| format!("{byte:02x}")).collect();
        let now = Instant::now();
        let mut sessions = self.lock();
        if sessions.len() >= self.max_sessions {
            let idle_timeout = self.idle_timeout;
            sessions.retain(|_, session| keep_unless_idle(session, now, idle_timeout));
            if sessions.len() >= self.max_sessions {
                return Err(SessionError::TooMany(self.max_sessions));
            }
        }
        sessions.insert(
            id.clone(),
            Session {
                revision,
                client_capabilities,
                client_info,
                log_tag,
                stream: Arc::default(),
                last_seen: now,
            },
        );
        Ok(id)
    }

    /// The live session `id`, touched as used now; `None` if unknown, ended
    /// or idle past the timeout (an idle one is removed).
    pub fn touch(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut sessions = self.lock();
        let session = sessions.get_mut(id)?;
        if now.duration_since(session.last_seen) >= self.idle_timeout {
            if let Some(expired) = sessions.remove(id) {
                expired.stream.ended.cancel();
            }
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends session `id`; false if it was not live.
    pub fn end(&self, id: &str) -> bool {
        match self.lock().remove(id) {
            Some(ended) => {
                ended.stream.ended.cancel();
                true
            }
            None => false,
        }
    }

    /// Removes sessions idle past the timeout; returns how many remain.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut sessions = self.lock();
        sessions.retain(|_, session| keep_unless_idle(session, now, self.idle_timeout));
        sessions.len()
    }

    /// Live sessions now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `session` is still live at `now`; one idle too long is told
/// that it ended.
fn keep_unless_idle(session: &Session, now: Instant, idle_timeout: Duration) -> bool {
    let live = now.duration_since(session.last_seen) < idle_timeout;
    if !live {
        session.stream.ended.cancel();
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_visible_ascii_and_end_once() {
        let store = SessionStore::new(Duration::from_secs(60), 10);
        let a = store
            .create(Revision::LATEST, Value::Null, Value::Null)
            .expect("create");
        let b = store
            .create(Revision::LATEST, Value::Null, Value::Null)
            .expect("create");
        assert_ne!(a, b);
        assert!(a.bytes().all(|byte| (0x21..=0x7e).contains(&byte)));
        assert!(store.touch(&a).is_some());
        assert!(store.end(&a));
        assert!(!store.end(&a));
        assert!(store.touch(&a).is_none());
        assert!(store.touch("unknown").is_none());
    }

    #[test]
    fn caps_live_sessions_and_expires_idle_ones() {
        let store = SessionStore::new(Duration::from_secs(60), 1);
        store
            .create(Revision::LATEST, Value::Null, Value::Null)
            .expect("first");
        let second = store.create(Revision::LATEST, Value::Null, Value::Null);
        assert_eq!(second, Err(SessionError::TooMany(1)));

        let expiring = SessionStore::new(Duration::ZERO, 1);
        let id = expiring
            .create(Revision::LATEST, Value::Null, Value::Null)
            .expect("create");
        assert!(expiring.touch(&id).is_none());
    }
}

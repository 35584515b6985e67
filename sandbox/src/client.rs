//! Requests a running tool makes of the client through the host
//! (`ask-client`), and the call clock that stops while one waits.
//!
//! The sandbox only carries them: the embedder's [`CallEvents`] decides how
//! a request reaches a client and what comes back. Waiting is bounded by the
//! component's `client_request_timeout_ms`, not by its `timeout_ms`, which
//! measures the tool's own running time: a person answering a form should
//! not make a tool time out.
//!
//! [`CallEvents`]: crate::CallEvents

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a tool asks of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientRequestKind {
    /// A completion from the client's model.
    Sample,
    /// Input from the user.
    Elicit,
    /// The client's roots.
    ListRoots,
}

impl ClientRequestKind {
    /// `"sample"`, `"elicit"` or `"roots"`: a short name for keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sample => "sample",
            Self::Elicit => "elicit",
            Self::ListRoots => "roots",
        }
    }
}

/// One request of a tool to its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// What is asked.
    pub kind: ClientRequestKind,
    /// The request's params, JSON text as the tool wrote it.
    pub params: String,
    /// The tool's name for the request, if it gave one.
    pub key: Option<String>,
    /// Whether the tool can do without the answer.
    pub optional: bool,
}

/// Why a request to the client has no answer; the guest sees the same
/// variant (`client-error` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientRequestError {
    /// The client cannot take this kind of request.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The request itself is unusable.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The client answered with an error.
    #[error("refused by the client: {0}")]
    Refused(String),
    /// No answer came.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// How the embedder answers a request to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientReply {
    /// The client's answer, as JSON text.
    Answered(String),
    /// No answer; the guest gets this error.
    Failed(ClientRequestError),
    /// The answer can only come with a later call (a client that re-sends
    /// the call with its answers): the call stops here and fails with
    /// [`CallError::AwaitingClient`](crate::CallError::AwaitingClient).
    Suspend,
}

/// The future of a [`ClientReply`].
pub type ClientReplyFuture = Pin<Box<dyn Future<Output = ClientReply> + Send>>;

/// Raised from `ask-client` when the embedder suspends the call;
/// recognised by the call path.
#[derive(Debug, thiserror::Error)]
#[error("the call waits for answers from the client")]
pub(crate) struct Suspended;

/// A call's wall-clock budget, with the time spent waiting for the client
/// left out.
#[derive(Debug)]
pub(crate) struct CallClock {
    started: Instant,
    limit: Duration,
    waits: Mutex<Waits>,
}

#[derive(Debug, Default)]
struct Waits {
    /// Finished waits, added up.
    total: Duration,
    /// When the wait in progress began.
    since: Option<Instant>,
}

impl CallClock {
    pub(crate) fn new(started: Instant, limit: Duration) -> Self {
        Self {
            started,
            limit,
            waits: Mutex::new(Waits::default()),
        }
    }

    fn waits(&self) -> std::sync::MutexGuard<'_, Waits> {
        self.waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// When the budget runs out, or `None` while the call waits for the
    /// client (the clock is stopped).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let waits = self.waits();
        waits
            .since
            .is_none()
            .then(|| self.started + self.limit + waits.total)
    }

    /// Stops the clock until the returned guard is dropped.
    pub(crate) fn pause(&self) -> Paused<'_> {
        self.waits().since = Some(Instant::now());
        Paused { clock: self }
    }

    /// Resolves once the budget has run out (plus `grace`), however often
    /// the clock stops and starts meanwhile.
    pub(crate) async fn expired(&self, grace: Duration) {
        loop {
            match self.deadline() {
                Some(deadline) if Instant::now() >= deadline + grace => return,
                Some(deadline) => tokio::time::sleep_until((deadline + grace).into()).await,
                // A wait has its own timeout; look again now and then.
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

/// The clock is stopped while this lives.
pub(crate) struct Paused<'a> {
    clock: &'a CallClock,
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        let mut waits = self.clock.waits();
        if let Some(since) = waits.since.take() {
            waits.total += since.elapsed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_moves_the_deadline() {
        let started = Instant::now();
        let clock = CallClock::new(started, Duration::from_millis(100));
        assert_eq!(clock.deadline(), Some(started + Duration::from_millis(100)));
        {
            let _paused = clock.pause();
            assert_eq!(clock.deadline(), None);
            std::thread::sleep(Duration::from_millis(20));
        }
        let deadline = clock.deadline().expect("running again");
        assert!(deadline >= started + Duration::from_millis(120));
    }
}

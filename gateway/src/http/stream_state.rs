//! A session's event streams in this process: who feeds the `GET` stream,
//! and the log of recent events a broken stream resumes from. The HTTP
//! transport's alone: it keeps them in the session's transport state, so
//! they go with the session's local state.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use super::replay::{ReplayBounds, ReplayLog};
use crate::app::Gateway;
use crate::limits::held_bytes::HeldBytes;
use crate::mcp::session::{Session, random_tag};

/// The state of a session's event streams in this process: the `GET`
/// stream's feed, and the log of recent events that lets a broken stream
/// resume.
#[derive(Debug)]
pub struct StreamState {
    feed: Mutex<FeedSlot>,
    replay: Mutex<ReplayLog>,
}

#[derive(Debug, Default)]
struct FeedSlot {
    generation: u64,
    open: bool,
    stop: CancellationToken,
}

/// The right to feed the session's `GET` stream, until released or taken
/// over.
#[derive(Debug)]
pub struct FeedClaim {
    generation: u64,
    stop: CancellationToken,
}

impl FeedClaim {
    /// Cancelled when a resumed stream takes the feed over.
    pub fn superseded(&self) -> CancellationToken {
        self.stop.clone()
    }
}

impl StreamState {
    /// No stream open; events kept within `bounds` and `all_logs`, their
    /// ids carrying `tag`.
    pub fn new(bounds: ReplayBounds, tag: u32, all_logs: Arc<HeldBytes>) -> Self {
        Self {
            feed: Mutex::default(),
            replay: Mutex::new(ReplayLog::new(bounds, tag, all_logs)),
        }
    }

    /// The event streams of `session` in this process, made on first use
    /// with the replay bounds of `gateway`'s settings; a 2026-07-28 request's own
    /// state keeps none, as nothing can resume its stream. The tag is new
    /// for each life of the session's local state, so event ids from
    /// another replica or an earlier life never match here.
    pub fn of(session: &Session, gateway: &Gateway) -> Arc<Self> {
        let settings = &gateway.settings;
        session.transport_state(|| {
            let bounds = if session.revision.is_stateless() {
                ReplayBounds {
                    max_events: 0,
                    max_bytes: 0,
                }
            } else {
                ReplayBounds {
                    max_events: settings.stream_replay_events,
                    max_bytes: settings.stream_replay_bytes,
                }
            };
            Self::new(bounds, random_tag(), Arc::clone(&gateway.replay_held))
        })
    }

    fn feed_slot(&self) -> MutexGuard<'_, FeedSlot> {
        self.feed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims the session's `GET` stream; `None` when one is already open.
    pub fn claim(&self) -> Option<FeedClaim> {
        let mut slot = self.feed_slot();
        (!slot.open).then(|| Self::take(&mut slot))
    }

    /// Claims the `GET` stream for a client resuming it, stopping the feed
    /// of its previous connection if that one has not noticed it is gone.
    pub fn take_over(&self) -> FeedClaim {
        let mut slot = self.feed_slot();
        slot.stop.cancel();
        Self::take(&mut slot)
    }

    fn take(slot: &mut FeedSlot) -> FeedClaim {
        slot.generation += 1;
        slot.open = true;
        slot.stop = CancellationToken::new();
        FeedClaim {
            generation: slot.generation,
            stop: slot.stop.clone(),
        }
    }

    /// Gives the stream back once its feed has ended (unless it was taken
    /// over meanwhile).
    pub fn release(&self, claim: &FeedClaim) {
        let mut slot = self.feed_slot();
        if slot.generation == claim.generation {
            slot.open = false;
        }
    }

    /// The log of the session's recent events.
    pub fn replay(&self) -> MutexGuard<'_, ReplayLog> {
        self.replay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

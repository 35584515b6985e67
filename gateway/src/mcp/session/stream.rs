//! A session's event streams in this process: who feeds the `GET` stream,
//! and the log of recent events a broken stream resumes from.

use std::sync::{Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use super::replay::{ReplayBounds, ReplayLog};

/// The state of a session's event streams in this process: the `GET`
/// stream's feed, and the log of recent events that lets a broken stream
/// resume.
#[derive(Debug)]
pub struct StreamState {
    feed: Mutex<FeedSlot>,
    pub(super) ended: CancellationToken,
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
    /// No stream open; events kept within `bounds`, their ids carrying
    /// `tag`.
    pub fn new(bounds: ReplayBounds, tag: u32) -> Self {
        Self {
            feed: Mutex::default(),
            ended: CancellationToken::new(),
            replay: Mutex::new(ReplayLog::new(bounds, tag)),
        }
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

    /// Cancelled when the session ends here (DELETE, expiry) or this process
    /// forgets it.
    pub fn ended(&self) -> CancellationToken {
        self.ended.clone()
    }
}

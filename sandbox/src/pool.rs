//! The instance pool's slots, shared by every component of a sandbox, with
//! a guaranteed share for each. A component may always take slots up to
//! its reservation (`min_pool_slots`), and takes more only while enough
//! stay free for every other component's unused reservation; so one
//! component's slow or hostile calls cannot leave another's calls `busy`.
//!
//! The invariant: free slots ≥ the sum of every component's unused
//! reservation. It holds from the start when the reservations fit in the
//! pool (the configuration refuses more), and each take and release keeps
//! it. While a reload has two catalogs' components registered at once,
//! reservations may exceed the pool for a moment; admission is then only
//! stricter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// The slots of one pool.
#[derive(Debug)]
pub(crate) struct PoolSlots {
    capacity: u32,
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug, Default)]
struct State {
    in_use: u32,
    shares: HashMap<u64, Share>,
    next_id: u64,
}

impl State {
    /// Slots kept for components and not in use by them.
    fn unused_reservations(&self) -> u32 {
        self.shares.values().map(|share| share.unused()).sum()
    }
}

#[derive(Debug, Clone, Copy)]
struct Share {
    reserved: u32,
    held: u32,
}

impl Share {
    fn unused(self) -> u32 {
        self.reserved.saturating_sub(self.held)
    }
}

impl PoolSlots {
    /// A pool of `capacity` slots.
    pub(crate) fn new(capacity: u32) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            state: Mutex::new(State::default()),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Slots taken now.
    pub(crate) fn in_use(&self) -> u32 {
        self.lock().in_use
    }

    /// A component's share, with `reserved` slots kept for it; the
    /// reservation ends when the share is dropped.
    pub(crate) fn share(self: &Arc<Self>, reserved: u32) -> PoolShare {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.shares.insert(id, Share { reserved, held: 0 });
        PoolShare {
            pool: Arc::clone(self),
            id,
        }
    }

    /// Takes a slot for share `id` if the rules allow it now.
    fn try_take(&self, id: u64) -> bool {
        let mut state = self.lock();
        let free = self.capacity.saturating_sub(state.in_use);
        let Some(share) = state.shares.get(&id).copied() else {
            return false;
        };
        let within_reservation = share.held < share.reserved;
        // Beyond its own, what stays free must cover everyone else's
        // reservations.
        let admitted = free > 0 && (within_reservation || free > state.unused_reservations());
        if admitted {
            state.in_use += 1;
            if let Some(share) = state.shares.get_mut(&id) {
                share.held += 1;
            }
        }
        admitted
    }

    fn release(&self, id: u64) {
        let mut state = self.lock();
        state.in_use = state.in_use.saturating_sub(1);
        if let Some(share) = state.shares.get_mut(&id) {
            share.held = share.held.saturating_sub(1);
        }
        drop(state);
        self.freed.notify_waiters();
    }
}

/// One component's claim on the pool.
#[derive(Debug)]
pub(crate) struct PoolShare {
    pool: Arc<PoolSlots>,
    id: u64,
}

impl PoolShare {
    /// A slot, waiting up to `wait` for one the rules allow.
    pub(crate) async fn acquire(&self, wait: Duration) -> Option<PoolSlot> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Listening before checking: a release between the check and
            // the wait still wakes it.
            let freed = self.pool.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.pool.try_take(self.id) {
                return Some(PoolSlot {
                    pool: Arc::clone(&self.pool),
                    id: self.id,
                });
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for PoolShare {
    fn drop(&mut self) {
        self.pool.lock().shares.remove(&self.id);
        // What was kept for this component is free for others now.
        self.pool.freed.notify_waiters();
    }
}

/// A slot taken; given back when dropped.
#[derive(Debug)]
pub(crate) struct PoolSlot {
    pool: Arc<PoolSlots>,
    id: u64,
}

impl Drop for PoolSlot {
    fn drop(&mut self) {
        self.pool.release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::ZERO;

    #[tokio::test]
    async fn a_greedy_share_leaves_the_others_their_reservations() {
        let pool = PoolSlots::new(4);
        let greedy = pool.share(1);
        let quiet = pool.share(1);
        let mut held = Vec::new();
        while let Some(slot) = greedy.acquire(NOW).await {
            held.push(slot);
        }
        // Four slots, one kept for `quiet`.
        assert_eq!(held.len(), 3);
        let kept = quiet.acquire(NOW).await.expect("the reserved slot");
        assert_eq!(pool.in_use(), 4);
        assert!(quiet.acquire(NOW).await.is_none(), "the pool is full");
        drop(kept);
        drop(held.pop());
        // Beyond its reservation, `quiet` may use what nobody is owed.
        let first = quiet.acquire(NOW).await.expect("reserved again");
        let second = quiet.acquire(NOW).await.expect("a shared slot");
        drop((first, second));
    }

    #[tokio::test]
    async fn a_waiting_call_gets_a_slot_as_soon_as_one_is_freed() {
        let pool = PoolSlots::new(1);
        let share = pool.share(0);
        let slot = share.acquire(NOW).await.expect("a slot");
        let waiter = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move {
                let share = pool.share(0);
                share.acquire(Duration::from_secs(30)).await.is_some()
            }
        });
        tokio::task::yield_now().await;
        drop(slot);
        assert!(waiter.await.expect("join"));
    }

    #[tokio::test]
    async fn a_dropped_share_returns_its_reservation() {
        let pool = PoolSlots::new(2);
        let gone = pool.share(2);
        let other = pool.share(0);
        assert!(other.acquire(NOW).await.is_none(), "both slots are kept");
        drop(gone);
        assert!(other.acquire(NOW).await.is_some());
    }
}

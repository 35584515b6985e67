//! Tasks kept in this process, when replicas share no store: a map bounded
//! by `tasks.max_kept` (expired tasks go first, then the oldest finished),
//! with each owner's working tasks counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::record::{Cancelled, Page, TaskError, TaskOutcome, TaskRecord, TaskStatus};

struct Kept {
    record: TaskRecord,
    expires: Instant,
    /// Creation order, for listing and eviction.
    sequence: u64,
}

#[derive(Default)]
struct State {
    tasks: HashMap<String, Kept>,
    /// Working tasks per owner.
    open: HashMap<String, u32>,
    next_sequence: u64,
}

impl State {
    fn close(&mut self, owner: &str) {
        if let Some(count) = self.open.get_mut(owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.open.remove(owner);
            }
        }
    }

    fn forget_expired(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, kept)| kept.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(kept) = self.tasks.remove(&id)
                && !kept.record.status.is_terminal()
            {
                self.close(&kept.record.owner);
            }
        }
    }
}

/// The tasks of this process.
pub struct LocalTasks {
    state: Mutex<State>,
    max_kept: usize,
}

impl LocalTasks {
    /// At most `max_kept` tasks at once.
    pub fn new(max_kept: u32) -> Self {
        Self {
            state: Mutex::default(),
            max_kept: usize::try_from(max_kept).unwrap_or(usize::MAX).max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the maps consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `record` (working) unless its owner has `max_open` working.
    pub fn create(&self, record: TaskRecord, max_open: u32) -> Result<(), TaskError> {
        let now = Instant::now();
        let mut state = self.lock();
        if state.open.get(&record.owner).copied().unwrap_or(0) >= max_open {
            return Err(TaskError::TooManyOpen(max_open));
        }
        if state.tasks.len() >= self.max_kept {
            state.forget_expired(now);
        }
        if state.tasks.len() >= self.max_kept {
            let oldest_finished = state
                .tasks
                .iter()
                .filter(|(_, kept)| kept.record.status.is_terminal())
                .min_by_key(|(_, kept)| kept.sequence)
                .map(|(id, _)| id.clone());
            match oldest_finished {
                Some(id) => {
                    state.tasks.remove(&id);
                }
                None => return Err(TaskError::Full(self.max_kept)),
            }
        }
        *state.open.entry(record.owner.clone()).or_default() += 1;
        let sequence = state.next_sequence;
        state.next_sequence += 1;
        let expires = now + Duration::from_millis(record.ttl_ms);
        state.tasks.insert(
            record.id.clone(),
            Kept {
                record,
                expires,
                sequence,
            },
        );
        Ok(())
    }

    /// The task `id` if `owner` owns it and it has not expired.
    pub fn get(&self, id: &str, owner: &str) -> Option<TaskRecord> {
        let state = self.lock();
        state
            .tasks
            .get(id)
            .filter(|kept| kept.record.owner == owner && kept.expires > Instant::now())
            .map(|kept| kept.record.clone())
    }

    /// `owner`'s tasks in creation order, `limit` after `cursor`.
    pub fn list(&self, owner: &str, cursor: Option<&str>, limit: usize) -> Result<Page, TaskError> {
        let after = match cursor {
            None => None,
            Some(cursor) => Some(cursor.parse::<u64>().map_err(|_| TaskError::BadCursor)?),
        };
        let now = Instant::now();
        let state = self.lock();
        let mut own: Vec<&Kept> = state
            .tasks
            .values()
            .filter(|kept| kept.record.owner == owner && kept.expires > now)
            .filter(|kept| after.is_none_or(|after| kept.sequence > after))
            .collect();
        own.sort_by_key(|kept| kept.sequence);
        let next = (own.len() > limit)
            .then(|| {
                own.get(limit.saturating_sub(1))
                    .map(|kept| kept.sequence.to_string())
            })
            .flatten();
        let tasks = own
            .into_iter()
            .take(limit)
            .map(|kept| kept.record.clone())
            .collect();
        Ok(Page { tasks, next })
    }

    /// Cancels `owner`'s task `id` if it is still working.
    pub fn cancel(&self, id: &str, owner: &str, now: &str) -> Cancelled {
        let mut state = self.lock();
        let Some(kept) = state
            .tasks
            .get_mut(id)
            .filter(|kept| kept.record.owner == owner && kept.expires > Instant::now())
        else {
            return Cancelled::NotFound;
        };
        if kept.record.status.is_terminal() {
            return Cancelled::AlreadyEnded(kept.record.clone());
        }
        kept.record.status = TaskStatus::Cancelled;
        kept.record.message = Some("cancelled by the client".to_owned());
        kept.record.updated_at = now.to_owned();
        let record = kept.record.clone();
        state.close(owner);
        Cancelled::Now(record)
    }

    /// Ends task `id` with `status` and `outcome`, unless it was cancelled
    /// (or forgotten) first; keeps it at least `keep` from now so the
    /// result can be read. Returns whether it was still working.
    pub fn finish(
        &self,
        id: &str,
        status: TaskStatus,
        message: Option<String>,
        outcome: TaskOutcome,
        now: &str,
        keep: Duration,
    ) -> bool {
        let mut state = self.lock();
        let Some(kept) = state.tasks.get_mut(id) else {
            return false;
        };
        if kept.record.status.is_terminal() {
            return false;
        }
        kept.record.status = status;
        kept.record.message = message;
        kept.record.updated_at = now.to_owned();
        kept.record.outcome = Some(outcome);
        kept.expires = kept.expires.max(Instant::now() + keep);
        let owner = kept.record.owner.clone();
        state.close(&owner);
        true
    }

    /// Forgets expired tasks.
    pub fn sweep(&self) {
        self.lock().forget_expired(Instant::now());
    }
}

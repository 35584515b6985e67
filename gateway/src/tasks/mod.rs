//! Tool calls run as MCP tasks: the client gets a task at once and polls
//! for its result. The tasks live in this process ([`local`]) or, with
//! `[cluster] redis_url`, in Redis ([`shared`]) so that any replica answers
//! for them; the call itself runs on the replica that took it, which keeps
//! the cancellation handles of the tasks it runs.

pub mod local;
pub mod record;
pub mod shared;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::cluster::store::{Store, StoreError};
use crate::config::TasksConfig;
use local::LocalTasks;
pub use record::{Cancelled, Page, TaskError};
use record::{TaskOutcome, TaskRecord, TaskStatus};
use shared::SharedTasks;

/// How often the replica running tasks reads whether another replica
/// cancelled them.
pub const CANCEL_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long a finished task is kept at least, whatever its ttl, so that its
/// owner can read the result of a task that outlived its ttl.
pub const KEEP_FINISHED: Duration = Duration::from_secs(60);

/// Where tasks are kept.
enum Kept {
    Local(LocalTasks),
    Shared(Box<SharedTasks>),
}

/// The tasks this gateway answers for, and the ones it runs.
pub struct Tasks {
    kept: Kept,
    config: TasksConfig,
    /// The tasks running in this process, with what cancels each.
    running: Mutex<HashMap<String, CancellationToken>>,
    /// Woken whenever a running task ends, for [`Tasks::all_ended`].
    ended: tokio::sync::Notify,
}

impl Tasks {
    /// Tasks kept in `store` when given, else in this process.
    pub fn new(config: &TasksConfig, store: Option<Arc<Store>>) -> Self {
        let kept = match store {
            Some(store) => {
                let mut id = [0u8; 8];
                // A failing random source leaves the clock: ids need to
                // differ between replicas, not to be secret.
                if getrandom::fill(&mut id).is_err() {
                    id = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
                        .to_le_bytes();
                }
                Kept::Shared(Box::new(SharedTasks::new(
                    store,
                    config.max_ttl_ms,
                    hex::encode(id),
                )))
            }
            None => Kept::Local(LocalTasks::new(config.max_kept)),
        };
        Self {
            kept,
            config: config.clone(),
            running: Mutex::default(),
            ended: tokio::sync::Notify::new(),
        }
    }

    /// The `[tasks]` settings.
    pub fn config(&self) -> &TasksConfig {
        &self.config
    }

    /// Whether tasks live in a store every replica reads.
    pub fn is_shared(&self) -> bool {
        matches!(self.kept, Kept::Shared(_))
    }

    /// A new working task of `owner`, kept for `requested_ttl_ms` (or the
    /// default) within `tasks.max_ttl_ms`, and at least `runs_for_ms` and
    /// [`KEEP_FINISHED`] more, so that a task does not expire while it runs.
    pub fn new_record(
        &self,
        owner: &str,
        requested_ttl_ms: Option<u64>,
        runs_for_ms: u64,
    ) -> Result<TaskRecord, TaskError> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id)
            .map_err(|error| TaskError::Unavailable(StoreError::Setup(error.to_string())))?;
        let now = timestamp();
        let keep_finished_ms = u64::try_from(KEEP_FINISHED.as_millis()).unwrap_or(u64::MAX);
        Ok(TaskRecord {
            id: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id),
            owner: owner.to_owned(),
            status: TaskStatus::Working,
            message: None,
            created_at: now.clone(),
            updated_at: now,
            ttl_ms: requested_ttl_ms
                .unwrap_or(self.config.default_ttl_ms)
                .max(runs_for_ms.saturating_add(keep_finished_ms))
                .clamp(1, self.config.max_ttl_ms),
            poll_interval_ms: self.config.poll_interval_ms,
            outcome: None,
        })
    }

    /// Keeps `record`, a new working task, and its cancellation handle.
    pub async fn create(
        &self,
        record: &TaskRecord,
        cancel: CancellationToken,
    ) -> Result<(), TaskError> {
        let max_open = self.config.max_open_per_caller;
        match &self.kept {
            Kept::Local(local) => local.create(record.clone(), max_open)?,
            Kept::Shared(shared) => shared.create(record, max_open).await?,
        }
        self.lock_running().insert(record.id.clone(), cancel);
        Ok(())
    }

    /// The task `id` if `owner` owns it.
    pub async fn get(&self, id: &str, owner: &str) -> Result<Option<TaskRecord>, TaskError> {
        match &self.kept {
            Kept::Local(local) => Ok(local.get(id, owner)),
            Kept::Shared(shared) => shared.get(id, owner).await,
        }
    }

    /// A page of `owner`'s tasks.
    pub async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, TaskError> {
        match &self.kept {
            Kept::Local(local) => local.list(owner, cursor, limit),
            Kept::Shared(shared) => shared.list(owner, cursor, limit).await,
        }
    }

    /// Cancels `owner`'s task `id`; a task running here stops at once, one
    /// running on another replica when that replica next reads it.
    pub async fn cancel(&self, id: &str, owner: &str) -> Result<Cancelled, TaskError> {
        let now = timestamp();
        let cancelled = match &self.kept {
            Kept::Local(local) => local.cancel(id, owner, &now),
            Kept::Shared(shared) => shared.cancel(id, owner, &now).await?,
        };
        if matches!(cancelled, Cancelled::Now(_))
            && let Some(token) = self.lock_running().get(id)
        {
            token.cancel();
        }
        Ok(cancelled)
    }

    /// Ends `record` with `outcome` (unless it was cancelled first) and
    /// forgets its cancellation handle, whether or not the store took the
    /// end: the work is over either way. Returns whether it was still
    /// working.
    pub async fn finish(
        &self,
        record: &TaskRecord,
        status: TaskStatus,
        message: Option<String>,
        outcome: TaskOutcome,
    ) -> Result<bool, TaskError> {
        let now = timestamp();
        let ended = match &self.kept {
            Kept::Local(local) => {
                Ok(local.finish(&record.id, status, message, outcome, &now, KEEP_FINISHED))
            }
            Kept::Shared(shared) => {
                shared
                    .finish(
                        record,
                        status,
                        message.as_deref(),
                        &outcome,
                        &now,
                        KEEP_FINISHED,
                    )
                    .await
            }
        };
        self.lock_running().remove(&record.id);
        self.ended.notify_waiters();
        ended
    }

    /// Stops the tasks running here that another replica cancelled (or
    /// that are gone from the store).
    pub async fn stop_cancelled_elsewhere(&self) -> Result<(), TaskError> {
        let Kept::Shared(shared) = &self.kept else {
            return Ok(());
        };
        let ids: Vec<String> = self.lock_running().keys().cloned().collect();
        for id in shared.stopped_among(&ids).await? {
            if let Some(token) = self.lock_running().get(&id) {
                token.cancel();
            }
        }
        Ok(())
    }

    /// Tells the other replicas this one still runs its tasks.
    pub async fn heartbeat(&self) -> Result<(), TaskError> {
        match &self.kept {
            Kept::Local(_) => Ok(()),
            Kept::Shared(shared) => shared.heartbeat().await,
        }
    }

    /// How many tasks run in this process.
    pub fn running(&self) -> usize {
        self.lock_running().len()
    }

    /// Resolves once no task runs in this process: tasks run on after
    /// their requests, so a drain waits for them too.
    pub async fn all_ended(&self) {
        loop {
            // Registered before the count is read, so an end in between
            // still wakes it.
            let ended = self.ended.notified();
            if self.running() == 0 {
                return;
            }
            ended.await;
        }
    }

    /// Forgets expired tasks kept in this process.
    pub fn sweep(&self) {
        if let Kept::Local(local) = &self.kept {
            local.sweep();
        }
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        // Inserts and removals leave the map consistent.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Now, in RFC 3339 (UTC, seconds).
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

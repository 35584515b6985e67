//! Tasks kept in Redis, so that any replica answers for them. A task is a
//! hash (`<prefix>:task:<id>`) expiring with its ttl; each owner has a
//! sorted set of its tasks by creation (for `tasks/list`) and a set of its
//! working ones (for the cap). Every change is one Lua script, so a
//! cancellation and a result racing each other leave one of them, never a
//! mix; a cancellation reaches the replica running the task through its
//! status, which that replica reads every [`super::CANCEL_POLL_INTERVAL`].
//!
//! Each replica keeps a heartbeat key alive while it runs
//! ([`HEARTBEAT_TTL`]); a working task whose replica's heartbeat is gone
//! (the process died without a drain) is failed by whichever script next
//! reads it on any replica (a get, a listing, or a creation counting its
//! owner's open tasks), so its owner hears why instead of waiting for the
//! ttl, and it stops counting against the owner's cap.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::Script;

use super::record::{Cancelled, Page, TaskError, TaskOutcome, TaskRecord, TaskStatus};
use crate::cluster::store::Store;

/// Defines `fail_if_orphaned(key, id, lost)` for the scripts below: fails
/// the task at `key` if it is working on a replica whose heartbeat is gone.
/// `lost` holds, in order, the heartbeat key prefix, the open-tasks key
/// prefix, the message, the stored outcome and the time (see [`Lost`]).
const FAIL_IF_ORPHANED: &str = r"
local function fail_if_orphaned(key, id, lost)
  if redis.call('HGET', key, 'status') ~= 'working' then return end
  local replica = redis.call('HGET', key, 'replica')
  if replica and redis.call('EXISTS', lost[1] .. replica) == 0 then
    redis.call('HSET', key, 'status', 'failed', 'message', lost[3], 'outcome', lost[4],
      'updated', lost[5])
    redis.call('SREM', lost[2] .. redis.call('HGET', key, 'owner'), id)
  end
end
";

/// Creates a working task unless its owner has `ARGV[1]` working already;
/// `ARGV[10..14]` are the orphan check's arguments.
const CREATE: &str = r"
local lost = {ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]}
for _, other in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  fail_if_orphaned(ARGV[3] .. other, other, lost)
  if redis.call('HGET', ARGV[3] .. other, 'status') ~= 'working' then
    redis.call('SREM', KEYS[3], other)
  end
end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[1]) then return 0 end
local clock = redis.call('TIME')
local score = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[5], 'status', 'working', 'created', ARGV[6],
  'updated', ARGV[6], 'ttl', ARGV[2], 'poll', ARGV[7], 'replica', ARGV[9])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', score - tonumber(ARGV[8]) * 1000)
redis.call('ZADD', KEYS[2], score, ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[8])
return 1
";

/// The task at `KEYS[1]` (id `ARGV[1]`), failed first if it is orphaned
/// (`ARGV[2..6]`).
const GET: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
fail_if_orphaned(KEYS[1], ARGV[1], {ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]})
return redis.call('HGETALL', KEYS[1])
";

/// How long a replica's heartbeat outlives its last renewal.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(5);

/// Up to `ARGV[3]` of an owner's tasks created after score `ARGV[2]`, each
/// failed first if it is orphaned (`ARGV[4..8]`).
const LIST: &str = r"
local found = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local lost = {ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]}
local out = {}
for i = 1, #found, 2 do
  local key = ARGV[1] .. found[i]
  fail_if_orphaned(key, found[i], lost)
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], found[i])
  else
    table.insert(out, {found[i], found[i + 1], fields})
  end
end
return out
";

/// Cancels the owner's (`ARGV[1]`) working task: `{0}` not found, `{1, …}`
/// cancelled now, `{2, …}` already ended.
const CANCEL: &str = r"
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return {0} end
if redis.call('HGET', KEYS[1], 'status') ~= 'working' then
  return {2, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated', ARGV[2],
  'message', 'cancelled by the client')
redis.call('SREM', KEYS[2], ARGV[3])
return {1, redis.call('HGETALL', KEYS[1])}
";

/// Ends a working task; 0 if it was not working any more.
const FINISH: &str = r"
if redis.call('HGET', KEYS[1], 'status') ~= 'working' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'message', ARGV[2], 'outcome', ARGV[3],
  'updated', ARGV[4])
redis.call('SREM', KEYS[2], ARGV[5])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[6]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
return 1
";

/// The tasks of every replica.
pub struct SharedTasks {
    store: Arc<Store>,
    max_ttl_ms: u64,
    /// This replica's random id, in the tasks it runs and its heartbeat.
    replica: String,
    /// What the scripts fail an orphaned task with, made once.
    lost: Lost,
    create: Script,
    get: Script,
    list: Script,
    cancel: Script,
    finish: Script,
}

type Fields = HashMap<String, String>;

impl SharedTasks {
    /// Tasks kept in `store`, none longer than `max_ttl_ms`.
    pub fn new(store: Arc<Store>, max_ttl_ms: u64, replica: String) -> Self {
        Self {
            lost: Lost::new(&store),
            store,
            max_ttl_ms,
            replica,
            create: with_orphan_check(CREATE),
            get: with_orphan_check(GET),
            list: with_orphan_check(LIST),
            cancel: Script::new(CANCEL),
            finish: Script::new(FINISH),
        }
    }

    fn task_key(&self, id: &str) -> String {
        self.store.key(&["task", id])
    }

    /// Keeps `record` (working) unless its owner has `max_open` working.
    pub async fn create(&self, record: &TaskRecord, max_open: u32) -> Result<(), TaskError> {
        let keys = [
            self.task_key(&record.id),
            self.store.key(&["tasks-of", &record.owner]),
            self.store.key(&["open-tasks", &record.owner]),
        ];
        let task_prefix = self.store.key(&["task", ""]);
        let now = super::timestamp();
        let created: i64 = self
            .store
            .run("task_create", |mut connection| {
                let mut invocation = self.create.prepare_invoke();
                for key in &keys {
                    invocation.key(key);
                }
                invocation
                    .arg(max_open)
                    .arg(record.ttl_ms)
                    .arg(&task_prefix)
                    .arg(&record.id)
                    .arg(&record.owner)
                    .arg(&record.created_at)
                    .arg(record.poll_interval_ms)
                    .arg(self.max_ttl_ms)
                    .arg(&self.replica);
                self.lost.append_to(&mut invocation, &now);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)?;
        if created == 1 {
            Ok(())
        } else {
            Err(TaskError::TooManyOpen(max_open))
        }
    }

    /// Renews this replica's heartbeat.
    pub async fn heartbeat(&self) -> Result<(), TaskError> {
        let key = self.store.key(&["replica", &self.replica]);
        let ttl_ms = u64::try_from(HEARTBEAT_TTL.as_millis()).unwrap_or(u64::MAX);
        self.store
            .run("replica_heartbeat", |mut connection| {
                let mut command = redis::cmd("SET");
                command.arg(&key).arg(1).arg("PX").arg(ttl_ms);
                async move { command.query_async::<()>(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)
    }

    /// The task `id` if `owner` owns it.
    pub async fn get(&self, id: &str, owner: &str) -> Result<Option<TaskRecord>, TaskError> {
        let key = self.task_key(id);
        let now = super::timestamp();
        let fields: Fields = self
            .store
            .run("task_get", |mut connection| {
                let mut invocation = self.get.key(&key);
                invocation.arg(id);
                self.lost.append_to(&mut invocation, &now);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)?;
        Ok(record(id, fields).filter(|record| record.owner == owner))
    }

    /// `owner`'s tasks in creation order, `limit` after `cursor`.
    pub async fn list(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, TaskError> {
        let from = match cursor {
            None => "-inf".to_owned(),
            Some(cursor) if !cursor.is_empty() && cursor.bytes().all(|b| b.is_ascii_digit()) => {
                format!("({cursor}")
            }
            Some(_) => return Err(TaskError::BadCursor),
        };
        let index = self.store.key(&["tasks-of", owner]);
        let task_prefix = self.store.key(&["task", ""]);
        let now = super::timestamp();
        let found: Vec<(String, String, Fields)> = self
            .store
            .run("task_list", |mut connection| {
                let mut invocation = self.list.key(&index);
                invocation.arg(&task_prefix).arg(&from).arg(limit + 1);
                self.lost.append_to(&mut invocation, &now);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)?;
        let next = (found.len() > limit)
            .then(|| {
                found
                    .get(limit.saturating_sub(1))
                    .map(|(_, score, _)| score.clone())
            })
            .flatten();
        let tasks = found
            .into_iter()
            .take(limit)
            .filter_map(|(id, _, fields)| record(&id, fields))
            .filter(|record| record.owner == owner)
            .collect();
        Ok(Page { tasks, next })
    }

    /// Cancels `owner`'s task `id` if it is still working.
    pub async fn cancel(&self, id: &str, owner: &str, now: &str) -> Result<Cancelled, TaskError> {
        let keys = [self.task_key(id), self.store.key(&["open-tasks", owner])];
        let answer: redis::Value = self
            .store
            .run("task_cancel", |mut connection| {
                let mut invocation = self.cancel.key(&keys[0]);
                invocation.key(&keys[1]).arg(owner).arg(now).arg(id);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)?;
        let (code, fields): (i64, Option<Fields>) = match redis::from_redis_value(answer) {
            Ok(parsed) => parsed,
            Err(_) => return Ok(Cancelled::NotFound),
        };
        let found = fields.and_then(|fields| record(id, fields));
        Ok(match (code, found) {
            (1, Some(record)) => Cancelled::Now(record),
            (2, Some(record)) => Cancelled::AlreadyEnded(record),
            _ => Cancelled::NotFound,
        })
    }

    /// Ends task `id` unless it was cancelled first; kept at least `keep`
    /// from now. Returns whether it was still working.
    pub async fn finish(
        &self,
        record: &TaskRecord,
        status: TaskStatus,
        message: Option<&str>,
        outcome: &TaskOutcome,
        now: &str,
        keep: Duration,
    ) -> Result<bool, TaskError> {
        let keys = [
            self.task_key(&record.id),
            self.store.key(&["open-tasks", &record.owner]),
        ];
        let stored = outcome.to_stored();
        let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
        let ended: i64 = self
            .store
            .run("task_finish", |mut connection| {
                let mut invocation = self.finish.key(&keys[0]);
                invocation
                    .key(&keys[1])
                    .arg(status.as_str())
                    .arg(message.unwrap_or_default())
                    .arg(&stored)
                    .arg(now)
                    .arg(&record.id)
                    .arg(keep_ms);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)?;
        Ok(ended == 1)
    }

    /// Which of `ids` (tasks running here) are no longer working: cancelled
    /// from another replica, or gone.
    pub async fn stopped_among(&self, ids: &[String]) -> Result<Vec<String>, TaskError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.task_key(id)).collect();
        let statuses: Vec<Option<String>> = self
            .store
            .run("task_status", |mut connection| {
                let mut pipeline = redis::pipe();
                for key in &keys {
                    pipeline.hget(key, "status");
                }
                async move { pipeline.query_async(&mut connection).await }
            })
            .await
            .map_err(TaskError::Unavailable)?;
        Ok(ids
            .iter()
            .zip(statuses)
            .filter(|(_, status)| status.as_deref() != Some("working"))
            .map(|(id, _)| id.clone())
            .collect())
    }
}

/// The arguments of `fail_if_orphaned` (see [`FAIL_IF_ORPHANED`]) but the
/// time, the same for every request.
struct Lost {
    heartbeat_prefix: String,
    open_prefix: String,
    outcome: String,
}

impl Lost {
    const MESSAGE: &'static str = "the replica running the task stopped before it ended";

    fn new(store: &Store) -> Self {
        Self {
            heartbeat_prefix: store.key(&["replica", ""]),
            open_prefix: store.key(&["open-tasks", ""]),
            outcome: TaskOutcome::Error(serde_json::json!({
                "code": -32603,
                "message": Self::MESSAGE,
                "data": { "warden/reason": "replica_lost" },
            }))
            .to_stored(),
        }
    }

    /// Appends the arguments, with `now` as the time of the failure.
    fn append_to(&self, invocation: &mut redis::ScriptInvocation<'_>, now: &str) {
        invocation
            .arg(&self.heartbeat_prefix)
            .arg(&self.open_prefix)
            .arg(Self::MESSAGE)
            .arg(&self.outcome)
            .arg(now);
    }
}

/// `body` after the definition of `fail_if_orphaned`.
fn with_orphan_check(body: &str) -> Script {
    Script::new(&format!("{FAIL_IF_ORPHANED}{body}"))
}

/// The record a hash holds; `None` when it is gone or unreadable.
fn record(id: &str, mut fields: Fields) -> Option<TaskRecord> {
    let status = TaskStatus::parse(fields.get("status")?)?;
    let number = |value: Option<String>| value.and_then(|text| text.parse::<u64>().ok());
    Some(TaskRecord {
        id: id.to_owned(),
        owner: fields.remove("owner")?,
        status,
        message: fields
            .remove("message")
            .filter(|message| !message.is_empty()),
        created_at: fields.remove("created")?,
        updated_at: fields.remove("updated")?,
        ttl_ms: number(fields.remove("ttl"))?,
        poll_interval_ms: number(fields.remove("poll"))?,
        outcome: fields
            .remove("outcome")
            .and_then(|text| TaskOutcome::from_stored(&text)),
    })
}

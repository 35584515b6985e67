//! `[tasks]`: tool calls that run as MCP tasks (the client polls for the
//! result), and a component's `limits.max_task_duration_ms`, which makes
//! its tools callable that way.

use std::ops::RangeInclusive;

use serde::{Deserialize, Deserializer};

use super::raw_text::{Unit, ranged};

/// Allowed `limits.max_task_duration_ms`: a second to a day.
pub const MAX_TASK_DURATION_MS_RANGE: RangeInclusive<u64> = 1_000..=86_400_000;
/// Default `tasks.default_ttl_ms`: how long a task and its result are kept
/// when the client asks for no particular time.
pub const DEFAULT_TASK_TTL_MS: u64 = 3_600_000;
/// Allowed `tasks.default_ttl_ms` and `tasks.max_ttl_ms`.
pub const TASK_TTL_MS_RANGE: RangeInclusive<u64> = 1_000..=604_800_000;
/// Default `tasks.max_ttl_ms`.
pub const DEFAULT_MAX_TASK_TTL_MS: u64 = 86_400_000;
/// Default `tasks.max_open_per_caller`.
pub const DEFAULT_MAX_OPEN_TASKS: u32 = 16;
/// Allowed `tasks.max_open_per_caller`.
pub const MAX_OPEN_TASKS_RANGE: RangeInclusive<u32> = 1..=10_000;
/// Default `tasks.poll_interval_ms`, suggested to clients.
pub const DEFAULT_TASK_POLL_MS: u64 = 1_000;
/// Allowed `tasks.poll_interval_ms`.
pub const TASK_POLL_MS_RANGE: RangeInclusive<u64> = 100..=60_000;
/// Default `tasks.max_kept`: tasks one process keeps without a shared store.
pub const DEFAULT_MAX_KEPT_TASKS: u32 = 10_000;
/// Allowed `tasks.max_kept`.
pub const MAX_KEPT_TASKS_RANGE: RangeInclusive<u32> = 1..=1_000_000;

/// `[tasks]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TasksConfig {
    /// How long a task is kept (from its creation) when the client asks
    /// for no particular time.
    pub default_ttl_ms: u64,
    /// The longest a client may ask a task to be kept.
    pub max_ttl_ms: u64,
    /// Tasks one caller may have working at once.
    pub max_open_per_caller: u32,
    /// How often clients are told to poll.
    pub poll_interval_ms: u64,
    /// Tasks (working or finished) one process keeps when there is no
    /// shared store; the oldest finished go first.
    pub max_kept: u32,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
            default_ttl_ms: DEFAULT_TASK_TTL_MS,
            max_ttl_ms: DEFAULT_MAX_TASK_TTL_MS,
            max_open_per_caller: DEFAULT_MAX_OPEN_TASKS,
            poll_interval_ms: DEFAULT_TASK_POLL_MS,
            max_kept: DEFAULT_MAX_KEPT_TASKS,
        }
    }
}

/// `[tasks]` as serde sees it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTasks {
    #[serde(deserialize_with = "ttl_ms")]
    default_ttl_ms: u64,
    #[serde(deserialize_with = "ttl_ms")]
    max_ttl_ms: u64,
    #[serde(deserialize_with = "max_open_per_caller")]
    max_open_per_caller: u32,
    #[serde(deserialize_with = "poll_interval_ms")]
    poll_interval_ms: u64,
    #[serde(deserialize_with = "max_kept")]
    max_kept: u32,
}

impl Default for RawTasks {
    fn default() -> Self {
        let d = TasksConfig::default();
        Self {
            default_ttl_ms: d.default_ttl_ms,
            max_ttl_ms: d.max_ttl_ms,
            max_open_per_caller: d.max_open_per_caller,
            poll_interval_ms: d.poll_interval_ms,
            max_kept: d.max_kept,
        }
    }
}

impl RawTasks {
    /// The table, or why `default_ttl_ms` exceeds `max_ttl_ms`.
    pub(super) fn into_config(self) -> Result<TasksConfig, String> {
        if self.default_ttl_ms > self.max_ttl_ms {
            return Err(format!(
                "default_ttl_ms ({}) is longer than max_ttl_ms ({})",
                self.default_ttl_ms, self.max_ttl_ms
            ));
        }
        Ok(TasksConfig {
            default_ttl_ms: self.default_ttl_ms,
            max_ttl_ms: self.max_ttl_ms,
            max_open_per_caller: self.max_open_per_caller,
            poll_interval_ms: self.poll_interval_ms,
            max_kept: self.max_kept,
        })
    }
}

fn ttl_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(d, TASK_TTL_MS_RANGE, Unit::Of("milliseconds"))
}

fn max_open_per_caller<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, MAX_OPEN_TASKS_RANGE, Unit::Of("tasks"))
}

fn poll_interval_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    ranged(d, TASK_POLL_MS_RANGE, Unit::Of("milliseconds"))
}

fn max_kept<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    ranged(d, MAX_KEPT_TASKS_RANGE, Unit::Of("tasks"))
}

/// `limits.max_task_duration_ms`.
pub(super) fn max_task_duration_ms<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    ranged(d, MAX_TASK_DURATION_MS_RANGE, Unit::Of("milliseconds")).map(Some)
}

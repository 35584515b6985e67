//! One task as the stores keep it, and its status.

use serde_json::Value;

use crate::cluster::store::StoreError;

/// Where a task is in its life. `Completed`, `Failed` and `Cancelled` are
/// terminal and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Ended with a result.
    Completed,
    /// Ended with an error (or, in 2025-11-25, a tool error result).
    Failed,
    /// Cancelled by its owner.
    Cancelled,
}

impl TaskStatus {
    /// The name MCP uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status `name` stands for.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "working" => Some(Self::Working),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }

    /// Whether it can no longer change.
    pub fn is_terminal(self) -> bool {
        self != Self::Working
    }
}

/// What a finished task produced: the request's result, or the JSON-RPC
/// error object it ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// The `tools/call` result.
    Result(Value),
    /// The JSON-RPC error (`code`, `message`, `data`).
    Error(Value),
}

impl TaskOutcome {
    /// As stored: `{"result": …}` or `{"error": …}`.
    pub fn to_stored(&self) -> String {
        match self {
            Self::Result(result) => serde_json::json!({ "result": result }),
            Self::Error(error) => serde_json::json!({ "error": error }),
        }
        .to_string()
    }

    /// What [`to_stored`](Self::to_stored) wrote.
    pub fn from_stored(text: &str) -> Option<Self> {
        let mut stored: serde_json::Map<String, Value> = serde_json::from_str(text).ok()?;
        if let Some(result) = stored.remove("result") {
            return Some(Self::Result(result));
        }
        stored.remove("error").map(Self::Error)
    }
}

/// A task: who owns it, where it is, how long it is kept, and once
/// finished what it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// Unguessable: 128 random bits, base64url.
    pub id: String,
    /// The caller that created it; nobody else sees it.
    pub owner: String,
    /// Where it is.
    pub status: TaskStatus,
    /// Why it is where it is, for people.
    pub message: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When its status last changed (RFC 3339).
    pub updated_at: String,
    /// How long it is kept after its creation.
    pub ttl_ms: u64,
    /// How often its owner is told to poll.
    pub poll_interval_ms: u64,
    /// What it produced, once terminal.
    pub outcome: Option<TaskOutcome>,
}

/// Why a task operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TaskError {
    /// The caller has as many working tasks as it may.
    #[error(
        "this caller has {0} tasks working, the most it may (tasks.max_open_per_caller); \
         wait for one to end or cancel one"
    )]
    TooManyOpen(u32),
    /// This process keeps as many tasks as it may, all working.
    #[error("this process keeps {0} tasks, all still working (tasks.max_kept); retry later")]
    Full(usize),
    /// The shared store did not answer.
    #[error("tasks are kept in the shared store, which is unavailable ({0}); retry later")]
    Unavailable(StoreError),
    /// A `tasks/list` cursor this server did not hand out.
    #[error("invalid cursor")]
    BadCursor,
}

/// One page of an owner's tasks.
#[derive(Debug)]
pub struct Page {
    /// In creation order.
    pub tasks: Vec<TaskRecord>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// What a `tasks/cancel` found.
#[derive(Debug)]
pub enum Cancelled {
    /// It was working and is cancelled now.
    Now(TaskRecord),
    /// It had already ended.
    AlreadyEnded(TaskRecord),
    /// No task of that id for that owner.
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outcomes_read_back_and_statuses_parse() {
        for outcome in [
            TaskOutcome::Result(json!({"content": [], "isError": false})),
            TaskOutcome::Error(json!({"code": -32603, "message": "m"})),
        ] {
            assert_eq!(
                TaskOutcome::from_stored(&outcome.to_stored()),
                Some(outcome)
            );
        }
        assert_eq!(TaskOutcome::from_stored("[]"), None);
        for status in [
            TaskStatus::Working,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
        ] {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("input_required"), None);
        assert!(!TaskStatus::Working.is_terminal());
    }
}

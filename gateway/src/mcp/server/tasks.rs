//! Tool calls as MCP tasks, in both shapes MCP has had: 2025-11-25's
//! experimental tasks (the client adds `task` to `tools/call`, then polls
//! `tasks/get`, blocks on `tasks/result`, lists and cancels) and
//! 2026-07-28's `io.modelcontextprotocol/tasks` extension (the server
//! answers a `tools/call` with a task when the client declared the
//! extension, and `tasks/get` carries the result). A tool runs as a task
//! only where its component sets `limits.max_task_duration_ms`, which is
//! then its time limit. A task belongs to the caller that created it:
//! another caller's requests find no such task.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::McpServer;
use super::context::{Answer, Reply, Running};
use super::jobs::answer_error;
use super::request::TaskRequest;
use super::server_info;
use crate::auth::Caller;
use crate::catalog::Tool;
use crate::mcp::downlevel;
use crate::mcp::error::{ErrorKind, McpError};
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::revision::Revision;
use crate::mcp::session::Session;
use crate::mcp::stateless;
use crate::mcp::tools::{self, CallContext, CallParams, ToolCall};
use crate::tasks::record::{TaskOutcome, TaskRecord, TaskStatus};
use crate::tasks::{CANCEL_POLL_INTERVAL, Cancelled, TaskError, Tasks};

/// The 2026-07-28 extension a client declares to get tasks.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// The `_meta` key naming the task a 2025-11-25 result belongs to.
const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";
/// How often a task's result is written again when the store did not take
/// it, and how many times.
const FINISH_RETRY: (Duration, u32) = (Duration::from_secs(1), 60);

/// How a revision speaks of tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// 2025-11-25's experimental tasks.
    Experimental,
    /// 2026-07-28's extension.
    Extension,
}

impl Dialect {
    fn of(revision: Revision) -> Option<Self> {
        match revision {
            Revision::V2025_11_25 => Some(Self::Experimental),
            Revision::V2026_07_28 => Some(Self::Extension),
            _ => None,
        }
    }
}

/// Whether a request's client declared the 2026-07-28 tasks extension.
fn declares_extension(session: &Session) -> bool {
    session.client_capabilities["extensions"]
        .get(TASKS_EXTENSION)
        .is_some()
}

/// The task object: 2025-11-25's `Task`, or the extension's fields.
fn task_object(record: &TaskRecord, dialect: Dialect) -> Value {
    let (ttl, poll) = match dialect {
        Dialect::Experimental => ("ttl", "pollInterval"),
        Dialect::Extension => ("ttlMs", "pollIntervalMs"),
    };
    let mut task = json!({
        "taskId": record.id,
        "status": record.status.as_str(),
        "createdAt": record.created_at,
        "lastUpdatedAt": record.updated_at,
        ttl: record.ttl_ms,
        poll: record.poll_interval_ms,
    });
    if let Some(message) = &record.message {
        task["statusMessage"] = json!(message);
    }
    task
}

fn not_found() -> McpError {
    McpError::invalid_params("Failed to retrieve task: Task not found")
}

fn task_error(error: TaskError) -> McpError {
    match error {
        TaskError::TooManyOpen(_) => McpError::new(ErrorKind::RateLimited, error.to_string()),
        TaskError::BadCursor => McpError::invalid_params(error.to_string()),
        TaskError::Full(_) | TaskError::Unavailable(_) => {
            McpError::new(ErrorKind::Unavailable, error.to_string())
                .with_retry_after(Duration::from_secs(1))
        }
    }
}

impl McpServer {
    /// The tasks this server keeps.
    pub fn tasks(&self) -> &Arc<Tasks> {
        &self.tasks
    }

    /// Whether a `tools/call` of `tool` runs as a task: asked with `task`
    /// in 2025-11-25 (refused for a tool that does not run as one),
    /// chosen by the server in 2026-07-28 for a client with the extension.
    pub(super) fn runs_as_task(
        session: &Session,
        tool: Option<&Tool>,
        asked: bool,
    ) -> Result<bool, McpError> {
        let Some(tool) = tool else {
            // An unknown tool is refused as such by the call.
            return Ok(false);
        };
        match Dialect::of(session.revision) {
            Some(Dialect::Experimental) if asked => {
                if tool.task_duration_ms.is_none() {
                    return Err(McpError::method_not_found(format!(
                        "tool `{}` does not run as a task (its component sets no \
                         limits.max_task_duration_ms); call it without `task`",
                        tool.name
                    )));
                }
                Ok(true)
            }
            Some(Dialect::Extension) => {
                Ok(tool.task_duration_ms.is_some() && declares_extension(session))
            }
            _ => Ok(false),
        }
    }

    /// Starts `call` of `tool` as a task of `caller`: keeps a working task,
    /// runs the call in the background and answers with the task at once.
    pub(super) async fn start_task(
        self: &Arc<Self>,
        session: &Arc<Session>,
        id: &RequestId,
        call: CallParams,
        tool: Arc<Tool>,
        ttl_ms: Option<u64>,
        caller: &Arc<Caller>,
    ) -> Answer {
        let revision = session.revision;
        let Some(dialect) = Dialect::of(revision) else {
            return answer_error(id, McpError::method_not_found("tasks"), revision);
        };
        let started = async {
            let runs_for = tool.task_duration_ms.unwrap_or_default();
            let record = self.tasks.new_record(caller.name(), ttl_ms, runs_for)?;
            let cancel = CancellationToken::new();
            self.tasks.create(&record, cancel.clone()).await?;
            Ok::<_, TaskError>((record, cancel))
        };
        let (record, cancel) = match started.await {
            Ok(started) => started,
            Err(error) => return answer_error(id, task_error(error), revision),
        };
        tracing::info!(task = %record.id, tool = %tool.name, "task started");
        let server = Arc::clone(self);
        let running = TaskRun {
            record: record.clone(),
            session: Arc::clone(session),
            caller: Arc::clone(caller),
            request_id: id.to_value(),
        };
        tokio::spawn(
            async move { server.run_task(running, tool, call, cancel).await }.in_current_span(),
        );
        let mut result = match dialect {
            Dialect::Experimental => json!({ "task": task_object(&record, dialect) }),
            Dialect::Extension => {
                let mut task = task_object(&record, dialect);
                task["resultType"] = json!("task");
                stateless::complete("tools/call", &mut task, &server_info());
                task
            }
        };
        if let Some(meta) = result.as_object_mut() {
            meta.entry("_meta").or_insert_with(|| json!({}));
        }
        Answer::result(id, result)
    }

    /// Runs a task's call to its end and keeps what it produced.
    async fn run_task(
        self: Arc<Self>,
        running: TaskRun,
        tool: Arc<Tool>,
        call: CallParams,
        cancel: CancellationToken,
    ) {
        let TaskRun {
            record,
            session,
            caller,
            request_id,
        } = running;
        let revision = session.revision;
        let call_context = CallContext {
            caller: &caller,
            revision,
            lifecycle: &self.lifecycle,
            limits: Some(self.limits()),
            audit: self.audit.as_deref(),
            request_id,
            session: Some(&session.log_tag),
            notifier: None,
            cancelled: Some(cancel),
            client: None,
            time_limit_ms: tool.task_duration_ms,
        };
        let done = tools::call(
            &call_context,
            ToolCall {
                tool: Some(tool),
                params: call,
            },
        )
        .await;
        let (status, message, outcome) = match done {
            Ok(mut result) => {
                downlevel::call_result(revision, &mut result);
                // 2025-11-25 counts a tool's error result as a failed
                // task; the extension keeps it a completed one.
                if result["isError"] == json!(true) && revision == Revision::V2025_11_25 {
                    let message = Some("the tool reported an error".to_owned());
                    (TaskStatus::Failed, message, TaskOutcome::Result(result))
                } else {
                    (TaskStatus::Completed, None, TaskOutcome::Result(result))
                }
            }
            Err(error) => {
                let object = error.to_message(None)["error"].take();
                (
                    TaskStatus::Failed,
                    Some(error.message.clone()),
                    TaskOutcome::Error(object),
                )
            }
        };
        let (pause, attempts) = FINISH_RETRY;
        for attempt in 1..=attempts {
            match self
                .tasks
                .finish(&record, status, message.clone(), outcome.clone())
                .await
            {
                Ok(true) => {
                    tracing::info!(task = %record.id, status = status.as_str(), "task ended");
                    return;
                }
                // Cancelled first (or failed as lost, had this replica lost
                // Redis for longer than its heartbeat): that end stands.
                Ok(false) => {
                    tracing::info!(task = %record.id, status = status.as_str(), "task had already ended; its result is not kept");
                    return;
                }
                Err(error) if attempt < attempts => {
                    tracing::warn!(task = %record.id, %error, "the task's result is not kept yet; retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(error) => {
                    tracing::error!(task = %record.id, %error, "the task's result could not be kept and is lost");
                }
            }
        }
    }

    /// `tasks/get`, `tasks/result`, `tasks/list`, `tasks/cancel` and
    /// `tasks/update`, as the session's revision has them.
    pub(super) async fn task_request(
        self: &Arc<Self>,
        request: TaskRequest,
        session: &Arc<Session>,
        caller: &Caller,
        id: &RequestId,
    ) -> Reply {
        let revision = session.revision;
        let dialect = Dialect::of(revision);
        let method = match &request {
            TaskRequest::Get(_) => "tasks/get",
            TaskRequest::Result(_) => "tasks/result",
            TaskRequest::Cancel(_) => "tasks/cancel",
            TaskRequest::Update(_) => "tasks/update",
            TaskRequest::List(_) => "tasks/list",
        };
        let supported = match (dialect, &request) {
            (Some(Dialect::Experimental), TaskRequest::Update(_)) => false,
            (Some(Dialect::Experimental), _) => true,
            (Some(Dialect::Extension), TaskRequest::Result(_) | TaskRequest::List(_)) => false,
            (Some(Dialect::Extension), _) => true,
            (None, _) => false,
        };
        let refuse = |error: McpError| Reply::Answer(answer_error(id, error, revision));
        if !supported {
            return refuse(McpError::method_not_found(format!(
                "Method not found: {method} (not part of revision {})",
                revision.as_str()
            )));
        }
        if dialect == Some(Dialect::Extension) && !declares_extension(session) {
            return refuse(
                McpError::new(
                    ErrorKind::MissingClientCapability,
                    format!("{method} needs the client capability extension `{TASKS_EXTENSION}`"),
                )
                .with_data(json!({
                    "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } }
                })),
            );
        }
        let dialect = dialect.unwrap_or(Dialect::Experimental);
        let owner = caller.name();
        let answered = match request {
            TaskRequest::Get(task_id) => self.get_task(&task_id, owner, dialect).await,
            TaskRequest::Cancel(task_id) => self.cancel_task(&task_id, owner, dialect).await,
            TaskRequest::Update(task_id) => match self.tasks.get(&task_id, owner).await {
                // No task of Warden's asks its client for input: answers
                // are acknowledged and have nothing to go to.
                Ok(Some(_)) => Ok(json!({})),
                Ok(None) => Err(not_found()),
                Err(error) => Err(task_error(error)),
            },
            TaskRequest::List(cursor) => self.list_tasks(owner, cursor.as_deref()).await,
            TaskRequest::Result(task_id) => {
                return self.task_result(session, task_id, owner.to_owned(), id);
            }
        };
        Reply::Answer(match answered {
            Ok(mut result) => {
                if dialect == Dialect::Extension {
                    stateless::complete(method, &mut result, &server_info());
                }
                Answer::result(id, result)
            }
            Err(error) => answer_error(id, error, revision),
        })
    }

    async fn get_task(
        &self,
        task_id: &str,
        owner: &str,
        dialect: Dialect,
    ) -> Result<Value, McpError> {
        let record = self
            .tasks
            .get(task_id, owner)
            .await
            .map_err(task_error)?
            .ok_or_else(not_found)?;
        let mut task = task_object(&record, dialect);
        if dialect == Dialect::Extension {
            match &record.outcome {
                Some(TaskOutcome::Result(result)) => task["result"] = result.clone(),
                Some(TaskOutcome::Error(error)) => task["error"] = error.clone(),
                None => {}
            }
        }
        Ok(task)
    }

    async fn cancel_task(
        &self,
        task_id: &str,
        owner: &str,
        dialect: Dialect,
    ) -> Result<Value, McpError> {
        match self
            .tasks
            .cancel(task_id, owner)
            .await
            .map_err(task_error)?
        {
            Cancelled::NotFound => Err(not_found()),
            Cancelled::Now(record) => {
                tracing::info!(task = %record.id, "task cancelled by the client");
                Ok(match dialect {
                    Dialect::Experimental => task_object(&record, dialect),
                    Dialect::Extension => json!({}),
                })
            }
            Cancelled::AlreadyEnded(record) => match dialect {
                Dialect::Experimental => Err(McpError::invalid_params(format!(
                    "Cannot cancel task: already in terminal status '{}'",
                    record.status.as_str()
                ))),
                // Cancellation is a request the extension lets end otherwise.
                Dialect::Extension => Ok(json!({})),
            },
        }
    }

    async fn list_tasks(&self, owner: &str, cursor: Option<&str>) -> Result<Value, McpError> {
        let page = self
            .tasks
            .list(owner, cursor, self.page_size)
            .await
            .map_err(task_error)?;
        let tasks: Vec<Value> = page
            .tasks
            .iter()
            .map(|record| task_object(record, Dialect::Experimental))
            .collect();
        let mut result = json!({ "tasks": tasks });
        if let Some(next) = page.next {
            result["nextCursor"] = json!(next);
        }
        Ok(result)
    }

    /// `tasks/result` (2025-11-25): waits for the task to end, then answers
    /// exactly what its `tools/call` would have, tagged with the task.
    fn task_result(
        self: &Arc<Self>,
        session: &Arc<Session>,
        task_id: String,
        owner: String,
        id: &RequestId,
    ) -> Reply {
        let server = Arc::clone(self);
        let id = id.clone();
        let revision = session.revision;
        let answer = async move {
            let ended = loop {
                match server.tasks.get(&task_id, &owner).await {
                    Ok(Some(record)) if record.status.is_terminal() => break Ok(record),
                    Ok(Some(_)) => tokio::time::sleep(CANCEL_POLL_INTERVAL).await,
                    Ok(None) => break Err(not_found()),
                    Err(error) => break Err(task_error(error)),
                }
            };
            let record = match ended {
                Ok(record) => record,
                Err(error) => return Some(answer_error(&id, error, revision)),
            };
            let related = json!({ "taskId": record.id });
            Some(match record.outcome {
                Some(TaskOutcome::Result(mut result)) => {
                    tag(&mut result, "_meta", related);
                    Answer::result(&id, result)
                }
                Some(TaskOutcome::Error(mut error)) => {
                    tag(&mut error, "data", related);
                    Answer {
                        message: json!({"jsonrpc": "2.0", "id": id.to_value(), "error": error}),
                        refusal: None,
                    }
                }
                // Cancelled before it produced anything.
                None => answer_error(
                    &id,
                    McpError::new(
                        ErrorKind::Internal,
                        format!("task {} was {}", record.id, record.status.as_str()),
                    ),
                    revision,
                ),
            })
        };
        Reply::Running(Running {
            session: Arc::clone(session),
            notifications: None,
            answer: Box::pin(answer.in_current_span()),
        })
    }
}

/// Adds `related` under `RELATED_TASK` in `value[field]`, where that is an
/// object or absent (a stored result is the tool's: never assumed).
fn tag(value: &mut Value, field: &str, related: Value) {
    let Some(fields) = value.as_object_mut() else {
        return;
    };
    let slot = fields.entry(field).or_insert_with(|| json!({}));
    if let Some(slot) = slot.as_object_mut() {
        slot.insert(RELATED_TASK.to_owned(), related);
    }
}

/// What a running task needs besides its tool and call.
struct TaskRun {
    record: TaskRecord,
    session: Arc<Session>,
    caller: Arc<Caller>,
    request_id: Value,
}

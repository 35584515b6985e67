//! Requests that run a component: `tools/call`, `resources/read`,
//! `prompts/get` and `completion/complete`. Each takes its place under the
//! cap on calls in flight (when the transport has one), gets a stream for
//! its log messages and progress, a way to ask the client, and a
//! cancellation, and runs on as [`Reply::Running`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tracing::Instrument as _;

use super::McpServer;
use super::context::{Admission, Answer, Reply, RequestContext, Running};
use super::server_info;
use crate::catalog::{Prompt, ResourceTarget, Tool};
use crate::mcp::client_requests::{Binding, ClientAsker, RetryRound, Route};
use crate::mcp::completion::{self, CompleteParams};
use crate::mcp::downlevel;
use crate::mcp::error::{ErrorKind, McpError};
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::notify::RequestNotifier;
use crate::mcp::revision::Revision;
use crate::mcp::session::Session;
use crate::mcp::tools::{self, CallContext, CallParams, ToolCall};
use crate::mcp::{prompts, resources, stateless};
use crate::outcome::Rejection;
use crate::telemetry::metrics;

/// How long a shed call's client is told to wait.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Whether a request came alone or in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Alone: a call may stream notifications; a shed call is refused.
    Single,
    /// In a 2025-03-26 batch: no stream; a shed call gets an error answer.
    Batch,
}

/// The answer carrying `error` for request `id` of a session of
/// `revision`: 2026-07-28 refuses a request for the errors its transport
/// shows as a status too.
pub(super) fn answer_error(id: &RequestId, error: McpError, revision: Revision) -> Answer {
    if revision.is_stateless() && error.kind.refuses_stateless_request() {
        Answer::refusal(Some(id), error)
    } else {
        Answer::error(Some(id), &error)
    }
}

/// What a job does.
pub(super) enum Work {
    /// `tools/call`; `resolved` is the tool already looked up for the
    /// caller (2026-07-28 checks it against the routing headers first).
    Call {
        call: CallParams,
        resolved: Option<Option<Arc<Tool>>>,
    },
    /// `resources/read` of `uri`, served by `target` (if the caller may).
    Read {
        uri: String,
        target: Option<ResourceTarget>,
    },
    /// `prompts/get`.
    Prompt {
        name: String,
        prompt: Option<Arc<Prompt>>,
        arguments: Vec<(String, String)>,
    },
    /// `completion/complete`.
    Complete(CompleteParams),
}

impl Work {
    fn method(&self) -> &'static str {
        match self {
            Self::Call { .. } => "tools/call",
            Self::Read { .. } => "resources/read",
            Self::Prompt { .. } => "prompts/get",
            Self::Complete(_) => "completion/complete",
        }
    }
}

/// A request on its way to run a component.
pub(super) struct Job {
    pub session: Arc<Session>,
    pub id: RequestId,
    pub work: Work,
    pub progress_token: Option<Value>,
    /// Where the component's requests to the client go, for the work that
    /// may ask (a tool call, a prompt): the name and arguments a
    /// 2026-07-28 retry is bound to, and the round the client continues.
    pub asks: Option<Asks>,
}

/// What binds a 2026-07-28 retry round to its request.
pub(super) struct Asks {
    pub name: String,
    pub arguments: Value,
    pub request_state: Option<Value>,
    pub input_responses: Option<Value>,
}

impl McpServer {
    /// Runs `job`: takes its place under the cap, and runs on as
    /// [`Reply::Running`].
    pub(super) async fn run_job(
        self: &Arc<Self>,
        job: Job,
        context: &RequestContext<'_>,
        origin: Origin,
    ) -> Reply {
        let Job {
            session,
            id,
            work,
            progress_token,
            asks,
        } = job;
        let revision = session.revision;
        let place = match context.admission {
            Admission::Uncapped => None,
            Admission::Capped => match self.limits().admission().admit().await {
                Ok(place) => Some(place),
                Err(overloaded) => {
                    metrics::record_rejection(Rejection::Overloaded);
                    tracing::warn!(%overloaded, "call shed");
                    return Reply::Answer(match origin {
                        Origin::Single => Answer::refusal(
                            None,
                            McpError::new(ErrorKind::Overloaded, overloaded.to_string())
                                .with_retry_after(SHED_RETRY_AFTER),
                        ),
                        Origin::Batch => Answer::error(
                            Some(&id),
                            &McpError::new(
                                ErrorKind::Overloaded,
                                format!("{overloaded}; retry the call later"),
                            ),
                        ),
                    });
                }
            },
        };
        let (notifier, notifications) = match origin {
            Origin::Single => {
                let (mut notifier, notifications) =
                    RequestNotifier::channel(progress_token, session.log_level());
                if !revision.has_progress_messages() {
                    notifier = notifier.without_progress_messages();
                }
                (Some(Arc::new(notifier)), Some(notifications))
            }
            Origin::Batch => (None, None),
        };
        let client = match &asks {
            Some(asks) => match self.client_asker(&session, context, asks, notifier.as_deref()) {
                Ok(client) => Some(Arc::new(client)),
                Err(error) => return Reply::Answer(answer_error(&id, error, revision)),
            },
            None => None,
        };
        // Listed before the transport goes on to the next message, so a
        // cancellation right behind the request finds it.
        let running = session.start_owned_call(&id.to_value());
        let listed = context
            .in_flight
            .filter(|_| revision.is_stateless())
            .map(|in_flight| in_flight.list(&id, &session));
        let catalog = self.catalog.load_full();
        let server = Arc::clone(self);
        let caller = Arc::clone(&context.caller);
        let job_session = Arc::clone(&session);
        let answer = async move {
            let call_context = CallContext {
                caller: &caller,
                revision,
                lifecycle: &server.lifecycle,
                limits: Some(server.limits()),
                audit: server.audit.as_deref(),
                request_id: id.to_value(),
                session: Some(&job_session.log_tag),
                notifier,
                cancelled: Some(running.cancelled()),
                client,
                time_limit_ms: None,
            };
            let method = work.method();
            let done = match work {
                Work::Call { call, resolved } => {
                    let tool = match resolved {
                        Some(tool) => tool,
                        None => tools::visible_tool(&catalog, &caller, &call.name),
                    };
                    tools::call(&call_context, ToolCall { tool, params: call })
                        .await
                        .map(|mut result| {
                            downlevel::call_result(revision, &mut result);
                            result
                        })
                }
                Work::Read { uri, target } => resources::read(&call_context, uri, target)
                    .await
                    .map(|mut result| {
                        downlevel::read_result(revision, &mut result);
                        result
                    }),
                Work::Prompt {
                    name,
                    prompt,
                    arguments,
                } => prompts::get(&call_context, name, prompt, arguments)
                    .await
                    .map(|mut result| {
                        downlevel::prompt_result(revision, &mut result);
                        result
                    }),
                Work::Complete(params) => {
                    completion::complete(&call_context, &catalog, params).await
                }
            };
            drop(running);
            // The job's place and its listing are held until it has ended.
            drop((place, listed));
            match done {
                Ok(mut result) => {
                    if revision.is_stateless() {
                        stateless::complete(method, &mut result, &server_info());
                    }
                    Some(Answer::result(&id, result))
                }
                Err(error) if error.is_client_cancellation() => None,
                Err(error) => Some(answer_error(&id, error, revision)),
            }
        }
        .in_current_span();
        Reply::Running(Running {
            session,
            notifications,
            answer: Box::pin(answer),
        })
    }

    /// Where a job's requests to the client go: its stream in the handshake
    /// revisions, a retry of the request in 2026-07-28.
    fn client_asker(
        &self,
        session: &Session,
        context: &RequestContext<'_>,
        asks: &Asks,
        notifier: Option<&RequestNotifier>,
    ) -> Result<ClientAsker, McpError> {
        let route = if session.revision.is_stateless() {
            let binding = Binding::new(context.caller.name(), &asks.name, &asks.arguments);
            Route::Retry(Arc::new(RetryRound::start(
                binding,
                Arc::clone(self.sessions.sealer()),
                asks.request_state.as_ref(),
                asks.input_responses.as_ref(),
            )?))
        } else {
            match notifier {
                Some(notifier) => Route::Live {
                    stream: notifier.stream(),
                    pending: Arc::clone(&session.pending),
                },
                None => Route::Unreachable("this request has no stream to the client"),
            }
        };
        Ok(ClientAsker::new(
            session.revision,
            Arc::clone(&session.client_capabilities),
            route,
        ))
    }
}

//! The methods of a session (or of a 2026-07-28 request's own state):
//! `initialize`, `ping`, `logging/setLevel`, `tools/list`, `tools/call`,
//! and the notifications a client sends.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tracing::Instrument as _;

use super::context::{Admission, Answer, Reply, RequestContext, Running};
use super::request::{CallToolParams, ClientRequest, InitializeParams};
use super::{McpServer, server_info};
use crate::catalog::Tool;
use crate::mcp::client_requests::{Binding, ClientAsker, RetryRound, Route};
use crate::mcp::downlevel;
use crate::mcp::error::{ErrorKind, McpError};
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::notify::RequestNotifier;
use crate::mcp::revision::Revision;
use crate::mcp::session::token::SessionClaims;
use crate::mcp::session::{Session, SessionError};
use crate::mcp::stateless;
use crate::mcp::tools::{self, CallContext, ToolCall};
use crate::outcome::Rejection;
use crate::telemetry::metrics;

/// How long a shed call's client is told to wait.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A request and the session (or, in 2026-07-28, the request's own state)
/// it runs in.
pub(super) struct SessionRequest {
    pub session: Arc<Session>,
    pub id: RequestId,
    pub method: String,
    pub params: Option<Map<String, Value>>,
    /// For a `tools/call` whose tool was already looked up for its caller
    /// (2026-07-28 checks it against the routing headers first): that
    /// decision, which the call keeps.
    pub resolved: Option<Option<Arc<Tool>>>,
}

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
fn answer_error(id: &RequestId, error: McpError, revision: Revision) -> Answer {
    if revision.is_stateless() && error.kind.refuses_stateless_request() {
        Answer::refusal(Some(id), error)
    } else {
        Answer::error(Some(id), &error)
    }
}

/// A `tools/call` on its way to run.
struct Call {
    session: Arc<Session>,
    id: RequestId,
    params: CallToolParams,
    resolved: Option<Option<Arc<Tool>>>,
}

impl McpServer {
    /// `initialize`: negotiates the revision the client asked for over the
    /// context's transport and opens a session belonging to its caller.
    pub(super) fn initialize(
        &self,
        id: &RequestId,
        params: Result<InitializeParams, McpError>,
        context: &RequestContext<'_>,
    ) -> Reply {
        let params = match params {
            Ok(params) => params,
            Err(error) => return Reply::Answer(Answer::error(Some(id), &error)),
        };
        let InitializeParams {
            protocol_version,
            capabilities,
            client_info,
        } = params;
        let revision = Revision::negotiate(&protocol_version, context.transport);
        let created = self.sessions.create(SessionClaims::new(
            revision,
            capabilities,
            client_info.clone(),
            context.caller.session_owner(),
        ));
        let (session_id, session) = match created {
            Ok(created) => created,
            Err(error @ SessionError::TooLarge(_)) => {
                let error = McpError::invalid_params(error.to_string());
                return Reply::Answer(Answer::error(Some(id), &error));
            }
            // The server's failures, not the client's: retry later.
            Err(error @ (SessionError::TooMany(_) | SessionError::Random(_))) => {
                let error = McpError::new(ErrorKind::Unavailable, error.to_string());
                return Reply::Answer(Answer::refusal(Some(id), error));
            }
        };
        tracing::info!(
            revision = revision.as_str(),
            client = %client_info,
            session = %session.log_tag,
            "session initialized"
        );
        let mut server_info = server_info();
        downlevel::server_info(revision, &mut server_info);
        let result = json!({
            "protocolVersion": revision.as_str(),
            "capabilities": {
                // Both transports deliver `notifications/tools/list_changed`.
                "tools": { "listChanged": true },
                "logging": {},
            },
            "serverInfo": server_info,
        });
        Reply::Opened {
            answer: Answer::result(id, result),
            session_id,
            session,
        }
    }

    /// A request in its session, in the `mcp` span.
    pub(super) async fn request(
        self: &Arc<Self>,
        request: SessionRequest,
        context: &RequestContext<'_>,
        origin: Origin,
    ) -> Reply {
        let SessionRequest {
            session,
            id,
            method,
            params,
            resolved,
        } = request;
        let revision = session.revision;
        let refuse = |error: McpError| Reply::Answer(answer_error(&id, error, revision));
        if revision.is_stateless() && !matches!(method.as_str(), "tools/list" | "tools/call") {
            return refuse(McpError::method_not_found(format!(
                "Method not found: {method} (not part of revision 2026-07-28)"
            )));
        }
        let request = match ClientRequest::parse(&method, params) {
            Ok(Some(request)) => request,
            Ok(None) => {
                return refuse(McpError::method_not_found(format!(
                    "Method not found: {method}"
                )));
            }
            Err(error) => return refuse(error),
        };
        let span = tracing::info_span!(
            "mcp",
            rpc_id = %id.to_value(),
            method = %method,
            session = %session.log_tag,
            batch = tracing::field::Empty,
            trace_id = tracing::field::Empty,
            otel.kind = "server",
        );
        if origin == Origin::Batch {
            span.record("batch", true);
        }
        if let Some(trace) = &context.trace {
            span.record("trace_id", trace.trace_id());
            #[cfg(feature = "otlp")]
            crate::telemetry::otlp::continue_remote_trace(
                &span,
                &trace.traceparent,
                trace.tracestate.as_deref(),
            );
        }
        let answer = match request {
            ClientRequest::CallTool(params) => {
                let call = Call {
                    session,
                    id,
                    params: *params,
                    resolved,
                };
                return self.call(call, context, origin).instrument(span).await;
            }
            ClientRequest::Ping => Ok(json!({})),
            ClientRequest::SetLogLevel(level) => {
                session.set_log_level(level);
                tracing::debug!(parent: &span, session = %session.log_tag, level = level.as_str(), "log level set");
                Ok(json!({}))
            }
            ClientRequest::ListTools { cursor } => span.in_scope(|| {
                let mut listing = tools::list(
                    &self.catalog.load(),
                    &context.caller,
                    cursor.as_deref(),
                    self.page_size,
                )?;
                downlevel::tool_listing(revision, &mut listing);
                Ok(listing)
            }),
        };
        Reply::Answer(match answer {
            Ok(mut result) => {
                if revision.is_stateless() {
                    stateless::complete(&method, &mut result, &server_info());
                }
                Answer::result(&id, result)
            }
            Err(error) => answer_error(&id, error, revision),
        })
    }

    /// `tools/call`: takes its place under the cap (when the transport has
    /// one), and runs on as [`Reply::Running`].
    async fn call(
        self: &Arc<Self>,
        call: Call,
        context: &RequestContext<'_>,
        origin: Origin,
    ) -> Reply {
        let Call {
            session,
            id,
            params,
            resolved,
        } = call;
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
                    RequestNotifier::channel(params.progress_token.clone(), session.log_level());
                if !revision.has_progress_messages() {
                    notifier = notifier.without_progress_messages();
                }
                (Some(Arc::new(notifier)), Some(notifications))
            }
            Origin::Batch => (None, None),
        };
        let client = match self.client_asker(&session, context, &params, notifier.as_deref()) {
            Ok(client) => client,
            Err(error) => return Reply::Answer(answer_error(&id, error, revision)),
        };
        // Listed before the transport goes on to the next message, so a
        // cancellation right behind the request finds it.
        let running = session.start_owned_call(&id.to_value());
        let listed = context
            .in_flight
            .filter(|_| revision.is_stateless())
            .map(|in_flight| in_flight.list(&id, &session));
        let tool = match resolved {
            Some(tool) => tool,
            None => tools::visible_tool(&self.catalog.load(), &context.caller, &params.call.name),
        };
        let call = ToolCall {
            tool,
            params: params.call,
        };
        let server = Arc::clone(self);
        let caller = Arc::clone(&context.caller);
        let call_session = Arc::clone(&session);
        let answer = async move {
            let call_context = CallContext {
                caller: &caller,
                revision,
                lifecycle: &server.lifecycle,
                limits: Some(server.limits()),
                audit: server.audit.as_deref(),
                request_id: id.to_value(),
                session: Some(&call_session.log_tag),
                notifier,
                cancelled: Some(running.cancelled()),
                client: Some(Arc::new(client)),
            };
            let called = tools::call(&call_context, call).await;
            drop(running);
            // The call's place and its listing are held until it has ended.
            drop((place, listed));
            match called {
                Ok(mut result) => {
                    downlevel::call_result(revision, &mut result);
                    if revision.is_stateless() {
                        stateless::complete("tools/call", &mut result, &server_info());
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

    /// Where a `tools/call`'s requests to the client go: its stream in the
    /// handshake revisions, a retry of the call in 2026-07-28.
    fn client_asker(
        &self,
        session: &Session,
        context: &RequestContext<'_>,
        params: &CallToolParams,
        notifier: Option<&RequestNotifier>,
    ) -> Result<ClientAsker, McpError> {
        let route = if session.revision.is_stateless() {
            let binding = Binding::new(
                context.caller.name(),
                &params.call.name,
                &params.call.arguments,
            );
            Route::Retry(Arc::new(RetryRound::start(
                binding,
                Arc::clone(self.sessions.sealer()),
                params.request_state.as_ref(),
                params.input_responses.as_ref(),
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

/// A notification inside a session. Nothing is answered.
pub(super) fn notification(session: &Session, method: &str, params: Option<&Map<String, Value>>) {
    match method {
        "notifications/initialized" => tracing::debug!("client initialized"),
        "notifications/cancelled" => {
            let request_id = params.and_then(|params| params.get("requestId"));
            let cancelled = request_id.is_some_and(|id| session.cancel_call(id));
            // Unknown or finished requests are ignored, as MCP allows.
            tracing::debug!(
                session = %session.log_tag,
                request_id = ?request_id,
                cancelled,
                "cancellation from the client"
            );
        }
        other => tracing::debug!(method = other, "ignoring notification"),
    }
}

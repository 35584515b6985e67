//! The methods of a session (or of a 2026-07-28 request's own state):
//! `initialize`, `ping`, `logging/setLevel`, `tools/list`, `tools/call`,
//! and the notifications a client sends.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tracing::Instrument as _;

use super::context::{Answer, Reply, RequestContext};
use super::jobs::{Asks, Job, Origin, Work, answer_error};
use super::request::{CallToolParams, ClientRequest, GetPromptParams, InitializeParams};
use super::{McpServer, server_info};
use crate::auth::Caller;
use crate::catalog::{Catalog, Tool};
use crate::mcp::downlevel;
use crate::mcp::error::{ErrorKind, McpError};
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::revision::Revision;
use crate::mcp::session::token::SessionClaims;
use crate::mcp::session::{Session, SessionError};
use crate::mcp::tools;
use crate::mcp::{prompts, resources, stateless};

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
            // Both transports deliver the list changes and resource updates.
            "capabilities": self.capabilities(revision),
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
        if revision.is_stateless() && !stateless::has_method(&method) {
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
        let catalog = self.catalog.load();
        let caller = &context.caller;
        let (work, progress_token, asks) = match request {
            ClientRequest::CallTool(params) => {
                let CallToolParams {
                    call,
                    progress_token,
                    request_state,
                    input_responses,
                    task,
                } = *params;
                let tool = match &resolved {
                    Some(tool) => tool.clone(),
                    None => tools::visible_tool(&catalog, caller, &call.name),
                };
                match Self::runs_as_task(&session, tool.as_deref(), task.is_some()) {
                    Err(error) => return refuse(error),
                    Ok(true) => {
                        if let Some(tool) = tool {
                            let answer = self
                                .start_task(&session, &id, call, tool, task.flatten(), caller)
                                .instrument(span)
                                .await;
                            return Reply::Answer(answer);
                        }
                    }
                    Ok(false) => {}
                }
                let asks = Asks {
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                    request_state,
                    input_responses,
                };
                (Work::Call { call, resolved }, progress_token, Some(asks))
            }
            ClientRequest::ReadResource { uri } => {
                let target = catalog.resources().resolve(&uri, caller);
                (Work::Read { uri, target }, None, None)
            }
            ClientRequest::GetPrompt(params) => {
                let GetPromptParams {
                    name,
                    arguments,
                    progress_token,
                    request_state,
                    input_responses,
                } = *params;
                let asks = Asks {
                    // Bound apart from a tool of the same name.
                    name: format!("prompt:{name}"),
                    arguments: Value::Object(
                        arguments
                            .iter()
                            .map(|(name, value)| (name.clone(), json!(value)))
                            .collect(),
                    ),
                    request_state,
                    input_responses,
                };
                let prompt = prompts::visible(&catalog, caller, &name);
                let work = Work::Prompt {
                    name,
                    prompt,
                    arguments,
                };
                (work, progress_token, Some(asks))
            }
            ClientRequest::Task(request) => {
                return self
                    .task_request(request, &session, caller, &id)
                    .instrument(span)
                    .await;
            }
            ClientRequest::Complete(params) => {
                if !catalog.completes() {
                    return refuse(McpError::method_not_found(
                        "Method not found: completion/complete (nothing served here completes \
                         arguments)",
                    ));
                }
                (Work::Complete(*params), None, None)
            }
            other => {
                let answer = span.in_scope(|| self.answer(other, &session, caller, &catalog));
                return Reply::Answer(match answer {
                    Ok(mut result) => {
                        if revision.is_stateless() {
                            stateless::complete(&method, &mut result, &server_info());
                        }
                        Answer::result(&id, result)
                    }
                    Err(error) => answer_error(&id, error, revision),
                });
            }
        };
        let job = Job {
            session,
            id,
            work,
            progress_token,
            asks,
        };
        self.run_job(job, context, origin).instrument(span).await
    }

    /// The answer to a request that runs nothing.
    fn answer(
        &self,
        request: ClientRequest,
        session: &Arc<Session>,
        caller: &Arc<Caller>,
        catalog: &Catalog,
    ) -> Result<Value, McpError> {
        let revision = session.revision;
        match request {
            ClientRequest::Ping => Ok(json!({})),
            ClientRequest::SetLogLevel(level) => {
                session.set_log_level(level);
                tracing::debug!(session = %session.log_tag, level = level.as_str(), "log level set");
                Ok(json!({}))
            }
            ClientRequest::ListTools { cursor } => {
                let mut listing = tools::list(catalog, caller, cursor.as_deref(), self.page_size)?;
                downlevel::tool_listing(revision, &mut listing);
                Ok(listing)
            }
            ClientRequest::ListResources { cursor } => {
                let mut listing =
                    resources::list(catalog, caller, cursor.as_deref(), self.page_size)?;
                downlevel::resource_listing(revision, &mut listing, "resources");
                Ok(listing)
            }
            ClientRequest::ListResourceTemplates { cursor } => {
                let mut listing =
                    resources::list_templates(catalog, caller, cursor.as_deref(), self.page_size)?;
                downlevel::resource_listing(revision, &mut listing, "resourceTemplates");
                Ok(listing)
            }
            ClientRequest::ListPrompts { cursor } => {
                let mut listing =
                    prompts::list(catalog, caller, cursor.as_deref(), self.page_size)?;
                downlevel::prompt_listing(revision, &mut listing);
                Ok(listing)
            }
            ClientRequest::Subscribe { uri } => self
                .subscribe(session, caller, catalog, uri)
                .map(|()| json!({})),
            ClientRequest::Unsubscribe { uri } => {
                session.unsubscribe(&uri);
                Ok(json!({}))
            }
            ClientRequest::CallTool(_)
            | ClientRequest::ReadResource { .. }
            | ClientRequest::GetPrompt(_)
            | ClientRequest::Complete(_)
            | ClientRequest::Task(_) => unreachable_job(),
        }
    }
}

/// The requests that run a component never reach the plain answers: they
/// run as jobs above. Answered as the server's failure, not a panic.
fn unreachable_job() -> Result<Value, McpError> {
    Err(McpError::new(
        crate::mcp::error::ErrorKind::Internal,
        "the request was not started",
    ))
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

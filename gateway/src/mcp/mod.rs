//! The MCP protocol: JSON-RPC framing, revisions, sessions and the methods
//! Warden answers. Transport-agnostic: `http` feeds it decoded messages.

pub mod batch;
pub mod client_requests;
mod downlevel;
pub mod jsonrpc;
pub mod notify;
pub mod param_headers;
pub mod revision;
pub mod session;
pub mod stateless;
mod strict_json;
mod tool_output;
pub mod tools;

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::audit::AuditLog;
use crate::auth::Caller;
use crate::catalog::Catalog;
use crate::lifecycle::Lifecycle;
use crate::limits::Limits;
use client_requests::{Binding, ClientAsker, RetryRound, Route};
use jsonrpc::{RequestId, code};
use notify::RequestNotifier;
use revision::{Revision, Transport};
use session::token::SessionClaims;
use session::{Session, SessionError, SessionStore};

/// A JSON-RPC error to send back for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The JSON-RPC code.
    pub code: i64,
    /// What went wrong, for a person.
    pub message: String,
    /// Details for a program.
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Invalid params (-32602).
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMS, message)
    }

    /// Whether this is the end of a call the client cancelled.
    pub fn is_client_cancellation(&self) -> bool {
        self.data
            .as_ref()
            .and_then(|data| data.get(tools::REASON_META_KEY))
            .is_some_and(|reason| reason == tools::CLIENT_CANCELLED_REASON)
    }

    /// Adds machine-readable details.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The JSON-RPC error response for request `id`.
    pub fn response(&self, id: Option<&RequestId>) -> Value {
        jsonrpc::error(id, self.code, &self.message, self.data.clone())
    }
}

/// Server identity reported by `initialize`.
const SERVER_NAME: &str = "warden";

/// The server's `Implementation`, in the newest shape.
fn server_info() -> Value {
    json!({
        "name": SERVER_NAME,
        "title": "Warden MCP gateway",
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// Answers MCP methods against the current catalog.
pub struct Mcp {
    /// Swapped whole on reload; a request takes the catalog of the moment
    /// and keeps it (and the components its calls run) until it is done.
    catalog: ArcSwap<Catalog>,
    tools_changed: broadcast::Sender<()>,
    sessions: SessionStore,
    /// Replaced on reload when `[rate_limits]` changes.
    limits: ArcSwap<Limits>,
    /// Set for the life of the process.
    audit: Option<Arc<AuditLog>>,
    page_size: usize,
    lifecycle: Lifecycle,
}

/// A session `initialize` opened.
pub struct Initialized {
    /// The `initialize` result.
    pub result: Value,
    /// The new session's id, for the client.
    pub session_id: String,
    /// The new session.
    pub session: Arc<Session>,
}

impl Mcp {
    /// A protocol handler serving `catalog`.
    pub fn new(
        catalog: Arc<Catalog>,
        sessions: SessionStore,
        limits: Limits,
        audit: Option<Arc<AuditLog>>,
        page_size: usize,
    ) -> Self {
        Self {
            catalog: ArcSwap::new(catalog),
            tools_changed: broadcast::channel(1).0,
            sessions,
            limits: ArcSwap::from_pointee(limits),
            audit,
            page_size: page_size.max(1),
            lifecycle: Lifecycle::default(),
        }
    }

    /// The shutdown state: readiness and the cancellation of calls.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// The catalog being served now.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// Serves `catalog` from now on. Requests already running finish on the
    /// catalog they started with. Subscribers hear of it when the tool
    /// listing changed.
    pub fn replace_catalog(&self, catalog: Arc<Catalog>) {
        let previous = self.catalog.swap(catalog);
        if previous.listing_differs(&self.catalog.load()) {
            // No subscriber (no open stream) is not an error.
            let _ = self.tools_changed.send(());
        }
    }

    /// Fires each time a reload changes the tool listing; for the
    /// transports that can send `notifications/tools/list_changed`.
    pub fn subscribe_tools_changed(&self) -> broadcast::Receiver<()> {
        self.tools_changed.subscribe()
    }

    /// The live sessions.
    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }

    /// The quotas and the cap on calls in flight now.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.load_full()
    }

    /// The audit log, if one is configured.
    pub fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_deref()
    }

    /// Enforces `limits` from now on; counters start afresh.
    pub fn replace_limits(&self, limits: Limits) {
        self.limits.store(Arc::new(limits));
    }

    /// Handles `initialize`: negotiates the revision the client reaching us
    /// over `transport` asked for, and opens a session. The session belongs
    /// to `caller`: no other caller can use it.
    pub fn initialize(
        &self,
        params: Option<&Map<String, Value>>,
        caller: &Caller,
        transport: Transport,
    ) -> Result<Initialized, RpcError> {
        let params = params.ok_or_else(|| RpcError::invalid_params("`initialize` needs params"))?;
        let requested = params
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("`protocolVersion` must be a string"))?;
        let capabilities = match params.get("capabilities") {
            Some(capabilities @ Value::Object(_)) => capabilities.clone(),
            None => Value::Object(Map::new()),
            Some(_) => return Err(RpcError::invalid_params("`capabilities` must be an object")),
        };
        let client_info = match params.get("clientInfo") {
            Some(info @ Value::Object(_)) => info.clone(),
            None => Value::Null,
            Some(_) => return Err(RpcError::invalid_params("`clientInfo` must be an object")),
        };
        let revision = Revision::negotiate(requested, transport);
        let (session_id, session) = self
            .sessions
            .create(SessionClaims::new(
                revision,
                capabilities,
                client_info.clone(),
                caller.session_owner(),
            ))
            .map_err(|error| match error {
                SessionError::TooLarge(_) => RpcError::invalid_params(error.to_string()),
                // The server's failures, not the client's: the transport
                // answers them with 503 so clients retry later.
                SessionError::TooMany(_) | SessionError::Random(_) => {
                    RpcError::new(code::INTERNAL_ERROR, error.to_string())
                }
            })?;
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
        Ok(Initialized {
            result,
            session_id,
            session,
        })
    }

    /// The `server/discover` result for a client reaching us over
    /// `transport`.
    pub fn discover(&self, transport: Transport) -> Value {
        stateless::discover(transport, &server_info())
    }

    /// The notifier of a request that may produce notifications while it
    /// runs (`tools/call`), with the receiving end of its stream; `None`
    /// for other requests.
    pub fn notifier_for(
        &self,
        session: &Session,
        method: &str,
        params: Option<&Map<String, Value>>,
    ) -> Option<(Arc<RequestNotifier>, notify::Notifications)> {
        (method == "tools/call").then(|| {
            let (mut notifier, receiver) =
                RequestNotifier::channel(notify::progress_token(params), session.log_level());
            if !session.revision.has_progress_messages() {
                notifier = notifier.without_progress_messages();
            }
            (Arc::new(notifier), receiver)
        })
    }

    /// Answers a request inside a session; `notifier` takes what it
    /// produces while it runs.
    pub async fn request(
        &self,
        session: &Session,
        caller: &Caller,
        id: &RequestId,
        method: &str,
        params: Option<&Map<String, Value>>,
        notifier: Option<Arc<RequestNotifier>>,
    ) -> Result<Value, RpcError> {
        let stateless = session.revision.is_stateless();
        if stateless && !matches!(method, "tools/list" | "tools/call") {
            return Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("Method not found: {method} (not part of revision 2026-07-28)"),
            ));
        }
        let mut result = self
            .dispatch(session, caller, id, method, params, notifier)
            .await?;
        if stateless {
            stateless::complete(method, &mut result, &server_info());
        }
        Ok(result)
    }

    /// Answers a method of the handshake revisions (2026-07-28 shares
    /// `tools/list` and `tools/call` with them).
    async fn dispatch(
        &self,
        session: &Session,
        caller: &Caller,
        id: &RequestId,
        method: &str,
        params: Option<&Map<String, Value>>,
        notifier: Option<Arc<RequestNotifier>>,
    ) -> Result<Value, RpcError> {
        match method {
            "ping" => Ok(json!({})),
            "logging/setLevel" => {
                let level = params
                    .and_then(|params| params.get("level"))
                    .and_then(Value::as_str)
                    .and_then(notify::parse_level)
                    .ok_or_else(|| {
                        RpcError::invalid_params(
                            "`level` must be one of debug, info, notice, warning, error, \
                             critical, alert, emergency",
                        )
                    })?;
                session.set_log_level(level);
                tracing::debug!(session = %session.log_tag, level = level.as_str(), "log level set");
                Ok(json!({}))
            }
            "tools/list" => {
                let mut listing =
                    tools::list(&self.catalog.load(), caller, params, self.page_size)?;
                downlevel::tool_listing(session.revision, &mut listing);
                Ok(listing)
            }
            "tools/call" => {
                let client = self.client_asker(session, caller, params, notifier.as_deref())?;
                let params = tools::CallParams::parse(params)?;
                let catalog = self.catalog.load_full();
                let context = tools::CallContext {
                    caller,
                    revision: session.revision,
                    lifecycle: &self.lifecycle,
                    limits: Some(self.limits.load_full()),
                    audit: self.audit.as_deref(),
                    request_id: id.to_value(),
                    session: Some(&session.log_tag),
                    notifier,
                    cancelled: None,
                    client: Some(Arc::new(client)),
                };
                let running = session.start_call(&id.to_value());
                let context = tools::CallContext {
                    cancelled: Some(running.cancelled()),
                    ..context
                };
                let mut result = tools::call(&catalog, &context, params).await?;
                downlevel::call_result(session.revision, &mut result);
                Ok(result)
            }
            "initialize" => Err(RpcError::new(
                code::INVALID_REQUEST,
                "this session is already initialized; start a new session to initialize again",
            )),
            _ => Err(RpcError::new(
                code::METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
            )),
        }
    }

    /// Where a `tools/call`'s requests to the client go: its stream in the
    /// handshake revisions, a retry of the call in 2026-07-28.
    fn client_asker(
        &self,
        session: &Session,
        caller: &Caller,
        params: Option<&Map<String, Value>>,
        notifier: Option<&RequestNotifier>,
    ) -> Result<ClientAsker, RpcError> {
        let route = if session.revision.is_stateless() {
            let field = |name: &str| params.and_then(|params| params.get(name));
            let binding = Binding::new(
                caller.name(),
                field("name").and_then(Value::as_str).unwrap_or_default(),
                // `tools/call` takes absent or null arguments as `{}`.
                field("arguments")
                    .filter(|arguments| !arguments.is_null())
                    .unwrap_or(&Value::Object(Map::new())),
            );
            Route::Retry(Arc::new(RetryRound::start(
                binding,
                Arc::clone(self.sessions.sealer()),
                field("requestState"),
                field("inputResponses"),
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

    /// Hands a client's response to the request of the session's that it
    /// answers; a response nothing waits for is logged and dropped.
    pub fn client_response(&self, session: &Session, id: &RequestId, answer: Result<Value, Value>) {
        let routed = session.pending.answer(id, answer);
        tracing::debug!(session = %session.log_tag, ?id, routed, "response from the client");
    }

    /// Answers a request inside a session with the whole JSON-RPC response
    /// message: the result, or the error, under the request's id; `None`
    /// for a call the client cancelled, which gets no answer.
    pub async fn respond(
        &self,
        session: &Session,
        caller: &Caller,
        id: &RequestId,
        method: &str,
        params: Option<&Map<String, Value>>,
        notifier: Option<Arc<RequestNotifier>>,
    ) -> Option<Value> {
        match self
            .request(session, caller, id, method, params, notifier)
            .await
        {
            Ok(result) => Some(jsonrpc::result(id, result)),
            Err(error) if error.is_client_cancellation() => None,
            Err(error) => Some(error.response(Some(id))),
        }
    }

    /// Takes a notification inside a session. Nothing is answered.
    pub fn notification(
        &self,
        session: &Session,
        method: &str,
        params: Option<&Map<String, Value>>,
    ) {
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
}

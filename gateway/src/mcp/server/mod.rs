//! The MCP server, the same for every transport: [`McpServer::handle`]
//! takes one decoded message with its [`RequestContext`] and answers it in
//! every revision (`initialize` and the session checks, 2026-07-28's
//! per-request envelope and `server/discover`, 2025-03-26 batches, the cap
//! on calls in flight and the `mcp` span). Transports frame messages,
//! authenticate, carry the [`Reply`] to their wire, and keep their own
//! streams; nothing protocol-level is theirs.

mod batch;
mod context;
mod jobs;
mod methods;
mod request;
mod subscription;
mod tasks;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use context::{
    Admission, Answer, Framing, InFlight, Incoming, PendingAnswer, Reply, RequestContext,
    RoutingCheck, Running, SessionRef, TraceContext,
};
pub use request::{CallToolParams, ClientRequest, InitializeParams};
pub use subscription::{Subscription, SubscriptionEvent, Watching};

use super::error::{ErrorKind, McpError};
use super::jsonrpc::{Message, RequestId};
use super::revision::{Revision, Transport};
use super::session::{LookupError, Session, SessionStore};
use super::stateless::{self, Envelope};
use super::tools;
use super::watch::{self, CatalogChange, WatchGuard, Watches};
use crate::audit::AuditLog;
use crate::auth::Caller;
use crate::catalog::{APPS_EXTENSION, Catalog};
use crate::config::TasksConfig;
use crate::lifecycle::Lifecycle;
use crate::limits::Limits;
use crate::tasks::Tasks;
use jobs::Origin;
use methods::SessionRequest;

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

/// Answers MCP messages against the current catalog.
pub struct McpServer {
    /// Swapped whole on reload; a request takes the catalog of the moment
    /// and keeps it (and the components its calls run) until it is done.
    catalog: ArcSwap<Catalog>,
    /// What each reload changed, for the streams that tell clients.
    changes: broadcast::Sender<CatalogChange>,
    /// The resources clients watch in this process.
    watches: Arc<Watches>,
    sessions: SessionStore,
    /// Replaced on reload when `[rate_limits]` changes.
    limits: ArcSwap<Limits>,
    /// Set for the life of the process.
    audit: Option<Arc<AuditLog>>,
    page_size: usize,
    lifecycle: Lifecycle,
    /// Tool calls run as tasks.
    tasks: Arc<Tasks>,
}

/// Whether a request needs its session's local state in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalState {
    /// Kept between requests: its streams, log level, running calls.
    Needed,
    /// Served from the session id alone (or the local state if there is
    /// some), so a session that only initializes, pings and lists costs
    /// this process nothing between requests.
    NotNeeded,
}

impl LocalState {
    /// What `message` needs of its session: pings, tool listings and every
    /// notification and response work from the session id (a cancellation
    /// or a response has something to reach only where local state exists).
    fn of(message: &Message) -> Self {
        match message {
            Message::Request { method, .. }
                if matches!(
                    method.as_str(),
                    "ping"
                        | "tools/list"
                        | "prompts/list"
                        | "resources/list"
                        | "resources/templates/list"
                        | "tasks/get"
                        | "tasks/result"
                        | "tasks/list"
                        | "tasks/cancel"
                        | "tasks/update"
                ) =>
            {
                Self::NotNeeded
            }
            Message::Request { .. } => Self::Needed,
            Message::Notification { .. } | Message::Response { .. } => Self::NotNeeded,
        }
    }
}

impl McpServer {
    /// A server of `catalog`.
    pub fn new(
        catalog: Arc<Catalog>,
        sessions: SessionStore,
        limits: Limits,
        audit: Option<Arc<AuditLog>>,
        page_size: usize,
    ) -> Self {
        Self {
            catalog: ArcSwap::new(catalog),
            changes: broadcast::channel(16).0,
            watches: Arc::default(),
            sessions,
            limits: ArcSwap::from_pointee(limits),
            audit,
            page_size: page_size.max(1),
            lifecycle: Lifecycle::default(),
            tasks: Arc::new(Tasks::new(&TasksConfig::default(), None)),
        }
    }

    /// The server keeping tasks in `tasks`.
    #[must_use]
    pub fn with_tasks(mut self, tasks: Tasks) -> Self {
        self.tasks = Arc::new(tasks);
        self
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
    /// catalog they started with. Listeners hear at once of the lists that
    /// changed, and of the watched resources whose contents changed once
    /// those are read (in the background, under each component's limits).
    pub fn replace_catalog(&self, catalog: Arc<Catalog>) {
        let previous = self.catalog.swap(Arc::clone(&catalog));
        let change = CatalogChange::of_lists(&previous, &catalog);
        if !change.is_empty() {
            // No subscriber (no open stream) is not an error.
            let _ = self.changes.send(change);
        }
        let watched = self.watches.uris();
        if watched.is_empty() {
            return;
        }
        let changes = self.changes.clone();
        tokio::spawn(async move {
            let updated = watch::updated_resources(&previous, &catalog, watched).await;
            if !updated.is_empty() {
                tracing::debug!(
                    count = updated.len(),
                    "watched resources changed with the reload"
                );
                let _ = changes.send(CatalogChange {
                    catalog: Some(catalog),
                    updated: Arc::new(updated),
                    ..CatalogChange::default()
                });
            }
        });
    }

    /// Fires for each change a reload makes; for the streams that send
    /// `notifications/*/list_changed` and `notifications/resources/updated`.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<CatalogChange> {
        self.changes.subscribe()
    }

    /// The capabilities `initialize` and `server/discover` report: tools
    /// and logging always, the rest when some component serves them.
    pub fn capabilities(&self, revision: Revision) -> Value {
        let catalog = self.catalog.load();
        let mut capabilities = json!({
            "tools": { "listChanged": true },
            "logging": {},
        });
        let resources = catalog.resources();
        if !resources.fixed().is_empty() || !resources.templates().is_empty() {
            capabilities["resources"] = json!({ "subscribe": true, "listChanged": true });
        }
        if !catalog.prompts().is_empty() {
            capabilities["prompts"] = json!({ "listChanged": true });
        }
        if catalog.completes() && revision >= Revision::V2025_03_26 {
            capabilities["completions"] = json!({});
        }
        if catalog.serves_apps() && revision >= Revision::V2025_06_18 {
            capabilities["extensions"] = json!({ APPS_EXTENSION: {} });
        }
        match revision {
            Revision::V2025_11_25 => {
                capabilities["tasks"] = json!({
                    "list": {},
                    "cancel": {},
                    "requests": { "tools": { "call": {} } },
                });
            }
            Revision::V2026_07_28 => {
                capabilities["extensions"][tasks::TASKS_EXTENSION] = json!({});
            }
            _ => {}
        }
        capabilities
    }

    /// `resources/subscribe`: the session hears of changes to `uri` (one
    /// the caller may read) until it unsubscribes or ends.
    pub(super) fn subscribe(
        &self,
        session: &Session,
        caller: &Arc<Caller>,
        catalog: &Catalog,
        uri: String,
    ) -> Result<(), McpError> {
        if catalog.resources().resolve(&uri, caller).is_none() {
            return Err(super::resources::not_found(
                session.revision,
                &uri,
                "no resource or template serves it",
            ));
        }
        let guard = self.watches.watch(&uri)?;
        session.subscribe(uri, guard, Arc::clone(caller))
    }

    /// Watches `uri` for a `subscriptions/listen` stream.
    pub(super) fn watch(&self, uri: &str) -> Result<WatchGuard, McpError> {
        self.watches.watch(uri)
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

    /// Answers one message. Returns once the message is routed: a request
    /// that runs a tool (or a batch) comes back [`Reply::Running`], to be
    /// driven by the transport; dropping it cancels the request.
    pub async fn handle(
        self: &Arc<Self>,
        incoming: Incoming,
        context: &RequestContext<'_>,
    ) -> Reply {
        match incoming {
            Incoming::Malformed(error) => Reply::Answer(malformed(&error)),
            Incoming::Batch(messages) => self.batch(messages, context),
            Incoming::One(message) => self.one(message, context).await,
        }
    }

    async fn one(self: &Arc<Self>, message: Message, context: &RequestContext<'_>) -> Reply {
        if is_stateless(&message, context.framing) {
            return self.stateless(message, context).await;
        }
        let message = match message {
            Message::Request { id, method, params } if method == "initialize" => {
                return self.initialize(&id, InitializeParams::parse(params), context);
            }
            message => message,
        };
        if let Message::Notification { method, params } = &message
            && let Some(request) = cancelled_in_flight(method, params.as_ref(), context)
        {
            request.cancel_call(&request_id_of(params.as_ref()));
            return Reply::Nothing;
        }
        let session = match self.session_for(&message, context) {
            Ok(session) => session,
            Err(reply) => return *reply,
        };
        match message {
            Message::Request { id, method, params } => {
                let request = SessionRequest {
                    session,
                    id,
                    method,
                    params,
                    resolved: None,
                };
                self.request(request, context, Origin::Single).await
            }
            Message::Notification { method, params } => {
                methods::notification(&session, &method, params.as_ref());
                Reply::Nothing
            }
            Message::Response { id, answer } => {
                let routed = session.pending.answer(&id, answer);
                tracing::debug!(session = %session.log_tag, ?id, routed, "response from the client");
                Reply::Nothing
            }
        }
    }

    /// The session `message` belongs to, or what refuses it.
    fn session_for(
        &self,
        message: &Message,
        context: &RequestContext<'_>,
    ) -> Result<Arc<Session>, Box<Reply>> {
        match &context.session {
            SessionRef::Held(session) => Ok(Arc::clone(session)),
            SessionRef::Named {
                id,
                protocol_version,
            } => self
                .open_session(
                    id,
                    protocol_version.as_deref(),
                    &context.caller,
                    LocalState::of(message),
                )
                .map_err(|error| Box::new(Reply::Answer(Answer::refusal(None, error)))),
            SessionRef::Absent => Err(Box::new(match (context.transport, message) {
                (Transport::Http, _) => Reply::Answer(Answer::refusal(
                    None,
                    McpError::invalid_request(
                        "the Mcp-Session-Id header is required; send `initialize` first to get one",
                    ),
                )),
                (Transport::Stdio, Message::Request { id, .. }) => Reply::Answer(Answer::error(
                    Some(id),
                    &McpError::invalid_request(
                        "send `initialize` first (or, in revision 2026-07-28, carry the \
                         protocol version and client capabilities in params._meta)",
                    ),
                )),
                // Before `initialize` there is nothing they could mean.
                (Transport::Stdio, _) => Reply::Nothing,
            })),
        }
    }

    /// The live session `id` names, belonging to `caller` and checked
    /// against the revision the request names (`protocol_version`).
    pub fn open_session(
        &self,
        id: &str,
        protocol_version: Option<&str>,
        caller: &Caller,
        local: LocalState,
    ) -> Result<Arc<Session>, McpError> {
        let session = match local {
            LocalState::Needed => self.sessions.touch(id),
            LocalState::NotNeeded => self.sessions.view(id),
        }
        .map_err(refuse_session)?;
        if session.owner.as_deref() != caller.session_owner() {
            // Answered as unknown: another caller learns nothing of it.
            tracing::warn!(
                session = %session.log_tag,
                caller = caller.name(),
                "refused a session id presented by a caller it does not belong to"
            );
            return Err(unknown_session());
        }
        if let Some(requested) = protocol_version {
            check_protocol_version(requested, &session)?;
        }
        Ok(session)
    }

    /// A 2026-07-28 message: no session; each request carries its state.
    async fn stateless(self: &Arc<Self>, message: Message, context: &RequestContext<'_>) -> Reply {
        // The revision defines no notifications from the client over HTTP;
        // over stdio a cancellation names a running request.
        let Message::Request { id, method, params } = message else {
            if let Message::Notification { method, params } = &message
                && let Some(request) = cancelled_in_flight(method, params.as_ref(), context)
            {
                request.cancel_call(&request_id_of(params.as_ref()));
            }
            return Reply::Nothing;
        };
        let refuse = |error: McpError| Reply::Answer(Answer::refusal(Some(&id), error));
        let envelope = match Envelope::read(params.as_ref()) {
            Ok(envelope) => envelope,
            Err(error) => return refuse(error),
        };
        // A call's tool is looked up once, for the routing headers and the
        // call alike.
        let resolved = (method == "tools/call").then(|| {
            let name = params.as_ref().and_then(|params| params.get("name"));
            name.and_then(Value::as_str)
                .and_then(|name| tools::visible_tool(&self.catalog.load(), &context.caller, name))
        });
        let tool = resolved.as_ref().and_then(Option::as_deref);
        if let Some(check) = context.routing
            && let Err(error) = check(&envelope, &method, params.as_ref(), tool)
        {
            return refuse(error);
        }
        let revision = match envelope.revision(context.transport) {
            Ok(revision) => revision,
            Err(error) => return refuse(error),
        };
        match method.as_str() {
            "server/discover" => {
                let capabilities = self.capabilities(Revision::V2026_07_28);
                let result = stateless::discover(context.transport, &server_info(), capabilities);
                return Reply::Answer(Answer::result(&id, result));
            }
            "subscriptions/listen" => {
                let catalog = self.catalog.load();
                let may_watch = |uri: &str| {
                    super::resources::check_uri(uri).is_ok()
                        && catalog.resources().resolve(uri, &context.caller).is_some()
                };
                return match stateless::honoured_subscriptions(params.as_ref(), may_watch) {
                    Ok(honoured) => {
                        match self.subscription(id.clone(), honoured, &envelope, context) {
                            Ok(subscription) => Reply::Subscription(subscription),
                            Err(error) => refuse(error),
                        }
                    }
                    Err(error) => refuse(error),
                };
            }
            _ => {}
        }
        let session = Arc::new(Session::for_one_request(
            revision,
            envelope.client_capabilities,
            context.caller.session_owner().map(str::to_owned),
            envelope.log_level,
        ));
        let request = SessionRequest {
            session,
            id,
            method,
            params,
            resolved,
        };
        self.request(request, context, Origin::Single).await
    }

    /// A new `subscriptions/listen` stream of request `id`.
    fn subscription(
        &self,
        id: RequestId,
        honoured: Value,
        envelope: &Envelope,
        context: &RequestContext<'_>,
    ) -> Result<Subscription, McpError> {
        let guards = honoured
            .get("resourceSubscriptions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|uri| self.watch(uri).map(|guard| (uri.to_owned(), guard)))
            .collect::<Result<Vec<_>, McpError>>()?;
        // Its own state, so a cancellation can name it like any request.
        let session = Arc::new(Session::for_one_request(
            Revision::V2026_07_28,
            envelope.client_capabilities.clone(),
            context.caller.session_owner().map(str::to_owned),
            envelope.log_level,
        ));
        let listed = context
            .in_flight
            .map(|in_flight| in_flight.list(&id, &session));
        Ok(Subscription::new(
            id,
            honoured,
            session,
            listed,
            Watching {
                changes: self.subscribe_changes(),
                resources: guards,
                caller: Arc::clone(&context.caller),
            },
            self.lifecycle.drain_begun(),
        ))
    }
}

/// Whether `message` is one of 2026-07-28.
fn is_stateless(message: &Message, framing: Framing) -> bool {
    match framing {
        Framing::Stateless => true,
        Framing::Session => false,
        // `initialize` always opens a session, whatever its `_meta` says.
        Framing::PerMessage => matches!(
            message,
            Message::Request { method, params, .. }
                if method != "initialize" && stateless::carries_envelope(params.as_ref())
        ),
    }
}

/// The `requestId` a `notifications/cancelled` names (`null` if none).
fn request_id_of(params: Option<&serde_json::Map<String, Value>>) -> Value {
    params
        .and_then(|params| params.get("requestId"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// The running 2026-07-28 request a `notifications/cancelled` names on
/// this connection, if any: such a request has no session to name it in.
fn cancelled_in_flight(
    method: &str,
    params: Option<&serde_json::Map<String, Value>>,
    context: &RequestContext<'_>,
) -> Option<Arc<Session>> {
    if method != "notifications/cancelled" {
        return None;
    }
    context.in_flight?.find(&request_id_of(params))
}

/// The answer to a frame that is not one usable message: refused, but a
/// request whose only fault is its params is answered as a method answers
/// params it cannot use.
fn malformed(error: &super::jsonrpc::DecodeError) -> Answer {
    let mcp_error = McpError::from(error);
    if mcp_error.kind == ErrorKind::InvalidParams {
        Answer::error(error.id(), &mcp_error)
    } else {
        Answer::refusal(error.id(), mcp_error)
    }
}

/// Why a request's session id was not accepted.
fn refuse_session(error: LookupError) -> McpError {
    if let LookupError::TooMany(_) = error {
        tracing::warn!(%error, "session refused");
        return McpError::new(ErrorKind::Unavailable, error.to_string());
    }
    tracing::debug!(%error, "session refused");
    unknown_session()
}

/// The refusal of a session id that names no live session of the caller's.
pub fn unknown_session() -> McpError {
    McpError::new(
        ErrorKind::UnknownSession,
        "unknown or expired session; send `initialize` to start a new one",
    )
}

/// Refuses a protocol version that is invalid or not served; MCP refuses
/// only those (clients, the official conformance suite's among them, send
/// other supported ones). The session keeps the revision it negotiated.
fn check_protocol_version(requested: &str, session: &Session) -> Result<(), McpError> {
    match Revision::parse_for(requested, Transport::Http) {
        None => Err(McpError::invalid_request(format!(
            "unsupported MCP-Protocol-Version `{requested}`; supported: {}",
            Revision::supported_list(Transport::Http)
        ))),
        Some(revision) => {
            if revision != session.revision {
                tracing::debug!(
                    header = %requested,
                    negotiated = session.revision.as_str(),
                    "MCP-Protocol-Version differs from the session's revision; serving the negotiated one"
                );
            }
            Ok(())
        }
    }
}

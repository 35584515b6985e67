//! A tool's requests to the client that called it (its `ask-client`):
//! `sampling/createMessage`, `elicitation/create` and `roots/list`.
//!
//! Handshake revisions carry them as server-to-client requests on the
//! call's own stream (SSE events over HTTP, lines over stdio); the client's
//! response comes back as a JSON-RPC response and is routed by id to the
//! waiting tool.
//!
//! Revision 2026-07-28 has no server-to-client requests: the call ends with
//! an `InputRequiredResult` naming what it needs (or, when the client did
//! not declare a capability the tool needs, a -32021 error naming it), and
//! the client re-sends
//! the call with `inputResponses` and the `requestState` it got. A call
//! runs in a fresh instance each time, so the retry runs the tool from the
//! start and hands it the answers collected so far as it asks again; the
//! state that carries them is sealed (AEAD, the session key) and bound to
//! the caller, the tool, the arguments and an expiry.

mod check;
mod retry;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use warden_sandbox::{ClientReply, ClientReplyFuture, ClientRequest, ClientRequestError};

use super::error::McpError;
use super::revision::Revision;
use super::session::pending::PendingRequests;
use check::check;
pub use retry::{Binding, MAX_KEY_CHARS, REQUEST_STATE_TTL_SECS, RetryRound};

/// Where one call's requests to its client go.
pub struct ClientAsker {
    revision: Revision,
    capabilities: Arc<Value>,
    route: Route,
}

/// How a request reaches the client and its answer comes back.
pub enum Route {
    /// On the call's stream; the response is routed back through the
    /// session's pending requests.
    Live {
        /// The call's stream.
        stream: mpsc::Sender<Value>,
        /// Where the client's response is matched to the request.
        pending: Arc<PendingRequests>,
    },
    /// With a retried call (2026-07-28).
    Retry(Arc<RetryRound>),
    /// Not at all, for the reason given.
    Unreachable(&'static str),
}

impl ClientAsker {
    /// Requests of a client speaking `revision` that declared
    /// `capabilities`, sent by `route`.
    pub fn new(revision: Revision, capabilities: Arc<Value>, route: Route) -> Self {
        Self {
            revision,
            capabilities,
            route,
        }
    }

    /// Sends the tool's request and resolves to the client's answer.
    pub fn ask(&self, request: ClientRequest) -> ClientReplyFuture {
        let checked = check(
            request.kind,
            self.revision,
            &self.capabilities,
            &request.params,
        );
        match (&self.route, checked) {
            (Route::Retry(round), checked) => ready(round.ask(&request, checked)),
            (_, Err(refusal)) => ready(ClientReply::Failed(refusal.error)),
            (Route::Live { stream, pending }, Ok((method, params))) => Box::pin(ask_live(
                stream.clone(),
                Arc::clone(pending),
                method,
                params,
            )),
            (Route::Unreachable(reason), Ok(_)) => ready(ClientReply::Failed(
                ClientRequestError::Unavailable((*reason).to_owned()),
            )),
        }
    }
}

impl ClientAsker {
    /// The `InputRequiredResult` of a 2026-07-28 call that stopped at an
    /// unanswered request; `None` otherwise.
    pub fn input_required(&self) -> Option<Result<Value, McpError>> {
        match &self.route {
            Route::Retry(round) => round.input_required(),
            Route::Live { .. } | Route::Unreachable(_) => None,
        }
    }
}

fn ready(reply: ClientReply) -> ClientReplyFuture {
    Box::pin(std::future::ready(reply))
}

async fn ask_live(
    stream: mpsc::Sender<Value>,
    pending: Arc<PendingRequests>,
    method: &'static str,
    params: Value,
) -> ClientReply {
    let mut waiting = pending.register();
    let request = json!({
        "jsonrpc": "2.0",
        "id": waiting.id.to_value(),
        "method": method,
        "params": params,
    });
    if stream.send(request).await.is_err() {
        return ClientReply::Failed(ClientRequestError::Unavailable(
            "the call's stream to the client has closed".to_owned(),
        ));
    }
    match waiting.answer().await {
        Some(Ok(result)) => ClientReply::Answered(result.to_string()),
        Some(Err(error)) => {
            ClientReply::Failed(ClientRequestError::Refused(describe_error(&error)))
        }
        None => ClientReply::Failed(ClientRequestError::Unavailable(
            "the session ended before the client answered".to_owned(),
        )),
    }
}

/// A client's JSON-RPC error object as one line: its message and code.
fn describe_error(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    match error.get("code").and_then(Value::as_i64) {
        Some(code) => format!("{message} (code {code})"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests;

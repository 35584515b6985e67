//! JSON-RPC batches, for sessions of revision 2025-03-26 (later revisions
//! removed them): every message of the array is handled as if it came
//! alone, requests concurrently, and the answers come back as one JSON
//! array in the batch's order, or nothing when no message needs an answer.
//! Transports decide how a batch arrives and how its answer leaves.

use std::sync::Arc;

use serde_json::Value;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::Mcp;
use super::jsonrpc::{self, DecodeError, Message, code};
use super::session::Session;
use crate::auth::Caller;
use crate::telemetry::metrics;

/// Whether each call of a batch takes a place under `max_calls_in_flight`
/// (HTTP) or not (stdio, whose one client is the operator's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Each call waits for its own place (HTTP).
    Yes,
    /// Calls take no place (stdio).
    No,
}

/// Handles the messages of a batch concurrently; the answers as one JSON
/// array in the batch's order, or `None` when nothing needs an answer.
///
/// `app` is whatever holds the protocol handler (the application): each
/// message runs as a task of its own, which must own a handle to it.
pub async fn answer<A>(
    app: &Arc<A>,
    session: &Arc<Session>,
    caller: &Arc<Caller>,
    messages: Vec<Result<Message, DecodeError>>,
    admit: Admit,
) -> Option<Value>
where
    A: AsRef<Mcp> + Send + Sync + 'static,
{
    let mut running = JoinSet::new();
    for (index, message) in messages.into_iter().enumerate() {
        let (app, session, caller) = (Arc::clone(app), Arc::clone(session), Arc::clone(caller));
        running.spawn(async move {
            let answer = one((*app).as_ref(), &session, &caller, message, admit).await;
            (index, answer)
        });
    }
    let mut answers: Vec<(usize, Value)> = Vec::new();
    while let Some(joined) = running.join_next().await {
        match joined {
            Ok((index, Some(answer))) => answers.push((index, answer)),
            Ok((_, None)) => {}
            // A task that panicked: its request goes unanswered rather than
            // the whole batch.
            Err(error) => tracing::error!(%error, "a batch message's task failed"),
        }
    }
    if answers.is_empty() {
        return None;
    }
    answers.sort_by_key(|(index, _)| *index);
    Some(Value::Array(
        answers.into_iter().map(|(_, answer)| answer).collect(),
    ))
}

/// One message of a batch, handled as if it came alone; `None` when it
/// gets no answer (notifications, responses, cancelled calls).
async fn one(
    mcp: &Mcp,
    session: &Session,
    caller: &Caller,
    message: Result<Message, DecodeError>,
    admit: Admit,
) -> Option<Value> {
    let (id, method, params) = match message {
        Err(error) => {
            return Some(jsonrpc::error(
                error.id(),
                error.code(),
                &error.to_string(),
                None,
            ));
        }
        Ok(Message::Notification { method, params }) => {
            mcp.notification(session, &method, params.as_ref());
            return None;
        }
        Ok(Message::Response { id, answer }) => {
            mcp.client_response(session, &id, answer);
            return None;
        }
        Ok(Message::Request { id, method, params }) => (id, method, params),
    };
    if method == "initialize" {
        return Some(jsonrpc::error(
            Some(&id),
            code::INVALID_REQUEST,
            "`initialize` cannot be part of a batch",
            None,
        ));
    }
    // Each call of the batch takes its own place under the cap.
    let _place = if method == "tools/call" && admit == Admit::Yes {
        match mcp.limits().admission().admit().await {
            Ok(place) => Some(place),
            Err(overloaded) => {
                metrics::record_rejection("overloaded");
                return Some(jsonrpc::error(
                    Some(&id),
                    code::INTERNAL_ERROR,
                    &format!("{overloaded}; retry the call later"),
                    None,
                ));
            }
        }
    } else {
        None
    };
    let span = tracing::info_span!(
        "mcp",
        rpc_id = %id.to_value(),
        method = %method,
        session = %session.log_tag,
        batch = true,
        otel.kind = "server",
    );
    mcp.respond(session, caller, &id, &method, params.as_ref(), None)
        .instrument(span)
        .await
}

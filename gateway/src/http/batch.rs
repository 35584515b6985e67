//! JSON-RPC batches, for sessions of revision 2025-03-26 (later revisions
//! removed them): every message of the array is handled as if it came
//! alone, requests concurrently, and the answers come back as one JSON
//! array in the batch's order. A batch of notifications and responses only
//! is answered 202 with no body.

use std::sync::Arc;

use hyper::header::HeaderMap;
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::Gateway;
use super::mcp_endpoint::{LocalState, SESSION_HEADER, decode_refusal, session_of};
use super::response::{self, Body};
use crate::auth::Caller;
use crate::mcp::jsonrpc::{self, DecodeError, Message, code};
use crate::mcp::session::Session;
use crate::telemetry::metrics;

/// Answers a POST whose body is an array.
pub async fn answer(
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    caller: &Arc<Caller>,
    body: &[u8],
) -> Response<Body> {
    // `initialize` cannot be batched, so a batch always belongs to a session.
    if !headers.contains_key(SESSION_HEADER) {
        return response::rpc_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "a JSON-RPC batch is accepted only in a session of protocol revision 2025-03-26 \
             (send the Mcp-Session-Id header; `initialize` cannot be batched)",
        );
    }
    let session = match session_of(gateway, headers, caller, LocalState::Needed) {
        Ok((_, session)) => session,
        Err(refusal) => return *refusal,
    };
    if !session.revision.accepts_batches() {
        return response::rpc_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            &format!(
                "{} (this session speaks {})",
                DecodeError::Batch,
                session.revision.as_str()
            ),
        );
    }
    let messages = match jsonrpc::decode_batch(body, gateway.settings.max_json_depth) {
        Ok(messages) => messages,
        Err(error) => return decode_refusal(&error),
    };
    match answer_messages(gateway, &session, caller, messages, Admit::Yes).await {
        None => response::empty(StatusCode::ACCEPTED),
        Some(answers) => response::json(StatusCode::OK, &answers),
    }
}

/// Whether each call of a batch takes a place under `max_calls_in_flight`
/// (HTTP) or not (stdio, whose one client is the operator's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    Yes,
    No,
}

/// Handles the messages of a batch concurrently; the answers as one JSON
/// array in the batch's order, or `None` when nothing needs an answer.
pub(crate) async fn answer_messages(
    gateway: &Arc<Gateway>,
    session: &Arc<Session>,
    caller: &Arc<Caller>,
    messages: Vec<Result<Message, DecodeError>>,
    admit: Admit,
) -> Option<Value> {
    let mut running = JoinSet::new();
    for (index, message) in messages.into_iter().enumerate() {
        let (gateway, session, caller) =
            (Arc::clone(gateway), Arc::clone(session), Arc::clone(caller));
        running.spawn(async move {
            let answer = one(&gateway, &session, &caller, message, admit).await;
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
    gateway: &Gateway,
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
            gateway.mcp.notification(session, &method, params.as_ref());
            return None;
        }
        Ok(Message::Response { id, answer }) => {
            gateway.mcp.client_response(session, &id, answer);
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
        match gateway.mcp.limits().admission().admit().await {
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
    gateway
        .mcp
        .respond(session, caller, &id, &method, params.as_ref(), None)
        .instrument(span)
        .await
}

//! A JSON-RPC batch over HTTP (sessions of revision 2025-03-26): the
//! session and revision checks, then [`crate::mcp::batch`] answers it; the
//! answers go back as one JSON array, and a batch of notifications and
//! responses only is answered 202 with no body.

use std::sync::Arc;

use hyper::header::HeaderMap;
use hyper::{Response, StatusCode};

use super::mcp_endpoint::{LocalState, SESSION_HEADER, decode_refusal, session_of};
use super::response::{self, Body};
use crate::app::Gateway;
use crate::auth::Caller;
use crate::mcp::batch::{self, Admit};
use crate::mcp::jsonrpc::{self, DecodeError, code};

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
    match batch::answer(gateway, &session, caller, messages, Admit::Yes).await {
        None => response::empty(StatusCode::ACCEPTED),
        Some(answers) => response::json(StatusCode::OK, &answers),
    }
}

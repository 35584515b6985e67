//! The Streamable HTTP endpoint, `/mcp`: header checks, sessions, and one
//! JSON-RPC message per POST.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{
    ACCEPT, ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderValue,
    RETRY_AFTER,
};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value};
use tracing::Instrument as _;

use std::sync::Arc;
use std::time::Duration;

use super::response::{self, Body};
use super::{batch, call_stream, event_stream, oauth, stateless};
use crate::app::Gateway;
use crate::auth::Caller;
use crate::auth::ClientIdentity;
use crate::limits::rate::retry_after_secs;
use crate::mcp::jsonrpc::{self, DecodeError, Message, RequestId, code};
use crate::mcp::revision::{Revision, Transport};
use crate::mcp::session::{LookupError, Session};
use crate::telemetry::metrics;

/// The session header of the Streamable HTTP transport.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol revision header sent after initialization.
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// Routes one request to `/mcp`.
pub async fn handle(gateway: &Arc<Gateway>, request: Request<Incoming>) -> Response<Body> {
    if let Some(refusal) = check_single_headers(request.headers()) {
        return refusal;
    }
    if let Some(refusal) = check_host(gateway, request.headers()) {
        return refusal;
    }
    if let Some(refusal) = check_origin(gateway, request.headers()) {
        return refusal;
    }
    let authenticator = gateway.auth.load_full();
    let caller = match authenticator
        .authenticate(
            request.headers().get(AUTHORIZATION),
            request.extensions().get::<ClientIdentity>(),
        )
        .await
    {
        Ok(caller) => caller,
        Err(error) => return oauth::refusal(authenticator.jwt(), &error),
    };
    if let Err((quota, wait)) = gateway.mcp.limits().check_caller(caller.name()) {
        metrics::record_rejection("caller_requests");
        return retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("too many requests: this caller's quota is {quota}; retry later"),
            wait,
        );
    }
    match *request.method() {
        Method::POST => {
            let limit = Duration::from_millis(gateway.http.request_timeout_ms);
            // Dropping the unfinished request cancels its call, if any.
            match tokio::time::timeout(limit, post(gateway, request, &caller)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(
                        limit_ms = gateway.http.request_timeout_ms,
                        "request timed out"
                    );
                    response::rpc_error(
                        StatusCode::GATEWAY_TIMEOUT,
                        code::INTERNAL_ERROR,
                        &format!(
                            "the request took longer than {} ms and was cancelled",
                            gateway.http.request_timeout_ms
                        ),
                    )
                }
            }
        }
        Method::GET | Method::DELETE if stateless::applies(request.headers()) => {
            stateless::method_not_allowed()
        }
        Method::GET => event_stream::open(gateway, request.headers(), &caller),
        Method::DELETE => delete(gateway, request.headers(), &caller),
        _ => {
            let mut refusal = response::rpc_error(
                StatusCode::METHOD_NOT_ALLOWED,
                code::INVALID_REQUEST,
                "this endpoint accepts POST (one JSON-RPC message), GET (the session's event stream) and DELETE (end a session)",
            );
            refusal
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            refusal
        }
    }
}

/// A refusal with `Retry-After` (whole seconds, rounded up).
fn retry_later(status: StatusCode, message: &str, wait: Duration) -> Response<Body> {
    let mut refusal = response::rpc_error(status, code::INVALID_REQUEST, message);
    refusal
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(wait)));
    refusal
}

/// Headers that must appear at most once: two values would mean two
/// different things to Warden and to whatever stands in front of it.
const SINGLE_HEADERS: [&str; 6] = [
    "host",
    "authorization",
    "content-type",
    "origin",
    SESSION_HEADER,
    PROTOCOL_VERSION_HEADER,
];

fn check_single_headers(headers: &HeaderMap) -> Option<Response<Body>> {
    let repeated = SINGLE_HEADERS
        .iter()
        .find(|name| headers.get_all(**name).iter().nth(1).is_some())?;
    Some(response::rpc_error(
        StatusCode::BAD_REQUEST,
        code::INVALID_REQUEST,
        &format!("the {repeated} header appears more than once"),
    ))
}

/// Refuses a request whose `Host` is not this server's: a browser tricked by
/// DNS rebinding sends the attacker's name.
fn check_host(gateway: &Gateway, headers: &HeaderMap) -> Option<Response<Body>> {
    let host = headers.get(HOST).and_then(|value| value.to_str().ok());
    let allowed =
        host.is_some_and(|host| gateway.http.is_host_allowed(host, gateway.listen_address()));
    (!allowed).then(|| {
        tracing::warn!(host = ?host, "refused a request for a host not allowed");
        response::rpc_error(
            StatusCode::FORBIDDEN,
            code::INVALID_REQUEST,
            "the request's Host is not one this server answers to (http.allowed_hosts)",
        )
    })
}

fn check_origin(gateway: &Gateway, headers: &HeaderMap) -> Option<Response<Body>> {
    let origin = headers.get(hyper::header::ORIGIN)?;
    let allowed = origin
        .to_str()
        .is_ok_and(|origin| gateway.settings.is_origin_allowed(origin));
    (!allowed).then(|| {
        tracing::warn!(origin = ?origin, "refused a request from a disallowed origin");
        response::rpc_error(
            StatusCode::FORBIDDEN,
            code::INVALID_REQUEST,
            "the request's Origin is not allowed by this server's allowed_origins",
        )
    })
}

async fn post(
    gateway: &Arc<Gateway>,
    request: Request<Incoming>,
    caller: &Arc<Caller>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    if !accepts_json_and_sse(headers) {
        return response::rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            code::INVALID_REQUEST,
            "the Accept header must allow both application/json and text/event-stream",
        );
    }
    if !is_json(headers) {
        return response::rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::INVALID_REQUEST,
            "the Content-Type must be application/json",
        );
    }
    let limit = gateway.settings.max_body_bytes;
    let too_large = || {
        response::rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::INVALID_REQUEST,
            &format!("the request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return too_large();
    }
    let trace_id = headers.get("traceparent").and_then(trace_id_of);

    let read_limit = Duration::from_millis(gateway.http.body_read_timeout_ms);
    let read = tokio::time::timeout(read_limit, Limited::new(body, limit).collect()).await;
    let Ok(read) = read else {
        return response::rpc_error(
            StatusCode::REQUEST_TIMEOUT,
            code::INVALID_REQUEST,
            &format!(
                "the request body did not arrive within {} ms",
                gateway.http.body_read_timeout_ms
            ),
        );
    };
    let body = match read {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(error) => {
            return response::rpc_error(
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
                &format!("cannot read the request body: {error}"),
            );
        }
    };
    let stateless = stateless::applies(headers);
    let message = match jsonrpc::decode(&body, gateway.settings.max_json_depth) {
        Ok(message) => message,
        Err(DecodeError::Batch) if stateless => {
            return response::rpc_error(
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
                "revision 2026-07-28 takes one JSON-RPC message per POST, not a batch",
            );
        }
        Err(DecodeError::Batch) => return batch::answer(gateway, headers, caller, &body).await,
        Err(error) => return decode_refusal(&error),
    };
    if stateless {
        return stateless::answer(gateway, headers, caller, message, trace_id).await;
    }

    if let Message::Request { id, method, params } = &message
        && method == "initialize"
    {
        // GET /mcp opens the stream `notifications/tools/list_changed` goes on.
        return match gateway
            .mcp
            .initialize(params.as_ref(), caller, Transport::Http)
        {
            Ok(initialized) => {
                let mut reply =
                    response::json(StatusCode::OK, &jsonrpc::result(id, initialized.result));
                match HeaderValue::from_str(&initialized.session_id) {
                    Ok(value) => {
                        reply.headers_mut().insert(SESSION_HEADER, value);
                        reply
                    }
                    Err(_) => response::rpc_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        code::INTERNAL_ERROR,
                        "generated session id is not a valid header value",
                    ),
                }
            }
            Err(error) if error.code == code::INTERNAL_ERROR => {
                response::json(StatusCode::SERVICE_UNAVAILABLE, &error.response(Some(id)))
            }
            Err(error) => response::json(StatusCode::OK, &error.response(Some(id))),
        };
    }

    let session = match session_of(gateway, headers, caller, local_state_for(&message)) {
        Ok((_, session)) => session,
        Err(refusal) => return *refusal,
    };

    match message {
        Message::Request { id, method, params } => {
            let request = SessionRequest {
                session,
                id,
                method,
                params,
            };
            answer_request(gateway, headers, caller, request, trace_id, |_| {
                StatusCode::OK
            })
            .await
        }
        Message::Notification { method, params } => {
            gateway.mcp.notification(&session, &method, params.as_ref());
            response::empty(StatusCode::ACCEPTED)
        }
        Message::Response { id, answer } => {
            gateway.mcp.client_response(&session, &id, answer);
            response::empty(StatusCode::ACCEPTED)
        }
    }
}

/// One request and the session (or, in 2026-07-28, the request's own
/// state) it belongs to.
pub(super) struct SessionRequest {
    pub session: Arc<Session>,
    pub id: RequestId,
    pub method: String,
    pub params: Option<Map<String, Value>>,
}

/// Answers a request: plain JSON, or an SSE stream when it produces
/// notifications while it runs. A JSON error answer gets the status
/// `error_status` gives its code. `tools/call` takes a place under the
/// process-wide cap for as long as it runs, or is shed with 503.
pub(super) async fn answer_request(
    gateway: &Arc<Gateway>,
    headers: &HeaderMap,
    caller: &Arc<Caller>,
    request: SessionRequest,
    trace_id: Option<String>,
    error_status: fn(i64) -> StatusCode,
) -> Response<Body> {
    let SessionRequest {
        session,
        id,
        method,
        params,
    } = request;
    let place = if method == "tools/call" {
        match gateway.mcp.limits().admission().admit().await {
            Ok(place) => Some(place),
            Err(overloaded) => {
                metrics::record_rejection("overloaded");
                tracing::warn!(%overloaded, "call shed");
                return retry_later(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &overloaded.to_string(),
                    Duration::from_secs(1),
                );
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
        trace_id = tracing::field::Empty,
        otel.kind = "server",
    );
    if let Some(trace_id) = &trace_id {
        span.record("trace_id", trace_id.as_str());
    }
    #[cfg(feature = "otlp")]
    crate::telemetry::otlp::continue_remote_trace(&span, headers);
    #[cfg(not(feature = "otlp"))]
    let _ = headers;
    let Some((notifier, notifications)) =
        gateway.mcp.notifier_for(&session, &method, params.as_ref())
    else {
        let reply = gateway
            .mcp
            .respond(&session, caller, &id, &method, params.as_ref(), None)
            .instrument(span)
            .await;
        // Only calls can be cancelled (and they take the other path);
        // a request that gets no answer gets an empty one.
        let Some(reply) = reply else {
            return response::empty(StatusCode::ACCEPTED);
        };
        let status = reply["error"]["code"]
            .as_i64()
            .map_or(StatusCode::OK, error_status);
        return response::json(status, &reply);
    };
    let request = {
        let (gateway, session, caller) = (
            Arc::clone(gateway),
            Arc::clone(&session),
            Arc::clone(caller),
        );
        async move {
            let reply = gateway
                .mcp
                .respond(
                    &session,
                    &caller,
                    &id,
                    &method,
                    params.as_ref(),
                    Some(notifier),
                )
                .await;
            // The call's place is held until it has finished.
            drop(place);
            reply
        }
        .instrument(span)
    };
    call_stream::answer(session, request, notifications, error_status).await
}

/// The trace id of a W3C `traceparent` header
/// (`version-traceid-parentid-flags`), when it is well formed, so a call's
/// log lines can be found from the caller's trace.
fn trace_id_of(header: &HeaderValue) -> Option<String> {
    let mut parts = header.to_str().ok()?.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |text: &str, len: usize| {
        text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let all_zero = |text: &str| text.bytes().all(|b| b == b'0');
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && !all_zero(trace)
        && hex(parent, 16)
        && !all_zero(parent)
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then(|| trace.to_owned())
}

fn delete(gateway: &Gateway, headers: &HeaderMap, caller: &Caller) -> Response<Body> {
    if !headers.contains_key(SESSION_HEADER) {
        return response::rpc_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "DELETE needs the Mcp-Session-Id header of the session to end",
        );
    }
    // Only the session's owner may end it.
    let id = match session_of(gateway, headers, caller, LocalState::NotNeeded) {
        Ok((id, _)) => id,
        Err(refusal) => return *refusal,
    };
    match gateway.mcp.sessions().end(&id) {
        Some(log_tag) => {
            tracing::info!(session = %log_tag, "session ended by the client");
            response::empty(StatusCode::NO_CONTENT)
        }
        None => unknown_session(),
    }
}

/// Whether a request needs its session's local state in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocalState {
    /// Kept between requests: its streams, log level, running calls.
    Needed,
    /// Served from the session id alone (or the local state if there is
    /// some), so a session that only initializes, pings and lists costs
    /// this process nothing between requests.
    NotNeeded,
}

/// What `message` needs of its session: pings, tool listings and every
/// notification and response work from the session id (a cancellation or
/// a response has something to reach only where local state exists).
fn local_state_for(message: &Message) -> LocalState {
    match message {
        Message::Request { method, .. } if matches!(method.as_str(), "ping" | "tools/list") => {
            LocalState::NotNeeded
        }
        Message::Request { .. } => LocalState::Needed,
        Message::Notification { .. } | Message::Response { .. } => LocalState::NotNeeded,
    }
}

/// The live session a request names in its `Mcp-Session-Id` header, with
/// its id, checked against the request's `MCP-Protocol-Version` and
/// belonging to `caller`; else the response that refuses the request.
pub(super) fn session_of(
    gateway: &Gateway,
    headers: &HeaderMap,
    caller: &Caller,
    local: LocalState,
) -> Result<(String, Arc<Session>), Box<Response<Body>>> {
    let session_id = match headers.get(SESSION_HEADER).map(HeaderValue::to_str) {
        None => {
            return Err(Box::new(response::rpc_error(
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
                "the Mcp-Session-Id header is required; send `initialize` first to get one",
            )));
        }
        Some(Err(_)) => {
            return Err(Box::new(response::rpc_error(
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
                "the Mcp-Session-Id header is not visible ASCII",
            )));
        }
        Some(Ok(id)) => id.to_owned(),
    };
    let sessions = gateway.mcp.sessions();
    let session = match local {
        LocalState::Needed => sessions.touch(&session_id),
        LocalState::NotNeeded => sessions.view(&session_id),
    }
    .map_err(|error| Box::new(refuse_session(error)))?;
    if session.owner.as_deref() != caller.session_owner() {
        // Answered as unknown: another caller learns nothing of it.
        tracing::warn!(
            session = %session.log_tag,
            caller = caller.name(),
            "refused a session id presented by a caller it does not belong to"
        );
        return Err(Box::new(unknown_session()));
    }
    let version_header = headers
        .get(PROTOCOL_VERSION_HEADER)
        .map(|value| value.to_str().map(str::to_owned));
    if let Some(refusal) = check_protocol_version(version_header, &session) {
        return Err(Box::new(refusal));
    }
    Ok((session_id, session))
}

/// The answer to a request whose session id was not accepted.
fn refuse_session(error: LookupError) -> Response<Body> {
    if let LookupError::TooMany(_) = error {
        tracing::warn!(%error, "session refused");
        return response::rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            code::INTERNAL_ERROR,
            &error.to_string(),
        );
    }
    tracing::debug!(%error, "session refused");
    unknown_session()
}

fn unknown_session() -> Response<Body> {
    response::rpc_error(
        StatusCode::NOT_FOUND,
        code::INVALID_REQUEST,
        "unknown or expired session; send `initialize` to start a new one",
    )
}

fn check_protocol_version(
    header: Option<Result<String, hyper::header::ToStrError>>,
    session: &Session,
) -> Option<Response<Body>> {
    let requested = match header? {
        Ok(requested) => requested,
        Err(_) => {
            return Some(response::rpc_error(
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
                "the MCP-Protocol-Version header is not visible ASCII",
            ));
        }
    };
    let refusal = |message: String| {
        Some(response::rpc_error(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            &message,
        ))
    };
    match Revision::parse_for(&requested, Transport::Http) {
        None => refusal(format!(
            "unsupported MCP-Protocol-Version `{requested}`; supported: {}",
            Revision::supported_list(Transport::Http)
        )),
        // MCP refuses only invalid or unsupported versions; clients (the
        // official conformance suite's among them) send other supported
        // ones. The session keeps the revision it negotiated.
        Some(revision) => {
            if revision != session.revision {
                tracing::debug!(
                    header = %requested,
                    negotiated = session.revision.as_str(),
                    "MCP-Protocol-Version differs from the session's revision; serving the negotiated one"
                );
            }
            None
        }
    }
}

/// The answer to a body that is not one usable JSON-RPC message: 400, but
/// a request whose only fault is its params is answered as a method
/// answers params it cannot use (200 with -32602).
pub(super) fn decode_refusal(error: &DecodeError) -> Response<Body> {
    let status = match error {
        DecodeError::InvalidParams { .. } => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    response::json(
        status,
        &jsonrpc::error(error.id(), error.code(), &error.to_string(), None),
    )
}

/// Whether `Accept` allows both JSON and SSE (wildcards count).
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    accepts(headers, "application/json", "application/*") && accepts_sse(headers)
}

/// Whether `Accept` allows SSE (wildcards count).
pub(super) fn accepts_sse(headers: &HeaderMap) -> bool {
    accepts(headers, "text/event-stream", "text/*")
}

/// Whether `Accept` allows the media type `wanted` of `family` (`type/*`).
fn accepts(headers: &HeaderMap, wanted: &str, family: &str) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| item.split(';').next().unwrap_or_default().trim())
        .any(|media| {
            media.eq_ignore_ascii_case(wanted)
                || media.eq_ignore_ascii_case(family)
                || media == "*/*"
        })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn trace_ids_come_only_from_well_formed_traceparents() {
        let trace = |value: &'static str| trace_id_of(&HeaderValue::from_static(value));
        assert_eq!(
            trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f35-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(trace(bad), None, "{bad}");
        }
    }

    #[test]
    fn accept_must_allow_json_and_sse() {
        assert!(accepts_json_and_sse(&headers(&[(
            "accept",
            "application/json, text/event-stream"
        )])));
        assert!(accepts_json_and_sse(&headers(&[("accept", "*/*")])));
        assert!(accepts_json_and_sse(&headers(&[
            ("accept", "application/json;q=0.9"),
            ("accept", "text/event-stream")
        ])));
        assert!(!accepts_json_and_sse(&headers(&[(
            "accept",
            "application/json"
        )])));
        assert!(!accepts_json_and_sse(&headers(&[])));
    }

    #[test]
    fn content_type_must_be_json() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[])));
    }
}

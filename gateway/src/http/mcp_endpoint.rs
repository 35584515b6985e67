//! The Streamable HTTP endpoint, `/mcp`: header checks, sessions, and one
//! JSON-RPC message per POST.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming as Body_;
use hyper::header::{
    ACCEPT, ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderValue,
};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value};

use std::sync::Arc;
use std::time::Duration;

use super::response::{self, Body};
use super::stream_state::StreamState;
use super::unsent::Unsent;
use super::{call_stream, event_stream, listen, oauth, stateless};
use crate::app::Gateway;
use crate::auth::Caller;
use crate::auth::ClientIdentity;
use crate::catalog::Tool;
use crate::cluster::revocations::Revoked;
use crate::config::OnUnavailable;
use crate::limits::Refused;
use crate::mcp::revision::Transport;
use crate::mcp::server::{
    self, Admission, Framing, Incoming, LocalState, Reply, RequestContext, SessionRef, TraceContext,
};
use crate::mcp::session::Session;
use crate::mcp::stateless::Envelope;
use crate::mcp::{ErrorKind, McpError};
use crate::outcome::Rejection;
use crate::telemetry::{cluster_metrics, metrics};

/// When a connection refused for its unread responses may ask again.
const UNREAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The session header of the Streamable HTTP transport.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol revision header sent after initialization.
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";

/// Routes one request to `/mcp`.
pub async fn handle(gateway: &Arc<Gateway>, request: Request<Body_>) -> Response<Body> {
    if let Some(refusal) = check_single_headers(request.headers()) {
        return refusal;
    }
    if let Some(refusal) = check_host(gateway, &request) {
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
    match gateway.mcp.limits().check_caller(caller.name()).await {
        Ok(()) => {}
        Err(Refused::Limited(limited)) => {
            metrics::record_rejection(Rejection::CallerRequests);
            return response::refusal(
                McpError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "too many requests: this caller's quota is {}; retry later",
                        limited.quota
                    ),
                )
                .with_retry_after(limited.wait),
            );
        }
        Err(unavailable @ Refused::Unavailable(_)) => {
            metrics::record_rejection(Rejection::SharedStoreUnavailable);
            return response::refusal(
                McpError::new(ErrorKind::Unavailable, unavailable.to_string())
                    .with_retry_after(Duration::from_secs(1)),
            );
        }
    }
    let unsent = request
        .extensions()
        .get::<Arc<Unsent>>()
        .cloned()
        .unwrap_or_else(|| super::connection_unsent(gateway));
    if matches!(*request.method(), Method::POST | Method::GET)
        && let Err(overloaded) = unsent.admit()
    {
        metrics::record_rejection(Rejection::UnreadResponses);
        tracing::debug!(%overloaded, "request refused");
        return response::refusal(
            McpError::new(ErrorKind::Overloaded, overloaded.to_string())
                .with_retry_after(UNREAD_RETRY_AFTER),
        );
    }
    match *request.method() {
        Method::POST => {
            let limit = Duration::from_millis(gateway.http.request_timeout_ms);
            // Dropping the unfinished request cancels its call, if any.
            match tokio::time::timeout(limit, post(gateway, request, &caller, &unsent)).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(
                        limit_ms = gateway.http.request_timeout_ms,
                        "request timed out"
                    );
                    response::refusal(McpError::new(
                        ErrorKind::TimedOut,
                        format!(
                            "the request took longer than {} ms and was cancelled",
                            gateway.http.request_timeout_ms
                        ),
                    ))
                }
            }
        }
        Method::GET | Method::DELETE if stateless::applies(request.headers()) => {
            stateless::method_not_allowed()
        }
        Method::GET => event_stream::open(gateway, request.headers(), &caller, &unsent),
        Method::DELETE => delete(gateway, request.headers(), &caller).await,
        _ => {
            let mut refusal = response::http_refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint accepts POST (one JSON-RPC message), GET (the session's event stream) and DELETE (end a session)",
            );
            refusal
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            refusal
        }
    }
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
    Some(response::http_refusal(
        StatusCode::BAD_REQUEST,
        &format!("the {repeated} header appears more than once"),
    ))
}

/// Refuses a request whose host is not this server's: a browser tricked by
/// DNS rebinding sends the attacker's name. The host is HTTP/2's
/// `:authority` (or an absolute URI's), else the `Host` header; when both
/// are sent they must agree.
fn check_host(gateway: &Gateway, request: &Request<Body_>) -> Option<Response<Body>> {
    let header = request.headers().get(HOST).map(HeaderValue::to_str);
    let authority = request
        .uri()
        .authority()
        .map(|authority| authority.as_str());
    let host = match (authority, header) {
        (Some(authority), Some(Ok(header))) if !authority.eq_ignore_ascii_case(header) => {
            return Some(response::http_refusal(
                StatusCode::BAD_REQUEST,
                "the Host header and the request's authority name different hosts",
            ));
        }
        (Some(authority), _) => Some(authority),
        (None, Some(Ok(header))) => Some(header),
        (None, _) => None,
    };
    let allowed =
        host.is_some_and(|host| gateway.http.is_host_allowed(host, gateway.listen_address()));
    (!allowed).then(|| {
        tracing::warn!(host = ?host, "refused a request for a host not allowed");
        response::http_refusal(
            StatusCode::FORBIDDEN,
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
        response::http_refusal(
            StatusCode::FORBIDDEN,
            "the request's Origin is not allowed by this server's allowed_origins",
        )
    })
}

async fn post(
    gateway: &Arc<Gateway>,
    request: Request<Body_>,
    caller: &Arc<Caller>,
    unsent: &Arc<Unsent>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    if !accepts_json_and_sse(headers) {
        return response::http_refusal(
            StatusCode::NOT_ACCEPTABLE,
            "the Accept header must allow both application/json and text/event-stream",
        );
    }
    if !is_json(headers) {
        return response::http_refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the Content-Type must be application/json",
        );
    }
    let limit = gateway.settings.max_body_bytes;
    let too_large = || {
        response::http_refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return too_large();
    }
    let read_limit = Duration::from_millis(gateway.http.body_read_timeout_ms);
    let read = tokio::time::timeout(read_limit, Limited::new(body, limit).collect()).await;
    let Ok(read) = read else {
        return response::http_refusal(
            StatusCode::REQUEST_TIMEOUT,
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
            return response::http_refusal(
                StatusCode::BAD_REQUEST,
                &format!("cannot read the request body: {error}"),
            );
        }
    };
    let stateless = stateless::applies(headers);
    let session = if stateless {
        SessionRef::Absent
    } else {
        match session_ref(headers) {
            Ok(session) => session,
            Err(refusal) => return *refusal,
        }
    };
    let routing = |envelope: &Envelope,
                   method: &str,
                   params: Option<&Map<String, Value>>,
                   tool: Option<&Tool>| {
        stateless::check_routing_headers(headers, envelope, method, params, tool)
    };
    let mut context = RequestContext::new(
        Arc::clone(caller),
        Transport::Http,
        session,
        if stateless {
            Framing::Stateless
        } else {
            Framing::Session
        },
        Admission::Capped,
    );
    context.trace = trace_context(headers);
    if stateless {
        context.routing = Some(&routing);
    }
    let incoming = Incoming::decode(&body, gateway.settings.max_json_depth);
    let reply = gateway.mcp.handle(incoming, &context).await;
    deliver(gateway, reply, unsent).await
}

/// The server's reply as the response to a POST, on the connection
/// `unsent` counts for.
async fn deliver(gateway: &Gateway, reply: Reply, unsent: &Arc<Unsent>) -> Response<Body> {
    match reply {
        Reply::Nothing => response::empty(StatusCode::ACCEPTED),
        Reply::Answer(answer) => response::answer(&answer),
        Reply::Opened {
            answer, session_id, ..
        } => match HeaderValue::from_str(&session_id) {
            // GET /mcp opens the stream `notifications/tools/list_changed` goes on.
            Ok(value) => {
                let mut reply = response::answer(&answer);
                reply.headers_mut().insert(SESSION_HEADER, value);
                reply
            }
            Err(_) => response::refusal(McpError::new(
                ErrorKind::Internal,
                "generated session id is not a valid header value",
            )),
        },
        Reply::Running(running) => match running.notifications {
            // A request that gets no answer (a cancelled one) gets an empty one.
            None => match running.answer.await {
                Some(answer) => response::answer(&answer),
                None => response::empty(StatusCode::ACCEPTED),
            },
            Some(notifications) => {
                let streams = StreamState::of(&running.session, gateway);
                let to = call_stream::Connection {
                    unsent,
                    send_timeout: Duration::from_millis(gateway.http.send_timeout_ms),
                };
                call_stream::answer(
                    &running.session,
                    streams,
                    (running.answer, notifications),
                    to,
                )
                .await
            }
        },
        Reply::Subscription(subscription) => listen::open(subscription, unsent),
    }
}

/// The W3C trace context of the request's `traceparent` and `tracestate`
/// headers, when well formed.
fn trace_context(headers: &HeaderMap) -> Option<TraceContext> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    TraceContext::parse(text("traceparent")?, text("tracestate"))
}

/// The session a request names: its `Mcp-Session-Id` and
/// `MCP-Protocol-Version`, or the refusal of headers that are not text.
fn session_ref(headers: &HeaderMap) -> Result<SessionRef, Box<Response<Body>>> {
    let text = |name: &str, shown: &str| match headers.get(name).map(HeaderValue::to_str) {
        None => Ok(None),
        Some(Ok(text)) => Ok(Some(text.to_owned())),
        Some(Err(_)) => Err(Box::new(response::http_refusal(
            StatusCode::BAD_REQUEST,
            &format!("the {shown} header is not visible ASCII"),
        ))),
    };
    let id = text(SESSION_HEADER, "Mcp-Session-Id")?;
    let protocol_version = text(PROTOCOL_VERSION_HEADER, "MCP-Protocol-Version")?;
    Ok(match id {
        None => SessionRef::Absent,
        Some(id) => SessionRef::Named {
            id,
            protocol_version,
        },
    })
}

async fn delete(gateway: &Gateway, headers: &HeaderMap, caller: &Caller) -> Response<Body> {
    if !headers.contains_key(SESSION_HEADER) {
        return response::http_refusal(
            StatusCode::BAD_REQUEST,
            "DELETE needs the Mcp-Session-Id header of the session to end",
        );
    }
    // Only the session's owner may end it.
    let id = match session_of(gateway, headers, caller, LocalState::NotNeeded) {
        Ok((id, _)) => id,
        Err(refusal) => return *refusal,
    };
    if let Some(shared) = &gateway.shared {
        let Some((id_bytes, expires_at)) = gateway.mcp.sessions().revocation_of(&id) else {
            return response::refusal(server::unknown_session());
        };
        let revoked = Revoked {
            id_hex: hex::encode(id_bytes),
            expires_at,
        };
        if let Err(error) = shared.revocations.publish(&revoked).await {
            match shared.on_unavailable {
                OnUnavailable::Local => {
                    cluster_metrics::record_local_fallback("revocation");
                    tracing::warn!(%error, "the session ends in this process only: the shared store did not take its revocation");
                }
                OnUnavailable::Reject => {
                    return response::refusal(
                        McpError::new(
                            ErrorKind::Unavailable,
                            format!(
                                "the session cannot be ended on every replica: the shared \
                                 store is unavailable ({error}); retry later"
                            ),
                        )
                        .with_retry_after(Duration::from_secs(1)),
                    );
                }
            }
        }
    }
    match gateway.mcp.sessions().end(&id) {
        Some(log_tag) => {
            tracing::info!(session = %log_tag, "session ended by the client");
            response::empty(StatusCode::NO_CONTENT)
        }
        None => response::refusal(server::unknown_session()),
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
    let SessionRef::Named {
        id,
        protocol_version,
    } = session_ref(headers)?
    else {
        return Err(Box::new(response::http_refusal(
            StatusCode::BAD_REQUEST,
            "the Mcp-Session-Id header is required; send `initialize` first to get one",
        )));
    };
    let session = gateway
        .mcp
        .open_session(&id, protocol_version.as_deref(), caller, local)
        .map_err(|error| Box::new(response::refusal(error)))?;
    Ok((id, session))
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

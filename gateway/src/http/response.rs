//! Building HTTP responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::unsent::{CHUNK_BYTES, Charge, Chunk, Unsent};
use crate::limits::rate::retry_after_secs;
use crate::mcp::jsonrpc;
use crate::mcp::server::Answer;
use crate::mcp::{ErrorKind, McpError};

/// The response body of every route: whole, or a stream of server-sent
/// events that lasts until its sender is dropped. Both count what they
/// hold on their connection's [`Unsent`] until hyper takes it.
#[derive(Debug)]
pub enum Body {
    /// A body known in full: what is left of it, and its charge once the
    /// connection's count has it.
    Whole {
        /// The bytes not yet handed to hyper.
        rest: Bytes,
        /// What the connection's count holds for them.
        charge: Option<Charge>,
    },
    /// Event-stream chunks, each written as it comes.
    Events(mpsc::Receiver<Chunk>),
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self::Whole {
            rest: bytes,
            charge: None,
        }
    }
}

impl Body {
    /// Counts a whole body on the connection that `unsent` counts for, until
    /// hyper takes it; an event stream counts each event as it is queued.
    pub fn count_on(&mut self, unsent: &Arc<Unsent>) {
        if let Self::Whole { rest, charge } = self
            && charge.is_none()
            && !rest.is_empty()
        {
            *charge = Some(unsent.charge(rest.len()));
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Whole { rest, charge } => {
                if rest.is_empty() {
                    return Poll::Ready(None);
                }
                // In pieces: what hyper has not taken yet stays counted.
                let piece = rest.split_to(rest.len().min(CHUNK_BYTES));
                if let Some(charge) = charge {
                    charge.taken(piece.len());
                }
                Poll::Ready(Some(Ok(Frame::data(piece))))
            }
            Self::Events(events) => events
                .poll_recv(cx)
                .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk.take())))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Whole { rest, .. } => rest.is_empty(),
            Self::Events(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Whole { rest, .. } => SizeHint::with_exact(rest.len() as u64),
            Self::Events(_) => SizeHint::default(),
        }
    }
}

/// A `text/event-stream` response whose events come from `events`.
pub fn event_stream(events: mpsc::Receiver<Chunk>) -> Response<Body> {
    sse(Body::Events(events))
}

/// A `text/event-stream` response of events known in full.
pub fn whole_event_stream(events: Bytes) -> Response<Body> {
    sse(Body::from(events))
}

fn sse(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    // Proxies must pass events through as they come.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON body with `status`.
pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The HTTP status that shows a protocol error refusing a request: the one
/// place a protocol error's status is chosen.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Parse
        | ErrorKind::InvalidRequest
        | ErrorKind::InvalidParams
        | ErrorKind::HeaderMismatch
        | ErrorKind::MissingClientCapability
        | ErrorKind::UnsupportedProtocolVersion => StatusCode::BAD_REQUEST,
        ErrorKind::MethodNotFound | ErrorKind::UnknownSession | ErrorKind::ResourceNotFound => {
            StatusCode::NOT_FOUND
        }
        ErrorKind::Unavailable | ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The server's answer as an HTTP response: 200, or the status of the
/// error refusing the request, with `Retry-After` when it says when.
pub fn answer(answer: &Answer) -> Response<Body> {
    let Some(refusal) = &answer.refusal else {
        return json(StatusCode::OK, &answer.message);
    };
    let mut response = json(status_of(refusal.kind), &answer.message);
    if let Some(wait) = refusal.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(wait)));
    }
    response
}

/// A protocol error refusing the HTTP request as a whole (id `null`).
pub fn refusal(error: McpError) -> Response<Body> {
    answer(&Answer::refusal(None, error))
}

/// A refusal of the HTTP exchange itself (a header, the body, the method),
/// whose status only HTTP has: a JSON-RPC error (id `null`, -32600) whose
/// message says exactly what to fix.
pub fn http_refusal(status: StatusCode, message: &str) -> Response<Body> {
    json(
        status,
        &jsonrpc::error(None, ErrorKind::InvalidRequest.code(), message, None),
    )
}

/// A response with no body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::from(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Plain text, for probes.
pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The Prometheus text exposition format.
pub fn prometheus(body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(Bytes::from(body)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

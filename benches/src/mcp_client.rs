//! One keep-alive HTTP/1.1 connection that speaks MCP Streamable HTTP,
//! revision 2025-11-25: `initialize`, `notifications/initialized`, then
//! requests with the session id and protocol version headers. Replies may
//! be `application/json` or an event stream (rmcp answers every POST of a
//! session with one).

use std::net::SocketAddr;

use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// The revision every request declares.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// A JSON-RPC request whose id is filled in per request: everything
/// before the id is written once.
#[derive(Debug, Clone)]
pub struct Template {
    /// The request body up to its id, which goes last.
    prefix: String,
}

impl Template {
    /// A request for `method` with `params`.
    pub fn new(method: &str, params: &serde_json::Value) -> Self {
        let method = serde_json::Value::from(method);
        Self {
            prefix: format!(r#"{{"jsonrpc":"2.0","method":{method},"params":{params},"id":"#),
        }
    }

    /// `initialize` in revision [`PROTOCOL_VERSION`], no client capabilities.
    pub fn initialize() -> Self {
        Self::new(
            "initialize",
            &serde_json::json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "warden-bench", "version": "0" },
            }),
        )
    }

    /// The body of request `id`.
    pub fn body(&self, id: u64) -> Bytes {
        let mut body = Vec::with_capacity(self.prefix.len() + 24);
        body.extend_from_slice(self.prefix.as_bytes());
        body.extend_from_slice(id.to_string().as_bytes());
        body.push(b'}');
        Bytes::from(body)
    }

    /// Bytes of one body, give or take the id's digits.
    pub fn bytes(&self) -> usize {
        self.prefix.len() + 2
    }
}

/// A connection to an MCP server at `/mcp`, in at most one session.
pub struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Absent before the handshake, and for servers that keep no sessions.
    session: Option<HeaderValue>,
}

/// What a POST was answered with.
struct Reply {
    status: StatusCode,
    /// The body is an event stream.
    sse: bool,
    session: Option<HeaderValue>,
    body: Bytes,
}

impl Connection {
    /// A connection to `addr` in no session, not connected yet: the first
    /// request connects.
    pub fn new(addr: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender: None,
            session: None,
        })
    }

    /// Connects (TCP and HTTP/1.1, no request sent), in no session.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let mut connection = Self::new(addr)?;
        connection.sender().await?;
        Ok(connection)
    }

    /// Connects and completes the initialize handshake: later requests are
    /// in the new session.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let mut connection = Self::new(addr)?;
        let session = connection.new_session().await?;
        connection.join(session);
        let reply = connection
            .post(Bytes::from_static(INITIALIZED.as_bytes()))
            .await?;
        ensure!(
            reply.status.is_success(),
            "notifications/initialized answered {}: {}",
            reply.status,
            lossy(&reply.body)
        );
        Ok(connection)
    }

    /// Posts `initialize` and returns the new session's id (`None` from a
    /// server that keeps no sessions), without joining it.
    pub async fn new_session(&mut self) -> anyhow::Result<Option<HeaderValue>> {
        let reply = self.post(Template::initialize().body(0)).await?;
        ensure!(
            reply.status == StatusCode::OK,
            "initialize answered {}: {}",
            reply.status,
            lossy(&reply.body)
        );
        response_of(&reply.body, reply.sse, 0)
            .with_context(|| format!("initialize: {}", lossy(&reply.body)))?;
        Ok(reply.session)
    }

    /// Sends later requests in `session` (with its id and the protocol
    /// version headers).
    pub fn join(&mut self, session: Option<HeaderValue>) {
        self.session = session;
    }

    /// Posts request `id` (`body` is its JSON-RPC request) and returns the
    /// JSON-RPC response, or why the request counts as an error: a status
    /// other than 200, a transport failure, a JSON-RPC error or
    /// `isError: true`.
    pub async fn call(&mut self, body: Bytes, id: u64) -> Result<Bytes, String> {
        let reply = self.post(body).await.map_err(|e| format!("{e:#}"))?;
        if reply.status != StatusCode::OK {
            return Err(format!("HTTP {}: {}", reply.status, lossy(&reply.body)));
        }
        response_of(&reply.body, reply.sse, id).map_err(|e| format!("{e:#}"))
    }

    /// `GET path` (a probe such as `/healthz`): the status and body.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(HOST, self.host.clone())
            .body(Full::new(Bytes::new()))?;
        self.send(request)
            .await
            .map(|reply| (reply.status, reply.body))
    }

    /// Whether the TCP connection is still open (the server has not closed
    /// it). A connection that never connected is not.
    pub fn is_open(&self) -> bool {
        self.sender
            .as_ref()
            .is_some_and(|sender| !sender.is_closed())
    }

    /// Drops the TCP connection (a call timed out on it); the next call opens
    /// another in the same session.
    pub fn reconnect(&mut self) {
        self.sender = None;
    }

    async fn sender(&mut self) -> anyhow::Result<&mut SendRequest<Full<Bytes>>> {
        // A server may close a keep-alive connection (Warden does after
        // `http.max_requests_per_connection`); the session outlives it.
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            let stream = tokio::net::TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().context("connected just above")?;
        sender.ready().await?;
        Ok(sender)
    }

    async fn post(&mut self, body: Bytes) -> anyhow::Result<Reply> {
        let mut request = Request::post("/mcp")
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session.clone())
                .header("mcp-protocol-version", PROTOCOL_VERSION);
        }
        self.send(request.body(Full::new(body))?).await
    }

    async fn send(&mut self, request: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
        let sent = self.sender().await?.send_request(request).await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                self.sender = None;
                return Err(error.into());
            }
        };
        let status = response.status();
        let sse = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
        let session = response.headers().get("mcp-session-id").cloned();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            sse,
            session,
            body,
        })
    }
}

/// Just what deciding success needs: serde skips the rest without
/// allocating, so a large result costs the client a scan, not a tree.
#[derive(Deserialize)]
struct Head {
    id: Option<serde_json::Value>,
    error: Option<IgnoredAny>,
    result: Option<ResultHead>,
}

#[derive(Deserialize)]
struct ResultHead {
    #[serde(rename = "isError", default)]
    is_error: bool,
}

/// The JSON-RPC response to request `id` in a reply body, checked.
fn response_of(body: &Bytes, sse: bool, id: u64) -> anyhow::Result<Bytes> {
    let message = if sse {
        event_data(body)
            .into_iter()
            .find(|data| {
                serde_json::from_slice::<Head>(data).is_ok_and(|head| {
                    head.id.as_ref().and_then(serde_json::Value::as_u64) == Some(id)
                })
            })
            .context("no response in the event stream")?
    } else {
        body.clone()
    };
    let head: Head = serde_json::from_slice(&message).context("not a JSON-RPC response")?;
    if head.id.as_ref().and_then(serde_json::Value::as_u64) != Some(id) {
        bail!("response to another id");
    }
    if head.error.is_some() {
        bail!("JSON-RPC error: {}", lossy(&message));
    }
    match head.result {
        Some(result) if result.is_error => bail!("isError: {}", lossy(&message)),
        Some(_) => Ok(message),
        None => bail!("neither result nor error"),
    }
}

/// The data of each event in an event stream, multi-line data joined.
fn event_data(body: &[u8]) -> Vec<Bytes> {
    let mut events = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if !data.is_empty() {
                events.push(Bytes::from(std::mem::take(&mut data)));
            }
        } else if let Some(value) = line.strip_prefix(b"data:") {
            if !data.is_empty() {
                data.push(b'\n');
            }
            data.extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
        }
    }
    if !data.is_empty() {
        events.push(Bytes::from(data));
    }
    events
}

/// The first bytes of a body, for error messages.
pub fn lossy(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_response_among_the_events() {
        let body = Bytes::from_static(
            b"id: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n\
              data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n",
        );
        let message = response_of(&body, true, 7).expect("the response");
        assert_eq!(&message[..], br#"{"jsonrpc":"2.0","id":7,"result":{}}"#);
        assert!(response_of(&body, true, 8).is_err());
    }

    #[test]
    fn errors_and_tool_errors_are_failures() {
        let error = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-1}}"#);
        assert!(response_of(&error, false, 1).is_err());
        let tool = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{"isError":true}}"#);
        assert!(response_of(&tool, false, 1).is_err());
    }

    #[test]
    fn templates_put_the_id_last() {
        let body = Template::new("ping", &serde_json::json!({})).body(42);
        let request: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            request,
            serde_json::json!({"jsonrpc": "2.0", "method": "ping", "params": {}, "id": 42})
        );
    }
}

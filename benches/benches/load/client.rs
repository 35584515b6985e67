//! One keep-alive HTTP/1.1 connection that speaks MCP Streamable HTTP,
//! revision 2025-11-25: `initialize`, `notifications/initialized`, then
//! `tools/call` with the session id and protocol version headers. Replies
//! may be `application/json` or an event stream (rmcp answers every POST of
//! a session with one).

use std::net::SocketAddr;

use anyhow::{Context as _, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::IgnoredAny;

pub const PROTOCOL_VERSION: &str = "2025-11-25";

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"warden-load","version":"0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

pub struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Absent for servers that keep no sessions.
    session: Option<HeaderValue>,
}

impl Connection {
    /// Connects and completes the initialize handshake.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let mut connection = Self {
            addr,
            host: HeaderValue::from_str(&addr.to_string())?,
            sender: None,
            session: None,
        };
        connection.initialize().await?;
        Ok(connection)
    }

    async fn initialize(&mut self) -> anyhow::Result<()> {
        let (status, sse, session, body) =
            self.post(Bytes::from_static(INITIALIZE.as_bytes())).await?;
        ensure!(
            status == StatusCode::OK,
            "initialize answered {status}: {}",
            lossy(&body)
        );
        response_of(&body, sse, 0).with_context(|| format!("initialize: {}", lossy(&body)))?;
        self.session = session;
        let (status, _, _, body) = self
            .post(Bytes::from_static(INITIALIZED.as_bytes()))
            .await?;
        ensure!(
            status.is_success(),
            "notifications/initialized answered {status}: {}",
            lossy(&body)
        );
        Ok(())
    }

    /// Posts call `id` (`body` is its JSON-RPC request) and returns the
    /// JSON-RPC response, or why the call counts as an error: a status other
    /// than 200, a transport failure, a JSON-RPC error or `isError: true`.
    pub async fn call(&mut self, body: Bytes, id: u64) -> Result<Bytes, String> {
        let (status, sse, _, reply) = self.post(body).await.map_err(|e| format!("{e:#}"))?;
        if status != StatusCode::OK {
            return Err(format!("HTTP {status}: {}", lossy(&reply)));
        }
        response_of(&reply, sse, id).map_err(|e| format!("{e:#}"))
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

    async fn post(
        &mut self,
        body: Bytes,
    ) -> anyhow::Result<(StatusCode, bool, Option<HeaderValue>, Bytes)> {
        let mut request = Request::post("/mcp")
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session.clone())
                .header("mcp-protocol-version", PROTOCOL_VERSION);
        }
        let request = request.body(Full::new(body))?;
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
        Ok((status, sse, session, body))
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
fn lossy(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.replace('\n', " ")
}

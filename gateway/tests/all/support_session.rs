//! An MCP session on a test server and the replies it gets.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::support::*;

/// One MCP session on a test server.
pub struct Session<'a> {
    pub server: &'a TestServer,
    pub id: String,
    pub revision: String,
    pub(crate) next_id: std::sync::atomic::AtomicU64,
    /// Sent with every request of the session.
    pub(crate) headers: Vec<(String, String)>,
}

impl Session<'_> {
    /// The same session, addressed to another server (a replica).
    pub fn on<'b>(&self, server: &'b TestServer) -> Session<'b> {
        Session {
            server,
            id: self.id.clone(),
            revision: self.revision.clone(),
            next_id: std::sync::atomic::AtomicU64::new(1000),
            headers: self.headers.clone(),
        }
    }

    /// The same session id sent with other `headers` (another caller's
    /// credentials, say).
    pub fn with_headers(&self, headers: &[(&str, &str)]) -> Session<'_> {
        let mut copy = self.on(self.server);
        copy.headers = headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        copy
    }

    /// The HTTP status of a `ping` in the session.
    pub async fn ping_status(&self) -> StatusCode {
        self.post_raw(json!({"jsonrpc": "2.0", "id": 0, "method": "ping"}).to_string())
            .await
            .status
    }

    /// The session's headers, with `extra`.
    pub fn headers_with<'h>(&'h self, extra: &[(&'h str, &'h str)]) -> Vec<(&'h str, &'h str)> {
        let mut headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        headers.push(("mcp-session-id", self.id.as_str()));
        headers.extend_from_slice(extra);
        headers
    }

    /// `DELETE /mcp` for this session; returns the status.
    pub async fn delete(&self) -> StatusCode {
        self.server
            .send(
                Method::DELETE,
                "/mcp",
                &self.headers_with(&[]),
                Bytes::new(),
            )
            .await
            .status
    }

    /// POSTs a raw body inside the session.
    pub async fn post_raw(&self, body: impl Into<Bytes>) -> Reply {
        let headers = self.headers_with(&[("mcp-protocol-version", self.revision.as_str())]);
        self.server.post(&headers, body).await
    }

    /// Sends a request and returns the whole JSON-RPC response.
    pub async fn request(&self, method: &str, params: Value) -> Value {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reply = self
            .post_raw(
                json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["id"], json!(id));
        body
    }

    /// Calls a tool and returns the `result` (asserting there is one).
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        let response = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        assert!(response.get("error").is_none(), "{tool}: {response}");
        response["result"].clone()
    }
}

/// A response as the tests look at it.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON body; for an event stream, its last message (the response,
    /// after any notifications).
    pub fn json(&self) -> Value {
        if self.is_event_stream() {
            return self
                .messages()
                .pop()
                .unwrap_or_else(|| panic!("an event stream without messages: {}", self.text()));
        }
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// Whether the answer is `text/event-stream`.
    pub fn is_event_stream(&self) -> bool {
        self.headers
            .get("content-type")
            .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"))
    }

    /// The messages of an event stream, in order (events without data, such
    /// as the priming one, left out).
    pub fn messages(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter_map(|(_, data)| data)
            .map(|data| {
                serde_json::from_str(&data)
                    .unwrap_or_else(|error| panic!("event data not JSON ({error}): {data}"))
            })
            .collect()
    }

    /// The events of an event stream: each one's `id` and `data`.
    pub fn events(&self) -> Vec<(Option<String>, Option<String>)> {
        self.text()
            .split("\n\n")
            .filter(|event| !event.trim().is_empty())
            .map(|event| {
                let mut id = None;
                let mut data = None;
                for line in event.lines() {
                    if let Some(value) = line.strip_prefix("id: ") {
                        id = Some(value.to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        let value = value.trim_start();
                        if !value.is_empty() {
                            data = Some(value.to_owned());
                        }
                    }
                }
                (id, data)
            })
            .collect()
    }

    /// The JSON-RPC error code of the body.
    pub fn rpc_code(&self) -> i64 {
        self.json()["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code: {}", self.text()))
    }
}

pub(crate) async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    try_send(addr, method, path, headers, body)
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// POSTs `body` to `/mcp` in session `session_id`; `None` when the server
/// refused or dropped the connection.
pub async fn try_post(addr: SocketAddr, session_id: &str, body: String) -> Option<Reply> {
    let mut headers = MCP_HEADERS.to_vec();
    headers.push(("mcp-session-id", session_id));
    try_send(addr, Method::POST, "/mcp", &headers, body.into())
        .await
        .ok()
}

async fn try_send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender.send_request(request.body(Full::new(body))?).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

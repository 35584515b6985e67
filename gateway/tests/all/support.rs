//! A real Warden server on an ephemeral loopback port, and a small HTTP
//! client that speaks to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Headers every well-behaved MCP POST carries.
pub const MCP_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
];

/// A config serving all example components plus `misbehave`, with a data
/// directory preopened read-only for `files` and `misbehave`.
pub fn config_text(data_dir: &Path, extra_server: &str) -> String {
    let data = data_dir.display();
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
page_size = 3
cache_dir = "{cache}"
{extra_server}

[components.text]
path = "{text}"

[components.json]
path = "{json}"

[components.files]
path = "{files}"
[components.files.capabilities]
dirs = [{{ host = "{data}", guest = "/data", mode = "ro" }}]

[components.misbehave]
path = "{misbehave}"
[components.misbehave.limits]
timeout_ms = 500
max_memory_bytes = 33554432
max_output_bytes = 65536
max_log_messages = 20
max_concurrency = 64
[components.misbehave.capabilities]
dirs = [{{ host = "{data}", guest = "/data", mode = "ro" }}]
"#,
        cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        text = warden_tool_artifacts::TEXT,
        json = warden_tool_artifacts::JSON,
        files = warden_tool_artifacts::FILES,
        misbehave = warden_tool_artifacts::MISBEHAVE,
    )
}

/// A data directory with a couple of files for `files` and `misbehave`.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("notes.md"),
        "# Notes\nwarden runs tools\nin wasm\n",
    )
    .expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/more.txt"), "more warden text\n").expect("write");
    dir
}

/// A server running in this process until dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The separate Prometheus listener.
    pub metrics_addr: SocketAddr,
    shutdown: Option<(oneshot::Sender<()>, oneshot::Sender<()>)>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts with extra `[server]` keys.
    pub async fn start_with(extra_server: &str) -> Self {
        let data = data_dir();
        let config_dir = tempfile::tempdir().expect("tempdir");
        let config_path: PathBuf = config_dir.path().join("warden.toml");
        std::fs::write(&config_path, config_text(data.path(), extra_server)).expect("write config");
        let config = warden_gateway::config::load(&config_path).expect("config loads");
        let gateway = warden_gateway::build(&config)
            .await
            .expect("gateway builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let metrics_addr = metrics_listener.local_addr().expect("addr");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let (metrics_shutdown, metrics_stopped) = oneshot::channel::<()>();
        tokio::spawn(warden_gateway::http::serve_metrics(
            std::sync::Arc::clone(&gateway),
            metrics_listener,
            async {
                let _ = metrics_stopped.await;
            },
        ));
        tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            warden_gateway::http::serve(gateway, listener, stop)
                .await
                .expect("serve");
        });
        Self {
            addr,
            metrics_addr,
            shutdown: Some((shutdown, metrics_shutdown)),
            _dirs: (data, config_dir),
        }
    }

    /// Sends one HTTP request and returns status, headers and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        send(self.addr, method, path, headers, body.into()).await
    }

    /// POSTs a JSON body to `/mcp` with the standard headers plus `extra`.
    pub async fn post(&self, extra: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
        let mut headers = MCP_HEADERS.to_vec();
        headers.extend_from_slice(extra);
        self.send(Method::POST, "/mcp", &headers, body).await
    }

    /// An initialized session.
    pub async fn session(&self) -> Session<'_> {
        self.session_with_revision("2025-11-25").await
    }

    pub async fn session_with_revision(&self, revision: &str) -> Session<'_> {
        let reply = self
            .post(
                &[],
                json!({
                    "jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {
                        "protocolVersion": revision,
                        "capabilities": {},
                        "clientInfo": { "name": "warden-tests", "version": "0" }
                    }
                })
                .to_string(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let id = reply
            .headers
            .get("mcp-session-id")
            .and_then(|value| value.to_str().ok())
            .expect("session id header")
            .to_owned();
        let session = Session {
            server: self,
            id,
            revision: reply.json()["result"]["protocolVersion"]
                .as_str()
                .expect("protocolVersion")
                .to_owned(),
            next_id: std::sync::atomic::AtomicU64::new(1),
        };
        let initialized = session
            .post_raw(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
            .await;
        assert_eq!(initialized.status, StatusCode::ACCEPTED);
        session
    }

    /// The Prometheus exposition text.
    pub async fn metrics(&self) -> String {
        let reply = send(
            self.metrics_addr,
            Method::GET,
            "/metrics",
            &[],
            Bytes::new(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            reply.headers["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/plain")
        );
        reply.text()
    }

    pub async fn health(&self) -> Value {
        let reply = self.send(Method::GET, "/healthz", &[], Bytes::new()).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.json()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some((server, metrics)) = self.shutdown.take() {
            let _ = server.send(());
            let _ = metrics.send(());
        }
    }
}

/// One MCP session on a test server.
pub struct Session<'a> {
    pub server: &'a TestServer,
    pub id: String,
    pub revision: String,
    next_id: std::sync::atomic::AtomicU64,
}

impl Session<'_> {
    /// POSTs a raw body inside the session.
    pub async fn post_raw(&self, body: impl Into<Bytes>) -> Reply {
        let headers = [
            ("mcp-session-id", self.id.as_str()),
            ("mcp-protocol-version", self.revision.as_str()),
        ];
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

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// The JSON-RPC error code of the body.
    pub fn rpc_code(&self) -> i64 {
        self.json()["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error code: {}", self.text()))
    }
}

async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body)).expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

//! A real Warden server on an ephemeral loopback port, and a small HTTP
//! client that speaks to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
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

/// How a [`busy_caller`] fared.
#[derive(Debug, Default, Clone, Copy)]
pub struct Load {
    /// Calls answered, each checked to be correct.
    pub answered: usize,
    /// Calls whose connection was refused or dropped.
    pub refused: usize,
}

/// Calls `text.count` over and over, one connection per call, until `stop`
/// or the first refused connection; every answer must be a correct result.
pub async fn busy_caller(
    addr: SocketAddr,
    session_id: String,
    stop: tokio_util::sync::CancellationToken,
) -> Load {
    let mut load = Load::default();
    while !stop.is_cancelled() {
        let body = json!({
            "jsonrpc": "2.0", "id": load.answered, "method": "tools/call",
            "params": {"name": "text.count", "arguments": {"text": "under load"}}
        });
        let Some(reply) = try_post(addr, &session_id, body.to_string()).await else {
            load.refused += 1;
            break;
        };
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.json()["result"]["structuredContent"]["words"],
            json!(2),
            "{}",
            reply.text()
        );
        load.answered += 1;
    }
    load
}

/// Runs the `warden` binary to completion with `args`.
pub fn warden(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .expect("run warden")
}

/// Writes the test config (see [`config_text`]) with its data directory;
/// the config file is `warden.toml` in the second folder.
pub fn config_on_disk() -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
    write_config("")
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

/// Reloads `server` with its data folder replaced by a new one holding
/// `notes` as `notes.md` and the usual `sub/more.txt`; the new folder is
/// returned, to be kept while the server serves it.
pub fn reload_with_moved_data(server: &TestServer, notes: &str) -> tempfile::TempDir {
    let moved = tempfile::tempdir().expect("tempdir");
    std::fs::write(moved.path().join("notes.md"), notes).expect("write");
    std::fs::create_dir(moved.path().join("sub")).expect("mkdir");
    std::fs::write(moved.path().join("sub/more.txt"), "more warden text\n").expect("write");
    let original = server.original_config();
    let old_dir = original
        .lines()
        .find_map(|line| {
            let start = line.find("host = \"")? + "host = \"".len();
            let end = line[start..].find('"')? + start;
            Some(line[start..end].to_owned())
        })
        .expect("the test config preopens a data folder");
    server.write_config(&original.replace(&old_dir, &moved.path().display().to_string()));
    server.signal("HUP");
    moved
}

/// A Warden server on loopback: in this process, or the real `warden`
/// binary as a child process. Stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The separate Prometheus listener, when the config has one (the
    /// shared test config always does).
    pub metrics_addr: Option<SocketAddr>,
    running: Running,
    /// The data folder and the folder holding `warden.toml`.
    dirs: (tempfile::TempDir, tempfile::TempDir),
    /// The config as first written.
    config: String,
}

enum Running {
    InProcess(Option<(oneshot::Sender<()>, oneshot::Sender<()>)>),
    Process {
        child: Child,
        /// Everything the process has logged so far.
        log: Arc<Mutex<String>>,
    },
}

/// Writes the test config with `extra_server` keys into a new folder.
fn write_config(extra_server: &str) -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
    write_edited_config(extra_server, |text| text)
}

/// As [`write_config`], the text passed through `edit` first.
fn write_edited_config(
    extra_server: &str,
    edit: impl FnOnce(String) -> String,
) -> (tempfile::TempDir, tempfile::TempDir, PathBuf) {
    let data = data_dir();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config_path: PathBuf = config_dir.path().join("warden.toml");
    let text = edit(config_text(data.path(), extra_server));
    std::fs::write(&config_path, text).expect("write config");
    (data, config_dir, config_path)
}

/// `config` (the test config) with `misbehave` allowed a minute per call
/// instead of half a second, for calls that must still be running when a
/// test stops them.
pub fn slow_misbehave(config: String) -> String {
    let limited = config.replace("timeout_ms = 500\n", "timeout_ms = 60000\n");
    assert_ne!(
        limited, config,
        "the test config limits misbehave to 500 ms"
    );
    limited
}

/// `config` without the `[components.<name>]` table and its sub-tables.
pub fn without_component(config: &str, name: &str) -> String {
    let own = format!("[components.{name}");
    let mut skipping = false;
    let mut kept = String::new();
    for line in config.lines() {
        if line.starts_with('[') {
            skipping = line.starts_with(&format!("{own}]")) || line.starts_with(&format!("{own}."));
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts with extra `[server]` keys.
    pub async fn start_with(extra_server: &str) -> Self {
        let (data, config_dir, config_path) = write_config(extra_server);
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
            warden_gateway::http::serve(gateway, listener, stop).await;
        });
        Self {
            addr,
            metrics_addr: Some(metrics_addr),
            running: Running::InProcess(Some((shutdown, metrics_shutdown))),
            config: std::fs::read_to_string(&config_path).expect("read config"),
            dirs: (data, config_dir),
        }
    }

    /// Starts the real `warden serve` binary with extra `[server]` keys,
    /// MCP and metrics on ephemeral ports, and waits until it serves.
    pub async fn spawn_process(extra_server: &str) -> Self {
        Self::spawn_process_with(extra_server, &[], &[]).await
    }

    /// As [`spawn_process`](Self::spawn_process), with `env` added to the
    /// process's environment and `args` to `warden serve`'s arguments.
    pub async fn spawn_process_with(
        extra_server: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        Self::spawn_edited_process(extra_server, |text| text, env, args).await
    }

    /// As [`spawn_process_with`](Self::spawn_process_with), the config text
    /// passed through `edit` before it is written.
    pub async fn spawn_edited_process(
        extra_server: &str,
        edit: impl FnOnce(String) -> String,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        let (data, config_dir, config_path) = write_edited_config(
            &format!("metrics_listen = \"127.0.0.1:0\"\n{extra_server}"),
            edit,
        );
        Self::spawn_config_file((data, config_dir), &config_path, env, args).await
    }

    /// Starts the real `warden serve` binary with `config`, a whole config
    /// file's text (relative paths in it resolve against a new empty
    /// folder), and `args` added to `warden serve`'s arguments; waits until
    /// it serves.
    pub async fn spawn_with_config(config: &str, args: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let config_dir = tempfile::tempdir().expect("tempdir");
        let config_path = config_dir.path().join("warden.toml");
        std::fs::write(&config_path, config).expect("write config");
        Self::spawn_config_file((data, config_dir), &config_path, &[], args).await
    }

    /// As [`spawn_with_config`](Self::spawn_with_config), with `env` added
    /// to the process's environment.
    pub async fn spawn_with_config_env(config: &str, env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let config_dir = tempfile::tempdir().expect("tempdir");
        let config_path = config_dir.path().join("warden.toml");
        std::fs::write(&config_path, config).expect("write config");
        Self::spawn_config_file((data, config_dir), &config_path, env, &[]).await
    }

    async fn spawn_config_file(
        dirs: (tempfile::TempDir, tempfile::TempDir),
        config_path: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .envs(env.iter().copied())
            .arg("serve")
            .arg("--config")
            .arg(config_path)
            .args(args)
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start warden");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let log = Arc::new(Mutex::new(String::new()));
        let (addr, metrics_addr) = tokio::time::timeout(Duration::from_secs(120), async {
            let mut metrics_addr = None;
            while let Some(line) = lines.next_line().await.expect("read stderr") {
                log_line(&log, &line);
                if let Some(addr) = address_after(&line, "serving metrics at http://") {
                    metrics_addr = Some(addr);
                }
                if let Some(addr) = address_after(&line, "serving MCP at http://")
                    .or_else(|| address_after(&line, "serving MCP at https://"))
                {
                    // The metrics listener, when configured, is announced first.
                    return (addr, metrics_addr);
                }
            }
            panic!(
                "warden exited before serving:\n{}",
                log.lock().expect("log")
            );
        })
        .await
        .expect("warden starts within two minutes");
        // Keep reading the log so the server never blocks on a full pipe.
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                log_line(&sink, &line);
            }
        });
        Self {
            addr,
            metrics_addr,
            running: Running::Process { child, log },
            config: std::fs::read_to_string(config_path).expect("read config"),
            dirs,
        }
    }

    /// The folder that holds `warden.toml`; relative paths in it resolve here.
    pub fn config_dir(&self) -> &Path {
        self.dirs.1.path()
    }

    /// The config as first written.
    pub fn original_config(&self) -> &str {
        &self.config
    }

    /// Replaces the config file (atomically, as deployment tools do).
    pub fn write_config(&self, text: &str) {
        let path = self.dirs.1.path().join("warden.toml");
        let staged = self.dirs.1.path().join("warden.toml.new");
        std::fs::write(&staged, text).expect("write config");
        std::fs::rename(&staged, &path).expect("replace config");
    }

    /// Tool names from every page of `tools/list`.
    pub async fn tool_names(&self, session: &Session<'_>) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor = Value::Null;
        loop {
            let page = session
                .request("tools/list", json!({ "cursor": cursor }))
                .await;
            for tool in page["result"]["tools"].as_array().expect("tools") {
                names.push(tool["name"].as_str().expect("name").to_owned());
            }
            cursor = page["result"]["nextCursor"].clone();
            if cursor.is_null() {
                return names;
            }
        }
    }

    /// Waits until the process has logged `needle` at least `count` times.
    pub async fn wait_for_log(&self, needle: &str, count: usize) {
        for _ in 0..1200 {
            if self.log().matches(needle).count() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("`{needle}` not logged {count} times:\n{}", self.log());
    }

    /// The MCP endpoint's URL.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Sends a signal (e.g. `TERM`) to the server process.
    pub fn signal(&self, signal: &str) {
        let Running::Process { child, .. } = &self.running else {
            panic!("only a server process takes signals");
        };
        let pid = child.id().expect("the process is running");
        let status = std::process::Command::new("kill")
            .args(["-s", signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {pid} failed");
    }

    /// Waits for the server process to exit and returns its exit code.
    pub async fn exit_code(&mut self, within: Duration) -> Option<i32> {
        let Running::Process { child, log } = &mut self.running else {
            panic!("only a server process exits");
        };
        let status = tokio::time::timeout(within, child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "warden still running after {within:?}:\n{}",
                    log.lock().expect("log")
                )
            })
            .expect("wait for warden");
        status.code()
    }

    /// What the server process has logged so far.
    pub fn log(&self) -> String {
        match &self.running {
            Running::Process { log, .. } => log.lock().expect("log").clone(),
            Running::InProcess(_) => String::new(),
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
        self.session_with_headers(revision, &[]).await
    }

    /// An initialized session whose every request carries `headers` (such
    /// as an `authorization`).
    pub async fn session_with_headers(
        &self,
        revision: &str,
        headers: &[(&str, &str)],
    ) -> Session<'_> {
        self.session_declaring(revision, headers, json!({})).await
    }

    /// An initialized session whose client declared `capabilities`.
    pub async fn session_declaring(
        &self,
        revision: &str,
        headers: &[(&str, &str)],
        capabilities: Value,
    ) -> Session<'_> {
        let reply = self
            .post(
                headers,
                json!({
                    "jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {
                        "protocolVersion": revision,
                        "capabilities": capabilities,
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
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
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
            self.metrics_addr.expect("the config serves metrics"),
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
        // A child process is killed by `kill_on_drop`.
        if let Running::InProcess(shutdown) = &mut self.running
            && let Some((server, metrics)) = shutdown.take()
        {
            let _ = server.send(());
            let _ = metrics.send(());
        }
    }
}

fn log_line(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().expect("log");
    log.push_str(line);
    log.push('\n');
}

/// The `IP:port` that follows `prefix` in a log line; a server listening on
/// every interface is reached on loopback.
fn address_after(line: &str, prefix: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
    let mut addr: SocketAddr = rest[..end].parse().ok()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(addr)
}

/// One MCP session on a test server.
pub struct Session<'a> {
    pub server: &'a TestServer,
    pub id: String,
    pub revision: String,
    next_id: std::sync::atomic::AtomicU64,
    /// Sent with every request of the session.
    headers: Vec<(String, String)>,
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

async fn send(
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

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A virtualenv named `name` under Cargo's target directory with the pinned
/// `requirements` (a path from the repository root) installed; rebuilt when
/// they change.
pub async fn python_venv(name: &str, requirements: &str) -> PathBuf {
    let requirements = repo_root().join(requirements);
    let wanted = std::fs::read_to_string(&requirements).expect("read requirements");
    // Tests run in parallel: one of them builds a venv, the others wait.
    static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _building = BUILDING.lock().await;
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let marker = venv.join("installed-requirements.txt");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) && python.exists()
    {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let host_python = std::env::var("WARDEN_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(
        Command::new(&host_python).args(["-m", "venv"]).arg(&venv),
        "create the virtualenv",
    )
    .await;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "install the Python test requirements",
    )
    .await;
    std::fs::write(&marker, wanted).expect("write marker");
    python
}

/// A folder with the npm packages pinned by `package-lock.json` in the
/// repository folder `project` installed (`npm ci`, on first use and when
/// the lockfile changes), and that folder's scripts copied beside them so
/// their imports resolve. `WARDEN_TEST_NPM` names another npm.
pub async fn node_project(name: &str, project: &str) -> PathBuf {
    let source = repo_root().join(project);
    let lockfile =
        std::fs::read_to_string(source.join("package-lock.json")).expect("read lockfile");
    static INSTALLING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _installing = INSTALLING.lock().await;
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let marker = folder.join("installed-package-lock.json");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(lockfile.as_str()) {
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("create the npm folder");
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), folder.join(file)).expect("copy the npm manifest");
        }
        let npm = std::env::var("WARDEN_TEST_NPM").unwrap_or_else(|_| "npm".to_owned());
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&folder),
            "install the npm test packages",
        )
        .await;
        std::fs::write(&marker, &lockfile).expect("write marker");
    }
    for entry in std::fs::read_dir(&source).expect("read the npm project") {
        let path = entry.expect("npm project entry").path();
        if path.extension().is_some_and(|ext| ext == "mjs") {
            let file_name = path.file_name().expect("script name");
            std::fs::copy(&path, folder.join(file_name)).expect("copy the script");
        }
    }
    folder
}

pub async fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .await
        .unwrap_or_else(|error| panic!("cannot {what}: {error}"));
    assert!(
        output.status.success(),
        "cannot {what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An open `GET /mcp` event stream, read event by event.
pub struct EventStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: hyper::body::Incoming,
    buffered: String,
}

impl EventStream {
    /// Sends `GET /mcp` with `headers` and keeps the response body open.
    pub async fn open(addr: SocketAddr, headers: &[(&str, &str)]) -> Self {
        Self::request(addr, Method::GET, headers, Bytes::new()).await
    }

    /// Sends `method /mcp` with `headers` and `body`, and keeps the
    /// response body open.
    pub async fn request(
        addr: SocketAddr,
        method: Method,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = sender
            .send_request(request.body(Full::new(body)).expect("request"))
            .await
            .expect("send to /mcp");
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
            buffered: String::new(),
        }
    }

    /// The next event that is not a comment, as its lines; `None` when the
    /// server ended the stream. Panics when nothing comes `within`.
    pub async fn next_event(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, async {
            loop {
                while let Some(end) = self.buffered.find("\n\n") {
                    let event: String = self.buffered.drain(..end + 2).collect();
                    let event = event.trim_end().to_owned();
                    if !event.lines().all(|line| line.starts_with(':')) {
                        return Some(event);
                    }
                }
                match self.body.frame().await {
                    None => return None,
                    Some(Err(error)) => panic!("event stream broke: {error}"),
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            self.buffered.push_str(&String::from_utf8_lossy(data));
                        }
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event within {within:?}; buffered: {:?}", self.buffered))
    }
}

/// Sends raw bytes and returns what the server answers until it closes the
/// connection or goes quiet for `quiet`.
pub async fn exchange(addr: SocketAddr, request: &[u8], quiet: Duration) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    read_until_quiet(&mut stream, quiet).await
}

pub async fn read_until_quiet(stream: &mut TcpStream, quiet: Duration) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(Ok(read)) = tokio::time::timeout(quiet, stream.read(&mut buffer)).await {
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

//! A real Warden server on an ephemeral loopback port, and a small HTTP
//! client that speaks to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

pub use crate::support_peers::*;
pub use crate::support_session::*;
pub use crate::support_stream::*;

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

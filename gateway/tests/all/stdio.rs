//! `warden serve --stdio`: newline-delimited JSON-RPC with the real binary.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::support::{config_text, data_dir};

/// `warden serve --stdio` on `config`, with its stdin and stdout lines.
fn spawn_stdio(config: &std::path::Path) -> (Child, ChildStdin, Lines<BufReader<ChildStdout>>) {
    let mut warden = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--stdio", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start warden --stdio");
    let stdin = warden.stdin.take().expect("stdin");
    let stdout = BufReader::new(warden.stdout.take().expect("stdout")).lines();
    (warden, stdin, stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_serves_one_session_per_process() {
    let data = data_dir();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("warden.toml");
    std::fs::write(&config, config_text(data.path(), "")).expect("write config");
    let (mut warden, mut stdin, mut stdout) = spawn_stdio(&config);

    let requests = [
        json!({"jsonrpc": "2.0", "id": "early", "method": "tools/list"}).to_string(),
        "this is not json".to_owned(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "stdio-test", "version": "0"}}})
        .to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "text.count", "arguments": {"text": "over standard input"}}})
        .to_string(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "misbehave.loop", "arguments": {}}})
        .to_string(),
    ];
    for request in &requests {
        stdin.write_all(request.as_bytes()).await.expect("write");
        stdin.write_all(b"\n").await.expect("write");
    }
    stdin.flush().await.expect("flush");

    let mut replies: HashMap<String, Value> = HashMap::new();
    let mut anonymous = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while replies.len() + anonymous.len() < 6 {
            let line = stdout
                .next_line()
                .await
                .expect("read")
                .expect("a reply line");
            let reply: Value = serde_json::from_str(&line).expect("every line is JSON");
            match &reply["id"] {
                Value::Null => anonymous.push(reply),
                id => {
                    replies.insert(id.to_string(), reply);
                }
            }
        }
    })
    .await
    .expect("six replies within a minute");

    assert_eq!(
        replies["\"early\""]["error"]["code"], -32600,
        "requests need initialize first"
    );
    assert_eq!(anonymous[0]["error"]["code"], -32700);
    assert_eq!(replies["1"]["result"]["protocolVersion"], "2025-11-25");
    let tools = replies["2"]["result"]["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 3, "the test config pages by 3");
    assert!(replies["2"]["result"]["nextCursor"].is_string());
    assert_eq!(replies["3"]["result"]["structuredContent"]["words"], 3);
    assert_eq!(replies["4"]["result"]["_meta"]["warden/reason"], "timeout");

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), warden.wait())
        .await
        .expect("warden exits when stdin closes")
        .expect("wait");
    assert!(status.success(), "{status}");
}

/// Writes `message` as one line.
async fn send_line(stdin: &mut ChildStdin, message: Value) {
    let mut line = message.to_string().into_bytes();
    line.push(b'\n');
    stdin.write_all(&line).await.expect("write");
    stdin.flush().await.expect("flush");
}

/// `warden serve --stdio` on the test config, in folders of its own.
pub struct StdioWarden {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: Lines<BufReader<ChildStdout>>,
    /// The config file and its text as first written.
    pub config: (std::path::PathBuf, String),
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl StdioWarden {
    /// Starts it with `extra_server` keys in `[server]`.
    pub fn start(extra_server: &str) -> Self {
        Self::start_edited(extra_server, |text| text)
    }

    /// As [`start`](Self::start), the config text passed through `edit`.
    pub fn start_edited(extra_server: &str, edit: impl FnOnce(String) -> String) -> Self {
        let data = data_dir();
        let config_dir = tempfile::tempdir().expect("tempdir");
        let config = config_dir.path().join("warden.toml");
        let text = edit(config_text(data.path(), extra_server));
        std::fs::write(&config, &text).expect("write config");
        let (child, stdin, stdout) = spawn_stdio(&config);
        Self {
            child,
            stdin,
            stdout,
            config: (config, text),
            _dirs: (data, config_dir),
        }
    }

    /// Writes `message` as one line.
    pub async fn send(&mut self, message: Value) {
        send_line(&mut self.stdin, message).await;
    }

    /// Sends `initialize` (id 1, 2025-11-25) without reading its answer.
    pub async fn initialize(&mut self) {
        self.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "stdio-test", "version": "0"}}}),
        )
        .await;
    }

    /// Rewrites the config without component `name` and reloads it
    /// (SIGHUP).
    pub fn reload_without(&self, name: &str) {
        let (config, full) = &self.config;
        std::fs::write(config, super::support::without_component(full, name))
            .expect("rewrite config");
        let pid = self.child.id().expect("pid").to_string();
        let hup = std::process::Command::new("kill")
            .args(["-s", "HUP", &pid])
            .status()
            .expect("kill");
        assert!(hup.success());
    }

    /// The next line, as JSON, within a minute.
    pub async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), self.stdout.next_line())
            .await
            .expect("a line within a minute")
            .expect("read")
            .expect("a line");
        serde_json::from_str(&line).expect("JSON")
    }

    /// Every message written up to and including the answer to `id`.
    pub async fn until_answer(&mut self, id: &Value) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let message = self.next().await;
            let done = message["id"] == *id;
            seen.push(message);
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_changes_the_tools_notifies_the_stdio_client() {
    let mut warden = StdioWarden::start("watch_interval_ms = 0");
    warden.initialize().await;
    let initialized = warden.next().await;
    assert_eq!(
        initialized["result"]["capabilities"]["tools"]["listChanged"],
        json!(true)
    );

    warden.reload_without("json");
    assert_eq!(
        warden.next().await,
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
    warden
        .send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "json.query", "arguments": {"document": {}, "filter": "."}}}),
        )
        .await;
    let gone = warden.next().await;
    assert_eq!(gone["error"]["code"], json!(-32602), "{gone}");
}

#[tokio::test(flavor = "multi_thread")]
async fn resources_and_prompts_are_served_over_stdio_and_their_changes_announced() {
    let mut warden = StdioWarden::start("watch_interval_ms = 0");
    warden.initialize().await;
    let initialized = warden.next().await;
    let capabilities = &initialized["result"]["capabilities"];
    assert_eq!(
        capabilities["resources"]["subscribe"],
        json!(true),
        "{initialized}"
    );
    assert_eq!(
        capabilities["prompts"]["listChanged"],
        json!(true),
        "{initialized}"
    );

    warden
        .send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read",
                     "params": {"uri": "file:///data/notes.md"}}),
        )
        .await;
    let read = warden.next().await;
    assert_eq!(
        read["result"]["contents"][0]["mimeType"], "text/markdown",
        "{read}"
    );
    warden
        .send(json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/get",
                     "params": {"name": "files.summarize", "arguments": {"path": "notes.md"}}}))
        .await;
    let got = warden.next().await;
    assert_eq!(
        got["result"]["messages"][0]["content"]["type"], "resource",
        "{got}"
    );
    warden
        .send(
            json!({"jsonrpc": "2.0", "id": 4, "method": "completion/complete",
                     "params": {"ref": {"type": "ref/resource", "uri": "file:///data/{+path}"},
                                "argument": {"name": "path", "value": "no"}}}),
        )
        .await;
    let completed = warden.next().await;
    assert_eq!(
        completed["result"]["completion"]["values"],
        json!(["notes.md"]),
        "{completed}"
    );

    // Without `files`, its resources and prompt are gone: each list says so.
    warden.reload_without("files");
    let mut methods = Vec::new();
    for _ in 0..3 {
        let notice = warden.next().await;
        methods.extend(notice["method"].as_str().map(str::to_owned));
    }
    methods.sort();
    assert_eq!(
        methods,
        [
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
            "notifications/tools/list_changed",
        ]
    );
}

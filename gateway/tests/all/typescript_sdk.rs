//! The official MCP TypeScript SDK client against the real `warden` binary,
//! over Streamable HTTP and over stdio.
//!
//! The test installs the pinned SDK (`tests/typescript/package-lock.json`)
//! with `npm ci` under Cargo's target directory on first use and runs
//! `tests/typescript/e2e_client.mjs` with the machine's Node.js
//! (`WARDEN_TEST_NODE` names another).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use super::support::{TestServer, config_text, data_dir, node_project, slow_misbehave};

const AUDIT_TO_FILE: &str = "[audit]\nsink = \"file\"\npath = \"audit.jsonl\"\n";

/// Runs the client script with `args`; returns what it printed.
async fn run_client(args: &[&std::ffi::OsStr]) -> String {
    let folder = node_project("mcp-typescript-sdk", "tests/typescript").await;
    let node = std::env::var("WARDEN_TEST_NODE").unwrap_or_else(|_| "node".to_owned());
    let client = Command::new(node)
        .arg(folder.join("e2e_client.mjs"))
        .args(args)
        .current_dir(&folder)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), client)
        .await
        .expect("the TypeScript client finishes within three minutes")
        .expect("run the TypeScript client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "TypeScript SDK client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The audit records of `misbehave.sleep` calls in `audit_file`.
fn abandoned_calls(audit_file: &Path) -> Vec<Value> {
    let audit = std::fs::read_to_string(audit_file).expect("read the audit log");
    audit
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["tool"] == "misbehave.sleep")
        .collect()
}

/// The aborted call was stopped on the server: its audit record says
/// `cancelled` (the SDK sent `notifications/cancelled`), and it is there
/// once the record is written.
async fn assert_one_cancelled_call(audit_file: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let records = abandoned_calls(audit_file);
        if !records.is_empty() || tokio::time::Instant::now() > deadline {
            assert_eq!(records.len(), 1, "{records:?}");
            assert_eq!(records[0]["outcome"], "cancelled", "{records:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_typescript_client_over_http() {
    let server = TestServer::spawn_edited_process(AUDIT_TO_FILE, slow_misbehave, &[], &[]).await;
    let url = server.url();
    let stdout = run_client(&["http".as_ref(), url.as_ref()]).await;
    assert!(stdout.contains("[http] ok"), "{stdout}");
    assert_one_cancelled_call(&server.config_dir().join("audit.jsonl")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_typescript_client_over_stdio() {
    let data = data_dir();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("warden.toml");
    let text = slow_misbehave(config_text(data.path(), AUDIT_TO_FILE));
    std::fs::write(&config, text).expect("write config");
    let stdout = run_client(&[
        "stdio".as_ref(),
        env!("CARGO_BIN_EXE_warden").as_ref(),
        config.as_os_str(),
    ])
    .await;
    assert!(stdout.contains("[stdio] ok"), "{stdout}");
    assert_one_cancelled_call(&config_dir.path().join("audit.jsonl")).await;
}

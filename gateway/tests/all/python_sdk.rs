//! The official MCP Python SDK client against the real `warden` binary.
//!
//! The test installs the pinned client (`tests/python/requirements.txt`)
//! into a virtualenv under Cargo's target directory on first use, starts
//! `warden serve` on an ephemeral loopback port, and runs
//! `tests/python/e2e_client.py` (tools) or `tests/python/served_client.py`
//! (resources, prompts and completions) against it.

use std::time::Duration;

use tokio::process::Command;

use super::support::{TestServer, config_text, data_dir, python_venv, repo_root, slow_misbehave};

const AUDIT_TO_FILE: &str = "[audit]\nsink = \"file\"\npath = \"audit.jsonl\"\n";

/// Runs `tests/python/SCRIPT` with `args` under `python`, within three
/// minutes, and returns its stdout; fails the test with its output if it
/// fails.
pub async fn run_python_script(
    python: &std::path::Path,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> String {
    let client = Command::new(python)
        .arg(repo_root().join("tests/python").join(script))
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), client)
        .await
        .expect("the Python client finishes within three minutes")
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "Python SDK client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs the client script with `args` and checks each mode's outcome.
async fn run_client(python: &std::path::Path, args: &[&std::ffi::OsStr]) {
    let stdout = run_python_script(python, "e2e_client.py", args).await;
    assert!(
        stdout.contains("[auto] ok: protocol 2026-07-28")
            && stdout.contains("[2026-07-28] ok: protocol 2026-07-28")
            && stdout.contains("[legacy] ok: protocol 2025-11-25"),
        "{stdout}"
    );
}

/// Each mode abandoned a long call, and the server stopped it: the audit
/// log in `audit_file` has three cancelled `misbehave.sleep` calls.
fn assert_three_cancelled(audit_file: &std::path::Path) {
    let audit = std::fs::read_to_string(audit_file).expect("audit");
    let stopped: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|record| record["tool"] == "misbehave.sleep")
        .collect();
    assert_eq!(stopped.len(), 3, "{audit}");
    assert!(
        stopped
            .iter()
            .all(|record| record["outcome"] == "cancelled"),
        "{stopped:?}"
    );
}

/// A virtualenv with the pinned MCP Python SDK.
async fn python_with_sdk() -> std::path::PathBuf {
    python_venv("mcp-python-venv", "tests/python/requirements.txt").await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_lists_and_calls_every_example_tool() {
    let python = python_with_sdk().await;

    let server = TestServer::spawn_edited_process(AUDIT_TO_FILE, slow_misbehave, &[], &[]).await;
    let url = server.url();
    run_client(&python, &[url.as_ref()]).await;
    // The SDK cancels by notification in a session, by closing the
    // request's stream in 2026-07-28.
    assert_three_cancelled(&server.config_dir().join("audit.jsonl"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_over_stdio_in_each_mode() {
    let python = python_with_sdk().await;
    let data = data_dir();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("warden.toml");
    std::fs::write(
        &config,
        slow_misbehave(config_text(data.path(), AUDIT_TO_FILE)),
    )
    .expect("write config");
    run_client(
        &python,
        &[
            "--stdio".as_ref(),
            env!("CARGO_BIN_EXE_warden").as_ref(),
            config.as_os_str(),
        ],
    )
    .await;
    // Over stdio every mode cancels with `notifications/cancelled`.
    assert_three_cancelled(&config_dir.path().join("audit.jsonl"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_reads_resources_prompts_and_completions() {
    let python = python_with_sdk().await;
    let server = TestServer::spawn_process("").await;
    let url = server.url();
    let stdout = run_python_script(&python, "served_client.py", &[url.as_ref()]).await;
    // Each mode paged through the resources, read one and missed one, got
    // a prompt, completed both kinds of reference and watched a resource:
    // with `resources/subscribe` and `resources/unsubscribe` in the
    // handshake era, with `subscriptions/listen` in 2026-07-28.
    for expected in [
        "[legacy] ok: protocol 2025-11-25",
        "[auto] ok: protocol 2026-07-28",
        "subscribed and unsubscribed",
        "listened",
    ] {
        assert!(
            stdout.contains(expected),
            "the Python client did not report {expected:?}:\n{stdout}"
        );
    }
}

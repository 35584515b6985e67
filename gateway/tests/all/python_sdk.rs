//! The official MCP Python SDK client against the real `warden` binary.
//!
//! The test installs the pinned client (`tests/python/requirements.txt`)
//! into a virtualenv under Cargo's target directory on first use, starts
//! `warden serve` on an ephemeral loopback port, and runs
//! `tests/python/e2e_client.py` against it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use super::support::TestServer;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A virtualenv with the pinned requirements, rebuilt when they change.
async fn python_with_sdk() -> PathBuf {
    let requirements = repo_root().join("tests/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).expect("read requirements.txt");
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-python-venv");
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
        "install the MCP Python SDK",
    )
    .await;
    std::fs::write(&marker, wanted).expect("write marker");
    python
}

async fn run(command: &mut Command, what: &str) {
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

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_lists_and_calls_every_example_tool() {
    let python = python_with_sdk().await;

    let server = TestServer::spawn_process("").await;
    let client = Command::new(&python)
        .arg(repo_root().join("tests/python/e2e_client.py"))
        .arg(server.url())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), client)
        .await
        .expect("the Python client finishes within three minutes")
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "Python SDK client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("[auto] ok") && stdout.contains("[legacy] ok"),
        "{stdout}"
    );
}

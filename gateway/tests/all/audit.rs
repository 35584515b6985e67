//! The audit log with the real binary: one record per `tools/call` however
//! it ended, argument digests (arguments only where allowed, redacted),
//! rotation by size, and a sink that cannot be written.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warden_gateway::config::ApiKeyHash;

use crate::support::TestServer;

const KEY: &str = "wdn_auditor-0123456789abcdef0123456789ab";

/// Every record in the audit file and its rotated copies, oldest first.
fn records(path: &Path) -> Vec<Value> {
    let mut files: Vec<_> = (1..=20)
        .rev()
        .map(|n| format!("{}.{n}", path.display()).into())
        .chain(std::iter::once(path.to_owned()))
        .filter(|file: &std::path::PathBuf| file.exists())
        .collect();
    files.dedup();
    files
        .iter()
        .flat_map(|file| {
            std::fs::read_to_string(file)
                .expect("read audit file")
                .lines()
                .map(|line| serde_json::from_str(line).expect("a JSON record"))
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn sha256_hex(value: &Value) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(value).expect("json")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_leaves_one_record_with_a_digest_and_rotation_keeps_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit/calls.jsonl");
    let mut server = TestServer::spawn_process(&format!(
        "[[auth.api_keys]]\nname = \"auditor\"\nhash = \"{}\"\n\
         [audit]\nsink = \"file\"\npath = \"{}\"\nmax_file_bytes = 2048\nmax_files = 20\n\
         [components.files.audit]\nlog_arguments = true\nredact = [\"pattern\"]\n",
        ApiKeyHash::of(KEY),
        path.display()
    ))
    .await;
    let auth = format!("Bearer {KEY}");
    let session = server
        .session_with_headers("2025-06-18", &[("authorization", &auth)])
        .await;

    let calls = [
        ("text.count", json!({"text": "a b c"}), "ok", None),
        (
            "files.search",
            json!({"path": "/data", "pattern": "warden"}),
            "ok",
            None,
        ),
        (
            "misbehave.panic",
            json!({"message": "kaboom"}),
            "failed",
            Some("trap"),
        ),
        (
            "misbehave.panic",
            json!({"message": 42}),
            "rejected",
            Some("invalid_arguments"),
        ),
        ("no.such.tool", json!({}), "rejected", Some("unknown_tool")),
    ];
    for (tool, arguments, _, _) in &calls {
        session
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
    }
    // Enough small calls to rotate a 2 KiB file a few times.
    for n in 0..20 {
        session
            .call("text.count", json!({"text": "x ".repeat(n)}))
            .await;
    }
    server.signal("TERM");
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));

    let records = records(&path);
    assert_eq!(
        records.len(),
        calls.len() + 20,
        "one record per call, none lost"
    );
    assert!(
        Path::new(&format!("{}.2", path.display())).exists(),
        "the file was rotated"
    );
    for (record, (tool, arguments, outcome, reason)) in records.iter().zip(&calls) {
        assert_eq!(record["tool"], json!(tool), "{record}");
        assert_eq!(record["caller"], json!("auditor"));
        assert_eq!(record["outcome"], json!(outcome), "{record}");
        assert_eq!(record["reason"], json!(reason), "{record}");
        assert_eq!(record["arguments_sha256"], json!(sha256_hex(arguments)));
        assert_eq!(
            record["bytes_in"],
            json!(serde_json::to_vec(arguments).expect("json").len())
        );
        assert!(record["bytes_out"].as_u64().expect("bytes_out") > 0);
        assert!(record["duration_ms"].as_f64().expect("duration") >= 0.0);
        assert!(record["session"].as_str().is_some_and(|tag| tag.len() == 8));
        assert!(record["request_id"].is_u64(), "{record}");
        assert!(
            record["time"]
                .as_str()
                .is_some_and(|time| time.ends_with('Z'))
        );
    }
    // Only the files component logs its arguments, with `pattern` redacted.
    assert_eq!(
        records[1]["arguments"],
        json!({"path": "/data", "pattern": "[redacted]"})
    );
    assert!(
        records
            .iter()
            .enumerate()
            .all(|(i, record)| i == 1 || record.get("arguments").is_none())
    );
    // Calls that ran report their instance's peak memory; refused ones none.
    assert!(
        records[0]["peak_memory_bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes > 0)
    );
    assert!(
        records[2]["peak_memory_bytes"].as_u64().is_some(),
        "a trapped call ran"
    );
    assert!(records[4]["peak_memory_bytes"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_log_that_cannot_be_written_refuses_calls() {
    // Every write to /dev/full fails with "no space left on device".
    let server = TestServer::spawn_process(
        "[audit]\nsink = \"file\"\npath = \"/dev/full\"\nqueue_records = 2\nrequired = true\n",
    )
    .await;
    let session = server.session().await;
    let call = || {
        session.request(
            "tools/call",
            json!({"name": "text.count", "arguments": {"text": "a"}}),
        )
    };
    // The writer holds the first record while it retries...
    assert!(call().await.get("result").is_some());
    server.wait_for_log("cannot write the audit log", 1).await;
    // ...and two more wait in the queue.
    for _ in 0..2 {
        assert!(call().await.get("result").is_some());
    }
    let refused = call().await;
    assert_eq!(refused["error"]["code"], json!(-32603), "{refused}");
    assert_eq!(
        refused["error"]["data"]["warden/reason"],
        json!("audit_unavailable")
    );
    server.wait_for_log("cannot write the audit log", 1).await;
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("warden_rejections_total{reason=\"audit_unavailable\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_audit_records_total{result=\"dropped\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_audit_write_errors_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_log_that_is_full_drops_records_but_runs_calls() {
    let server = TestServer::spawn_process(
        "[audit]\nsink = \"file\"\npath = \"/dev/full\"\nqueue_records = 1\n",
    )
    .await;
    let session = server.session().await;
    let call = || session.call("text.count", json!({"text": "a"}));
    assert_eq!(call().await["isError"], json!(false));
    // The writer holds that record; one more fits the queue, three drop.
    server.wait_for_log("cannot write the audit log", 1).await;
    for _ in 0..4 {
        assert_eq!(call().await["isError"], json!(false));
    }
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("warden_audit_records_total{result=\"dropped\"} 3"),
        "{metrics}"
    );
}

#[test]
fn a_stdout_audit_log_cannot_share_stdout_with_stdio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[audit]\nsink = \"stdout\"\n[components.text]\npath = \"{}\"\n",
            warden_tool_artifacts::TEXT
        ),
    )
    .expect("write config");
    let output = crate::support::warden(&[
        "serve".as_ref(),
        "--stdio".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot be used with --stdio"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "nothing reached the protocol stream"
    );
}

//! API keys and per-tool access, with the real binary: who may connect,
//! which tools each caller sees and calls, sessions bound to their caller,
//! keys revoked by a reload.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Session, TestServer, warden};

/// A key made by `warden hash-key --generate`: (key, hash).
pub fn generated_key() -> (String, String) {
    let output = warden(&["hash-key".as_ref(), "--generate".as_ref()]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let mut lines = text.lines();
    let key = lines.next().expect("key line").to_owned();
    let hash = lines.next().expect("hash line").to_owned();
    assert!(
        key.starts_with("wdn_") && hash.starts_with("sha256:"),
        "{text}"
    );
    (key, hash)
}

/// `[auth]` with a keys file at `keys_path`, and access tables: `files`
/// for the `admin` role only; `json.format` for the caller `ci-bot` only;
/// `text` for everyone.
fn auth_tables(keys_path: &std::path::Path) -> String {
    format!(
        r#"
[auth]
api_keys_file = "{}"

[components.files.access]
roles = ["admin"]

[components.json.access.tools."json.format"]
callers = ["ci-bot"]
"#,
        keys_path.display()
    )
}

fn keys_file(keys: &[(&str, &str, &str)]) -> String {
    keys.iter()
        .map(|(name, hash, role)| {
            format!("[[api_keys]]\nname = \"{name}\"\nhash = \"{hash}\"\nroles = [\"{role}\"]\n")
        })
        .collect()
}

/// An initialized session for the caller holding `key`.
async fn session_as<'a>(server: &'a TestServer, key: &str) -> Session<'a> {
    server
        .session_with_headers("2025-11-25", &[("authorization", &format!("Bearer {key}"))])
        .await
}

fn error_of(response: &Value) -> (i64, String) {
    (
        response["error"]["code"].as_i64().expect("error code"),
        response["error"]["message"]
            .as_str()
            .expect("message")
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_access_rules_decide_who_sees_and_calls_what() {
    let (bot_key, bot_hash) = generated_key();
    let (admin_key, admin_hash) = generated_key();
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys_path = keys_dir.path().join("api-keys.toml");
    std::fs::write(
        &keys_path,
        keys_file(&[
            ("ci-bot", &bot_hash, "reader"),
            ("deployer", &admin_hash, "admin"),
        ]),
    )
    .expect("write keys");
    let server = TestServer::spawn_process(&format!(
        "watch_interval_ms = 100\n{}",
        auth_tables(&keys_path)
    ))
    .await;

    // No key, a malformed header, an unknown key: 401 with a challenge.
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    for (header, challenge) in [
        (None, r#"Bearer realm="warden""#),
        (Some("Basic abc"), r#"error="invalid_request""#),
        (Some("Bearer wdn_not-a-key"), r#"error="invalid_token""#),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("authorization", h)).into_iter().collect();
        let refused = server.post(&headers, ping.clone()).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{header:?}");
        let www = refused.headers["www-authenticate"].to_str().expect("ascii");
        assert!(www.contains(challenge), "{www}");
        assert!(!refused.text().contains("wdn_not-a-key"));
    }
    // Probes never need a key.
    for path in ["/livez", "/readyz", "/healthz"] {
        let probe = server.send(Method::GET, path, &[], Bytes::new()).await;
        assert_eq!(probe.status, StatusCode::OK, "{path}");
    }

    let bot = session_as(&server, &bot_key).await;
    let admin = session_as(&server, &admin_key).await;
    let bot_tools = server.tool_names(&bot).await;
    let admin_tools = server.tool_names(&admin).await;
    assert!(
        bot_tools.contains(&"json.format".to_owned()),
        "{bot_tools:?}"
    );
    assert!(
        bot_tools.contains(&"text.count".to_owned()),
        "{bot_tools:?}"
    );
    assert!(
        !bot_tools.iter().any(|name| name.starts_with("files.")),
        "{bot_tools:?}"
    );
    assert!(
        admin_tools.contains(&"files.list".to_owned()),
        "{admin_tools:?}"
    );
    assert!(
        !admin_tools.contains(&"json.format".to_owned()),
        "{admin_tools:?}"
    );
    assert!(
        admin_tools.contains(&"json.query".to_owned()),
        "{admin_tools:?}"
    );

    // A hidden tool is answered exactly as one that does not exist.
    let hidden = bot
        .request(
            "tools/call",
            json!({"name": "files.list", "arguments": {"path": "/data"}}),
        )
        .await;
    let missing = bot
        .request(
            "tools/call",
            json!({"name": "files.lisp", "arguments": {"path": "/data"}}),
        )
        .await;
    let (hidden_code, hidden_message) = error_of(&hidden);
    let (missing_code, missing_message) = error_of(&missing);
    assert_eq!(hidden_code, missing_code);
    assert_eq!(
        hidden_message.replace("files.list", "NAME"),
        missing_message.replace("files.lisp", "NAME")
    );
    let listed = admin.call("files.list", json!({"path": "/data"})).await;
    assert_eq!(listed["isError"], json!(false), "{listed}");
    let counted = bot.call("text.count", json!({"text": "a b"})).await;
    assert_eq!(counted["structuredContent"]["words"], json!(2));

    // A session is its caller's: another key cannot use or end it.
    let bot_auth = format!("Bearer {bot_key}");
    let stolen = admin.with_headers(&[("authorization", &bot_auth)]);
    assert_eq!(stolen.ping_status().await, StatusCode::NOT_FOUND);
    assert_eq!(stolen.delete().await, StatusCode::NOT_FOUND);
    assert_eq!(admin.ping_status().await, StatusCode::OK);

    // Removing a key from the keys file revokes it at the next reload.
    std::fs::write(&keys_path, keys_file(&[("deployer", &admin_hash, "admin")])).expect("rewrite");
    server.wait_for_log("catalog reloaded", 1).await;
    let revoked = bot.post_raw(ping.clone()).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(admin.ping_status().await, StatusCode::OK);
    let log = server.log();
    assert!(
        !log.contains(&bot_key) && !log.contains(&admin_key),
        "keys leaked into the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_may_not_drop_auth_while_exposed() {
    let (key, hash) = generated_key();
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys_path = keys_dir.path().join("api-keys.toml");
    std::fs::write(&keys_path, keys_file(&[("ci-bot", &hash, "reader")])).expect("write keys");
    // The file says 127.0.0.1; the command line exposes it on every interface.
    let mut server = TestServer::spawn_process_with(
        &format!("[auth]\napi_keys_file = \"{}\"\n", keys_path.display()),
        &[],
        &["--listen", "0.0.0.0:0"],
    )
    .await;
    let session = session_as(&server, &key).await;
    let without_auth = server.original_config().replace("[auth]\n", "").replace(
        &format!("api_keys_file = \"{}\"\n", keys_path.display()),
        "",
    );
    server.write_config(&without_auth);
    server.signal("HUP");
    server.wait_for_log("reload refused", 1).await;
    assert!(
        server.log().contains("reachable from other machines"),
        "{}",
        server.log()
    );
    assert_eq!(session.ping_status().await, StatusCode::OK);
    server.signal("TERM");
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));
}

#[test]
fn hash_key_hashes_stdin_and_refuses_weak_keys() {
    let hash_of = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("hash-key")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run warden");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write key");
        child.wait_with_output().expect("wait")
    };
    let key = "k".repeat(40);
    let output = hash_of(&format!("{key}\n"));
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        warden_gateway::config::ApiKeyHash::of(&key).to_string()
    );
    for (weak, reason) in [
        ("short\n", "shorter than"),
        (
            &format!("{} {}\n", "a".repeat(20), "b".repeat(20)),
            "visible ASCII",
        ),
        (
            &format!("{}.{}.{}\n", "a".repeat(20), "b".repeat(20), "c".repeat(20)),
            "shape of a JWT",
        ),
    ] {
        let refused = hash_of(weak);
        assert_eq!(refused.status.code(), Some(1), "{weak:?}");
        assert!(refused.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(reason), "{weak:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_rule_for_a_tool_the_component_lacks_is_refused() {
    let data = crate::support::data_dir();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("warden.toml");
    let (_, hash) = generated_key();
    let text = crate::support::config_text(
        data.path(),
        &format!(
            "[[auth.api_keys]]\nname = \"a\"\nhash = \"{hash}\"\n\
             [components.files.access.tools.\"files.reed\"]\nroles = [\"admin\"]\n"
        ),
    );
    std::fs::write(&path, text).expect("write config");
    let config = warden_gateway::config::load(&path).expect("the file itself is valid");
    let error = warden_gateway::build(&config)
        .await
        .err()
        .expect("a rule for a missing tool")
        .to_string();
    assert!(
        error.contains("components.files.access.tools.files.reed")
            && error.contains("declares no tool `files.reed`")
            && error.contains("files.read"),
        "{error}"
    );
}

//! Outbound HTTP from tools, with the real binary and a real web server on
//! loopback: allowed requests over HTTP/1.1 and HTTPS (HTTP/2), every way a
//! request can be refused, the limits, and the secrets the gateway injects
//! reaching the server while the tool, the client, the log, the metrics
//! and the audit log never see them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Session, TestServer};
use crate::upstream::Upstream;

const TOKEN: &str = "tok-d41d8cd98f00b204e980";
const API_KEY: &str = "key-0cc175b9c0f1b6a831c3";

struct Setup {
    upstream: Upstream,
    server: TestServer,
    audit: std::path::PathBuf,
    _files: tempfile::TempDir,
}

async fn setup() -> Setup {
    let upstream = Upstream::start().await;
    let files = tempfile::tempdir().expect("tempdir");
    let ca = files.path().join("ca.pem");
    std::fs::write(&ca, &upstream.ca_pem).expect("write CA");
    let key = files.path().join("api-key");
    std::fs::write(&key, format!("{API_KEY}\n")).expect("write key");
    let audit = files.path().join("audit.jsonl");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
cache_dir = "{cache}"

[audit]
sink = "file"
path = "{audit}"

[components.misbehave]
path = "{misbehave}"
[components.misbehave.limits]
timeout_ms = 10000
[components.misbehave.capabilities]
env = {{ GREETING = "hello" }}
[components.misbehave.capabilities.http]
max_requests_per_call = 4
max_response_bytes = 16384
first_byte_timeout_ms = 700
allow = [
  {{ url = "http://127.0.0.1:{plain}/", methods = ["GET", "POST"], headers = {{ Authorization = "Bearer ${{env:WARDEN_TEST_UPSTREAM_TOKEN}}" }} }},
  {{ url = "https://localhost:{tls}/", ca_file = "{ca}", private = true, headers = {{ X-Api-Key = "${{file:{key}}}" }} }},
  "http://localhost:{plain}/named/",
]
"#,
        cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        audit = audit.display(),
        misbehave = warden_tool_artifacts::MISBEHAVE,
        plain = upstream.plain.port(),
        tls = upstream.tls.port(),
        ca = ca.display(),
        key = key.display(),
    );
    let server =
        TestServer::spawn_with_config_env(&config, &[("WARDEN_TEST_UPSTREAM_TOKEN", TOKEN)]).await;
    Setup {
        upstream,
        server,
        audit,
        _files: files,
    }
}

/// Calls `misbehave.http` and returns its whole result.
async fn fetch(session: &Session<'_>, args: Value) -> Value {
    session.call("misbehave.http", args).await
}

/// The attempts of a `misbehave.http` result.
fn attempts(result: &Value) -> Vec<Value> {
    result["structuredContent"]["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("attempts in {result}"))
        .clone()
}

/// The first audit record `matches`, once the writer has written it.
async fn audit_record(path: &std::path::Path, matches: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|record| matches(record));
        if let Some(record) = found {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no such audit record in {}",
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

fn no_secret_in(what: &str, text: &str) {
    for secret in [TOKEN, API_KEY] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_reach_the_server_with_the_secrets_the_tool_never_sees() {
    let setup = setup().await;
    let session = setup.server.session().await;
    let plain = setup.upstream.plain.port();

    let get = fetch(
        &session,
        json!({"url": format!("http://127.0.0.1:{plain}/hello"),
               "headers": {"Authorization": "Bearer guest-chosen", "X-Trace": "1"}}),
    )
    .await;
    assert_eq!(get["isError"], json!(false), "{get}");
    let attempt = &attempts(&get)[0];
    assert_eq!(attempt["status"], json!(200), "{get}");
    assert_eq!(attempt["body"], json!("hello from upstream"));
    let seen = setup.upstream.seen_at("/hello");
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the injected header replaces the guest's"
    );
    assert_eq!(seen[0].header("x-trace"), Some("1"));
    assert_eq!(seen[0].version, hyper::Version::HTTP_11);
    // What the tool knows of its own request and environment: no secret.
    let own = &get["structuredContent"];
    no_secret_in("the tool's view", &own.to_string());
    assert_eq!(own["env"], json!({"GREETING": "hello"}));

    let post = fetch(
        &session,
        json!({"url": format!("http://127.0.0.1:{plain}/echo"), "method": "POST", "body": "ping"}),
    )
    .await;
    assert_eq!(attempts(&post)[0]["body"], json!("ping"), "{post}");
    let echo = &setup.upstream.seen_at("/echo")[0];
    assert_eq!(
        (echo.method.as_str(), echo.body.as_slice()),
        ("POST", b"ping".as_slice())
    );

    let tls = fetch(
        &session,
        json!({"url": format!("https://localhost:{}/json/x", setup.upstream.tls.port())}),
    )
    .await;
    assert_eq!(attempts(&tls)[0]["status"], json!(200), "{tls}");
    let seen = setup.upstream.seen_at("/json/x");
    assert_eq!(seen[0].version, hyper::Version::HTTP_2, "ALPN chose HTTP/2");
    assert_eq!(seen[0].header("x-api-key"), Some(API_KEY));
    assert_eq!(
        seen[0].header("authorization"),
        None,
        "headers go with their entry only"
    );
    no_secret_in("the client's result", &tls.to_string());

    let log = setup.server.log();
    no_secret_in("the log", &log);
    no_secret_in("the metrics", &setup.server.metrics().await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let audit = std::fs::read_to_string(&setup.audit).unwrap_or_default();
    assert!(audit.contains("misbehave.http"), "{audit}");
    no_secret_in("the audit log", &audit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outside_the_allow_list_are_refused_and_named() {
    let setup = setup().await;
    let session = setup.server.session().await;
    let plain = setup.upstream.plain.port();
    let tls = setup.upstream.tls.port();
    let other_port = if plain == 65535 { plain - 1 } else { plain + 1 };
    for (what, url, method) in [
        ("host", format!("http://127.0.0.2:{plain}/hello"), "GET"),
        ("scheme", format!("https://127.0.0.1:{plain}/hello"), "GET"),
        (
            "port",
            format!("http://127.0.0.1:{other_port}/hello"),
            "GET",
        ),
        ("path", format!("http://localhost:{plain}/hello"), "GET"),
        (
            "method",
            format!("http://127.0.0.1:{plain}/hello"),
            "DELETE",
        ),
        (
            "scheme of the TLS entry",
            format!("http://localhost:{tls}/json"),
            "GET",
        ),
        (
            "user information",
            format!("http://user@127.0.0.1:{plain}/hello"),
            "GET",
        ),
    ] {
        let result = fetch(&session, json!({"url": url, "method": method})).await;
        let error = attempts(&result)[0]["error"].as_str().map(str::to_owned);
        let error = error.unwrap_or_else(|| panic!("{what}: {result}"));
        assert!(
            error.contains("not allowed") || error.contains("invalid URL"),
            "{what}: {error}"
        );
    }
    assert!(
        setup.upstream.seen().is_empty(),
        "nothing refused reached the server: {:?}",
        setup.upstream.seen()
    );
    setup
        .server
        .wait_for_log("refused an outbound HTTP request", 6)
        .await;
    let log = setup.server.log();
    assert!(
        log.contains(&format!("http://127.0.0.2:{plain}/hello")),
        "{log}"
    );

    // A redirect to a host the policy does not list, followed by the tool.
    let redirect = fetch(
        &session,
        json!({"url": format!("http://127.0.0.1:{plain}/redirect?to=http://metadata.internal/latest"),
               "follow_redirects": 1}),
    )
    .await;
    let hops = attempts(&redirect);
    assert_eq!(hops[0]["status"], json!(302), "{redirect}");
    assert!(
        hops[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not allowed")),
        "{redirect}"
    );

    // A name listed as such, but resolving to loopback without `private`.
    let named = fetch(
        &session,
        json!({"url": format!("http://localhost:{plain}/named/x")}),
    )
    .await;
    let error = attempts(&named)[0]["error"].as_str().map(str::to_owned);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("internal addresses")),
        "{named}"
    );
    assert!(setup.upstream.seen_at("/named/x").is_empty());

    // A loop on a refused URL is stopped by the per-call cap, so it cannot
    // flood the log with refusals.
    let looping = fetch(
        &session,
        json!({"url": "http://127.0.0.9/loop", "repeat": 1000}),
    )
    .await;
    assert_eq!(
        looping["_meta"]["warden/reason"],
        json!("http_request_limit"),
        "{looping}"
    );
    setup.server.wait_for_log("http://127.0.0.9/loop", 5).await;
    assert_eq!(
        setup.server.log().matches("http://127.0.0.9/loop").count(),
        5
    );
    let metrics = setup.server.metrics().await;
    assert!(
        metrics.contains(
            "warden_outbound_refusals_total{component=\"misbehave\",reason=\"internal_address\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_fail_the_request_or_the_call() {
    let setup = setup().await;
    let session = setup.server.session().await;
    let plain = setup.upstream.plain.port();

    let big = fetch(
        &session,
        json!({"url": format!("http://127.0.0.1:{plain}/big")}),
    )
    .await;
    let error = attempts(&big)[0]["error"].as_str().map(str::to_owned);
    assert!(
        error.as_deref().is_some_and(|e| e.contains("16384 bytes")),
        "{big}"
    );

    let started = std::time::Instant::now();
    let hang = fetch(
        &session,
        json!({"url": format!("http://127.0.0.1:{plain}/hang")}),
    )
    .await;
    let error = attempts(&hang)[0]["error"].as_str().map(str::to_owned);
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("did not answer in time")),
        "{hang}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the first-byte timeout ended it, not the call's"
    );

    let flood = session
        .call(
            "misbehave.http",
            json!({"url": format!("http://127.0.0.1:{plain}/json/n"), "repeat": 5}),
        )
        .await;
    assert_eq!(flood["isError"], json!(true), "{flood}");
    let text = flood["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("more than its limit of 4 outbound HTTP requests"),
        "{flood}"
    );
    assert_eq!(setup.upstream.seen_at("/json/n").len(), 4);
    let record = audit_record(&setup.audit, |record| {
        record["reason"] == json!("http_request_limit")
    })
    .await;
    assert_eq!(record["reason"], json!("http_request_limit"), "{record}");
    let outbound = &record["outbound"];
    assert_eq!(outbound["hosts"][0]["host"], json!("127.0.0.1"), "{record}");
    assert_eq!(outbound["hosts"][0]["requests"], json!(4), "{record}");
    assert_eq!(
        outbound["refused"][0]["reason"],
        json!("per_call_limit"),
        "{record}"
    );
    let metrics = setup.server.metrics().await;
    assert!(
        metrics.contains(
            "warden_outbound_requests_total{component=\"misbehave\",grant=\"http://127.0.0.1:"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_file_reloads_and_the_new_value_goes_out() {
    let upstream = Upstream::start().await;
    let files = tempfile::tempdir().expect("tempdir");
    let key = files.path().join("token");
    std::fs::write(&key, "first-token\n").expect("write token");
    let plain = upstream.plain.port();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
cache_dir = "{cache}"
watch_interval_ms = 100

[components.misbehave]
path = "{misbehave}"
[components.misbehave.capabilities.http]
allow = [{{ url = "http://127.0.0.1:{plain}/", headers = {{ Authorization = "${{file:{key}}}" }} }}]
"#,
        cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        misbehave = warden_tool_artifacts::MISBEHAVE,
        key = key.display(),
    );
    let server = TestServer::spawn_with_config_env(&config, &[]).await;
    let session = server.session().await;
    let url = format!("http://127.0.0.1:{plain}/json/rotated");
    fetch(&session, json!({ "url": url })).await;
    std::fs::write(&key, "second-token-longer\n").expect("rotate token");
    server.wait_for_log("catalog reloaded", 1).await;
    fetch(&session, json!({ "url": url })).await;
    let seen: Vec<Option<String>> = upstream
        .seen_at("/json/rotated")
        .iter()
        .map(|seen| seen.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        seen,
        [
            Some("first-token".to_owned()),
            Some("second-token-longer".to_owned())
        ]
    );
    let log = server.log();
    assert!(
        !log.contains("first-token") && !log.contains("second-token"),
        "{log}"
    );
}

/// `misbehave` with `limits` and an `http` table of `http` (both TOML
/// lines), no audit and no secrets.
async fn serve_misbehave(limits: &str, http: &str) -> TestServer {
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
cache_dir = "{cache}"

[components.misbehave]
path = "{misbehave}"
[components.misbehave.limits]
{limits}
[components.misbehave.capabilities.http]
{http}
"#,
        cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        misbehave = warden_tool_artifacts::MISBEHAVE,
    );
    TestServer::spawn_with_config_env(&config, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_on_the_network_counts_against_the_call_and_in_flight_requests_are_capped() {
    let upstream = Upstream::start().await;
    let plain = upstream.plain.port();
    let server = serve_misbehave(
        "timeout_ms = 1500",
        &format!(
            "allow = [\"http://127.0.0.1:{plain}/\"]\nmax_concurrent_requests = 1\n\
             connect_timeout_ms = 300\nmax_request_bytes = 1024\n"
        ),
    )
    .await;
    let session = server.session().await;
    let hang = json!({"url": format!("http://127.0.0.1:{plain}/hang")});

    // The server never answers: the call's own wall-clock limit ends it.
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(fetch(&session, hang.clone()), async {
        // The second call starts while the first holds the only slot.
        tokio::time::sleep(Duration::from_millis(300)).await;
        fetch(&session, hang.clone()).await
    });
    assert_eq!(first["isError"], json!(true), "{first}");
    assert_eq!(first["_meta"]["warden/reason"], json!("timeout"), "{first}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let error = attempts(&second)[0]["error"].as_str().map(str::to_owned);
    assert!(
        error.as_deref().is_some_and(|e| e.contains("in flight")),
        "{second}"
    );

    let big = fetch(
        &session,
        json!({"url": format!("http://127.0.0.1:{plain}/echo"), "method": "POST",
               "body": "x".repeat(2048)}),
    )
    .await;
    let error = attempts(&big)[0]["error"].as_str().map(str::to_owned);
    assert!(
        error.as_deref().is_some_and(|e| e.contains("1024 bytes")),
        "{big}"
    );
    assert!(
        upstream.seen_at("/echo").is_empty(),
        "nothing of it was sent"
    );
}

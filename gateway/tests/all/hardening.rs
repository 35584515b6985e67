//! The HTTP layer's limits with the real binary: Host allowlist, slow
//! bodies, slow requests, oversized headers, requests per connection and
//! the connection cap. Raw TCP where a well-behaved client cannot misbehave.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{TestServer, exchange, read_until_quiet};

fn ping_request(host: &str, extra: &str) -> Vec<u8> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    format!(
        "POST /mcp HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_hosts_reach_mcp_and_probes_answer_any() {
    let server = TestServer::spawn_process("[http]\nallowed_hosts = [\"MCP.example.com\"]\n").await;
    let quiet = Duration::from_secs(3);
    // A rebinding page sends its own name.
    let refused = exchange(
        server.addr,
        &ping_request("evil.example:8080", "connection: close\r\n"),
        quiet,
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(refused.contains("allowed_hosts"), "{refused}");
    // Names that cannot be rebound, and the configured one, get past the
    // Host check (to the missing-session 400).
    for host in [
        "localhost:8080",
        "127.0.0.1",
        "[::1]:9",
        "mcp.example.com:443",
    ] {
        let answer = exchange(
            server.addr,
            &ping_request(host, "connection: close\r\n"),
            quiet,
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{host}: {answer}");
    }
    let probe = exchange(
        server.addr,
        b"GET /readyz HTTP/1.1\r\nhost: evil.example\r\nconnection: close\r\n\r\n",
        quiet,
    )
    .await;
    assert!(
        probe.starts_with("HTTP/1.1 200"),
        "probes never check the host: {probe}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_check_judges_the_address_actually_served() {
    // The config would listen on every interface, where any Host name is
    // accepted when allowed_hosts is empty; `--listen` serves loopback only,
    // where only names that cannot be rebound are.
    let (_, hash) = crate::auth::generated_key();
    let server = TestServer::spawn_edited_process(
        &format!("[[auth.api_keys]]\nname = \"ops\"\nhash = \"{hash}\"\n"),
        // Only the `listen` line (not `metrics_listen`, which stays on an
        // ephemeral loopback port), and no fixed port: the README's
        // `warden serve` may hold 8080 while the tests run.
        |text| {
            let edited = text.replacen("\nlisten = \"127.0.0.1:0\"", "\nlisten = \"0.0.0.0:0\"", 1);
            assert_ne!(edited, text, "the test config has a `listen` line");
            edited
        },
        &[],
        &["--listen", "127.0.0.1:0"],
    )
    .await;
    let refused = exchange(
        server.addr,
        &ping_request("evil.example", "connection: close\r\n"),
        Duration::from_secs(3),
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_slow_requests_and_big_headers_are_cut() {
    let server = TestServer::spawn_process(
        "[http]\nbody_read_timeout_ms = 100\nrequest_timeout_ms = 250\nmax_header_bytes = 8192\n\
         [audit]\nsink = \"file\"\npath = \"audit.jsonl\"\n",
    )
    .await;

    // Headers promise 100 bytes of body; 10 come.
    let partial = b"POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
        accept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"";
    let answer = exchange(server.addr, partial, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A call that outlives the request timeout is cancelled with 504.
    let session = server.session().await;
    let slow = session
        .post_raw(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "misbehave.sleep", "arguments": {"ms": 400}}})
            .to_string(),
        )
        .await;
    assert_eq!(slow.status, StatusCode::GATEWAY_TIMEOUT, "{}", slow.text());
    assert!(slow.text().contains("250 ms"), "{}", slow.text());
    assert_eq!(session.ping_status().await, StatusCode::OK);

    // Headers beyond the limit: 431.
    let big = ping_request(
        "localhost",
        &format!("x-filler: {}\r\n", "a".repeat(10_000)),
    );
    let answer = exchange(server.addr, &big, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // The cancelled call still has its audit record.
    server.signal("TERM");
    let mut server = server;
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));
    let audit = std::fs::read_to_string(server.config_dir().join("audit.jsonl")).expect("audit");
    let record: serde_json::Value = audit
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .find(|record: &serde_json::Value| record["tool"] == json!("misbehave.sleep"))
        .expect("a record of the cancelled call");
    assert_eq!(record["outcome"], json!("cancelled"));
    assert_eq!(record["reason"], json!("abandoned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped_and_closed_after_their_request_budget() {
    let server =
        TestServer::spawn_process("[http]\nmax_connections = 1\nmax_requests_per_connection = 2\n")
            .await;
    let quiet = Duration::from_millis(300);
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    first
        .write_all(&ping_request("localhost", ""))
        .await
        .expect("write");
    let answer = read_until_quiet(&mut first, quiet).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );

    // The only connection is taken: a second client gets no answer yet.
    let mut second = TcpStream::connect(server.addr).await.expect("connect");
    second
        .write_all(&ping_request("localhost", ""))
        .await
        .expect("write");
    assert_eq!(read_until_quiet(&mut second, quiet).await, "");

    // The first connection's second request is its last.
    first
        .write_all(&ping_request("localhost", ""))
        .await
        .expect("write");
    let answer = read_until_quiet(&mut first, Duration::from_secs(3)).await;
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    // Its place goes to the waiting client.
    let answer = read_until_quiet(&mut second, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_on_the_metrics_listener_answer_while_clients_hold_every_mcp_connection() {
    let server = TestServer::spawn_process("[http]\nmax_connections = 2\n").await;
    let admin = server.metrics_addr.expect("the test config serves metrics");
    // Two idle clients take every MCP connection; a third waits unanswered.
    let _held: Vec<TcpStream> = futures::future::join_all(
        (0..2).map(|_| async { TcpStream::connect(server.addr).await.expect("connect") }),
    )
    .await;
    let quiet = Duration::from_millis(300);
    let mut waiting = TcpStream::connect(server.addr).await.expect("connect");
    waiting
        .write_all(b"GET /livez HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .expect("write");
    assert_eq!(read_until_quiet(&mut waiting, quiet).await, "");

    for path in ["/livez", "/readyz", "/healthz", "/metrics"] {
        let mut probe = TcpStream::connect(admin).await.expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
        probe.write_all(request.as_bytes()).await.expect("write");
        let answer = read_until_quiet(&mut probe, Duration::from_secs(3)).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }
    let mut other = TcpStream::connect(admin).await.expect("connect");
    other
        .write_all(b"GET /mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = read_until_quiet(&mut other, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

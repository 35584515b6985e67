//! HTTP/2 in plain text with prior knowledge (h2c): the same answers as
//! HTTP/1.1, the hostile requests refused alike, and the limits of a
//! connection (streams at once, request budget, idle time) held.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http2::SendRequest;
use hyper::{Method, Request, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use crate::support::TestServer;

/// An answer over HTTP/2.
struct Answer {
    status: StatusCode,
    version: Version,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// An HTTP/2 connection to `addr` with prior knowledge, and the task
/// driving it (finished when the connection ends).
async fn connect(addr: SocketAddr) -> (SendRequest<Full<Bytes>>, tokio::task::JoinHandle<()>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("h2 handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, driver)
}

/// A hostile request: what it is, its method, headers and body, and the
/// status and words of its refusal.
type Case<'a> = (
    &'a str,
    Method,
    &'a [(&'a str, &'a str)],
    Vec<u8>,
    u16,
    &'a str,
);

const JSON: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
];

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    method: Method,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Answer, hyper::Error> {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://localhost:{}/mcp", addr.port()))
        .version(Version::HTTP_2);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(body.into())).expect("request");
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let (status, version, headers) = (
        response.status(),
        response.version(),
        response.headers().clone(),
    );
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Answer {
        status,
        version,
        headers,
        body,
    })
}

/// Opens a session over `sender`; its id.
async fn initialize(sender: &mut SendRequest<Full<Bytes>>, addr: SocketAddr) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "h2-test", "version": "0"}}});
    let answer = send(sender, addr, Method::POST, &JSON, body.to_string())
        .await
        .expect("initialize");
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer
        .headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .expect("a session id")
        .to_owned()
}

fn in_session(session: &str) -> Vec<(&str, &str)> {
    let mut headers = JSON.to_vec();
    headers.push(("mcp-session-id", session));
    headers.push(("mcp-protocol-version", "2025-11-25"));
    headers
}

fn count_call(id: u64, text: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "text.count", "arguments": {"text": text}}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2c_client_gets_what_an_http1_client_gets() {
    let server = TestServer::start().await;
    let (mut sender, _driver) = connect(server.addr).await;
    let session = initialize(&mut sender, server.addr).await;
    let headers = in_session(&session);
    let answer = send(
        &mut sender,
        server.addr,
        Method::POST,
        &headers,
        count_call(1, "over two"),
    )
    .await
    .expect("a call");
    assert_eq!(answer.version, Version::HTTP_2);
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["result"]["structuredContent"]["words"], 2);
    // Many requests at once on the one connection, each answered.
    let calls = (0..20).map(|id| {
        let mut sender = sender.clone();
        let headers = headers.clone();
        let addr = server.addr;
        async move {
            let text = "word ".repeat(id as usize + 1);
            let answer = send(
                &mut sender,
                addr,
                Method::POST,
                &headers,
                count_call(id, &text),
            )
            .await
            .expect("a call");
            (
                id,
                answer.json()["result"]["structuredContent"]["words"].clone(),
            )
        }
    });
    for (id, words) in futures::future::join_all(calls).await {
        assert_eq!(words, json!(id + 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_over_http2_get_their_own_4xx_and_never_a_5xx() {
    let server = TestServer::start_with("max_body_bytes = 4096\n").await;
    let (mut sender, _driver) = connect(server.addr).await;
    let session = initialize(&mut sender, server.addr).await;
    let session_headers = in_session(&session);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let mut twice = session_headers.clone();
    twice.push(("mcp-session-id", "other"));
    let mut forged = session_headers.clone();
    forged[2] = (
        "mcp-session-id",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    let mut old_version = session_headers.clone();
    old_version[3] = ("mcp-protocol-version", "1999-01-01");
    let mut other_host = JSON.to_vec();
    other_host.push(("host", "evil.example"));
    let text_plain = [
        ("content-type", "text/plain"),
        ("accept", "application/json, text/event-stream"),
    ];
    let no_accept = [("content-type", "application/json")];
    let batch = format!("[{ping}]");
    let cases: Vec<Case> = vec![
        (
            "oversized body",
            Method::POST,
            &JSON,
            vec![b' '; 5000],
            413,
            "exceeds the limit of 4096 bytes",
        ),
        (
            "deep nesting",
            Method::POST,
            &JSON,
            deep.into_bytes(),
            400,
            "nesting depth 100 exceeds",
        ),
        (
            "invalid UTF-8",
            Method::POST,
            &JSON,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}".to_vec(),
            400,
            "invalid JSON",
        ),
        (
            "empty body",
            Method::POST,
            &JSON,
            Vec::new(),
            400,
            "invalid JSON",
        ),
        (
            "text/plain",
            Method::POST,
            &text_plain,
            ping.clone().into_bytes(),
            415,
            "Content-Type must be application/json",
        ),
        (
            "no accept",
            Method::POST,
            &no_accept,
            ping.clone().into_bytes(),
            406,
            "Accept header",
        ),
        (
            "duplicate keys",
            Method::POST,
            &JSON,
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"x"}"#.to_vec(),
            400,
            "duplicate key `method`",
        ),
        (
            "a batch",
            Method::POST,
            &JSON,
            batch.into_bytes(),
            400,
            "batch is accepted only in a session",
        ),
        (
            "wrong jsonrpc version",
            Method::POST,
            &JSON,
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#.to_vec(),
            400,
            "jsonrpc",
        ),
        (
            "two session ids",
            Method::POST,
            &twice,
            ping.clone().into_bytes(),
            400,
            "appears more than once",
        ),
        (
            "a forged session id",
            Method::POST,
            &forged,
            ping.clone().into_bytes(),
            404,
            "unknown or expired session",
        ),
        (
            "an unsupported protocol version",
            Method::POST,
            &old_version,
            ping.clone().into_bytes(),
            400,
            "unsupported MCP-Protocol-Version",
        ),
        (
            "a Host that disagrees with the authority",
            Method::POST,
            &other_host,
            ping.clone().into_bytes(),
            400,
            "name different hosts",
        ),
        ("PUT", Method::PUT, &JSON, Vec::new(), 405, "accepts POST"),
    ];
    for (what, method, headers, body, status, message) in cases {
        let answer = send(&mut sender, server.addr, method, headers, body)
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.text());
        assert!(answer.text().contains(message), "{what}: {}", answer.text());
    }
    // A header list past `max_header_bytes` is refused, not served.
    let huge = "x".repeat(40 << 10);
    let mut oversized = JSON.to_vec();
    oversized.push(("x-filler", &huge));
    let refused = send(
        &mut sender,
        server.addr,
        Method::POST,
        &oversized,
        ping.clone(),
    )
    .await;
    assert!(
        refused
            .as_ref()
            .map_or(true, |answer| answer.status.is_client_error()),
        "an oversized header list must not be served: {:?}",
        refused.as_ref().map(|answer| answer.status)
    );

    // Nothing above hurt the server or this connection's neighbours.
    let (mut fresh, _driver) = connect(server.addr).await;
    let fresh_session = initialize(&mut fresh, server.addr).await;
    let answer = send(
        &mut fresh,
        server.addr,
        Method::POST,
        &in_session(&fresh_session),
        count_call(2, "still here"),
    )
    .await
    .expect("a call");
    assert_eq!(answer.json()["result"]["structuredContent"]["words"], 2);
    assert!(
        !server.metrics().await.contains("status=\"5"),
        "no 5xx was answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_runs_no_more_streams_at_once_than_allowed() {
    let server = TestServer::start_with("[http]\nmax_concurrent_streams = 1\n").await;
    let (mut sender, _driver) = connect(server.addr).await;
    // Spawned requests need it for the life of the test.
    let session: &'static str = Box::leak(initialize(&mut sender, server.addr).await.into());
    let headers = in_session(session);
    let slow = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "misbehave.sleep", "arguments": {"ms": 400}}})
    .to_string();
    let finished = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let run = |name: &'static str, body: String| {
        let (mut sender, headers, finished) = (
            sender.clone(),
            headers.clone(),
            std::sync::Arc::clone(&finished),
        );
        let addr = server.addr;
        async move {
            let answer = send(&mut sender, addr, Method::POST, &headers, body)
                .await
                .expect("answered");
            assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.text());
            finished.lock().expect("lock").push(name);
        }
    };
    let first = tokio::spawn(run("slow", slow));
    // Once the slow call runs, the second waits for its stream: with one
    // stream allowed it cannot start, let alone finish, before that ends.
    while !server.metrics().await.contains("warden_calls_in_flight 1") {
        tokio::task::yield_now().await;
    }
    let second = tokio::spawn(run("quick", count_call(2, "quick")));
    first.await.expect("slow call");
    second.await.expect("quick call");
    assert_eq!(*finished.lock().expect("lock"), ["slow", "quick"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_request_budget_or_idleness_ends_an_http2_connection() {
    let server = TestServer::start_with(
        "[http]\nmax_requests_per_connection = 3\nheader_read_timeout_ms = 1000\n",
    )
    .await;
    let (mut sender, driver) = connect(server.addr).await;
    let session = initialize(&mut sender, server.addr).await;
    let headers = in_session(&session);
    for id in 1..=2 {
        let answer = send(
            &mut sender,
            server.addr,
            Method::POST,
            &headers,
            count_call(id, "a"),
        )
        .await
        .expect("within the budget");
        assert_eq!(answer.status, StatusCode::OK);
    }
    // The third request spent the budget: the server says GOAWAY and the
    // connection ends, while a new one is served.
    tokio::time::timeout(std::time::Duration::from_secs(10), driver)
        .await
        .expect("the connection ends after its budget")
        .expect("driver");
    let (mut again, idle_driver) = connect(server.addr).await;
    let answer = send(
        &mut again,
        server.addr,
        Method::POST,
        &headers,
        count_call(9, "b"),
    )
    .await
    .expect("a new connection is served");
    assert_eq!(answer.status, StatusCode::OK);
    // A connection that starts no request for the header timeout is let go.
    tokio::time::timeout(std::time::Duration::from_secs(10), idle_driver)
        .await
        .expect("an idle connection ends")
        .expect("driver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_alpn_chooses_http2_for_clients_that_offer_it() {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName};

    let ca = crate::tls::TestCa::new("Warden h2 test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let issued = ca.issue("server", &["localhost"]);
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, &issued.cert).expect("write cert");
    std::fs::write(&key, &issued.key).expect("write key");
    let server = TestServer::start_with(&format!(
        "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        cert.display(),
        key.display()
    ))
    .await;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("pem"))
        .expect("root");
    for (offered, expected) in [
        (vec![b"h2".to_vec(), b"http/1.1".to_vec()], Version::HTTP_2),
        (vec![b"http/1.1".to_vec()], Version::HTTP_11),
    ] {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = offered;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let stream = connector.connect(name, tcp).await.expect("TLS");
        let request = Request::post(format!("https://localhost:{}/mcp", server.addr.port()))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("host", format!("localhost:{}", server.addr.port()))
            .body(Full::new(Bytes::from(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "alpn", "version": "0"}}})
                .to_string(),
            )))
            .expect("request");
        let response = if expected == Version::HTTP_2 {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                    .await
                    .expect("h2 over TLS");
            tokio::spawn(connection);
            sender.send_request(request).await.expect("answered")
        } else {
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .expect("http/1.1 over TLS");
            tokio::spawn(connection);
            let (mut parts, body) = request.into_parts();
            parts.uri = "/mcp".parse().expect("path");
            sender
                .send_request(Request::from_parts(parts, body))
                .await
                .expect("answered")
        };
        assert_eq!(response.version(), expected);
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("mcp-session-id"));
    }
}

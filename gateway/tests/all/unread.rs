//! Clients that do not read what they asked for: the responses a
//! connection leaves unread are held to a cap per connection and in total,
//! a stream nobody reads is let go with its result kept for a resumption,
//! and a connection that takes nothing for the send timeout is closed.
//!
//! HTTP/2 makes "not reading" exact: the client's receive windows are kept
//! at the protocol's minimum (64 KiB) and never reopened, so past them every
//! byte waits on the server.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use crate::support::{EventStream, TestServer};

/// The smallest receive window HTTP/2 allows (RFC 9113 §6.9.2).
const WINDOW: u32 = 65_535;

/// Bytes of each `misbehave.huge_output` result: within the test config's
/// `max_output_bytes` (64 KiB).
const RESULT_BYTES: u32 = 60_000;

/// An HTTP/2 connection whose client reads at most `WINDOW` bytes it does
/// not ask for, and the task driving it (finished when the server closes
/// it).
async fn connect(addr: SocketAddr) -> (SendRequest<Full<Bytes>>, tokio::task::JoinHandle<()>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .handshake(TokioIo::new(tcp))
        .await
        .expect("h2 handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, driver)
}

/// Sends a POST to `/mcp` and returns the response with its body unread.
async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    session: Option<&str>,
    body: &Value,
) -> Response<Incoming> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://127.0.0.1:{}/mcp", addr.port()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    sender.ready().await.expect("connection ready");
    sender.send_request(request).await.expect("response head")
}

async fn text_of(response: Response<Incoming>) -> String {
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

/// Opens a 2025-11-25 session over `sender`, reading its answer.
async fn initialize(sender: &mut SendRequest<Full<Bytes>>, addr: SocketAddr) -> String {
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "unread-test", "version": "0"}}});
    let response = post(sender, addr, None, &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .expect("a session id")
        .to_owned();
    text_of(response).await;
    session
}

fn huge_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "misbehave.huge_output", "arguments": {"bytes": RESULT_BYTES}}})
}

/// The value of the metric line that starts with `series`, 0 if absent.
fn metric(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Asks for large results on `sender` without reading them until one is
/// refused; the responses held unread, and the refusal.
async fn call_until_refused(
    sender: &mut SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    session: &str,
    unread: &mut Vec<Response<Incoming>>,
) -> Response<Incoming> {
    for id in 1..=40 {
        let response = post(sender, addr, Some(session), &huge_call(id)).await;
        if response.status() != StatusCode::OK {
            return response;
        }
        unread.push(response);
    }
    panic!("40 unread results and never refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_reads_nothing_is_held_to_its_cap_then_closed() {
    let server = TestServer::spawn_process(
        "[http]\nmax_unsent_bytes_per_connection = 65536\nsend_timeout_ms = 3000\n",
    )
    .await;
    let (mut sender, driver) = connect(server.addr).await;
    let session = initialize(&mut sender, server.addr).await;
    let mut unread = Vec::new();
    let refused = call_until_refused(&mut sender, server.addr, &session, &mut unread).await;
    // The first result fills the client's window, the next ones wait on the
    // server until the connection holds its cap.
    assert!(unread.len() >= 2, "refused after {} results", unread.len());
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let metrics = server.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "warden_rejections_total{reason=\"unread_responses\"}"
        ),
        1.0,
        "{metrics}"
    );
    let held = metric(&metrics, "warden_http_unsent_bytes");
    assert!(
        held >= 65536.0 && held < 65536.0 + 2.0 * f64::from(RESULT_BYTES),
        "{held}"
    );
    // The refusal's body waits behind the unread results for the client's
    // window; read together (as HTTP/2 clients read), they make room for it.
    let read_all = futures::future::join_all(unread.drain(..).map(text_of));
    let (results, text) = tokio::join!(read_all, text_of(refused));
    assert!(
        results
            .iter()
            .all(|result| result.len() > RESULT_BYTES as usize)
    );
    assert!(
        text.contains("responses it has not read (the limit is 65536)"),
        "{text}"
    );
    // Read, the connection is served again; then it stops reading.
    for id in 50..53 {
        let response = post(&mut sender, server.addr, Some(&session), &huge_call(id)).await;
        assert_eq!(response.status(), StatusCode::OK);
        unread.push(response);
    }

    // Other connections are served meanwhile.
    let other = server.session().await;
    let counted = other
        .call("text.count", json!({"text": "still served"}))
        .await;
    assert_eq!(counted["structuredContent"]["words"], 2, "{counted}");

    // Taking nothing for the send timeout (checked once a timeout), the
    // connection is closed, and what it held is let go.
    tokio::time::timeout(Duration::from_secs(20), driver)
        .await
        .expect("the server closed the connection")
        .expect("driver");
    // The connection's task lets its held bytes go as it ends, which may
    // be just after the client saw the close: wait for the gauge.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let metrics = server.metrics().await;
        if metric(&metrics, "warden_http_unsent_bytes") == 0.0
            || tokio::time::Instant::now() > deadline
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        metric(&metrics, "warden_http_stalled_connections_total"),
        1.0
    );
    assert_eq!(metric(&metrics, "warden_http_unsent_bytes"), 0.0);
    assert!(
        server
            .log()
            .contains("connection closed: its client took none of its responses")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_connections_together_are_held_to_the_total() {
    let server = TestServer::spawn_process(
        "[http]\nmax_unsent_bytes_per_connection = 786432\nmax_unsent_bytes = 1048576\n",
    )
    .await;
    let (mut first, _first_driver) = connect(server.addr).await;
    let first_session = initialize(&mut first, server.addr).await;
    let mut unread = Vec::new();
    // Twelve results: about 650 KB held, under this connection's cap.
    for id in 1..=12 {
        let response = post(
            &mut first,
            server.addr,
            Some(&first_session),
            &huge_call(id),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "call {id}");
        unread.push(response);
    }
    let (mut second, _second_driver) = connect(server.addr).await;
    let second_session = initialize(&mut second, server.addr).await;
    let mut second_unread = Vec::new();
    let refused = call_until_refused(
        &mut second,
        server.addr,
        &second_session,
        &mut second_unread,
    )
    .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let held = metric(&server.metrics().await, "warden_http_unsent_bytes");
    assert!(held >= 1_048_576.0, "{held}");
    // The first connection holds some of it: refused too.
    let again = post(
        &mut first,
        server.addr,
        Some(&first_session),
        &huge_call(99),
    )
    .await;
    assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A connection that holds nothing is served.
    let other = server.session().await;
    let counted = other.call("text.count", json!({"text": "a b c"})).await;
    assert_eq!(counted["structuredContent"]["words"], 3, "{counted}");
    // The refusal's body waits behind the unread results for the window;
    // read together (as HTTP/2 clients read), they make room for it.
    let read_all = futures::future::join_all(second_unread.into_iter().map(text_of));
    let (_, text) = tokio::join!(read_all, text_of(refused));
    assert!(
        text.contains("the server holds as many unread response bytes as it may (1048576)"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_nobody_reads_is_cut_and_its_result_waits_for_a_resumption() {
    // Twenty log messages of 100 KB: far more than the client's window and
    // the connection's cap together.
    const MESSAGES: usize = 20;
    const MESSAGE_BYTES: usize = 100_000;
    let server = TestServer::spawn_edited_process(
        "stream_replay_events = 1000\nstream_replay_bytes = 67108864\n\
         [http]\nmax_unsent_bytes_per_connection = 65536\nsend_timeout_ms = 1000\n",
        |config| config.replace("max_output_bytes = 65536", "max_output_bytes = 4194304"),
        &[],
        &[],
    )
    .await;
    let (mut sender, driver) = connect(server.addr).await;
    let session = initialize(&mut sender, server.addr).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "misbehave.log_flood", "arguments": {"count": MESSAGES, "bytes": MESSAGE_BYTES}}});
    let response = post(&mut sender, server.addr, Some(&session), &call).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Read the priming event, then nothing more.
    let mut body = response.into_body();
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let frame = body.frame().await.expect("a frame").expect("data");
        if let Some(data) = frame.data_ref() {
            seen.push_str(&String::from_utf8_lossy(data));
        }
    }
    let priming = seen.split("\n\n").next().unwrap_or_default();
    let last_id = priming
        .lines()
        .find_map(|line| line.strip_prefix("id: "))
        .expect("the priming event has an id")
        .to_owned();
    // Taking nothing, the connection is closed within two send timeouts.
    tokio::time::timeout(Duration::from_secs(10), driver)
        .await
        .expect("the server closed the stalled connection")
        .expect("driver");
    drop(body);
    let metrics = server.metrics().await;
    assert_eq!(
        metric(&metrics, "warden_http_stalled_connections_total"),
        1.0
    );
    assert_eq!(metric(&metrics, "warden_http_unsent_bytes"), 0.0);

    // Resumed on a new connection: what was missed, then the result.
    let headers = [
        ("accept", "text/event-stream"),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
        ("last-event-id", last_id.as_str()),
    ];
    let mut resumed = EventStream::open(server.addr, &headers).await;
    assert_eq!(resumed.status, StatusCode::OK);
    let mut logged = 0;
    let result = loop {
        let event = resumed
            .next_event(Duration::from_secs(30))
            .await
            .expect("the stream goes on to the result");
        let Some(data) = event.lines().find_map(|line| line.strip_prefix("data: ")) else {
            continue;
        };
        let message: Value = serde_json::from_str(data).expect("JSON");
        if message["id"] == json!(1) {
            break message;
        }
        assert_eq!(message["method"], "notifications/message", "{data:.200}");
        assert_eq!(
            message["params"]["data"].as_str().map(str::len),
            Some(MESSAGE_BYTES)
        );
        logged += 1;
    };
    assert_eq!(
        result["result"]["structuredContent"]["logged"],
        json!(MESSAGES),
        "{result}"
    );
    assert_eq!(logged, MESSAGES);
}

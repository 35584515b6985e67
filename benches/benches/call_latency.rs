//! Prints the latency of (a) instantiating `text` and calling `text.count`
//! in-process, and (b) a `tools/call` round trip over HTTP on loopback with
//! one keep-alive client. Run with `cargo bench -p warden-benches`; a name
//! fragment after `--` runs only the matching benchmarks, and
//! `WARDEN_BENCH_ITERATIONS` overrides the sample count.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use warden_benches::{selected, time_async};
use warden_sandbox::{NoEvents, Policy, Sandbox, SandboxConfig};

const WARMUP: usize = 500;
const DEFAULT_ITERATIONS: usize = 5_000;

fn iterations() -> usize {
    std::env::var("WARDEN_BENCH_ITERATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if selected("in-process") {
            in_process().await;
        }
        if selected("http") {
            over_http().await;
        }
    });
}

async fn in_process() {
    let sandbox = Sandbox::new(SandboxConfig::default()).expect("engine");
    let text = sandbox
        .load(
            "text",
            warden_tool_artifacts::TEXT.as_ref(),
            Policy::default(),
        )
        .await
        .expect("load text");
    let events = Arc::new(NoEvents);
    let summary = time_async(WARMUP, iterations(), || {
        let events = events.clone();
        let text = &text;
        async move {
            let output = text
                .call("text.count", r#"{"text":"the quick brown fox"}"#, events)
                .await
                .expect("call");
            assert!(!output.result.is_error);
        }
    })
    .await;
    summary.print("in-process instantiate + text.count");
    summary.record("call_latency", "in-process instantiate + text.count");
}

async fn over_http() {
    let data = tempfile::tempdir().expect("tempdir");
    let config_path = data.path().join("warden.toml");
    std::fs::write(
        &config_path,
        format!(
            // One connection carries every sample: more requests than the
            // default per-connection cap.
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[http]\nmax_requests_per_connection = 1000000\n\n[components.text]\npath = \"{}\"\n",
            warden_tool_artifacts::TEXT
        ),
    )
    .expect("write config");
    let config = warden_gateway::config::load(&config_path).expect("config");
    let gateway = warden_gateway::build(&config).await.expect("gateway");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(warden_gateway::http::serve(
        gateway,
        listener,
        std::future::pending(),
    ));

    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);

    let post = |body: String, session: Option<&str>| {
        let mut request = Request::post("/mcp")
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.body(Full::new(Bytes::from(body))).expect("request")
    };
    let init = sender
        .send_request(post(
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#.to_owned(),
            None,
        ))
        .await
        .expect("initialize");
    let session = init
        .headers()
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .expect("session id")
        .to_owned();
    init.into_body().collect().await.expect("body");

    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"text.count","arguments":{"text":"the quick brown fox"}}}"#;
    let sender = tokio::sync::Mutex::new(sender);
    let summary = time_async(WARMUP, iterations(), || async {
        let mut sender = sender.lock().await;
        sender.ready().await.expect("connection ready");
        let response = sender
            .send_request(post(call.to_owned(), Some(&session)))
            .await
            .expect("response");
        assert!(response.status().is_success());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(!body.is_empty());
    })
    .await;
    summary.print("HTTP tools/call round trip (1 client)");
    summary.record("call_latency", "HTTP tools/call round trip (1 client)");
}

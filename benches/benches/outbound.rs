//! Outbound HTTP through the sandbox: `web.fetch` of a small page from a
//! local server against the same GET made natively by the host, each on a
//! fresh connection (as every guest request is), and `web.fetch` over MCP
//! at 16 connections with the server's CPU time per call.
//!
//! - `native GET`: hyper on a new connection, the page read whole;
//! - `in-process text.count`: instantiate and a trivial call, what any
//!   call costs before its tool does anything;
//! - `in-process web.fetch`: instantiate, the guest's request through
//!   wasi:http and the host's sender (allowlist, lookup, address check,
//!   connect, limits), the page reduced to text;
//! - overhead per request: `web.fetch` minus the native GET, medians of one
//!   run; and beyond a plain call: minus `text.count` too.
//!
//! `cargo bench -p warden-benches --bench outbound`;
//! `WARDEN_BENCH_ITERATIONS` (default 3000) and `WARDEN_BENCH_SECONDS`
//! (default 10, the load point) change the counts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use warden_benches::drive::{self, Stop};
use warden_benches::mcp_client::Template;
use warden_benches::warden::{Build, Config, Paths};
use warden_benches::{Better, record, time_async};
use warden_sandbox::{
    AllowTarget, Capabilities, HttpAllow, HttpGrant, NoEvents, Policy, Sandbox, SandboxConfig,
};

const WARMUP: usize = 300;
const BENCH: &str = "outbound";
const CONNECTIONS: usize = 16;
const PAGE: &str = "<!doctype html><html><head><title>Bench page</title></head><body>\
    <h1>A small page</h1><p>Fetched by a tool through the gateway, \
    reduced to its text.</p></body></html>";

fn iterations() -> usize {
    warden_benches::env::count("WARDEN_BENCH_ITERATIONS", 3000).map_or(3000, |count| count as usize)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let upstream = serve_page().await?;
    let page_url = format!("http://{upstream}/page");

    let native = time_async(WARMUP, iterations(), || native_get(upstream)).await;
    native.print("native GET, fresh connection");
    native.record(BENCH, "native GET");

    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let text = sandbox
        .load(
            "text",
            warden_tool_artifacts::TEXT.as_ref(),
            Policy::default(),
        )
        .await?;
    let events = Arc::new(NoEvents);
    let plain = time_async(WARMUP, iterations(), || {
        let (text, events) = (&text, events.clone());
        async move {
            let output = text
                .call("text.count", r#"{"text":"the quick brown fox"}"#, events)
                .await
                .expect("text.count");
            assert!(!output.result.is_error);
        }
    })
    .await;
    plain.print("in-process text.count");

    let policy = Policy {
        capabilities: Capabilities {
            http: HttpGrant {
                allow: vec![HttpAllow::new(AllowTarget::parse(&page_url)?)],
                ..HttpGrant::default()
            },
            ..Capabilities::default()
        },
        ..Policy::default()
    };
    let web = sandbox
        .load("web", warden_tool_artifacts::WEB.as_ref(), policy)
        .await?;
    let arguments = serde_json::json!({ "url": page_url }).to_string();
    let fetch = time_async(WARMUP, iterations(), || {
        let (web, events, arguments) = (&web, events.clone(), &arguments);
        async move {
            let output = web
                .call("web.fetch", arguments, events)
                .await
                .expect("web.fetch");
            assert!(!output.result.is_error, "{:?}", output.result);
        }
    })
    .await;
    fetch.print("in-process web.fetch");
    fetch.record(BENCH, "in-process web.fetch");

    let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
    let overhead = micros(fetch.p50) - micros(native.p50);
    let beyond_call = overhead - micros(plain.p50);
    println!(
        "overhead per request (web.fetch − native GET, medians): {overhead:.1} µs; \
         beyond a plain call (− text.count): {beyond_call:.1} µs"
    );
    record(
        BENCH,
        "web.fetch overhead",
        "p50",
        overhead,
        "us",
        Better::Lower,
    );
    record(
        BENCH,
        "web.fetch overhead beyond a call",
        "p50",
        beyond_call,
        "us",
        Better::Lower,
    );

    over_mcp(&page_url).await
}

/// `web.fetch` through the release binary at 16 connections: calls/s,
/// latency, and the server's CPU time per call.
async fn over_mcp(page_url: &str) -> anyhow::Result<()> {
    let paths = Paths::discover()?;
    let build = Build::release(&paths)?;
    let config = Config::new(0, &paths.target.join("warden-cache"))?
        .component(&build, "web")
        .number("components.web.limits", "max_concurrency", 64)
        .toml(
            "components.web.capabilities.http",
            "allow",
            &format!("[{}]", serde_json::Value::from(page_url)),
        )
        .number(
            "components.web.capabilities.http",
            "max_concurrent_requests",
            64,
        );
    let running = build
        .start(
            &config,
            &paths.scratch.path().join("warden.toml"),
            &paths.scratch.path().join("warden.log"),
        )
        .await?;
    let opened = drive::connections(running.addr, CONNECTIONS, true).await?;
    let seconds = warden_benches::env::seconds("WARDEN_BENCH_SECONDS", 10.0)?;
    let template = Template::new(
        "tools/call",
        &serde_json::json!({"name": "web.fetch", "arguments": {"url": page_url}}),
    );
    let (measured, window) = drive::measure_probed(
        opened,
        &template,
        Duration::from_secs(2),
        Stop::After(seconds),
        || running.cpu_time(),
    )
    .await?;
    anyhow::ensure!(
        measured.errors == 0,
        "{} calls failed: {:?}",
        measured.errors,
        measured.first_error
    );
    let calls = measured.ok;
    let cpu = match (window.start.1, window.end.1) {
        (Ok(start), Ok(end)) => end.saturating_sub(start),
        _ => anyhow::bail!("cannot read the server's CPU time"),
    };
    let cpu_per_call = cpu.as_secs_f64() * 1e6 / calls.max(1) as f64;
    let name = format!("web.fetch over MCP, {CONNECTIONS} connections");
    measured.latency.print(&name);
    println!(
        "{name}: {:.0} calls/s, server CPU {cpu_per_call:.1} µs per call ({calls} calls)",
        measured.requests_per_sec()
    );
    record(
        BENCH,
        &name,
        "calls_per_sec",
        measured.requests_per_sec(),
        "calls/s",
        Better::Higher,
    );
    record(
        BENCH,
        &name,
        "server_cpu_per_call",
        cpu_per_call,
        "us",
        Better::Lower,
    );
    measured.latency.record(BENCH, &name);
    Ok(())
}

/// One GET of the page on a new connection, read whole.
async fn native_get(upstream: SocketAddr) {
    let stream = tokio::net::TcpStream::connect(upstream)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let request = Request::get("/page")
        .header("host", upstream.to_string())
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(body.len(), PAGE.len());
}

/// Serves [`PAGE`] at `/page` on an ephemeral loopback port.
async fn serve_page() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|_request| async {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "text/html")
                            .body(Full::new(Bytes::from_static(PAGE.as_bytes())))
                            .expect("response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

//! Baseline for the load benchmark: a bare hyper HTTP/1.1 server that
//! parses each JSON-RPC body and answers with a canned result. It runs no
//! tool, checks no session and validates nothing, so it is the ceiling for
//! any HTTP MCP server on this machine: what is left is the transport and
//! one JSON parse.
//!
//! ```text
//! hyper-baseline --port PORT
//! ```

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

static SESSIONS: AtomicU64 = AtomicU64::new(0);

fn parse_port() -> Option<u16> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (Some("--port"), Some(port)) => port.parse().ok(),
        _ => None,
    }
}

fn main() -> std::io::Result<()> {
    let Some(port) = parse_port() else {
        eprintln!("usage: hyper-baseline --port PORT");
        std::process::exit(2);
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(port))
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("hyper baseline serving at {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::POST || request.uri().path() != "/mcp" {
        return Ok(status(StatusCode::NOT_FOUND));
    }
    let Ok(body) = request.into_body().collect().await else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    let Ok(message) = serde_json::from_slice::<Value>(&body.to_bytes()) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    let Some(id) = message.get("id") else {
        // A notification (`notifications/initialized`).
        return Ok(status(StatusCode::ACCEPTED));
    };
    let initialize = message.get("method").and_then(Value::as_str) == Some("initialize");
    let result = if initialize {
        json!({
            "protocolVersion": "2025-11-25",
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "hyper-baseline", "version": "0" },
        })
    } else {
        json!({ "content": [{ "type": "text", "text": "ok" }], "isError": false })
    };
    let reply = json!({ "jsonrpc": "2.0", "id": id, "result": result });
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if initialize {
        let session = SESSIONS.fetch_add(1, Ordering::Relaxed);
        if let Ok(value) = hyper::header::HeaderValue::from_str(&format!("session-{session}")) {
            headers.insert("mcp-session-id", value);
        }
    }
    Ok(response)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

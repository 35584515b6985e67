//! The HTTP request → JSON-RPC → dispatch path: bytes go through the same
//! connection handling the listener uses, into the MCP endpoint, the
//! protocol handler and (for valid calls) the sandboxed example tools.
//!
//! The first byte picks how the rest is sent:
//! - 0: as the raw bytes of the connection (request line, headers, body);
//! - 1: as the body of a well-formed POST /mcp without a session;
//! - 2: as the body of a well-formed POST /mcp in an initialized session.
//!
//! A crash is a panic, a connection that does not finish within 10 s, or a
//! 500 answer (Warden never means to give one).

#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 40000);
const REVISION: &str = "2025-11-25";

/// Sends `request` on a new connection and returns everything answered.
fn exchange(request: Vec<u8>) -> Vec<u8> {
    let gateway = Arc::clone(warden_fuzz::gateway());
    warden_fuzz::runtime().block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serving = warden_gateway::http::serve_connection(gateway, server, PEER);
        let talking = async move {
            // The server may stop reading early (a refused request); what it
            // answered is still read below.
            let _ = client.write_all(&request).await;
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            answer
        };
        let both = async { tokio::join!(serving, talking).1 };
        match tokio::time::timeout(Duration::from_secs(10), both).await {
            Ok(answer) => answer,
            Err(_) => panic!("the connection did not finish within 10 s"),
        }
    })
}

fn post(body: &[u8], session: Option<&str>) -> Vec<u8> {
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        request.push_str(&format!(
            "mcp-session-id: {session}\r\nmcp-protocol-version: {REVISION}\r\n"
        ));
    }
    request.push_str("connection: close\r\n\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// An initialized session's id, made once.
fn session() -> &'static str {
    static SESSION: OnceLock<String> = OnceLock::new();
    SESSION.get_or_init(|| {
        let initialize = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{REVISION}","capabilities":{{}},"clientInfo":{{"name":"fuzz","version":"1"}}}}}}"#
        );
        let answer = String::from_utf8_lossy(&exchange(post(initialize.as_bytes(), None))).into_owned();
        let id = answer
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("mcp-session-id")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("initialize gave no session id:\n{answer}"));
        let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        exchange(post(initialized, Some(&id)));
        id
    })
}

fuzz_target!(
    init: {
        // Compiling the components and initializing take seconds: before
        // the first input, not within its time limit.
        session();
    },
    |input: &[u8]| run(input)
);

fn run(input: &[u8]) {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let request = match mode % 3 {
        0 => rest.to_vec(),
        1 => post(rest, None),
        _ => post(rest, Some(session())),
    };
    let answer = exchange(request);
    assert!(
        !answer.starts_with(b"HTTP/1.1 500"),
        "answered 500:\n{}",
        String::from_utf8_lossy(&answer)
    );
}

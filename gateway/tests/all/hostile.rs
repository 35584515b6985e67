//! Hostile requests against the real binary: each gets its own 4xx and a
//! message that names the problem; none gets a 5xx, and the server keeps
//! serving afterwards.

use std::time::Duration;

use serde_json::json;

use crate::support::{TestServer, exchange};

/// A POST to /mcp with `headers` (each ending in CRLF) and `body`.
fn post(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Every request here asks the server to close: silence this long means
/// it answered nothing more.
const QUIET: Duration = Duration::from_secs(10);

const JSON_HEADERS: &str =
    "content-type: application/json\r\naccept: application/json, text/event-stream\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_their_own_4xx_and_never_a_5xx() {
    let server = TestServer::spawn_process("max_body_bytes = 4096\n").await;
    let session = server.session().await;
    let in_session = format!(
        "{JSON_HEADERS}mcp-session-id: {}\r\nmcp-protocol-version: 2025-11-25\r\n",
        session.id
    );
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let mut forged = session.id.clone().into_bytes();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let chunked_flood = {
        let chunk = format!("{:x}\r\n{}\r\n", 1000, "x".repeat(1000));
        let mut request = format!(
            "POST /mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{JSON_HEADERS}transfer-encoding: chunked\r\n\r\n"
        )
        .into_bytes();
        for _ in 0..10 {
            request.extend_from_slice(chunk.as_bytes());
        }
        request.extend_from_slice(b"0\r\n\r\n");
        request
    };

    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("oversized body", post(JSON_HEADERS, &[b' '; 5000]), "413", "exceeds the limit of 4096 bytes"),
        ("oversized chunked body", chunked_flood, "413", "exceeds the limit"),
        ("deep nesting", post(JSON_HEADERS, deep.as_bytes()), "400", "nesting depth 100 exceeds"),
        ("invalid UTF-8", post(JSON_HEADERS, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}"), "400", "invalid JSON"),
        ("empty body", post(JSON_HEADERS, b""), "400", "invalid JSON"),
        ("text/plain", post("content-type: text/plain\r\naccept: application/json, text/event-stream\r\n", ping.as_bytes()), "415", "Content-Type must be application/json"),
        ("no content type", post("accept: application/json, text/event-stream\r\n", ping.as_bytes()), "415", "Content-Type"),
        ("no accept", post("content-type: application/json\r\n", ping.as_bytes()), "406", "Accept header"),
        ("duplicate keys", post(JSON_HEADERS, br#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"initialize"}"#), "400", "duplicate key `method`"),
        ("huge number", post(JSON_HEADERS, br#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#), "400", "number out of range"),
        ("id beyond 64 bits", post(JSON_HEADERS, br#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}"#), "400", "id"),
        ("a batch", post(JSON_HEADERS, format!("[{ping}]").as_bytes()), "400", "batch is accepted only in a session of protocol revision 2025-03-26"),
        ("not an object", post(JSON_HEADERS, b"\"ping\""), "400", "must be a JSON object"),
        ("wrong jsonrpc version", post(JSON_HEADERS, br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), "400", "jsonrpc"),
        ("two session ids", post(&format!("{in_session}mcp-session-id: other\r\n"), ping.as_bytes()), "400", "mcp-session-id header appears more than once"),
        ("two hosts", post(&format!("{JSON_HEADERS}host: evil.example\r\n"), ping.as_bytes()), "400", ""),
        ("a forged session id", post(&in_session.replace(&session.id, &forged), ping.as_bytes()), "404", "unknown or expired session"),
        ("a session id that is not ASCII", post(&format!("{JSON_HEADERS}mcp-session-id: \u{e9}t\u{e9}\r\n"), ping.as_bytes()), "400", "not visible ASCII"),
        ("an unsupported protocol version", post(&in_session.replace("2025-11-25", "1999-01-01"), ping.as_bytes()), "400", "unsupported MCP-Protocol-Version"),
        ("PUT", b"PUT /mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: 0\r\n\r\n".to_vec(), "405", "accepts POST"),
    ];
    for (what, request, status, message) in cases {
        let answer = exchange(server.addr, &request, QUIET).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{what}: expected {status}, got:\n{answer}"
        );
        assert!(
            answer.contains(message),
            "{what}: expected {message:?} in:\n{answer}"
        );
    }

    // A session ended by DELETE stays ended.
    assert_eq!(session.delete().await, hyper::StatusCode::NO_CONTENT);
    let replayed = exchange(server.addr, &post(&in_session, ping.as_bytes()), QUIET).await;
    assert!(replayed.starts_with("HTTP/1.1 404"), "{replayed}");

    // Nothing above hurt the server.
    assert_eq!(server.health().await["status"], json!("ok"));
    let fresh = server.session().await;
    let counted = fresh
        .call("text.count", json!({"text": "still here"}))
        .await;
    assert_eq!(counted["structuredContent"]["words"], json!(2));
    assert!(
        !server.metrics().await.contains("status=\"5"),
        "no 5xx was answered"
    );
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// Params that are present but not an object are answered as missing or
/// wrong params are: 200 with -32602 and the request's id, in a session
/// and before one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_that_are_not_an_object_get_invalid_params_like_missing_ones() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let in_session = format!(
        "{JSON_HEADERS}mcp-session-id: {}\r\nmcp-protocol-version: 2025-11-25\r\n",
        session.id
    );
    let missing = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"}).to_string();
    let answer = exchange(server.addr, &post(&in_session, missing.as_bytes()), QUIET).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("-32602"), "{answer}");
    for (params, kind) in [("null", "null"), ("[1, 2]", "an array"), ("3", "a number")] {
        for (headers, method) in [
            (&in_session, "tools/call"),
            (&JSON_HEADERS.to_owned(), "initialize"),
        ] {
            let body =
                format!(r#"{{"jsonrpc":"2.0","id":7,"method":"{method}","params":{params}}}"#);
            let answer = exchange(server.addr, &post(headers, body.as_bytes()), QUIET).await;
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "{method} {params}: {answer}"
            );
            assert!(
                answer.contains("\"code\":-32602"),
                "{method} {params}: {answer}"
            );
            assert!(answer.contains("\"id\":7"), "{method} {params}: {answer}");
            assert!(
                answer.contains(&format!(
                    "`params` of `{method}` must be an object, not {kind}"
                )),
                "{method} {params}: {answer}"
            );
        }
    }
}

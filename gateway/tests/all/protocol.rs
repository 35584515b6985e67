//! The transport and JSON-RPC rules, each refusal with its status and code.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::support::{MCP_HEADERS, TestServer};

/// Asserts that `schema` uses only forms every client's schema check takes:
/// each sub-schema an object (a boolean only as `additionalProperties`),
/// each `type` a single name.
fn assert_portable(schema: &serde_json::Value, at: &str) {
    use serde_json::Value;
    let Value::Object(object) = schema else {
        panic!("{at}: a sub-schema that is not an object: {schema}");
    };
    if let Some(kind) = object.get("type") {
        assert!(kind.is_string(), "{at}: `type` is not one name: {kind}");
    }
    for (keyword, value) in object {
        let at = format!("{at}.{keyword}");
        match keyword.as_str() {
            "items" | "not" | "if" | "then" | "else" | "contains" => {
                assert_portable(value, &at);
            }
            // `additionalProperties: false` is the form every client knows.
            "additionalProperties" if !value.is_boolean() => assert_portable(value, &at),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                for sub in value.as_array().expect("a list of schemas") {
                    assert_portable(sub, &at);
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" => {
                for (name, sub) in value.as_object().expect("a map of schemas") {
                    assert_portable(sub, &format!("{at}.{name}"));
                }
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn handshake_negotiates_and_issues_a_session() {
    let server = TestServer::start().await;
    let session = server.session().await;
    assert_eq!(session.revision, "2025-11-25");
    assert!(session.id.len() >= 32);
    let pong = session.request("ping", json!({})).await;
    assert_eq!(pong["result"], json!({}));

    let older = server.session_with_revision("2025-06-18").await;
    assert_eq!(older.revision, "2025-06-18");
    let unknown = server.session_with_revision("1999-01-01").await;
    assert_eq!(unknown.revision, "2025-11-25", "unsupported → our newest");
    assert_ne!(session.id, older.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn initialize_reports_capabilities_and_server_info() {
    let server = TestServer::start().await;
    let reply = server
        .post(
            &[],
            json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}).to_string(),
        )
        .await;
    let body = reply.json();
    assert_eq!(body["id"], "init");
    assert!(body["result"]["capabilities"]["tools"].is_object());
    assert_eq!(body["result"]["serverInfo"]["name"], "warden");
    assert_eq!(reply.headers["content-type"], "application/json");
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_list_paginates_with_opaque_cursors() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = cursor
            .as_ref()
            .map_or_else(|| json!({}), |cursor| json!({"cursor": cursor}));
        let page = session.request("tools/list", params).await;
        let tools = page["result"]["tools"].as_array().expect("tools").clone();
        assert!(tools.len() <= 3, "page_size is 3");
        for tool in &tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
            assert_portable(
                &tool["inputSchema"],
                &format!("{}: inputSchema", tool["name"]),
            );
            if let Some(output) = tool.get("outputSchema") {
                assert_portable(output, &format!("{}: outputSchema", tool["name"]));
            }
            assert!(tool["description"].is_string());
            names.push(tool["name"].as_str().expect("name").to_owned());
        }
        pages += 1;
        match page["result"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(pages > 1);
    for expected in ["text.count", "json.query", "files.read", "misbehave.loop"] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "no tool listed twice");

    let bad = session
        .request("tools/list", json!({"cursor": "bogus"}))
        .await;
    assert_eq!(bad["error"]["code"], -32602);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_rpc_errors_carry_the_right_codes() {
    let server = TestServer::start().await;
    let session = server.session().await;

    let parse = session.post_raw("{not json").await;
    assert_eq!(
        (parse.status, parse.rpc_code()),
        (StatusCode::BAD_REQUEST, -32700)
    );

    let invalid = session
        .post_raw(r#"{"jsonrpc":"2.0","id":5,"params":{}}"#)
        .await;
    assert_eq!(
        (invalid.status, invalid.rpc_code()),
        (StatusCode::BAD_REQUEST, -32600)
    );
    assert_eq!(invalid.json()["id"], 5);

    let batch = session
        .post_raw(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        .await;
    assert_eq!(
        (batch.status, batch.rpc_code()),
        (StatusCode::BAD_REQUEST, -32600)
    );
    assert!(batch.text().contains("batch"), "{}", batch.text());

    let unknown_method = session.request("resources/directory/read", json!({})).await;
    assert_eq!(unknown_method["error"]["code"], -32601);

    let unknown_tool = session
        .request("tools/call", json!({"name": "nope", "arguments": {}}))
        .await;
    assert_eq!(unknown_tool["error"]["code"], -32602);
    assert!(
        unknown_tool["error"]["message"]
            .as_str()
            .expect("message")
            .contains("nope")
    );

    for params in [
        json!({}),
        json!({"name": 3}),
        json!({"name": "text.count", "arguments": "x"}),
    ] {
        let malformed = session.request("tools/call", params.clone()).await;
        assert_eq!(malformed["error"]["code"], -32602, "{params}");
    }

    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let deep_body =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"x":{deep}}}}}"#);
    let too_deep = session.post_raw(deep_body).await;
    assert_eq!(
        (too_deep.status, too_deep.rpc_code()),
        (StatusCode::BAD_REQUEST, -32700)
    );
    assert!(too_deep.text().contains("nesting"), "{}", too_deep.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_required_checked_and_ended() {
    let server = TestServer::start().await;
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();

    let missing = server.post(&[], ping.clone()).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.text().contains("Mcp-Session-Id"),
        "{}",
        missing.text()
    );

    let unknown = server
        .post(&[("mcp-session-id", "not-a-session")], ping.clone())
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let session = server.session().await;
    let ended = server
        .send(
            Method::DELETE,
            "/mcp",
            &[("mcp-session-id", session.id.as_str())],
            Bytes::new(),
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    let after = session.post_raw(ping.clone()).await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    let again = server
        .send(
            Method::DELETE,
            "/mcp",
            &[("mcp-session-id", session.id.as_str())],
            Bytes::new(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let no_id = server.send(Method::DELETE, "/mcp", &[], Bytes::new()).await;
    assert_eq!(no_id.status, StatusCode::BAD_REQUEST);
}

/// The session id carries the session: one that only initializes, pings
/// and lists tools keeps no state in the process between its requests;
/// state starts with the first request that needs it (a call, here).
#[tokio::test(flavor = "multi_thread")]
async fn idle_sessions_keep_no_local_state() {
    let server = TestServer::start().await;
    let sessions: Vec<_> = futures::future::join_all((0..3).map(|_| server.session())).await;
    for session in &sessions {
        assert_eq!(session.ping_status().await, StatusCode::OK);
        let listed = session.request("tools/list", json!({})).await;
        assert!(listed["result"]["tools"].is_array(), "{listed}");
    }
    assert_eq!(server.health().await["sessions"], json!(0));

    let counted = sessions[1]
        .call("text.count", json!({"text": "one two"}))
        .await;
    assert_eq!(counted["structuredContent"]["words"], json!(2));
    assert_eq!(server.health().await["sessions"], json!(1));

    // Ending a session that never had local state works the same.
    assert_eq!(sessions[0].delete().await, StatusCode::NO_CONTENT);
    assert_eq!(sessions[0].ping_status().await, StatusCode::NOT_FOUND);
    assert_eq!(sessions[2].ping_status().await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn protocol_version_header_is_honoured() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();
    let unsupported = server
        .post(
            &[
                ("mcp-session-id", session.id.as_str()),
                ("mcp-protocol-version", "2000-01-01"),
            ],
            ping.clone(),
        )
        .await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);
    assert!(
        unsupported.text().contains("2025-11-25"),
        "lists the supported ones: {}",
        unsupported.text()
    );
    // Another supported version is served under the negotiated revision
    // (MCP refuses only invalid or unsupported ones).
    let other = server
        .post(
            &[
                ("mcp-session-id", session.id.as_str()),
                ("mcp-protocol-version", "2025-06-18"),
            ],
            ping.clone(),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text());
    let absent = server
        .post(&[("mcp-session-id", session.id.as_str())], ping)
        .await;
    assert_eq!(
        absent.status,
        StatusCode::OK,
        "absent header → the negotiated revision"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn transport_refusals_have_their_own_status() {
    let server = TestServer::start_with("max_body_bytes = 2048").await;
    let ping = json!({"jsonrpc":"2.0","id":1,"method":"ping"}).to_string();

    let evil = server
        .post(&[("origin", "http://evil.example")], ping.clone())
        .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    let local = server
        .post(&[("origin", "http://localhost:5173")], ping.clone())
        .await;
    assert_eq!(
        local.status,
        StatusCode::BAD_REQUEST,
        "allowed origin, but no session yet"
    );

    let json_only = server
        .send(
            Method::POST,
            "/mcp",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            ping.clone(),
        )
        .await;
    assert_eq!(json_only.status, StatusCode::NOT_ACCEPTABLE);

    let text_body = server
        .send(
            Method::POST,
            "/mcp",
            &[
                ("content-type", "text/plain"),
                ("accept", "application/json, text/event-stream"),
            ],
            ping.clone(),
        )
        .await;
    assert_eq!(text_body.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4096)
    );
    let too_large = server.post(&[], huge).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_large.text().contains("2048"), "{}", too_large.text());

    let put = server
        .send(Method::PUT, "/mcp", MCP_HEADERS, Bytes::new())
        .await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        put.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, POST, DELETE")
    );
    let elsewhere = server
        .send(Method::GET, "/nowhere", &[], Bytes::new())
        .await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    let live = server.send(Method::GET, "/livez", &[], Bytes::new()).await;
    assert_eq!(live.status, StatusCode::OK);
}

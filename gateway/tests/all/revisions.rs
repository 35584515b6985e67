//! Revision negotiation over each transport, and results shaped for the
//! revision a client speaks.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::stdio::StdioWarden;
use super::support::TestServer;

/// What a client asks for, and what Warden answers over HTTP and over
/// stdio: the client's revision where that transport has it, else our
/// newest.
const NEGOTIATIONS: &[(&str, &str, &str)] = &[
    // 2026-07-28 has no handshake: `initialize` settles on the newest that has.
    ("2026-07-28", "2025-11-25", "2025-11-25"),
    ("2025-11-25", "2025-11-25", "2025-11-25"),
    ("2025-06-18", "2025-06-18", "2025-06-18"),
    ("2025-03-26", "2025-03-26", "2025-03-26"),
    ("2024-11-05", "2025-11-25", "2024-11-05"),
    ("2024-10-07", "2025-11-25", "2025-11-25"),
    ("1999-01-01", "2025-11-25", "2025-11-25"),
];

fn initialize(id: u64, revision: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": revision, "capabilities": {},
        "clientInfo": {"name": "revision-test", "version": "0"}}})
}

#[tokio::test(flavor = "multi_thread")]
async fn each_requested_revision_negotiates_over_http_and_stdio() {
    let server = TestServer::start().await;
    let mut stdio = StdioWarden::start("");
    for (index, &(requested, over_http, over_stdio)) in NEGOTIATIONS.iter().enumerate() {
        let session = server.session_with_revision(requested).await;
        assert_eq!(session.revision, over_http, "{requested} over HTTP");
        // The session then speaks the negotiated revision.
        assert_eq!(session.ping_status().await, StatusCode::OK, "{requested}");

        let id = json!(index);
        stdio.send(initialize(index as u64, requested)).await;
        let answer = stdio.until_answer(&id).await.pop().expect("answer");
        assert_eq!(
            answer["result"]["protocolVersion"], over_stdio,
            "{requested} over stdio: {answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_refuses_a_2024_11_05_header_naming_what_it_speaks() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let reply = server
        .post(
            &[
                ("mcp-session-id", session.id.as_str()),
                ("mcp-protocol-version", "2024-11-05"),
            ],
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let message = reply.json()["error"]["message"].clone();
    assert_eq!(
        message,
        "unsupported MCP-Protocol-Version `2024-11-05`; supported: 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2024_11_05_client_on_stdio_gets_only_what_its_revision_defines() {
    let mut stdio = StdioWarden::start("");
    stdio.send(initialize(1, "2024-11-05")).await;
    let initialized = stdio.next().await;
    assert_eq!(
        initialized["result"]["serverInfo"],
        json!({"name": "warden", "version": env!("CARGO_PKG_VERSION")})
    );
    stdio
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    let mut tools = Vec::new();
    let mut cursor = Value::Null;
    for id in 2.. {
        stdio
            .send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/list",
                "params": {"cursor": cursor}}))
            .await;
        let page = stdio.until_answer(&json!(id)).await.pop().expect("page");
        tools.extend(page["result"]["tools"].as_array().expect("tools").clone());
        cursor = page["result"]["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert!(tools.len() >= 10, "{tools:?}");
    for tool in &tools {
        let mut keys: Vec<&str> = tool
            .as_object()
            .expect("tool")
            .keys()
            .map(String::as_str)
            .collect();
        keys.retain(|key| !["name", "description", "inputSchema"].contains(key));
        assert!(keys.is_empty(), "2024-11-05 tools have no {keys:?}: {tool}");
    }

    stdio
        .send(
            json!({"jsonrpc": "2.0", "id": "count", "method": "tools/call", "params": {
            "name": "text.count", "arguments": {"text": "one two"}}}),
        )
        .await;
    let counted = stdio
        .until_answer(&json!("count"))
        .await
        .pop()
        .expect("count");
    let result = &counted["result"];
    assert!(result.get("structuredContent").is_none(), "{counted}");
    let text = result["content"][0]["text"].as_str().expect("text content");
    let words: Value = serde_json::from_str(text).expect("the text is the JSON result");
    assert_eq!(words["words"], 2);

    stdio
        .send(
            json!({"jsonrpc": "2.0", "id": "steps", "method": "tools/call", "params": {
            "name": "misbehave.progress", "arguments": {"steps": 2},
            "_meta": {"progressToken": "p"}}}),
        )
        .await;
    let seen = stdio.until_answer(&json!("steps")).await;
    let progress: Vec<&Value> = seen
        .iter()
        .filter(|message| message["method"] == "notifications/progress")
        .map(|message| &message["params"])
        .collect();
    assert_eq!(
        progress,
        [
            &json!({"progressToken": "p", "progress": 1.0, "total": 2.0}),
            &json!({"progressToken": "p", "progress": 2.0, "total": 2.0}),
        ],
        "progress has no message in 2024-11-05"
    );

    // Batches came with 2025-03-26.
    stdio
        .send(json!([{"jsonrpc": "2.0", "id": "b", "method": "ping"}]))
        .await;
    let refused = stdio.next().await;
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_03_26_session_gets_titles_as_annotations_and_no_structured_content() {
    let server = TestServer::start().await;
    let current = server.session().await;
    let march = server.session_with_revision("2025-03-26").await;
    let listing = |page: Value| page["result"]["tools"].as_array().expect("tools").clone();
    let newest = listing(current.request("tools/list", json!({})).await);
    let older = listing(march.request("tools/list", json!({})).await);
    assert_eq!(newest.len(), older.len());
    for (new, old) in newest.iter().zip(&older) {
        assert_eq!(new["name"], old["name"]);
        assert!(
            old.get("title").is_none() && old.get("outputSchema").is_none(),
            "{old}"
        );
        assert_eq!(new["title"], old["annotations"]["title"], "{old}");
        if let Some(hints) = new["annotations"].as_object() {
            for (hint, value) in hints {
                assert_eq!(&old["annotations"][hint], value, "{old}");
            }
        }
    }
    assert!(newest.iter().any(|tool| tool.get("outputSchema").is_some()));

    let counted = march.call("text.count", json!({"text": "a b c"})).await;
    assert!(counted.get("structuredContent").is_none(), "{counted}");
    let current_count = current.call("text.count", json!({"text": "a b c"})).await;
    assert_eq!(current_count["structuredContent"]["words"], 3);
    assert_eq!(counted["content"], current_count["content"]);
}

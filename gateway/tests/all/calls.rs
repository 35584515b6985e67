//! `tools/call` end to end: example tools, schema checks, containment,
//! concurrency, and nothing leaked afterwards.

use serde_json::{Value, json};

use super::support::TestServer;

fn structured(result: &Value) -> &Value {
    assert_eq!(result["isError"], false, "{result}");
    &result["structuredContent"]
}

fn reason(result: &Value) -> &str {
    assert_eq!(result["isError"], true, "{result}");
    result["_meta"]["warden/reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason: {result}"))
}

fn error_text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn example_tools_answer() {
    let server = TestServer::start().await;
    let session = server.session().await;

    let counts = session
        .call("text.count", json!({"text": "hello wide world"}))
        .await;
    assert_eq!(structured(&counts)["words"], 3);
    assert_eq!(counts["content"][0]["type"], "text");

    let upper = session
        .call("text.case", json!({"text": "make me loud", "to": "upper"}))
        .await;
    assert_eq!(structured(&upper)["text"], "MAKE ME LOUD");

    let found = session
        .call(
            "text.find",
            json!({"text": "a1 b22 c333", "pattern": "[0-9]+"}),
        )
        .await;
    assert_eq!(
        structured(&found)["matches"].as_array().map(Vec::len),
        Some(3)
    );

    let query = session
        .call("json.query", json!({"document": {"items": [{"n": 1}, {"n": 2}, {"n": 3}]}, "query": "[.items[].n] | add"}))
        .await;
    assert_eq!(structured(&query)["results"], json!([6]));

    let listed = session
        .call("files.list", json!({"path": "/data", "recursive": true}))
        .await;
    let listing = structured(&listed).to_string();
    assert!(
        listing.contains("notes.md") && listing.contains("more.txt"),
        "{listing}"
    );

    let read = session
        .call("files.read", json!({"path": "/data/notes.md"}))
        .await;
    assert!(
        structured(&read)["content"]
            .as_str()
            .expect("content")
            .contains("warden runs tools")
    );

    let searched = session
        .call(
            "files.search",
            json!({"path": "/data", "pattern": "warden"}),
        )
        .await;
    assert_eq!(
        structured(&searched)["matches"].as_array().map(Vec::len),
        Some(2)
    );

    let write = session
        .call(
            "files.write",
            json!({"path": "/data/x.txt", "content": "no"}),
        )
        .await;
    assert_eq!(
        reason(&write),
        "tool_error",
        "read-only preopen refuses writes"
    );

    let bad_regex = session
        .call("text.find", json!({"text": "x", "pattern": "("}))
        .await;
    assert_eq!(reason(&bad_regex), "tool_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn arguments_failing_the_schema_never_reach_the_tool() {
    let server = TestServer::start().await;
    let session = server.session().await;
    // misbehave.panic would trap if it ran; a schema failure must stop it first.
    let result = session
        .call("misbehave.panic", json!({"message": 42, "extra": true}))
        .await;
    assert_eq!(reason(&result), "invalid_arguments");
    let text = error_text(&result);
    assert!(text.contains("`/message`"), "{text}");

    let missing = session.call("text.count", json!({})).await;
    assert_eq!(reason(&missing), "invalid_arguments");
    assert!(
        error_text(&missing).contains("text"),
        "{}",
        error_text(&missing)
    );

    // Before 2025-11-25 a schema failure is a JSON-RPC error instead.
    let older = server.session_with_revision("2025-06-18").await;
    let response = older
        .request(
            "tools/call",
            json!({"name": "text.count", "arguments": {"text": 5}}),
        )
        .await;
    assert_eq!(response["error"]["code"], -32602);
    assert!(response["error"]["data"]["errors"].is_array());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_breaking_its_output_schema_is_an_error() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let result = session.call("misbehave.bad_output", json!({})).await;
    assert_eq!(reason(&result), "output_schema_violation");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_mcp_does_not_allow_is_refused_without_blaming_a_schema() {
    let server = TestServer::start().await;
    let session = server.session().await;
    for (kind, says) in [
        (
            "array_structured",
            "structured content must be a JSON object, not an array",
        ),
        ("mime_crlf", "contains control or non-ASCII characters"),
        ("script_uri", "uses the `javascript:` scheme"),
    ] {
        let result = session
            .call("misbehave.invalid_result", json!({"kind": kind}))
            .await;
        assert_eq!(reason(&result), "invalid_output", "{kind}: {result}");
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert!(text.contains(says), "{kind}: {text}");
        assert!(!text.contains("schema"), "{kind}: {text}");
        assert!(result.get("structuredContent").is_none(), "{result}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_breach_reports_its_reason_and_the_server_keeps_serving() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let breaches = [
        (
            "misbehave.loop",
            json!({}),
            "timeout",
            "exceeded its 500 ms time limit",
        ),
        ("misbehave.sleep", json!({"ms": 60000}), "timeout", "500 ms"),
        (
            "misbehave.alloc",
            json!({}),
            "memory_limit",
            "33554432 bytes",
        ),
        ("misbehave.recurse", json!({}), "stack_overflow", "stack"),
        (
            "misbehave.panic",
            json!({"message": "kaboom"}),
            "trap",
            "kaboom",
        ),
        (
            "misbehave.log_flood",
            json!({"count": 1000}),
            "log_limit_exceeded",
            "20 messages",
        ),
        (
            "misbehave.log_flood",
            json!({"count": 10, "bytes": 30000}),
            "log_limit_exceeded",
            "65536 bytes of log and progress messages",
        ),
        (
            "misbehave.huge_output",
            json!({"bytes": 1000000}),
            "output_too_large",
            "65536",
        ),
    ];
    for (tool, arguments, expected, detail) in breaches {
        let result = session.call(tool, arguments).await;
        assert_eq!(reason(&result), expected, "{tool}: {result}");
        let text = error_text(&result);
        assert!(
            text.contains(tool) && text.contains(detail),
            "{tool}: {text}"
        );
        let pong = session.request("ping", json!({})).await;
        assert_eq!(
            pong["result"],
            json!({}),
            "server still serving after {tool}"
        );
    }
    let flood = session
        .call("misbehave.stdout", json!({"bytes": 5000000}))
        .await;
    assert_eq!(
        flood["isError"], false,
        "stdout floods are truncated, not fatal: {flood}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_files_env_and_network_stay_forbidden() {
    let server = TestServer::start().await;
    let session = server.session().await;
    for path in ["/etc/passwd", "/data/../../etc/passwd", "../etc/hostname"] {
        let result = session
            .call("misbehave.read_file", json!({"path": path}))
            .await;
        assert_eq!(reason(&result), "tool_error", "{path}: {result}");
        assert!(!result.to_string().contains("root:"), "{path} leaked");
    }
    let env = session.call("misbehave.env", json!({"name": "PATH"})).await;
    assert!(structured(&env)["value"].is_null(), "{env}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let address = listener.local_addr().expect("addr").to_string();
    let connect = session
        .call("misbehave.connect", json!({"address": address}))
        .await;
    assert_eq!(reason(&connect), "tool_error", "{connect}");
    assert!(listener.accept().is_err(), "no connection may arrive");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_calls_each_get_their_own_answer() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let calls = (0..200).map(|n| {
        let session = &session;
        async move {
            let words = "w ".repeat(n + 1);
            let counted = session.call("text.count", json!({"text": words})).await;
            let echoed = session
                .call("misbehave.echo", json!({"value": {"n": n}}))
                .await;
            (n, counted, echoed)
        }
    });
    let results = futures::future::join_all(calls).await;
    for (n, counted, echoed) in results {
        assert_eq!(structured(&counted)["words"], json!(n + 1), "call {n}");
        assert_eq!(structured(&echoed)["value"], json!({"n": n}), "call {n}");
    }
    let health = server.health().await;
    assert_eq!(health["pool"]["in_use"], 0, "{health}");
    for component in health["components"].as_array().expect("components") {
        assert_eq!(component["in_flight"], 0, "{component}");
    }
}

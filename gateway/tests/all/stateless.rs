//! Revision 2026-07-28 over HTTP: no session, an envelope in every
//! request's `_meta`, routing headers that must agree with the body.

use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::stdio::StdioWarden;
use super::support::{
    EventStream, MCP_HEADERS, Reply, TestServer, reload_with_moved_data, without_component,
};

const VERSION: &str = "2026-07-28";

/// A 2026-07-28 request body: `params` with the envelope added to its
/// `_meta` (and `extra_meta` beside it).
fn request(id: u64, method: &str, params: Value, extra_meta: Value) -> String {
    let mut params = params;
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": VERSION,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "stateless-test", "version": "0"},
    });
    if let (Some(meta), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
        meta.extend(extra.clone());
    }
    params["_meta"] = meta;
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// POSTs `body` with the routing headers of `method` (and `name`).
async fn post(server: &TestServer, method: &str, name: Option<&str>, body: String) -> Reply {
    let mut headers = vec![("mcp-protocol-version", VERSION), ("mcp-method", method)];
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    server.post(&headers, body).await
}

/// Every tool name, page by page.
async fn list_all(server: &TestServer) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    for id in 2.. {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({"cursor": cursor})
        };
        let page = post(
            server,
            "tools/list",
            None,
            request(id, "tools/list", params, json!({})),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let result = page.json()["result"].clone();
        assert_eq!(result["resultType"], "complete");
        assert_eq!(result["cacheScope"], "private");
        for tool in result["tools"].as_array().expect("tools") {
            names.push(tool["name"].as_str().expect("name").to_owned());
        }
        cursor = result["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_list_and_call_without_a_session() {
    let server = TestServer::start().await;

    let discovered = post(
        &server,
        "server/discover",
        None,
        request(1, "server/discover", json!({}), json!({})),
    )
    .await;
    assert_eq!(discovered.status, StatusCode::OK, "{}", discovered.text());
    assert!(discovered.headers.get("mcp-session-id").is_none());
    let result = discovered.json()["result"].clone();
    assert_eq!(
        result["supportedVersions"],
        json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"])
    );
    assert_eq!(result["resultType"], "complete");
    assert_eq!(result["cacheScope"], "private");
    assert!(result["ttlMs"].is_u64());
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "warden"
    );
    assert!(result["capabilities"]["tools"].is_object());

    // The listing pages as in a session, in the same order every time.
    let mut listings = Vec::new();
    for _ in 0..2 {
        listings.push(list_all(&server).await);
    }
    assert_eq!(listings[0], listings[1], "deterministic order");
    assert!(listings[0].contains(&"text.count".to_owned()));

    let counted = post(
        &server,
        "tools/call",
        Some("text.count"),
        request(
            9,
            "tools/call",
            json!({"name": "text.count", "arguments": {"text": "a b c"}}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(counted.status, StatusCode::OK, "{}", counted.text());
    let result = counted.json()["result"].clone();
    assert_eq!(result["structuredContent"]["words"], 3);
    assert_eq!(result["resultType"], "complete");

    // A name a header cannot carry as it is travels base64-wrapped.
    let wrapped = post(
        &server,
        "tools/call",
        Some("=?base64?dGV4dC5jb3VudA==?="),
        request(
            10,
            "tools/call",
            json!({"name": "text.count", "arguments": {"text": "x"}}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(wrapped.status, StatusCode::OK, "{}", wrapped.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_always_and_logs_only_from_the_requested_level() {
    let server = TestServer::start().await;
    let call = |id: u64, extra_meta: Value| {
        let mut meta = json!({"progressToken": format!("p{id}")});
        if let (Some(meta), Some(extra)) = (meta.as_object_mut(), extra_meta.as_object()) {
            meta.extend(extra.clone());
        }
        request(
            id,
            "tools/call",
            json!({"name": "misbehave.progress", "arguments": {"steps": 2}}),
            meta,
        )
    };
    let methods = |reply: &Reply| -> Vec<String> {
        reply
            .messages()
            .iter()
            .map(|message| message["method"].as_str().unwrap_or("response").to_owned())
            .collect()
    };

    let quiet = post(
        &server,
        "tools/call",
        Some("misbehave.progress"),
        call(1, json!({})),
    )
    .await;
    assert!(quiet.is_event_stream(), "{}", quiet.text());
    assert_eq!(
        methods(&quiet),
        [
            "notifications/progress",
            "notifications/progress",
            "response"
        ],
        "no log level, no log messages"
    );
    let last = quiet.messages().pop().expect("response");
    assert_eq!(last["result"]["resultType"], "complete");

    let chatty = post(
        &server,
        "tools/call",
        Some("misbehave.progress"),
        call(2, json!({"io.modelcontextprotocol/logLevel": "info"})),
    )
    .await;
    assert_eq!(
        methods(&chatty),
        [
            "notifications/progress",
            "notifications/message",
            "notifications/progress",
            "notifications/message",
            "response"
        ]
    );
}

/// What is wrong, the headers, the body, and the status and JSON-RPC code
/// it gets.
type MalformedCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    String,
    StatusCode,
    i64,
);

#[tokio::test(flavor = "multi_thread")]
async fn each_malformed_request_gets_its_own_status_and_code() {
    let server = TestServer::start().await;
    let list = |meta: Value| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}})
            .to_string()
    };
    let envelope = |version: &str| {
        json!({
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        })
    };
    let cases: Vec<MalformedCase> = vec![
        (
            "no envelope",
            vec![
                ("mcp-protocol-version", VERSION),
                ("mcp-method", "tools/list"),
            ],
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string(),
            StatusCode::BAD_REQUEST,
            -32602,
        ),
        (
            "header and envelope disagree",
            vec![
                ("mcp-protocol-version", VERSION),
                ("mcp-method", "tools/list"),
            ],
            list(envelope("2025-11-25")),
            StatusCode::BAD_REQUEST,
            -32020,
        ),
        (
            "no Mcp-Method",
            vec![("mcp-protocol-version", VERSION)],
            list(envelope(VERSION)),
            StatusCode::BAD_REQUEST,
            -32020,
        ),
        (
            "Mcp-Method names another method",
            vec![
                ("mcp-protocol-version", VERSION),
                ("mcp-method", "tools/call"),
            ],
            list(envelope(VERSION)),
            StatusCode::BAD_REQUEST,
            -32020,
        ),
        (
            "Mcp-Name names another tool",
            vec![
                ("mcp-protocol-version", VERSION),
                ("mcp-method", "tools/call"),
                ("mcp-name", "text.case"),
            ],
            request(
                1,
                "tools/call",
                json!({"name": "text.count", "arguments": {"text": "x"}}),
                json!({}),
            ),
            StatusCode::BAD_REQUEST,
            -32020,
        ),
        (
            "a revision not served",
            vec![
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
            list(envelope("2099-01-01")),
            StatusCode::BAD_REQUEST,
            -32022,
        ),
        (
            "a method 2026-07-28 does not have",
            vec![("mcp-protocol-version", VERSION), ("mcp-method", "ping")],
            request(1, "ping", json!({}), json!({})),
            StatusCode::NOT_FOUND,
            -32601,
        ),
        (
            "a batch",
            vec![
                ("mcp-protocol-version", VERSION),
                ("mcp-method", "tools/list"),
            ],
            format!("[{}]", list(envelope(VERSION))),
            StatusCode::BAD_REQUEST,
            -32600,
        ),
    ];
    for (what, headers, body, status, code) in cases {
        let reply = server.post(&headers, body).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert_eq!(reply.rpc_code(), code, "{what}: {}", reply.text());
    }

    let unsupported = server
        .post(
            &[
                ("mcp-protocol-version", "2099-01-01"),
                ("mcp-method", "tools/list"),
            ],
            list(envelope("2099-01-01")),
        )
        .await;
    assert_eq!(
        unsupported.json()["error"]["data"],
        json!({"supported": ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"],
               "requested": "2099-01-01"})
    );

    // Notifications are taken and dropped; there is nothing to GET or DELETE.
    let notified = server
        .post(
            &[
                ("mcp-protocol-version", VERSION),
                ("mcp-method", "notifications/initialized"),
            ],
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        )
        .await;
    assert_eq!(notified.status, StatusCode::ACCEPTED);
    for method in [Method::GET, Method::DELETE] {
        let refused = server
            .send(
                method.clone(),
                "/mcp",
                &[
                    ("accept", "text/event-stream"),
                    ("mcp-protocol-version", VERSION),
                ],
                Bytes::new(),
            )
            .await;
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(
            refused.headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("POST")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listen_stream_hears_of_tool_changes_and_ends_with_the_drain() {
    let mut server = TestServer::spawn_process("watch_interval_ms = 0").await;
    let body = request(
        7,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "elicitationsChanged": true}}),
        json!({}),
    );
    let mut stream = open_listen(&server, body).await;
    let wait = Duration::from_secs(30);
    let acknowledged = event_message(&stream.next_event(wait).await.expect("acknowledged"));
    assert_eq!(
        acknowledged,
        json!({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
               "params": {"notifications": {"toolsListChanged": true},
                          "_meta": {"io.modelcontextprotocol/subscriptionId": 7}}}),
        "only what Warden honours"
    );

    server.write_config(&without_component(server.original_config(), "json"));
    server.signal("HUP");
    let changed = event_message(&stream.next_event(wait).await.expect("a change"));
    assert_eq!(
        changed,
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed",
               "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": 7}}})
    );

    // A shutdown closes the subscription with its result, then the stream.
    server.signal("TERM");
    let ended = event_message(&stream.next_event(wait).await.expect("the result"));
    assert_eq!(
        ended,
        json!({"jsonrpc": "2.0", "id": 7, "result": {"resultType": "complete",
               "_meta": {"io.modelcontextprotocol/subscriptionId": 7}}})
    );
    assert_eq!(stream.next_event(wait).await, None);
    assert_eq!(server.exit_code(wait).await, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn over_stdio_requests_carry_their_envelope_and_subscriptions_are_lines() {
    let mut warden = StdioWarden::start("watch_interval_ms = 0");
    // No `initialize`: the envelope is enough.
    warden
        .send(
            serde_json::from_str(&request(1, "server/discover", json!({}), json!({})))
                .expect("JSON"),
        )
        .await;
    let discovered = warden.next().await;
    assert_eq!(
        discovered["result"]["supportedVersions"],
        json!([
            "2026-07-28",
            "2025-11-25",
            "2025-06-18",
            "2025-03-26",
            "2024-11-05"
        ])
    );
    let listen = |id: &str| {
        let mut body: Value = serde_json::from_str(&request(
            0,
            "subscriptions/listen",
            json!({"notifications": {"toolsListChanged": true}}),
            json!({}),
        ))
        .expect("JSON");
        body["id"] = json!(id);
        body
    };
    warden.send(listen("sub")).await;
    let acknowledged = warden.next().await;
    assert_eq!(
        acknowledged["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        acknowledged["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        "sub"
    );

    warden.reload_without("json");
    assert_eq!(
        warden.next().await,
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed",
               "params": {"_meta": {"io.modelcontextprotocol/subscriptionId": "sub"}}})
    );

    // Cancelled by the client: no result; the next line answers the next
    // request.
    warden
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                     "params": {"requestId": "sub"}}),
        )
        .await;
    warden
        .send(
            serde_json::from_str(&request(2, "server/discover", json!({}), json!({})))
                .expect("JSON"),
        )
        .await;
    assert_eq!(warden.next().await["id"], 2);

    // Closing stdin ends a subscription with its result.
    warden.send(listen("sub2")).await;
    assert_eq!(
        warden.next().await["method"],
        "notifications/subscriptions/acknowledged"
    );
    drop(warden.stdin);
    let line = tokio::time::timeout(Duration::from_secs(30), warden.stdout.next_line())
        .await
        .expect("a line")
        .expect("read")
        .expect("the subscription's result");
    assert_eq!(
        serde_json::from_str::<Value>(&line).expect("JSON"),
        json!({"jsonrpc": "2.0", "id": "sub2", "result": {"resultType": "complete",
               "_meta": {"io.modelcontextprotocol/subscriptionId": "sub2"}}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mirrored_arguments_travel_in_headers_that_must_match() {
    let server = TestServer::start().await;
    let echo = |arguments: Value| {
        request(
            1,
            "tools/call",
            json!({"name": "misbehave.echo", "arguments": arguments}),
            json!({}),
        )
    };
    let call = |arguments: Value, label: Option<&'static str>| {
        let mut headers = vec![
            ("mcp-protocol-version", VERSION),
            ("mcp-method", "tools/call"),
            ("mcp-name", "misbehave.echo"),
        ];
        if let Some(label) = label {
            headers.push(("mcp-param-label", label));
        }
        let body = echo(arguments);
        let server = &server;
        async move { server.post(&headers, body).await }
    };

    let agreed = call(json!({"value": 1, "label": "eu-west"}), Some("eu-west")).await;
    assert_eq!(agreed.status, StatusCode::OK, "{}", agreed.text());
    assert_eq!(agreed.json()["result"]["structuredContent"]["value"], 1);
    // A value a header cannot carry as it is comes base64-wrapped.
    let wrapped = call(
        json!({"value": 1, "label": "zürich"}),
        Some("=?base64?esO8cmljaA==?="),
    )
    .await;
    assert_eq!(wrapped.status, StatusCode::OK, "{}", wrapped.text());
    let neither = call(json!({"value": 1}), None).await;
    assert_eq!(neither.status, StatusCode::OK, "{}", neither.text());

    for (arguments, label, says) in [
        (json!({"value": 1, "label": "eu-west"}), None, "is missing"),
        (
            json!({"value": 1, "label": "eu-west"}),
            Some("us-east"),
            "does not match",
        ),
        (
            json!({"value": 1}),
            Some("eu-west"),
            "is present but argument `label` is not",
        ),
    ] {
        let refused = call(arguments, label).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
        assert_eq!(refused.rpc_code(), -32020);
        assert!(refused.text().contains(says), "{}", refused.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listen_stream_hears_of_the_resources_it_watches_and_the_lists_it_asked_for() {
    let server = TestServer::spawn_process("watch_interval_ms = 0").await;
    let body = request(
        8,
        "subscriptions/listen",
        json!({"notifications": {
            "resourcesListChanged": true,
            "promptsListChanged": true,
            "resourceSubscriptions": [
                "file:///data/notes.md",
                "file:///data/sub/more.txt",
                "test://not/served",
            ],
        }}),
        json!({}),
    );
    let mut stream = open_listen(&server, body).await;
    let wait = Duration::from_secs(30);
    let acknowledged = event_message(&stream.next_event(wait).await.expect("acknowledged"));
    assert_eq!(
        acknowledged["params"]["notifications"],
        json!({"resourcesListChanged": true, "promptsListChanged": true,
               "resourceSubscriptions": ["file:///data/notes.md", "file:///data/sub/more.txt"]}),
        "a URI nothing serves is not honoured"
    );

    // `files` now reads another folder, where only notes.md differs.
    let _moved = reload_with_moved_data(&server, "# Notes, moved\n");

    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|message: &Value| message["method"] == "notifications/resources/updated")
    {
        let Some(event) = stream.next_event(wait).await else {
            break;
        };
        seen.push(event_message(&event));
    }
    let subscription = json!({"io.modelcontextprotocol/subscriptionId": 8});
    assert!(
        seen.iter().any(
            |message| message["method"] == "notifications/resources/list_changed"
                && message["params"]["_meta"] == subscription
        ),
        "{seen:?}"
    );
    assert!(
        !seen
            .iter()
            .any(|message| message["method"] == "notifications/tools/list_changed"),
        "tool changes were not asked for: {seen:?}"
    );
    let updated: Vec<&Value> = seen
        .iter()
        .filter(|message| message["method"] == "notifications/resources/updated")
        .collect();
    assert_eq!(updated.len(), 1, "{seen:?}");
    assert_eq!(updated[0]["params"]["uri"], "file:///data/notes.md");
    assert_eq!(updated[0]["params"]["_meta"], subscription);
}

/// A `subscriptions/listen` request's stream, opened with `body`.
async fn open_listen(server: &TestServer, body: String) -> EventStream {
    let mut headers = MCP_HEADERS.to_vec();
    headers.extend([
        ("mcp-protocol-version", VERSION),
        ("mcp-method", "subscriptions/listen"),
    ]);
    let stream = EventStream::request(server.addr, Method::POST, &headers, Bytes::from(body)).await;
    assert_eq!(stream.status, StatusCode::OK);
    stream
}

/// The JSON-RPC message an SSE event carries.
fn event_message(event: &str) -> Value {
    let data = event
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("data");
    serde_json::from_str(data).expect("JSON")
}

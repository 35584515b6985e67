//! Sessions of the handshake revisions: `initialize`, the session checks,
//! each method and its errors, batches, and each revision's shape.

use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn initialize_negotiates_each_handshake_revision() {
    let server = server().await;
    for revision in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        initialize(&server, revision).await;
    }
    // An unknown or stateless version gets the newest handshake revision.
    for asked in ["1999-01-01", "2026-07-28"] {
        let reply = server
            .handle(
                request(1, "initialize", json!({"protocolVersion": asked})),
                &context(Transport::Stdio, SessionRef::Absent),
            )
            .await;
        let answer = settle(reply).await.expect("answered");
        assert_eq!(answer.message["result"]["protocolVersion"], "2025-11-25");
        assert_eq!(answer.message["result"]["serverInfo"]["name"], "warden");
    }
    let refused = settle(
        server
            .handle(
                request(2, "initialize", json!({"protocolVersion": 5})),
                &context(Transport::Http, SessionRef::Absent),
            )
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(error_code(&refused), Some(code::INVALID_PARAMS));
    assert_eq!(refused.message["id"], 2);
    assert_eq!(refused.refusal, None, "answered in the body");
}

#[tokio::test]
async fn a_session_is_found_by_its_id_and_only_by_its_owner() {
    let server = server().await;
    let id = initialize(&server, "2025-06-18").await;
    let listing = settle(
        server
            .handle(
                request(1, "tools/list", json!({})),
                &context(Transport::Http, named(&id)),
            )
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(
        listing.message["result"]["tools"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(listing.message["result"]["nextCursor"].is_string());

    let unknown = settle(
        server
            .handle(
                request(2, "ping", json!({})),
                &context(Transport::Http, named("forged")),
            )
            .await,
    )
    .await
    .expect("refused");
    assert_eq!(
        unknown.refusal.as_ref().map(|error| error.kind),
        Some(ErrorKind::UnknownSession)
    );
    assert_eq!(unknown.message["id"], Value::Null);

    let mut other = context(Transport::Http, named(&id));
    other.caller = Arc::new(Caller::api_key("someone-else"));
    let stolen = settle(server.handle(request(3, "ping", json!({})), &other).await)
        .await
        .expect("refused");
    assert_eq!(
        stolen.refusal.as_ref().map(|error| error.kind),
        Some(ErrorKind::UnknownSession)
    );

    let bad_version = SessionRef::Named {
        id: id.clone(),
        protocol_version: Some("1.0".to_owned()),
    };
    let refused = settle(
        server
            .handle(
                request(4, "ping", json!({})),
                &context(Transport::Http, bad_version),
            )
            .await,
    )
    .await
    .expect("refused");
    let refusal = refused.refusal.expect("a refusal");
    assert_eq!(refusal.kind, ErrorKind::InvalidRequest);
    assert!(refusal.message.contains("unsupported MCP-Protocol-Version"));
}

#[tokio::test]
async fn without_a_session_http_refuses_and_stdio_asks_for_initialize() {
    let server = server().await;
    let over_http = settle(
        server
            .handle(
                request(1, "ping", json!({})),
                &context(Transport::Http, SessionRef::Absent),
            )
            .await,
    )
    .await
    .expect("refused");
    let refusal = over_http.refusal.expect("a refusal");
    assert_eq!(refusal.kind, ErrorKind::InvalidRequest);
    assert!(refusal.message.contains("Mcp-Session-Id"));

    let stdio = context(Transport::Stdio, SessionRef::Absent);
    let over_stdio = settle(server.handle(request(7, "ping", json!({})), &stdio).await)
        .await
        .expect("answered");
    assert_eq!(over_stdio.message["id"], 7);
    assert_eq!(error_code(&over_stdio), Some(code::INVALID_REQUEST));
    assert!(
        over_stdio.message["error"]["message"]
            .as_str()
            .is_some_and(|text| text.contains("send `initialize` first"))
    );
    let notification = message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert!(matches!(
        server.handle(notification, &stdio).await,
        Reply::Nothing
    ));
}

#[tokio::test]
async fn a_sessions_methods_and_their_errors() {
    let server = server().await;
    let id = initialize(&server, "2025-11-25").await;
    let in_session = context(Transport::Http, named(&id));
    for (method, params, expected) in [
        ("ping", json!({}), None),
        ("logging/setLevel", json!({"level": "debug"}), None),
        (
            "logging/setLevel",
            json!({"level": "loud"}),
            Some(code::INVALID_PARAMS),
        ),
        (
            "tools/list",
            json!({"cursor": "bogus"}),
            Some(code::INVALID_PARAMS),
        ),
        (
            "tools/call",
            json!({"arguments": {}}),
            Some(code::INVALID_PARAMS),
        ),
        (
            "tools/call",
            json!({"name": "nope"}),
            Some(code::INVALID_PARAMS),
        ),
        ("resources/list", json!({}), None),
        (
            "resources/read",
            json!({"uri": "test://none"}),
            Some(code::RESOURCE_NOT_FOUND),
        ),
        (
            "prompts/get",
            json!({"name": "none"}),
            Some(code::INVALID_PARAMS),
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "none"}, "argument": {"name": "a", "value": ""}}),
            Some(code::INVALID_PARAMS),
        ),
        (
            "resources/directory/read",
            json!({}),
            Some(code::METHOD_NOT_FOUND),
        ),
    ] {
        let answer = settle(server.handle(request(9, method, params), &in_session).await)
            .await
            .expect("answered");
        assert_eq!(
            error_code(&answer),
            expected,
            "{method}: {}",
            answer.message
        );
        assert_eq!(answer.message["id"], 9, "{method}");
        // A handshake session answers errors in the body.
        assert_eq!(answer.refusal, None, "{method}");
    }
    // `initialize` always opens a new session, whatever the request names.
    let again = request(10, "initialize", json!({"protocolVersion": "2025-11-25"}));
    assert!(matches!(
        server.handle(again, &in_session).await,
        Reply::Opened { .. }
    ));
}

#[tokio::test]
async fn batches_belong_to_2025_03_26_sessions_and_keep_their_order() {
    let server = server().await;
    let id = initialize(&server, "2025-03-26").await;
    let batch = || {
        message(json!([
            {"jsonrpc": "2.0", "id": "a", "method": "tools/call",
             "params": {"name": "text.count", "arguments": {"text": "one two"}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": "b", "method": "ping"},
            {"jsonrpc": "2.0", "id": "c", "method": "initialize", "params": {"protocolVersion": "2025-03-26"}},
            {"jsonrpc": "2.0", "id": 4},
        ]))
    };
    let answers = settle(
        server
            .handle(batch(), &context(Transport::Http, named(&id)))
            .await,
    )
    .await
    .expect("answered");
    let ids: Vec<&Value> = answers
        .message
        .as_array()
        .expect("an array")
        .iter()
        .map(|a| &a["id"])
        .collect();
    // The last is no message at all: refused under the id it carries.
    assert_eq!(ids, [&json!("a"), &json!("b"), &json!("c"), &json!(4)]);
    assert_eq!(answers.message[3]["error"]["code"], code::INVALID_REQUEST);
    // 2025-03-26 has no structured content: the words are in the text.
    assert_eq!(answers.message[0]["result"]["isError"], false);
    assert!(
        answers.message[0]["result"]
            .get("structuredContent")
            .is_none()
    );
    assert!(
        answers.message[2]["error"]["message"]
            .as_str()
            .is_some_and(|text| text.contains("cannot be part of a batch"))
    );

    let later = initialize(&server, "2025-06-18").await;
    for (context, says) in [
        (
            context(Transport::Http, named(&later)),
            "this session speaks 2025-06-18",
        ),
        (
            context(Transport::Http, SessionRef::Absent),
            "send the Mcp-Session-Id header",
        ),
        (
            context(Transport::Stdio, SessionRef::Absent),
            "send `initialize` first",
        ),
        (
            stateless_http(),
            "revision 2026-07-28 takes one JSON-RPC message",
        ),
    ] {
        let refused = settle(server.handle(batch(), &context).await)
            .await
            .expect("refused");
        let refusal = refused.refusal.expect("a refusal");
        assert_eq!(refusal.kind, ErrorKind::InvalidRequest);
        assert!(refusal.message.contains(says), "{}", refusal.message);
    }
}

#[tokio::test]
async fn malformed_messages_are_refused_but_bad_params_are_answered() {
    let server = server().await;
    let any = context(Transport::Http, SessionRef::Absent);
    let parse = settle(server.handle(Incoming::decode(b"{", 64), &any).await)
        .await
        .expect("refused");
    assert_eq!(
        parse.refusal.as_ref().map(|error| error.kind),
        Some(ErrorKind::Parse)
    );
    let invalid = settle(
        server
            .handle(
                Incoming::decode(br#"{"jsonrpc":"1.0","id":5,"method":"ping"}"#, 64),
                &any,
            )
            .await,
    )
    .await
    .expect("refused");
    assert_eq!(invalid.message["id"], 5);
    assert_eq!(
        invalid.refusal.as_ref().map(|error| error.kind),
        Some(ErrorKind::InvalidRequest)
    );
    let params = settle(
        server
            .handle(
                Incoming::decode(
                    br#"{"jsonrpc":"2.0","id":6,"method":"ping","params":[]}"#,
                    64,
                ),
                &any,
            )
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(error_code(&params), Some(code::INVALID_PARAMS));
    assert_eq!(params.refusal, None);
}

/// `text.count` as listed and its result, in a session of `revision`.
async fn shapes_in(server: &Arc<McpServer>, revision: &str) -> (Value, Value) {
    let transport = if revision == "2024-11-05" {
        Transport::Stdio
    } else {
        Transport::Http
    };
    let id = initialize(server, revision).await;
    let session = match transport {
        Transport::Http => named(&id),
        Transport::Stdio => SessionRef::Held(
            server
                .sessions()
                .touch(&id)
                .expect("the session just opened is live"),
        ),
    };
    let in_session = context(transport, session);
    // One tool a page: page through to `text.count`.
    let mut params = json!({});
    let tool = loop {
        let page = settle(
            server
                .handle(request(1, "tools/list", params), &in_session)
                .await,
        )
        .await
        .expect("answered");
        let result = &page.message["result"];
        if result["tools"][0]["name"] == "text.count" {
            break result["tools"][0].clone();
        }
        let cursor = result["nextCursor"].as_str().expect("text.count is listed");
        params = json!({ "cursor": cursor });
    };
    let call = json!({"name": "text.count", "arguments": {"text": "a b"}});
    let called = settle(
        server
            .handle(request(2, "tools/call", call), &in_session)
            .await,
    )
    .await
    .expect("answered");
    (tool, called.message["result"].clone())
}

#[tokio::test]
async fn each_revision_gets_results_in_its_own_shape() {
    let server = server().await;
    let (newest_tool, newest_result) = shapes_in(&server, "2025-11-25").await;
    assert!(newest_tool.get("outputSchema").is_some(), "{newest_tool}");
    assert_eq!(newest_result["structuredContent"]["words"], 2);
    for older in ["2024-11-05", "2025-03-26"] {
        let (tool, result) = shapes_in(&server, older).await;
        assert!(tool.get("outputSchema").is_none(), "{older}: {tool}");
        assert!(tool.get("title").is_none(), "{older}: {tool}");
        assert!(
            result.get("structuredContent").is_none(),
            "{older}: {result}"
        );
        assert_eq!(result["content"][0]["type"], "text", "{older}");
    }
    let (tool, result) = shapes_in(&server, "2025-06-18").await;
    assert!(tool.get("outputSchema").is_some(), "{tool}");
    assert!(
        result.get("resultType").is_none(),
        "only 2026-07-28 says it"
    );
}

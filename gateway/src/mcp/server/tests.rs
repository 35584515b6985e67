//! The server driven directly, without a socket: each method, each
//! revision's shape, and the error of each bad input, as every transport
//! gets them.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::mcp::jsonrpc::code;
use crate::mcp::stateless::{CLIENT_CAPABILITIES_KEY, PROTOCOL_VERSION_KEY};

/// A server of the `text` and `misbehave` components, one tool a page, at
/// most one call running over HTTP and none waiting.
async fn server() -> Arc<McpServer> {
    let cache = std::env::temp_dir().join("warden-server-tests-cache");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
page_size = 1
cache_dir = "{cache}"

[rate_limits]
max_calls_in_flight = 1
call_queue = 0

[components.text]
path = "{text}"

[components.misbehave]
path = "{misbehave}"
"#,
        cache = cache.display(),
        text = warden_tool_artifacts::TEXT,
        misbehave = warden_tool_artifacts::MISBEHAVE,
    );
    let config = crate::config::parse(&text, Path::new("/server-tests/warden.toml"))
        .expect("the test config is valid");
    let gateway = crate::app::build(&config)
        .await
        .expect("the gateway builds");
    Arc::clone(&gateway.mcp)
}

fn context(transport: Transport, session: SessionRef) -> RequestContext<'static> {
    let framing = match transport {
        Transport::Http => Framing::Session,
        Transport::Stdio => Framing::PerMessage,
    };
    let admission = match transport {
        Transport::Http => Admission::Capped,
        Transport::Stdio => Admission::Uncapped,
    };
    RequestContext::new(
        Arc::new(Caller::local()),
        transport,
        session,
        framing,
        admission,
    )
}

fn stateless_http() -> RequestContext<'static> {
    RequestContext {
        framing: Framing::Stateless,
        ..context(Transport::Http, SessionRef::Absent)
    }
}

fn message(value: Value) -> Incoming {
    Incoming::decode(value.to_string().as_bytes(), 64)
}

fn request(id: u64, method: &str, params: Value) -> Incoming {
    message(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

fn envelope(mut params: Value) -> Value {
    params["_meta"] = json!({
        PROTOCOL_VERSION_KEY: "2026-07-28",
        CLIENT_CAPABILITIES_KEY: {},
    });
    params
}

/// The answer a reply comes to, a running one awaited; `None` for none.
async fn settle(reply: Reply) -> Option<Answer> {
    match reply {
        Reply::Answer(answer) | Reply::Opened { answer, .. } => Some(answer),
        Reply::Running(running) => running.answer.await,
        Reply::Nothing | Reply::Subscription(_) => None,
    }
}

/// Opens a session of `revision` (over stdio for 2024-11-05, whose HTTP
/// transport Warden does not serve, else over HTTP); its id.
async fn initialize(server: &Arc<McpServer>, revision: &str) -> String {
    let transport = if revision == "2024-11-05" {
        Transport::Stdio
    } else {
        Transport::Http
    };
    let reply = server
        .handle(
            request(0, "initialize", json!({"protocolVersion": revision})),
            &context(transport, SessionRef::Absent),
        )
        .await;
    let Reply::Opened {
        answer, session_id, ..
    } = reply
    else {
        panic!("initialize opens a session: {reply:?}");
    };
    assert_eq!(answer.message["result"]["protocolVersion"], revision);
    session_id
}

fn named(id: &str) -> SessionRef {
    SessionRef::Named {
        id: id.to_owned(),
        protocol_version: None,
    }
}

fn error_code(answer: &Answer) -> Option<i64> {
    answer.message["error"]["code"].as_i64()
}

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
        ("resources/list", json!({}), Some(code::METHOD_NOT_FOUND)),
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
async fn a_call_runs_on_and_reports_while_it_runs() {
    let server = server().await;
    let id = initialize(&server, "2025-11-25").await;
    let reply = server
        .handle(
            request(
                1,
                "tools/call",
                json!({"name": "text.count", "arguments": {"text": "a b c"}}),
            ),
            &context(Transport::Http, named(&id)),
        )
        .await;
    let Reply::Running(running) = reply else {
        panic!("a call runs on: {reply:?}");
    };
    assert!(running.notifications.is_some(), "a call alone may report");
    let answer = running.answer.await.expect("answered");
    assert_eq!(answer.message["result"]["structuredContent"]["words"], 3);
    assert_eq!(answer.message["result"]["isError"], false);
}

#[tokio::test]
async fn a_call_beyond_the_cap_is_shed_with_when_to_retry() {
    let server = server().await;
    let id = initialize(&server, "2025-03-26").await;
    let in_session = context(Transport::Http, named(&id));
    let sleeping = server
        .handle(
            request(
                1,
                "tools/call",
                json!({"name": "misbehave.sleep", "arguments": {"ms": 2000}}),
            ),
            &in_session,
        )
        .await;
    let Reply::Running(first) = sleeping else {
        panic!("the first call runs");
    };
    let shed = settle(
        server
            .handle(
                request(
                    2,
                    "tools/call",
                    json!({"name": "text.count", "arguments": {"text": "x"}}),
                ),
                &in_session,
            )
            .await,
    )
    .await
    .expect("refused");
    let refusal = shed.refusal.expect("a refusal");
    assert_eq!(refusal.kind, ErrorKind::Overloaded);
    assert!(refusal.retry_after.is_some());
    // In a batch the same call is an error answer under its id.
    let batch = message(json!([
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "text.count", "arguments": {"text": "x"}}},
    ]));
    let answers = settle(server.handle(batch, &in_session).await)
        .await
        .expect("answered");
    assert_eq!(answers.message[0]["id"], 3);
    assert_eq!(answers.message[0]["error"]["code"], code::INTERNAL_ERROR);
    assert_eq!(answers.refusal, None);
    drop(first);
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

#[tokio::test]
async fn revision_2026_07_28_reads_each_requests_envelope() {
    let server = server().await;
    let stateless = stateless_http();
    let listing = settle(
        server
            .handle(request(1, "tools/list", envelope(json!({}))), &stateless)
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(listing.message["result"]["resultType"], "complete");
    assert_eq!(listing.message["result"]["cacheScope"], "private");
    assert!(listing.message["result"]["_meta"]["io.modelcontextprotocol/serverInfo"].is_object());

    let discovered = settle(
        server
            .handle(
                request(2, "server/discover", envelope(json!({}))),
                &stateless,
            )
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(
        discovered.message["result"]["supportedVersions"][0],
        "2026-07-28"
    );

    let call = envelope(json!({"name": "text.count", "arguments": {"text": "x y"}}));
    let called = settle(
        server
            .handle(request(3, "tools/call", call), &stateless)
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(called.message["result"]["structuredContent"]["words"], 2);
    assert_eq!(called.message["result"]["resultType"], "complete");

    let mut wrong_version = envelope(json!({}));
    wrong_version["_meta"][PROTOCOL_VERSION_KEY] = json!("2025-06-18");
    for (method, params, kind) in [
        ("tools/list", json!({}), ErrorKind::InvalidParams),
        (
            "tools/list",
            wrong_version,
            ErrorKind::UnsupportedProtocolVersion,
        ),
        ("ping", envelope(json!({})), ErrorKind::MethodNotFound),
        (
            "tools/call",
            envelope(json!({"name": "nope"})),
            ErrorKind::InvalidParams,
        ),
    ] {
        let refused = settle(server.handle(request(4, method, params), &stateless).await)
            .await
            .expect("refused");
        assert_eq!(refused.message["id"], 4, "{method}");
        assert_eq!(
            refused.refusal.as_ref().map(|error| error.kind),
            Some(kind),
            "{method}"
        );
    }
    let notification = message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert!(matches!(
        server.handle(notification, &stateless).await,
        Reply::Nothing
    ));
}

#[tokio::test]
async fn a_transports_routing_check_refuses_before_anything_runs() {
    let server = server().await;
    let mismatch = |_: &crate::mcp::stateless::Envelope,
                    _: &str,
                    _: Option<&serde_json::Map<String, Value>>| {
        Err(McpError::new(
            ErrorKind::HeaderMismatch,
            "the headers disagree",
        ))
    };
    let mut checked = stateless_http();
    checked.routing = Some(&mismatch);
    let refused = settle(
        server
            .handle(request(1, "tools/list", envelope(json!({}))), &checked)
            .await,
    )
    .await
    .expect("refused");
    assert_eq!(
        refused.refusal.as_ref().map(|error| error.kind),
        Some(ErrorKind::HeaderMismatch)
    );
    assert_eq!(error_code(&refused), Some(code::HEADER_MISMATCH));
}

#[tokio::test]
async fn over_stdio_an_envelope_makes_a_request_stateless_and_cancellable() {
    let server = server().await;
    let in_flight = Arc::new(InFlight::default());
    let mut stdio = context(Transport::Stdio, SessionRef::Absent);
    stdio.in_flight = Some(&in_flight);
    let call = envelope(json!({"name": "misbehave.sleep", "arguments": {"ms": 30000}}));
    let Reply::Running(running) = server.handle(request(11, "tools/call", call), &stdio).await
    else {
        panic!("the call runs without a session");
    };
    let answer = tokio::spawn(running.answer);
    // The call lists itself when it starts running.
    while in_flight.find(&json!(11)).is_none() {
        tokio::task::yield_now().await;
    }
    let cancel = message(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                "params": {"requestId": 11}}),
    );
    assert!(matches!(
        server.handle(cancel, &stdio).await,
        Reply::Nothing
    ));
    let answered = answer.await.expect("the call task ends");
    assert_eq!(answered, None, "a cancelled call gets no answer");
    assert!(
        in_flight.find(&json!(11)).is_none(),
        "its listing ends with it"
    );
}

#[tokio::test]
async fn a_subscription_acknowledges_and_ends_with_a_drain() {
    let server = server().await;
    let params =
        envelope(json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}}));
    let Reply::Subscription(mut subscription) = server
        .handle(
            request(5, "subscriptions/listen", params),
            &stateless_http(),
        )
        .await
    else {
        panic!("a subscription opens");
    };
    let acknowledged = subscription.acknowledged();
    assert_eq!(
        acknowledged["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        acknowledged["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    server.lifecycle().begin_drain();
    let SubscriptionEvent::End(ended) = subscription.next().await else {
        panic!("a drain ends the subscription with its result");
    };
    assert_eq!(ended["id"], 5);
    assert_eq!(ended["result"]["resultType"], "complete");
}

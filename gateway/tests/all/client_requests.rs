//! A tool's requests to its client (`sample`, `elicit`): server-to-client
//! requests on the call's stream in the handshake revisions (HTTP and
//! stdio), `InputRequiredResult` and retries in 2026-07-28, and clear tool
//! errors where the client cannot take them.

use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::stdio::StdioWarden;
use super::support::{EventStream, MCP_HEADERS, Session, TestServer};

const BOTH: &str = r#"{"sampling": {}, "elicitation": {"form": {}}}"#;

fn sample_request(text: &str) -> Value {
    json!({"kind": "sample", "request": {
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": 50,
    }})
}

fn elicit_request(message: &str) -> Value {
    json!({"kind": "elicit", "request": {
        "message": message,
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
    }})
}

fn capabilities() -> Value {
    serde_json::from_str(BOTH).expect("capabilities")
}

/// Starts `misbehave.ask` with `questions` in `session` over an SSE
/// response kept open.
async fn start_ask(session: &Session<'_>, questions: Value) -> EventStream {
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "misbehave.ask", "arguments": {"questions": questions}}});
    let mut headers = MCP_HEADERS.to_vec();
    headers.extend(session.headers_with(&[("mcp-protocol-version", session.revision.as_str())]));
    EventStream::request(
        session.server.addr,
        Method::POST,
        &headers,
        Bytes::from(body.to_string()),
    )
    .await
}

/// The next JSON-RPC message on `stream`.
async fn next_message(stream: &mut EventStream) -> Value {
    loop {
        let event = stream
            .next_event(Duration::from_secs(30))
            .await
            .expect("the stream ended early");
        if let Some(data) = event.lines().find_map(|line| line.strip_prefix("data: "))
            && !data.is_empty()
        {
            return serde_json::from_str(data).expect("JSON data");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_reach_the_client_on_the_calls_stream_and_answers_come_back() {
    let server = TestServer::start().await;
    let session = server
        .session_declaring("2025-11-25", &[], capabilities())
        .await;
    let mut stream = start_ask(
        &session,
        json!([
            sample_request("capital of France?"),
            elicit_request("Your name?")
        ]),
    )
    .await;
    assert_eq!(stream.status, StatusCode::OK);

    let sampling = next_message(&mut stream).await;
    assert_eq!(sampling["method"], "sampling/createMessage");
    assert_eq!(sampling["params"]["maxTokens"], 50);
    let sampling_id = sampling["id"].clone();
    assert!(sampling_id.is_string(), "{sampling}");
    // Longer than the tool's 500 ms limit: waiting for the client does not
    // count against it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let answer = json!({"role": "assistant", "content": {"type": "text", "text": "Paris"},
        "model": "test-model", "stopReason": "endTurn"});
    let posted = session
        .post_raw(json!({"jsonrpc": "2.0", "id": sampling_id, "result": answer}).to_string())
        .await;
    assert_eq!(posted.status, StatusCode::ACCEPTED);

    let elicitation = next_message(&mut stream).await;
    assert_eq!(elicitation["method"], "elicitation/create");
    assert_eq!(elicitation["params"]["message"], "Your name?");
    assert_ne!(
        elicitation["id"], sampling_id,
        "ids are unique in the session"
    );
    let refused = json!({"jsonrpc": "2.0", "id": elicitation["id"],
        "error": {"code": -1, "message": "User rejected"}});
    assert_eq!(
        session.post_raw(refused.to_string()).await.status,
        StatusCode::ACCEPTED
    );

    let response = next_message(&mut stream).await;
    assert_eq!(response["id"], 7, "{response}");
    let answers = &response["result"]["structuredContent"]["answers"];
    assert_eq!(answers[0], json!({"answer": answer}));
    assert_eq!(answers[1]["error"], "refused");
    assert_eq!(answers[1]["reason"], "User rejected (code -1)");

    // An answer to a request nobody waits for is accepted and dropped.
    let stray = json!({"jsonrpc": "2.0", "id": sampling_id, "result": {}});
    assert_eq!(
        session.post_raw(stray.to_string()).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_the_client_cannot_take_are_tool_errors() {
    let server = TestServer::start().await;
    let bare = server.session().await;
    let result = bare
        .call(
            "misbehave.ask",
            json!({"questions": [sample_request("hi"), elicit_request("name?")]}),
        )
        .await;
    let answers = &result["structuredContent"]["answers"];
    assert_eq!(answers[0]["error"], "unsupported");
    assert_eq!(
        answers[0]["reason"],
        "the client did not declare the `sampling` capability"
    );
    assert_eq!(
        answers[1]["reason"],
        "the client did not declare the `elicitation` capability"
    );

    // A tool that lets the error end it fails with a message naming it.
    let stopped = bare
        .call(
            "misbehave.ask",
            json!({"questions": [sample_request("hi")], "stop_on_error": true}),
        )
        .await;
    assert_eq!(stopped["isError"], true);
    assert!(
        stopped["content"][0]["text"]
            .as_str()
            .is_some_and(|text| text.contains("did not declare the `sampling` capability")),
        "{stopped}"
    );

    // Elicitation came with 2025-06-18 (and structured content too: the
    // answers are read from the text).
    let older = server
        .session_declaring("2025-03-26", &[], capabilities())
        .await;
    let result = older
        .call(
            "misbehave.ask",
            json!({"questions": [elicit_request("name?")]}),
        )
        .await;
    let text = result["content"][0]["text"].as_str().expect("text content");
    let answers: Value = serde_json::from_str(text).expect("JSON text");
    assert_eq!(
        answers["answers"][0]["reason"],
        "elicitation needs protocol revision 2025-06-18 or later; this client speaks 2025-03-26"
    );

    // Malformed requests never reach the client.
    let able = server
        .session_declaring("2025-11-25", &[], capabilities())
        .await;
    let result = able
        .call(
            "misbehave.ask",
            json!({"questions": [
                {"kind": "sample", "request": {"messages": [], "maxTokens": 5}},
                {"kind": "sample", "request": "not an object"},
                {"kind": "elicit", "request": {"message": "m"}},
            ]}),
        )
        .await;
    let answers = &result["structuredContent"]["answers"];
    assert_eq!(answers[0]["reason"], "`messages` must be a non-empty array");
    assert_eq!(answers[1]["error"], "invalid");
    assert_eq!(
        answers[2]["reason"],
        "`requestedSchema` must be an object schema"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_call_stops_waiting_for_its_client() {
    let server = TestServer::start().await;
    let session = server
        .session_declaring("2025-11-25", &[], capabilities())
        .await;
    let mut stream = start_ask(&session, json!([sample_request("never answered")])).await;
    let sampling = next_message(&mut stream).await;
    assert_eq!(sampling["method"], "sampling/createMessage");
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7}});
    assert_eq!(
        session.post_raw(cancel.to_string()).await.status,
        StatusCode::ACCEPTED
    );
    // The stream ends without a response; the call is counted as cancelled.
    assert_eq!(stream.next_event(Duration::from_secs(10)).await, None);
    let metrics = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("warden_tool_calls_total")
                && line.contains("misbehave.ask")
                && line.contains("reason=\"client_cancelled\"")),
        "{metrics}"
    );
    // Its request is forgotten: a late answer is dropped.
    let late = json!({"jsonrpc": "2.0", "id": sampling["id"], "result": {}});
    assert_eq!(
        session.post_raw(late.to_string()).await.status,
        StatusCode::ACCEPTED
    );
}

/// A 2026-07-28 `tools/call` of `misbehave.ask` with `questions`, with
/// `extra` params.
fn stateless_call(id: u64, questions: &Value, extra: Value, caps: Value) -> String {
    stateless_call_with(id, &json!({"questions": questions}), extra, caps)
}

/// The same with all of `misbehave.ask`'s arguments.
fn stateless_call_with(id: u64, arguments: &Value, extra: Value, caps: Value) -> String {
    let mut params = json!({"name": "misbehave.ask", "arguments": arguments,
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
    }});
    if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
        params.extend(extra.clone());
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()
}

async fn post_stateless(server: &TestServer, body: String) -> Value {
    let reply = server
        .post(
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "misbehave.ask"),
            ],
            body,
        )
        .await;
    // Results are 200; errors of a 2026-07-28 request (-32602 and -32021
    // here) are 400.
    let body = reply.json();
    let expected = if body.get("error").is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    assert_eq!(reply.status, expected, "{}", reply.text());
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn stateless_calls_ask_with_input_required_results_and_retries() {
    let server = TestServer::start().await;
    let questions = json!([sample_request("capital?"), elicit_request("name?")]);

    let first = post_stateless(
        &server,
        stateless_call(1, &questions, json!({}), capabilities()),
    )
    .await;
    let result = &first["result"];
    assert_eq!(result["resultType"], "input_required", "{first}");
    assert_eq!(
        result["inputRequests"]["sample-1"]["method"],
        "sampling/createMessage"
    );
    let state = result["requestState"]
        .as_str()
        .expect("requestState")
        .to_owned();

    let sampled = json!({"role": "assistant", "content": {"type": "text", "text": "Paris"},
        "model": "m", "stopReason": "endTurn"});
    let second = post_stateless(
        &server,
        stateless_call(
            2,
            &questions,
            json!({"requestState": state, "inputResponses": {"sample-1": sampled}}),
            capabilities(),
        ),
    )
    .await;
    let result = &second["result"];
    assert_eq!(result["resultType"], "input_required", "{second}");
    assert_eq!(
        result["inputRequests"]["elicit-2"]["method"],
        "elicitation/create"
    );
    let state = result["requestState"]
        .as_str()
        .expect("requestState")
        .to_owned();

    let accepted = json!({"action": "accept", "content": {"name": "Ada"}});
    let last = post_stateless(
        &server,
        stateless_call(
            3,
            &questions,
            json!({"requestState": state, "inputResponses": {"elicit-2": accepted}}),
            capabilities(),
        ),
    )
    .await;
    let result = &last["result"];
    assert_eq!(result["resultType"], "complete", "{last}");
    assert_eq!(
        result["structuredContent"]["answers"],
        json!([{"answer": sampled}, {"answer": accepted}])
    );

    // The state is bound to the call: other arguments, or an altered
    // token, are refused.
    let other = json!([sample_request("something else")]);
    let refused = post_stateless(
        &server,
        stateless_call(4, &other, json!({"requestState": state}), capabilities()),
    )
    .await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("belongs to another call")),
        "{refused}"
    );
    let mut altered = state.clone();
    altered.replace_range(40..41, if &state[40..41] == "A" { "B" } else { "A" });
    let forged = post_stateless(
        &server,
        stateless_call(
            5,
            &questions,
            json!({"requestState": altered}),
            capabilities(),
        ),
    )
    .await;
    assert_eq!(forged["error"]["code"], -32602, "{forged}");

    // A call that needs a capability the client did not declare ends with
    // -32021 naming it (HTTP 400); an optional request gets `unsupported`.
    let needy = server
        .post(
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "misbehave.ask"),
            ],
            stateless_call(6, &questions, json!({}), json!({"elicitation": {}})),
        )
        .await;
    assert_eq!(needy.status, StatusCode::BAD_REQUEST, "{}", needy.text());
    let error = &needy.json()["error"];
    assert_eq!(error["code"], -32021);
    assert_eq!(
        error["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
    let optional = json!([{"kind": "sample", "optional": true,
        "request": sample_request("hi")["request"]}]);
    let unable = post_stateless(&server, stateless_call(7, &optional, json!({}), json!({}))).await;
    assert_eq!(unable["result"]["resultType"], "complete", "{unable}");
    assert_eq!(
        unable["result"]["structuredContent"]["answers"][0]["error"],
        "unsupported"
    );

    // Requests asked together come back together, under the keys the tool
    // gave; roots are asked for too.
    let together = json!([
        {"kind": "elicit", "key": "user_name", "request": elicit_request("name?")["request"]},
        {"kind": "roots"},
    ]);
    let all = json!({"elicitation": {}, "roots": {}});
    let params = json!({"questions": together, "together": true});
    let first = post_stateless(
        &server,
        stateless_call_with(8, &params, json!({}), all.clone()),
    )
    .await;
    let requests = &first["result"]["inputRequests"];
    assert_eq!(
        requests["user_name"]["method"], "elicitation/create",
        "{first}"
    );
    assert_eq!(requests["roots-2"]["method"], "roots/list", "{first}");
    let state = first["result"]["requestState"].clone();
    let roots = json!({"roots": [{"uri": "file:///work", "name": "work"}]});
    let retry = json!({"requestState": state, "inputResponses": {
        "user_name": {"action": "decline"}, "roots-2": roots, "ignored": {}}});
    let done = post_stateless(&server, stateless_call_with(9, &params, retry, all)).await;
    assert_eq!(
        done["result"]["structuredContent"]["answers"],
        json!([{"answer": {"action": "decline"}}, {"answer": roots}]),
        "{done}"
    );
    let unnamed = json!({"questions": [{"kind": "elicit", "key": "",
        "request": elicit_request("name?")["request"]}]});
    let bad_key = post_stateless(
        &server,
        stateless_call_with(10, &unnamed, json!({}), json!({"elicitation": {}})),
    )
    .await;
    assert_eq!(
        bad_key["result"]["structuredContent"]["answers"][0]["error"], "invalid",
        "{bad_key}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_clients_answer_requests_on_stdin() {
    let mut warden = StdioWarden::start("watch_interval_ms = 0");
    warden
        .send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": capabilities(),
            "clientInfo": {"name": "stdio-test", "version": "0"}}}),
        )
        .await;
    warden.until_answer(&json!(1)).await;
    warden
        .send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "misbehave.ask",
            "arguments": {"questions": [{"kind": "elicit", "request": {
                "mode": "form", "message": "Your name?",
                "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
            }}]}}}),
        )
        .await;
    let request = warden.next().await;
    assert_eq!(request["method"], "elicitation/create", "{request}");
    assert!(
        request["params"].get("mode").is_none(),
        "2025-06-18 has no modes"
    );
    let accepted = json!({"action": "accept", "content": {"name": "Ada"}});
    warden
        .send(json!({"jsonrpc": "2.0", "id": request["id"], "result": accepted}))
        .await;
    let messages = warden.until_answer(&json!(2)).await;
    let response = messages.last().expect("response");
    assert_eq!(
        response["result"]["structuredContent"]["answers"],
        json!([{"answer": accepted}])
    );
}

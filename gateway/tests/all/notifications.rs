//! Notifications a call produces while it runs: progress (for a request
//! with a `progressToken`) and the tool's log messages (from the session's
//! `logging/setLevel` level up), on an SSE answer to the POST over HTTP and
//! as lines before the response over stdio; and `notifications/cancelled`
//! from the client, which stops a call and leaves it unanswered.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::stdio::StdioWarden;
use crate::support::{Session, TestServer, slow_misbehave};

/// `tools/call` of `misbehave.progress` (three steps), with `meta` as the
/// params' `_meta` when given.
fn progress_call(id: u64, meta: Option<Value>) -> String {
    let mut params = json!({"name": "misbehave.progress", "arguments": {"steps": 3}});
    if let Some(meta) = meta {
        params["_meta"] = meta;
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}).to_string()
}

/// The three progress notifications and three log messages of
/// `misbehave.progress`, in the order the tool made them.
fn expected_notifications(token: &Value) -> Vec<Value> {
    (1..=3)
        .flat_map(|step| {
            let message = format!("step {step} of 3");
            [
                json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {
                    "progressToken": token, "progress": f64::from(step), "total": 3.0,
                    "message": message}}),
                json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {
                    "level": "info", "logger": "misbehave.progress", "data": message}}),
            ]
        })
        .collect()
}

async fn set_level(session: &Session<'_>, level: &str) -> Value {
    session
        .request("logging/setLevel", json!({ "level": level }))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_logs_stream_before_the_response_over_http() {
    let server = TestServer::start().await;
    let init = server
        .post(
            &[],
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"}}})
            .to_string(),
        )
        .await;
    assert_eq!(
        init.json()["result"]["capabilities"]["logging"],
        json!({}),
        "logging is announced"
    );

    let session = server.session().await;
    let reply = session
        .post_raw(progress_call(7, Some(json!({"progressToken": "p-7"}))))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.is_event_stream(), "{}", reply.text());
    let events = reply.events();
    // 2025-11-25: a priming event with an id and no data comes first.
    assert!(
        matches!(events.first(), Some((Some(_), None))),
        "{events:?}"
    );
    let ids: Vec<u64> = events.iter().filter_map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), events.len(), "every event has an id");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let mut messages = reply.messages();
    let response = messages.pop().expect("the response");
    assert_eq!(response["id"], json!(7));
    assert_eq!(response["result"]["structuredContent"]["steps"], json!(3));
    assert_eq!(messages, expected_notifications(&json!("p-7")));

    // Without a token there is no progress; with the level at warning, the
    // tool's info lines are not sent either, and the answer is plain JSON.
    assert_eq!(set_level(&session, "warning").await["result"], json!({}));
    let quiet = session.post_raw(progress_call(8, None)).await;
    assert!(!quiet.is_event_stream(), "{}", quiet.text());
    assert_eq!(
        quiet.json()["result"]["structuredContent"]["steps"],
        json!(3)
    );
    // An integer token, and debug: progress and logs again.
    assert_eq!(set_level(&session, "debug").await["result"], json!({}));
    let loud = session
        .post_raw(progress_call(9, Some(json!({"progressToken": 42}))))
        .await;
    let mut messages = loud.messages();
    messages.pop();
    assert_eq!(messages, expected_notifications(&json!(42)));

    let refused = set_level(&session, "verbose").await;
    assert_eq!(refused["error"]["code"], json!(-32602), "{refused}");

    // 2025-06-18 streams are not primed.
    let older = server.session_with_revision("2025-06-18").await;
    let reply = older
        .post_raw(progress_call(1, Some(json!({"progressToken": "old"}))))
        .await;
    let events = reply.events();
    assert!(
        matches!(events.first(), Some((Some(_), Some(_)))),
        "{events:?}"
    );
    assert_eq!(reply.messages().len(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_and_logs_come_before_the_response_over_stdio() {
    let mut warden = StdioWarden::start("");
    warden.initialize().await;
    let call: Value =
        serde_json::from_str(&progress_call(2, Some(json!({"progressToken": "s-2"}))))
            .expect("JSON");
    warden.send(call).await;
    let mut lines = warden.until_answer(&json!(2)).await;
    let response = lines.pop().expect("the response");
    assert_eq!(response["result"]["structuredContent"]["steps"], json!(3));
    let notifications: Vec<Value> = lines
        .into_iter()
        .filter(|m| m.get("id").is_none())
        .collect();
    assert_eq!(notifications, expected_notifications(&json!("s-2")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_sent_while_the_tool_runs_and_closing_it_cancels_the_call() {
    let server = TestServer::spawn_edited_process(
        "[audit]\nsink = \"file\"\npath = \"audit.jsonl\"\n",
        slow_misbehave,
        &[],
        &[],
    )
    .await;
    let session = server.session().await;
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "misbehave.progress", "arguments": {"steps": 50, "step_ms": 200},
        "_meta": {"progressToken": "slow"}}})
    .to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-session-id: {}\r\n\
         mcp-protocol-version: 2025-11-25\r\ncontent-length: {}\r\n\r\n{body}",
        session.id,
        body.len()
    );
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    // The first steps arrive while the tool is still working on the others
    // (ten seconds of them): the answer streams.
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(8), async {
        let mut chunk = [0u8; 4096];
        while !String::from_utf8_lossy(&received).contains("step 2 of 50") {
            let read = stream.read(&mut chunk).await.expect("read");
            assert!(
                read > 0,
                "closed early: {}",
                String::from_utf8_lossy(&received)
            );
            received.extend_from_slice(&chunk[..read]);
        }
    })
    .await
    .expect("progress before the call ends");
    let head = String::from_utf8_lossy(&received).into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("notifications/progress"), "{head}");
    assert!(!head.contains("\"id\":5"), "no response yet: {head}");
    drop(stream);

    // Closing the stream cancelled the call: its record says so, long before
    // the tool would have finished.
    let audit_path = server.config_dir().join("audit.jsonl");
    let record = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            let text = std::fs::read_to_string(&audit_path).unwrap_or_default();
            if let Some(record) = text
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|record| record["tool"] == json!("misbehave.progress"))
            {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the cancelled call's record");
    assert_eq!(record["outcome"], json!("cancelled"), "{record}");
    assert_eq!(session.ping_status().await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_call_stops_and_gets_no_answer_over_http() {
    let server = TestServer::spawn_edited_process("", slow_misbehave, &[], &[]).await;
    let session = server.session().await;
    let long_call = json!({"jsonrpc": "2.0", "id": "long-1", "method": "tools/call",
        "params": {"name": "misbehave.sleep", "arguments": {"ms": 30000}}})
    .to_string();
    let started = std::time::Instant::now();
    let (reply, cancel) = tokio::join!(session.post_raw(long_call), async {
        // Cancel once the call is surely running; an unknown id and a
        // malformed notification before it are ignored.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for params in [
            json!({"requestId": "other"}),
            json!({}),
            json!({"requestId": "long-1"}),
        ] {
            let notification =
                json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params});
            let answer = session.post_raw(notification.to_string()).await;
            assert_eq!(answer.status, StatusCode::ACCEPTED);
        }
    });
    let () = cancel;
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the call was stopped, not run to its end"
    );
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.is_event_stream(), "{}", reply.text());
    assert!(reply.messages().is_empty(), "no answer: {}", reply.text());
    let metrics = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("warden_tool_calls_total")
                && line.contains("misbehave.sleep")
                && line.contains("reason=\"client_cancelled\"")),
        "{metrics}"
    );
    // The instance is gone: its pool slot, its component's concurrency
    // permit and its place under max_calls_in_flight are back.
    let health = server.health().await;
    assert_eq!(health["pool"]["in_use"], json!(0), "{health}");
    assert_eq!(health["calls"]["in_flight"], json!(0), "{health}");
    for component in health["components"].as_array().expect("components") {
        assert_eq!(component["in_flight"], json!(0), "{component}");
    }
    // The session goes on, and the id may be used again.
    let counted = session
        .call("text.count", json!({"text": "still here"}))
        .await;
    assert_eq!(counted["structuredContent"]["words"], json!(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_call_gets_no_answer_over_stdio() {
    let mut warden = StdioWarden::start_edited("", slow_misbehave);
    warden.initialize().await;
    warden
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "misbehave.sleep", "arguments": {"ms": 30000}}}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    warden
        .send(
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
            "params": {"requestId": 2, "reason": "user pressed stop"}}),
        )
        .await;
    warden
        .send(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
        .await;
    // The ping is answered without waiting for the cancelled call.
    let seen = warden.until_answer(&json!(3)).await;
    // Give a stray answer to the cancelled call a moment to show up.
    let stray = tokio::time::timeout(Duration::from_millis(500), warden.stdout.next_line()).await;
    assert!(stray.is_err(), "nothing more is written: {stray:?}");
    assert!(
        seen.iter().all(|message| message["id"] != json!(2)),
        "{seen:?}"
    );
}

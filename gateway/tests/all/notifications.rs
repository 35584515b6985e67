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
use crate::support::{EventStream, Session, TestServer, slow_misbehave};

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
    let ids: Vec<&str> = events.iter().filter_map(|(id, _)| id.as_deref()).collect();
    assert_eq!(ids.len(), events.len(), "every event has an id");
    // `<tag>-r<stream>-<seq>`: one stream, its places in order.
    let places: Vec<(&str, u64)> = ids
        .iter()
        .map(|id| {
            let (stream, seq) = id.rsplit_once('-').expect("stream and place");
            (stream, seq.parse().expect("a place"))
        })
        .collect();
    assert!(
        places.iter().all(|(stream, _)| *stream == places[0].0),
        "{ids:?}"
    );
    assert!(
        places.windows(2).all(|w| w[1].1 == w[0].1 + 1),
        "places follow each other: {ids:?}"
    );
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

/// Progress reports `misbehave.progress_flood` sends in one call: far more
/// than a request's notification queue holds.
const FLOOD_REPORTS: u32 = 100_000;

/// The test config with time for `FLOOD_REPORTS` reports in a debug build.
fn with_time_for_the_flood(config: String) -> String {
    config.replace("timeout_ms = 500", "timeout_ms = 120000")
}

/// The progress values among `messages`, which must all carry `token`.
fn progress_values(messages: &[Value], token: &Value) -> Vec<f64> {
    messages
        .iter()
        .filter(|message| message["method"] == "notifications/progress")
        .map(|message| {
            assert_eq!(&message["params"]["progressToken"], token, "{message}");
            message["params"]["progress"]
                .as_f64()
                .expect("a progress value")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_progress_never_costs_the_result_over_http() {
    let server = TestServer::spawn_edited_process("", with_time_for_the_flood, &[], &[]).await;
    let session = server.session().await;
    for id in 1..=3 {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "misbehave.progress_flood", "arguments": {"reports": FLOOD_REPORTS},
            "_meta": {"progressToken": "flood"}}});
        let reply = session.post_raw(call.to_string()).await;
        assert!(reply.is_event_stream(), "{}", reply.text());
        let mut messages = reply.messages();
        let response = messages.pop().expect("the response");
        assert_eq!(response["id"], json!(id), "{response}");
        assert_eq!(
            response["result"]["structuredContent"]["reported"],
            json!(FLOOD_REPORTS),
            "{response}"
        );
        // Reports may be coalesced, never reordered, and the newest arrives.
        let progress = progress_values(&messages, &json!("flood"));
        assert!(!progress.is_empty());
        assert!(
            progress.windows(2).all(|pair| pair[0] < pair[1]),
            "progress goes forward"
        );
        assert_eq!(progress.last(), Some(&f64::from(FLOOD_REPORTS)));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_progress_never_costs_the_result_over_stdio() {
    let mut warden = StdioWarden::start_edited("", with_time_for_the_flood);
    warden.initialize().await;
    warden.until_answer(&json!(1)).await;
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "misbehave.progress_flood", "arguments": {"reports": FLOOD_REPORTS},
        "_meta": {"progressToken": 9}}});
    warden.send(call).await;
    let mut notifications = warden.until_answer(&json!(5)).await;
    let response = notifications.pop().expect("the response");
    assert_eq!(
        response["result"]["structuredContent"]["reported"],
        json!(FLOOD_REPORTS),
        "{response}"
    );
    let progress = progress_values(&notifications, &json!(9));
    assert!(progress.windows(2).all(|pair| pair[0] < pair[1]));
    assert_eq!(progress.last(), Some(&f64::from(FLOOD_REPORTS)));
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

/// Starts a slow `misbehave.progress` call (20 steps of 100 ms) as request
/// 5 on a raw connection and reads until its second step has arrived.
/// Returns the connection and what it received.
async fn slow_progress_call(server: &TestServer, session: &Session<'_>) -> (TcpStream, String) {
    let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "misbehave.progress", "arguments": {"steps": 20, "step_ms": 100},
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
    // The first steps arrive while the tool is still working on the others:
    // the answer streams.
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(8), async {
        let mut chunk = [0u8; 4096];
        // Up to the end of the event carrying the second step.
        while !String::from_utf8_lossy(&received)
            .rfind("step 2 of 20")
            .is_some_and(|at| String::from_utf8_lossy(&received)[at..].contains("\n\n"))
        {
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
    (stream, head)
}

/// The audit record of the call to `tool`, once written.
async fn audit_record(server: &TestServer, tool: &str) -> Value {
    let audit_path = server.config_dir().join("audit.jsonl");
    tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            let text = std::fs::read_to_string(&audit_path).unwrap_or_default();
            if let Some(record) = text
                .lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|record| record["tool"] == json!(tool))
            {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the call's audit record")
}

const AUDIT_TO_FILE: &str = "[audit]\nsink = \"file\"\npath = \"audit.jsonl\"\n";

/// The id and the JSON-RPC message of each complete event in `text`.
fn events_in(text: &str) -> Vec<(String, Option<Value>)> {
    text.split("\n\n")
        .filter_map(|event| {
            let id = event.lines().find_map(|line| line.strip_prefix("id: "))?;
            let data = event
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .map(|data| serde_json::from_str(data).expect("JSON data"));
            Some((id.to_owned(), data))
        })
        .collect()
}

/// The place in its stream an event id names.
fn seq_of(id: &str) -> u64 {
    id.rsplit_once('-')
        .and_then(|(_, seq)| seq.parse().ok())
        .unwrap_or_else(|| panic!("not an event id: {id}"))
}

/// Opens `GET /mcp` resuming after `last`, and reads it to its end.
async fn resume_after(server: &TestServer, session: &Session<'_>, last: &str) -> Vec<String> {
    let mut stream = EventStream::open(
        server.addr,
        &[
            ("accept", "text/event-stream"),
            ("mcp-session-id", &session.id),
            ("mcp-protocol-version", "2025-11-25"),
            ("last-event-id", last),
        ],
    )
    .await;
    assert_eq!(stream.status, StatusCode::OK, "resuming after {last}");
    let mut events = Vec::new();
    while let Some(event) = stream.next_event(Duration::from_secs(20)).await {
        events.push(event);
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_resumes_where_it_left_off_while_the_call_runs_on() {
    let server = TestServer::spawn_edited_process(AUDIT_TO_FILE, slow_misbehave, &[], &[]).await;
    let session = server.session().await;
    let (stream, head) = slow_progress_call(&server, &session).await;
    drop(stream);
    let body = &head[head.find("\r\n\r\n").expect("headers end")..];
    let before = events_in(body);
    let (last, _) = before.last().expect("events before the break").clone();
    let steps_before = before
        .iter()
        .filter(|(_, message)| {
            message
                .as_ref()
                .is_some_and(|m| m["method"] == "notifications/progress")
        })
        .count();
    assert!(steps_before >= 2, "{body}");

    // The client comes back with the last id it saw: the events after it,
    // with no gap and no repeat, then the rest live, then the response.
    let resumed = resume_after(&server, &session, &last).await;
    let resumed = events_in(&(resumed.join("\n\n") + "\n\n"));
    for (expected_seq, (id, _)) in (seq_of(&last) + 1..).zip(&resumed) {
        assert_eq!(seq_of(id), expected_seq, "{resumed:?}");
        assert_eq!(
            id.rsplit_once('-').map(|p| p.0),
            last.rsplit_once('-').map(|p| p.0)
        );
    }
    let messages: Vec<&Value> = resumed.iter().filter_map(|(_, m)| m.as_ref()).collect();
    let progress: Vec<f64> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .filter_map(|m| m["params"]["progress"].as_f64())
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let rest: Vec<f64> = (steps_before + 1..=20).map(|step| step as f64).collect();
    assert_eq!(progress, rest, "{messages:?}");
    let response = messages.last().expect("the response");
    assert_eq!(response["id"], json!(5), "{response}");
    assert_eq!(response["result"]["structuredContent"]["steps"], json!(20));
    // The call was not cancelled by the broken connection.
    let record = audit_record(&server, "misbehave.progress").await;
    assert_eq!(record["outcome"], json!("ok"), "{record}");

    // The log still holds the stream: resuming again replays it, then ends.
    let again = resume_after(&server, &session, &last).await;
    assert_eq!(again.len(), resumed.len());

    // Ids this server did not issue, or issued elsewhere, are refused.
    let stream_header = |last: &str| {
        vec![
            ("accept".to_owned(), "text/event-stream".to_owned()),
            ("mcp-session-id".to_owned(), session.id.clone()),
            ("mcp-protocol-version".to_owned(), "2025-11-25".to_owned()),
            ("last-event-id".to_owned(), last.to_owned()),
        ]
    };
    let foreign_tag = if last.starts_with("00000000") {
        "00000001"
    } else {
        "00000000"
    };
    let foreign = format!("{foreign_tag}{}", &last[8..]);
    for (id, status, says) in [
        (
            "17",
            StatusCode::BAD_REQUEST,
            "not an event id this server issued",
        ),
        (
            foreign.as_str(),
            StatusCode::CONFLICT,
            "was not sent by this replica",
        ),
    ] {
        let headers = stream_header(id);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let refused = server
            .send(hyper::Method::GET, "/mcp", &headers, bytes::Bytes::new())
            .await;
        assert_eq!(refused.status, status, "{id}: {}", refused.text());
        assert!(refused.text().contains(says), "{id}: {}", refused.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_resumption_closing_the_stream_cancels_the_call() {
    let server = TestServer::spawn_edited_process(
        &format!("stream_replay_events = 0\n{AUDIT_TO_FILE}"),
        slow_misbehave,
        &[],
        &[],
    )
    .await;
    let session = server.session().await;
    let (stream, _) = slow_progress_call(&server, &session).await;
    drop(stream);
    // Closing the stream cancelled the call: its record says so, long before
    // the tool would have finished.
    let record = audit_record(&server, "misbehave.progress").await;
    assert_eq!(record["outcome"], json!("cancelled"), "{record}");
    assert_eq!(session.ping_status().await, StatusCode::OK);
    // The call counts in the metrics and has its log line, as it is audited.
    server.wait_for_log("reason=\"abandoned\"", 1).await;
    let metrics = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("warden_tool_calls_total")
                && line.contains("misbehave.progress")
                && line.contains("outcome=\"cancelled\"")
                && line.contains("reason=\"abandoned\"")),
        "{metrics}"
    );
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

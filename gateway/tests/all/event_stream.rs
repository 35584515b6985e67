//! `GET /mcp`: the session's event stream carries list-changed
//! notifications after a reload, one stream per session, and ends with the
//! session or the server.

use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::{EventStream, TestServer, without_component};

const WAIT: Duration = Duration::from_secs(30);

fn stream_headers<'a>(session_id: &'a str, revision: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("accept", "text/event-stream"),
        ("mcp-session-id", session_id),
        ("mcp-protocol-version", revision),
    ]
}

fn data_of(event: &str) -> Value {
    let data = event
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data line in {event:?}"));
    serde_json::from_str(data).unwrap_or_else(|error| panic!("{error}: {data:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_that_changes_the_tools_is_announced_on_the_stream() {
    let mut server = TestServer::spawn_process("watch_interval_ms = 0").await;
    let session = server.session().await;
    let old = server.session_with_revision("2025-06-18").await;

    let mut stream =
        EventStream::open(server.addr, &stream_headers(&session.id, "2025-11-25")).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert_eq!(
        stream
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let priming = stream.next_event(WAIT).await.expect("a priming event");
    assert_eq!(
        priming, "id: 0\nretry: 1000\ndata:",
        "2025-11-25 streams are primed"
    );

    let second = EventStream::open(server.addr, &stream_headers(&session.id, "2025-11-25")).await;
    assert_eq!(
        second.status,
        StatusCode::CONFLICT,
        "one stream per session"
    );

    // 2025-06-18 clients get no priming event: the first one is the notice.
    let mut old_stream =
        EventStream::open(server.addr, &stream_headers(&old.id, "2025-06-18")).await;
    assert_eq!(old_stream.status, StatusCode::OK);

    server.write_config(&without_component(server.original_config(), "json"));
    server.signal("HUP");
    let changed = stream.next_event(WAIT).await.expect("a notification");
    assert!(changed.starts_with("id: 1\n"), "{changed}");
    assert_eq!(
        data_of(&changed),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
    let changed = old_stream.next_event(WAIT).await.expect("a notification");
    assert!(changed.starts_with("id: 0\n"), "{changed}");
    assert_eq!(
        data_of(&changed)["method"],
        "notifications/tools/list_changed"
    );
    let names = server.tool_names(&session).await;
    assert!(!names.iter().any(|name| name == "json.query"), "{names:?}");

    // A reload that leaves the listing as it was says nothing: the next
    // event is the one of the change after it.
    server.signal("HUP");
    server.wait_for_log("catalog reloaded", 2).await;
    server.write_config(server.original_config());
    server.signal("HUP");
    let changed = stream.next_event(WAIT).await.expect("a notification");
    assert!(changed.starts_with("id: 2\n"), "{changed}");
    let changed = old_stream.next_event(WAIT).await.expect("a notification");
    assert!(changed.starts_with("id: 1\n"), "{changed}");

    // Ending the session ends its stream.
    let ended = server
        .send(
            Method::DELETE,
            "/mcp",
            &[("mcp-session-id", &session.id)],
            Bytes::new(),
        )
        .await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT);
    assert_eq!(stream.next_event(WAIT).await, None);

    // A shutdown ends the streams still open instead of waiting for them.
    server.signal("TERM");
    assert_eq!(old_stream.next_event(WAIT).await, None);
    assert_eq!(server.exit_code(WAIT).await, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_needs_a_live_session_and_accepts_sse() {
    let server = TestServer::start().await;
    let session = server.session().await;

    let no_session = EventStream::open(server.addr, &[("accept", "text/event-stream")]).await;
    assert_eq!(no_session.status, StatusCode::BAD_REQUEST);
    let unknown = EventStream::open(
        server.addr,
        &stream_headers("no-such-session", "2025-11-25"),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let json_only = EventStream::open(
        server.addr,
        &[
            ("accept", "application/json"),
            ("mcp-session-id", &session.id),
        ],
    )
    .await;
    assert_eq!(json_only.status, StatusCode::NOT_ACCEPTABLE);
    let wrong_revision =
        EventStream::open(server.addr, &stream_headers(&session.id, "2025-06-18")).await;
    assert_eq!(wrong_revision.status, StatusCode::BAD_REQUEST);

    // Once the client closes a stream, the session may open another.
    let first = EventStream::open(server.addr, &stream_headers(&session.id, "2025-11-25")).await;
    assert_eq!(first.status, StatusCode::OK);
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        let attempt =
            EventStream::open(server.addr, &stream_headers(&session.id, "2025-11-25")).await;
        if attempt.status == StatusCode::OK {
            reopened = Some(attempt);
            break;
        }
        assert_eq!(attempt.status, StatusCode::CONFLICT);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut reopened = reopened.expect("a new stream once the first closed");
    assert_eq!(
        reopened.next_event(WAIT).await.as_deref(),
        Some("id: 1\nretry: 1000\ndata:"),
        "event ids stay unique within the session"
    );

    let initialized = server
        .post(
            &[],
            json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {}}
            })
            .to_string(),
        )
        .await;
    assert_eq!(
        initialized.json()["result"]["capabilities"]["tools"]["listChanged"],
        json!(true),
        "HTTP sessions are told that the tool list can change"
    );
}

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

/// An event's id split into its stream (`<tag>-g<n>`) and its place in it.
pub fn place_of(event: &str) -> (String, u64) {
    let id = event
        .lines()
        .find_map(|line| line.strip_prefix("id: "))
        .unwrap_or_else(|| panic!("no id in {event:?}"));
    let (stream, seq) = id.rsplit_once('-').expect("stream and place");
    (stream.to_owned(), seq.parse().expect("a place"))
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
    assert!(
        priming.ends_with("\nretry: 1000\ndata:"),
        "2025-11-25 streams are primed: {priming}"
    );
    let (stream_name, place) = place_of(&priming);
    assert!(stream_name.ends_with("-g0"), "{priming}");
    assert_eq!(place, 0);

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
    assert_eq!(place_of(&changed), (stream_name.clone(), 1), "{changed}");
    assert_eq!(
        data_of(&changed),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
    let changed = old_stream.next_event(WAIT).await.expect("a notification");
    assert_eq!(place_of(&changed).1, 0, "{changed}");
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
    assert_eq!(place_of(&changed), (stream_name, 2), "{changed}");
    let changed = old_stream.next_event(WAIT).await.expect("a notification");
    assert_eq!(place_of(&changed).1, 1, "{changed}");

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
    let unsupported_revision =
        EventStream::open(server.addr, &stream_headers(&session.id, "1999-01-01")).await;
    assert_eq!(unsupported_revision.status, StatusCode::BAD_REQUEST);

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
    let primed = reopened.next_event(WAIT).await.expect("a priming event");
    assert_eq!(
        place_of(&primed)
            .0
            .rsplit_once('-')
            .map(|(_, stream)| stream),
        Some("g1"),
        "a new stream, so event ids stay unique within the session: {primed}"
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

#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_stream_takes_over_and_one_past_replay_starts_with_a_change_notice() {
    let server = TestServer::start().await;
    let session = server.session().await;
    let mut first =
        EventStream::open(server.addr, &stream_headers(&session.id, "2025-11-25")).await;
    let priming = first.next_event(WAIT).await.expect("a priming event");
    let (first_stream, _) = place_of(&priming);
    let last = priming
        .lines()
        .find_map(|line| line.strip_prefix("id: "))
        .expect("id")
        .to_owned();

    // The client reconnects with the id it saw while the server still holds
    // the first connection: the new one takes the stream over.
    let mut headers = stream_headers(&session.id, "2025-11-25");
    headers.push(("last-event-id", &last));
    let mut second = EventStream::open(server.addr, &headers).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(first.next_event(WAIT).await, None, "the old feed stopped");
    let primed = second.next_event(WAIT).await.expect("a priming event");
    assert_ne!(place_of(&primed).0, first_stream, "a stream of its own");
    assert_eq!(place_of(&primed).1, 0);

    // An id this replica cannot replay (another replica's tag): a fresh
    // stream that says the tools may have changed.
    drop(second);
    let tag = &last[..8];
    let foreign_tag = if tag == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    let foreign = format!("{foreign_tag}{}", &last[8..]);
    let mut headers = stream_headers(&session.id, "2025-11-25");
    headers.push(("last-event-id", &foreign));
    let mut third = EventStream::open(server.addr, &headers).await;
    assert_eq!(third.status, StatusCode::OK);
    let primed = third.next_event(WAIT).await.expect("a priming event");
    assert!(primed.ends_with("data:"), "{primed}");
    let notice = third.next_event(WAIT).await.expect("a change notice");
    assert_eq!(
        data_of(&notice),
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    );
}

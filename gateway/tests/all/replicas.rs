//! Sealed session ids: replicas that share a key serve each other's
//! sessions with no shared store.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::json;
use warden_gateway::config::{SESSION_KEY_VAR, SESSION_OLD_KEYS_VAR, SessionKey};

use crate::support::TestServer;

fn new_key() -> String {
    SessionKey::generate().expect("random").to_base64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_with_one_key_serve_one_session() {
    let key = new_key();
    // The key reaches the first replica through its config file and the
    // others through the environment, as a Kubernetes Secret would.
    let first = TestServer::spawn_process(&format!("session_key = \"{key}\"")).await;
    let second = TestServer::spawn_process_with("", &[(SESSION_KEY_VAR, &key)], &[]).await;
    let third = TestServer::spawn_process_with("", &[(SESSION_KEY_VAR, &key)], &[]).await;
    let stranger = TestServer::spawn_process_with("", &[(SESSION_KEY_VAR, &new_key())], &[]).await;

    let session = first.session_with_revision("2025-06-18").await;
    let on_second = session.on(&second);
    let on_third = session.on(&third);

    let listed = second.tool_names(&on_second).await;
    assert!(listed.contains(&"text.count".to_owned()), "{listed:?}");
    assert_eq!(listed, first.tool_names(&session).await);
    let counted = on_third
        .call("text.count", json!({ "text": "one two three" }))
        .await;
    assert_eq!(counted["structuredContent"]["words"], json!(3), "{counted}");

    // The negotiated revision travels in the id: the third replica answers
    // 2025-06-18's way (arguments that fail the schema are a JSON-RPC error,
    // not a tool error) without ever having seen the `initialize`, whatever
    // supported version the header names.
    let invalid = third
        .post(
            &[
                ("mcp-session-id", &session.id),
                ("mcp-protocol-version", "2025-11-25"),
            ],
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": {"name": "text.count", "arguments": {"text": 5}}})
            .to_string(),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::OK);
    assert_eq!(
        invalid.json()["error"]["code"],
        json!(-32602),
        "{}",
        invalid.text()
    );

    // A replica with another key does not know the session.
    assert_eq!(
        session.on(&stranger).ping_status().await,
        StatusCode::NOT_FOUND
    );

    // DELETE ends the session in the process that received it.
    assert_eq!(on_second.delete().await, StatusCode::NO_CONTENT);
    assert_eq!(on_second.ping_status().await, StatusCode::NOT_FOUND);
    assert_eq!(on_second.delete().await, StatusCode::NOT_FOUND);
    assert_eq!(on_third.ping_status().await, StatusCode::OK);
    assert_eq!(session.ping_status().await, StatusCode::OK);

    // The same replicas agree on the session's log tag.
    let tag_of = |log: String| {
        log.lines()
            .find(|line| line.contains("session ended by the client"))
            .and_then(|line| line.split("session=").nth(1))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
            .map(str::to_owned)
    };
    second.wait_for_log("session ended by the client", 1).await;
    let tag = tag_of(second.log()).expect("the DELETE was logged with the session's tag");
    assert!(
        first.log().contains(&format!("session={tag}")),
        "{}",
        first.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_ids_are_refused_everywhere_and_rotation_keeps_sessions() {
    let (old, new) = (new_key(), new_key());
    let short_lived = TestServer::spawn_process(&format!(
        "session_key = \"{old}\"\nsession_lifetime_secs = 1"
    ))
    .await;
    let replica = TestServer::spawn_process_with("", &[(SESSION_KEY_VAR, &old)], &[]).await;
    // Mid-rotation: seals with the new key, still opens the old one's ids.
    let rotated = TestServer::spawn_process_with(
        "",
        &[(SESSION_KEY_VAR, &new), (SESSION_OLD_KEYS_VAR, &old)],
        &[],
    )
    .await;

    let long_lived = replica.session().await;
    assert_eq!(long_lived.on(&rotated).ping_status().await, StatusCode::OK);
    let sealed_with_new = rotated.session().await;
    assert_eq!(
        sealed_with_new.on(&replica).ping_status().await,
        StatusCode::NOT_FOUND,
        "a replica without the new key cannot open its ids"
    );

    let expiring = short_lived.session().await;
    assert_eq!(expiring.on(&replica).ping_status().await, StatusCode::OK);
    // Expiry is in whole seconds: past two, the id has expired.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for server in [&short_lived, &replica, &rotated] {
        let refused = expiring
            .on(server)
            .post_raw(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string())
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text());
        assert!(refused.text().contains("initialize"), "{}", refused.text());
    }
    assert_eq!(long_lived.ping_status().await, StatusCode::OK);
}

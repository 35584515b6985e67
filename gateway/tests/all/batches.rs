//! Revision 2025-03-26 and its JSON-RPC batches: negotiation for every
//! revision a client may ask for, batches answered in order in a
//! 2025-03-26 session, and refused with a clear 400 in any other.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::stdio::StdioWarden;
use crate::support::TestServer;

fn batch(items: &[Value]) -> String {
    Value::Array(items.to_vec()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2025_03_26_session_answers_batches_in_order() {
    let server = TestServer::start().await;
    let session = server.session_with_revision("2025-03-26").await;
    let reply = session
        .post_raw(batch(&[
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
            json!({"jsonrpc": "2.0", "id": "count", "method": "tools/call",
                "params": {"name": "text.count", "arguments": {"text": "one two three"}}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "no.such.tool", "arguments": {}}}),
            json!({"not": "json-rpc"}),
            json!({"jsonrpc": "2.0", "id": 5, "method": "initialize", "params": {}}),
            json!([{"jsonrpc": "2.0", "id": 6, "method": "ping"}]),
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let answers = reply.json();
    let answers = answers.as_array().expect("an array of answers");
    let ids: Vec<&Value> = answers.iter().map(|answer| &answer["id"]).collect();
    assert_eq!(
        ids,
        [
            &json!(1),
            &json!("count"),
            &json!(3),
            &Value::Null,
            &json!(5),
            &Value::Null,
            &json!(7)
        ],
        "one answer per request, in the batch's order: {answers:?}"
    );
    assert_eq!(answers[0]["result"], json!({}));
    assert_eq!(words_counted(&answers[1]), 3);
    assert_eq!(answers[2]["error"]["code"], json!(-32602));
    assert_eq!(answers[3]["error"]["code"], json!(-32600));
    assert!(
        answers[4]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot be part of a batch")),
        "{}",
        answers[4]
    );
    assert!(
        answers[5]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another batch")),
        "{}",
        answers[5]
    );
    assert!(answers[6]["result"]["tools"].is_array());

    // Notifications and responses only: 202, no body.
    let quiet = session
        .post_raw(batch(&[
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 9, "result": {}}),
        ]))
        .await;
    assert_eq!(quiet.status, StatusCode::ACCEPTED);
    assert!(quiet.body.is_empty());

    for (body, reason) in [
        ("[]".to_owned(), "1 to 100 messages, not 0"),
        (
            batch(&vec![
                json!({"jsonrpc": "2.0", "method": "ping", "id": 1});
                101
            ]),
            "1 to 100 messages, not 101",
        ),
    ] {
        let refused = session.post_raw(body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.text().contains(reason), "{}", refused.text());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_are_refused_in_later_revisions_and_without_a_session() {
    let server = TestServer::start().await;
    let body = batch(&[json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})]);
    for revision in ["2025-06-18", "2025-11-25"] {
        let session = server.session_with_revision(revision).await;
        let refused = session.post_raw(body.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{revision}");
        let text = refused.text();
        assert!(
            text.contains("only in sessions of protocol revision 2025-03-26")
                && text.contains(&format!("this session speaks {revision}")),
            "{text}"
        );
    }
    let without = server.post(&[], body).await;
    assert_eq!(without.status, StatusCode::BAD_REQUEST);
    assert!(
        without.text().contains("`initialize` cannot be batched"),
        "{}",
        without.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_answers_a_batch_with_one_array_line() {
    let mut warden = StdioWarden::start("");
    warden
        .send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {},
            "clientInfo": {"name": "stdio-test", "version": "0"}}}),
        )
        .await;
    assert_eq!(
        warden.next().await["result"]["protocolVersion"],
        json!("2025-03-26")
    );
    warden
        .send(json!([
            {"jsonrpc": "2.0", "id": 2, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "text.count", "arguments": {"text": "a b"}}},
        ]))
        .await;
    let answers = warden.next().await;
    let answers = answers.as_array().expect("one line holding an array");
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["id"], json!(2));
    assert_eq!(words_counted(&answers[1]), 2);

    // A later revision's session refuses batches.
    let mut later = StdioWarden::start("");
    later.initialize().await;
    later.next().await;
    later
        .send(json!([{"jsonrpc": "2.0", "id": 2, "method": "ping"}]))
        .await;
    let refused = later.next().await;
    assert_eq!(refused["error"]["code"], json!(-32600), "{refused}");
}

/// The word count of a `text.count` answer in 2025-03-26, which has no
/// `structuredContent`: the tool's JSON text.
fn words_counted(answer: &Value) -> u64 {
    let result = &answer["result"];
    assert!(result.get("structuredContent").is_none(), "{answer}");
    let text = result["content"][0]["text"].as_str().expect("text content");
    let counted: Value = serde_json::from_str(text).expect("JSON text");
    counted["words"].as_u64().expect("words")
}

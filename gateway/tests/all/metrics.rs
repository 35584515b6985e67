//! Telemetry: Prometheus metrics on their own listener, and structured logs,
//! reflect what the gateway did.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::support::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_calls_by_outcome_and_show_live_state() {
    let server = TestServer::start().await;
    let session = server.session().await;
    session.call("text.count", json!({"text": "a b"})).await;
    session.call("text.count", json!({"text": 1})).await;
    session
        .call("misbehave.panic", json!({"message": "x"}))
        .await;

    let text = server.metrics().await;
    for expected in [
        r#"warden_tool_calls_total{tool="text.count",outcome="ok",reason=""}"#,
        r#"warden_tool_calls_total{tool="text.count",outcome="rejected",reason="invalid_arguments"}"#,
        r#"warden_tool_calls_total{tool="misbehave.panic",outcome="failed",reason="trap"}"#,
        r#"warden_schema_rejections_total{tool="text.count"}"#,
        r#"warden_tool_call_duration_seconds_bucket{tool="text.count",le="0.005"}"#,
        r#"warden_instantiation_duration_seconds_count{tool="text.count"}"#,
        r#"warden_tool_peak_memory_bytes_sum{tool="text.count"}"#,
        r#"warden_http_requests_total{status="200"}"#,
        r#"warden_component_loads_total{cache="#,
        "warden_sessions_active ",
        "warden_calls_in_flight 0",
        "warden_pool_slots_in_use 0",
        "warden_pool_slots 64",
        "warden_ready 1",
        r#"warden_build_info{version=""#,
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }

    let elsewhere = server
        .send(Method::GET, "/metrics", &[], Bytes::new())
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "metrics are not on the MCP listener"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_call_span_and_the_callers_trace_id() {
    let server = TestServer::spawn_process("log_format = \"json\"").await;
    let session = server.session().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": "traced-1", "method": "tools/call",
        "params": {"name": "text.count", "arguments": {"text": "traced call"}}
    });
    let reply = server
        .post(
            &[
                ("mcp-session-id", &session.id),
                ("traceparent", &traceparent),
            ],
            body.to_string(),
        )
        .await;
    assert_eq!(reply.status, hyper::StatusCode::OK, "{}", reply.text());
    server.wait_for_log("\"tool call\"", 1).await;
    let log = server.log();
    let line = log
        .lines()
        .find(|line| line.contains("\"tool call\""))
        .expect("a tool call line");
    let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(entry["tool"], "text.count", "{line}");
    assert_eq!(entry["outcome"], "ok", "{line}");
    assert_eq!(entry["span"]["name"], "tool_call", "{line}");
    assert_eq!(entry["span"]["tool"], "text.count", "{line}");
    assert_eq!(entry["span"]["outcome"], "ok", "{line}");
    let span = entry["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|span| span["name"] == "mcp"))
        .expect("the request's span encloses the call's");
    assert_eq!(span["method"], "tools/call", "{line}");
    assert_eq!(span["trace_id"], trace_id, "{line}");
    assert!(
        span["rpc_id"]
            .as_str()
            .is_some_and(|id| id.contains("traced-1")),
        "{line}"
    );
    let tag = span["session"].as_str().unwrap_or_default();
    assert_eq!(tag.len(), 8, "{line}");
    assert!(
        !log.contains(&session.id),
        "the session id is a secret and must not be logged"
    );
}

//! Prometheus metrics on their own listener reflect what the gateway did.

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

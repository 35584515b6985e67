//! Quotas and load shedding with the real binary: per-caller request rates
//! (429), per-tool and per-caller-and-tool rates and fuel budgets (tool
//! errors with reason `rate_limited`), the cap on calls in flight (503).

use std::time::Duration;

use hyper::StatusCode;
use serde_json::{Value, json};
use warden_gateway::config::ApiKeyHash;

use crate::support::{Session, TestServer};

pub const CALLER_A: &str = "wdn_caller-a-0123456789abcdef0123456789";
pub const CALLER_B: &str = "wdn_caller-b-0123456789abcdef0123456789";

/// `[[auth.api_keys]]` for callers `a` and `b`.
pub fn two_callers() -> String {
    format!(
        "[[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\n\
         [[auth.api_keys]]\nname = \"b\"\nhash = \"{}\"\n",
        ApiKeyHash::of(CALLER_A),
        ApiKeyHash::of(CALLER_B)
    )
}

pub fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// A session of caller `a` and one of caller `b`.
pub async fn sessions_of_both_callers(server: &TestServer) -> (Session<'_>, Session<'_>) {
    let (a_auth, b_auth) = (bearer(CALLER_A), bearer(CALLER_B));
    let a = server
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    let b = server
        .session_with_headers("2025-11-25", &[("authorization", &b_auth)])
        .await;
    (a, b)
}

pub fn assert_rate_limited(result: &Value, quota: &str) {
    assert_eq!(result["isError"], json!(true), "{result}");
    assert_eq!(
        result["_meta"]["warden/reason"],
        json!("rate_limited"),
        "{result}"
    );
    let wait = result["_meta"]["warden/retryAfterMs"]
        .as_u64()
        .expect("retry delay");
    assert!(wait > 0, "{result}");
    let text = result["content"][0]["text"].as_str().expect("message");
    assert!(text.contains(quota) && text.contains("retry in"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_quotas_count_per_tool_and_per_caller() {
    let server = TestServer::spawn_process(&format!(
        "{}\n[components.text.rate_limits.tools.\"text.count\"]\ncaller_tool = \"1/min burst 1\"\n\
         [components.json.rate_limits]\ntool = \"2/min burst 2\"\n",
        two_callers()
    ))
    .await;
    let (a, b) = sessions_of_both_callers(&server).await;
    let text = json!({ "text": "one two" });

    // text.count: one call per caller per minute.
    assert_eq!(
        a.call("text.count", text.clone()).await["isError"],
        json!(false)
    );
    assert_rate_limited(
        &a.call("text.count", text.clone()).await,
        "1/min burst 1 per caller",
    );
    assert_eq!(
        b.call("text.count", text.clone()).await["isError"],
        json!(false)
    );
    assert_eq!(
        a.call("text.case", json!({"text": "x", "to": "upper"}))
            .await["isError"],
        json!(false)
    );

    // json tools: two calls of each per minute, all callers together.
    let format = json!({ "document": {"k": 1} });
    assert_eq!(
        a.call("json.format", format.clone()).await["isError"],
        json!(false)
    );
    assert_eq!(
        b.call("json.format", format.clone()).await["isError"],
        json!(false)
    );
    assert_rate_limited(
        &b.call("json.format", format.clone()).await,
        "2/min burst 2 for all callers",
    );
    let query = json!({ "document": {"k": 1}, "query": ".k" });
    assert_eq!(a.call("json.query", query).await["isError"], json!(false));

    let metrics = server.metrics().await;
    assert!(
        metrics.contains("warden_rejections_total{reason=\"tool\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("reason=\"rate_limited\""),
        "refused calls count as rejected calls of their tool"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_over_its_request_quota_gets_429_with_retry_after() {
    let server = TestServer::spawn_process(&format!(
        "{}\n[rate_limits]\ncaller_requests = \"3/min burst 3\"\n",
        two_callers()
    ))
    .await;
    let a_auth = bearer(CALLER_A);
    // initialize and notifications/initialized take two of the three.
    let a = server
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    assert_eq!(a.ping_status().await, StatusCode::OK);
    let refused = a
        .post_raw(json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}).to_string())
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert!(
        refused.text().contains("3/min burst 3"),
        "{}",
        refused.text()
    );

    // Other callers and the probes are not affected.
    let b_auth = bearer(CALLER_B);
    let b = server
        .session_with_headers("2025-11-25", &[("authorization", &b_auth)])
        .await;
    assert_eq!(b.ping_status().await, StatusCode::OK);
    assert_eq!(server.health().await["status"], json!("ok"));
    assert!(
        server
            .metrics()
            .await
            .contains("warden_rejections_total{reason=\"caller_requests\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_cap_and_its_queue_are_shed_with_503() {
    let server =
        TestServer::spawn_process("[rate_limits]\nmax_calls_in_flight = 1\ncall_queue = 0\n").await;
    let session = server.session().await;
    let slow = {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "misbehave.sleep", "arguments": {"ms": 400}}})
        .to_string();
        let session_id = session.id.clone();
        let addr = server.addr;
        tokio::spawn(async move { crate::support::try_post(addr, &session_id, body).await })
    };
    // Wait until the slow call holds the only place.
    tokio::time::timeout(Duration::from_secs(10), async {
        while server.health().await["calls"]["in_flight"] != json!(1) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow call starts");
    let shed = session
        .post_raw(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "text.count", "arguments": {"text": "a"}}})
            .to_string(),
        )
        .await;
    assert_eq!(
        shed.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        shed.text()
    );
    assert_eq!(shed.headers["retry-after"], "1");
    assert!(shed.text().contains("overloaded"), "{}", shed.text());
    // Requests other than calls are not held back.
    assert_eq!(session.ping_status().await, StatusCode::OK);

    let finished = slow.await.expect("task").expect("the slow call answered");
    assert_eq!(finished.status, StatusCode::OK);
    assert_eq!(
        session.call("text.count", json!({"text": "a"})).await["isError"],
        json!(false),
        "the place is free again"
    );
    assert_eq!(server.health().await["calls"]["in_flight"], json!(0));
    assert!(
        server
            .metrics()
            .await
            .contains("warden_rejections_total{reason=\"overloaded\"} 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_fuel_budget_refuses_the_callers_next_calls() {
    let server = TestServer::spawn_process(&format!(
        "{}\n[rate_limits]\ncaller_fuel = \"1000000/h\"\n",
        two_callers()
    ))
    .await;
    let (a, b) = sessions_of_both_callers(&server).await;
    // A runaway call fails on its time limit, and is charged what it burnt.
    let runaway = a.call("misbehave.loop", json!({})).await;
    assert_eq!(
        runaway["_meta"]["warden/reason"],
        json!("timeout"),
        "{runaway}"
    );
    assert_rate_limited(
        &a.call("text.count", json!({"text": "a"})).await,
        "fuel budget 1000000/h per caller",
    );
    assert_eq!(
        b.call("text.count", json!({"text": "a"})).await["isError"],
        json!(false),
        "budgets are per caller"
    );
    assert!(
        server
            .metrics()
            .await
            .contains("warden_rejections_total{reason=\"caller_fuel\"} 1")
    );
}

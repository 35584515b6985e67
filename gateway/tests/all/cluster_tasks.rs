//! Tasks kept in a real Redis by three replicas: created on one, polled,
//! cancelled and read on the others, hidden from other callers, and a
//! clear error while Redis is down.

use std::time::Duration;

use serde_json::json;
use warden_gateway::config::{SESSION_KEY_VAR, SessionKey};

use crate::quotas::{CALLER_A, CALLER_B, bearer, two_callers};
use crate::support::TestServer;
use crate::support_redis::TestRedis;
use crate::tasks::{start, until_ended, with_tasks};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_is_polled_cancelled_and_read_from_any_replica() {
    let mut redis = TestRedis::start().await;
    let key = SessionKey::generate().expect("random").to_base64();
    // One open task per caller: enough for this test, and what shows that
    // a dead replica's task stops counting.
    let config = format!(
        "{}[tasks]\nmax_open_per_caller = 1\n[cluster]\nredis_url = \"{}\"\n",
        two_callers(),
        redis.url()
    );
    let env = [(SESSION_KEY_VAR, key.as_str())];
    let (a, b, c) = tokio::join!(
        TestServer::spawn_edited_process(&config, with_tasks, &env, &[]),
        TestServer::spawn_edited_process(&config, with_tasks, &env, &[]),
        TestServer::spawn_edited_process(&config, with_tasks, &env, &[]),
    );
    let a_auth = bearer(CALLER_A);
    let on_a = a
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    let (on_b, on_c) = (on_a.on(&b), on_a.on(&c));

    // Created on A, polled on B, its result read on C (which blocks until
    // A has written it).
    let finishing = start(&on_a, 600).await;
    let finishing_id = finishing["taskId"].as_str().expect("id").to_owned();
    let polled = on_b
        .request("tasks/get", json!({"taskId": finishing_id}))
        .await;
    assert_eq!(polled["result"]["status"], json!("working"), "{polled}");
    let result = on_c
        .request("tasks/result", json!({"taskId": finishing_id}))
        .await;
    assert_eq!(result["result"]["isError"], json!(false), "{result}");

    // Created on A, cancelled from C: the call stops on A.
    let cancelled = start(&on_a, 4000).await;
    let cancelled_id = cancelled["taskId"].as_str().expect("id").to_owned();
    let answer = on_c
        .request("tasks/cancel", json!({"taskId": cancelled_id}))
        .await;
    assert_eq!(answer["result"]["status"], json!("cancelled"), "{answer}");
    let mut stopped = false;
    for _ in 0..100 {
        if a.metrics().await.contains("client_cancelled") {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "the call kept running on A: {}", a.metrics().await);
    let on_a_view = until_ended(&on_a, &cancelled_id).await;
    assert_eq!(on_a_view["status"], json!("cancelled"), "{on_a_view}");
    let listed = on_b.request("tasks/list", json!({})).await;
    assert_eq!(
        listed["result"]["tasks"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    // Another caller sees none of them, on any replica.
    let b_auth = bearer(CALLER_B);
    let theirs = b
        .session_with_headers("2025-11-25", &[("authorization", &b_auth)])
        .await;
    for method in ["tasks/get", "tasks/cancel", "tasks/result"] {
        let refused = theirs
            .on(&c)
            .request(method, json!({"taskId": finishing_id}))
            .await;
        assert_eq!(
            refused["error"]["code"],
            json!(-32602),
            "{method}: {refused}"
        );
    }
    let listed = theirs.request("tasks/list", json!({})).await;
    assert_eq!(listed["result"]["tasks"], json!([]), "{listed}");

    // A replica that dies with a task of each caller running: each task
    // fails once the replica's heartbeat (five seconds) is gone, whoever
    // asks; a listing shows A's failed without a get first, and B's stops
    // counting against B's one open task when B starts another.
    let doomed = TestServer::spawn_edited_process(&config, with_tasks, &env, &[]).await;
    let orphan = start(&on_a.on(&doomed), 4000).await;
    let orphan_id = orphan["taskId"].as_str().expect("id").to_owned();
    let theirs_orphan = start(&theirs.on(&doomed), 4000).await;
    let theirs_orphan_id = theirs_orphan["taskId"].as_str().expect("id").to_owned();
    drop(doomed);
    let mut listed = json!(null);
    for _ in 0..100 {
        let page = on_b.request("tasks/list", json!({})).await;
        listed = page["result"]["tasks"]
            .as_array()
            .and_then(|tasks| tasks.iter().find(|task| task["taskId"] == json!(orphan_id)))
            .cloned()
            .unwrap_or(page);
        if listed["status"] != json!("working") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed["status"], json!("failed"), "{listed}");
    let lost = on_b
        .request("tasks/get", json!({"taskId": orphan_id}))
        .await;
    assert_eq!(lost["result"]["status"], json!("failed"), "{lost}");
    let next = start(&theirs.on(&c), 10).await;
    let next_id = next["taskId"].as_str().expect("id").to_owned();
    let ended = until_ended(&theirs, &next_id).await;
    assert_eq!(ended["status"], json!("completed"), "{ended}");
    let theirs_lost = theirs
        .request("tasks/get", json!({"taskId": theirs_orphan_id}))
        .await;
    assert_eq!(
        theirs_lost["result"]["status"],
        json!("failed"),
        "{theirs_lost}"
    );
    assert!(
        lost["result"]["statusMessage"]
            .as_str()
            .is_some_and(|message| message.contains("replica running the task stopped")),
        "{lost}"
    );
    let result = on_c
        .request("tasks/result", json!({"taskId": orphan_id}))
        .await;
    assert_eq!(
        result["error"]["data"]["warden/reason"],
        json!("replica_lost"),
        "{result}"
    );

    // Without Redis, task requests say so rather than answer wrongly.
    redis.stop().await;
    let down = on_b
        .request("tasks/get", json!({"taskId": finishing_id}))
        .await;
    assert!(
        down["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("shared store")),
        "{down}"
    );
    let refused = on_a
        .request(
            "tools/call",
            json!({"name": "misbehave.sleep", "arguments": {"ms": 10}, "task": {}}),
        )
        .await;
    assert!(refused.get("error").is_some(), "{refused}");
}

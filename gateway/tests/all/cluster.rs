//! Replicas sharing quotas and session ends through a real Redis (Debian's
//! `redis-server` on loopback), three `warden serve` processes each; and
//! what each `on_unavailable` mode does while Redis is down.

use std::time::{Duration, Instant};

use hyper::StatusCode;
use serde_json::json;
use warden_gateway::config::{SESSION_KEY_VAR, SessionKey};

use crate::quotas::{
    CALLER_A, CALLER_B, assert_rate_limited, bearer, sessions_of_both_callers, two_callers,
};
use crate::support::{Session, TestServer};
use crate::support_redis::{Secured, TestRedis};
use crate::tls::TestCa;

/// The config of a replica using `redis`, with `tables` added.
fn replica_config(redis: &TestRedis, tables: &str) -> String {
    format!(
        "{}\n{tables}\n[cluster]\nredis_url = \"{}\"\n",
        two_callers(),
        redis.url()
    )
}

/// Three replicas sharing a session key (returned too) and `redis`, with
/// `tables` added to their config.
async fn three_replicas(redis: &TestRedis, tables: &str) -> (String, [TestServer; 3]) {
    let key = SessionKey::generate().expect("random").to_base64();
    let config = replica_config(redis, tables);
    let env = [(SESSION_KEY_VAR, key.as_str())];
    let (a, b, c) = tokio::join!(
        TestServer::spawn_process_with(&config, &env, &[]),
        TestServer::spawn_process_with(&config, &env, &[]),
        TestServer::spawn_process_with(&config, &env, &[]),
    );
    (key, [a, b, c])
}

/// The `warden_cluster_store_up` gauge in a metrics exposition.
fn store_up(metrics: &str) -> Option<bool> {
    metrics.lines().find_map(|line| match line {
        "warden_cluster_store_up 1" => Some(true),
        "warden_cluster_store_up 0" => Some(false),
        _ => None,
    })
}

/// Waits up to `limit` for `check` to hold; returns how long it took.
async fn within<F: AsyncFnMut() -> bool>(limit: Duration, mut check: F) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_request_quota_holds_across_three_replicas() {
    let redis = TestRedis::start().await;
    // A burst under 32 is never leased: counted exactly.
    let (_, replicas) = three_replicas(
        &redis,
        "[rate_limits]\ncaller_requests = \"10/h burst 10\"\n",
    )
    .await;
    let a_auth = bearer(CALLER_A);
    // initialize and notifications/initialized take two of the ten.
    let on_first = replicas[0]
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    let sessions: Vec<Session<'_>> = replicas.iter().map(|r| on_first.on(r)).collect();
    let mut allowed = 2;
    let mut refused_on = Vec::new();
    for round in 0..6 {
        for (index, session) in sessions.iter().enumerate() {
            match session.ping_status().await {
                StatusCode::OK => allowed += 1,
                StatusCode::TOO_MANY_REQUESTS => refused_on.push((round, index)),
                other => panic!("unexpected status {other}"),
            }
        }
    }
    assert_eq!(allowed, 10, "refused: {refused_on:?}");
    for index in 0..3 {
        assert!(
            refused_on.iter().any(|(_, on)| *on == index),
            "replica {index} refuses too: {refused_on:?}"
        );
    }
    // Another caller has its own quota.
    let b_auth = bearer(CALLER_B);
    let b = replicas[1]
        .session_with_headers("2025-11-25", &[("authorization", &b_auth)])
        .await;
    assert_eq!(b.on(&replicas[2]).ping_status().await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_spent_on_one_replica_is_seen_by_the_others() {
    let redis = TestRedis::start().await;
    let (_, replicas) =
        three_replicas(&redis, "[rate_limits]\ncaller_fuel = \"1000000/h\"\n").await;
    let (a, b) = sessions_of_both_callers(&replicas[0]).await;
    let runaway = a.call("misbehave.loop", json!({})).await;
    assert_eq!(
        runaway["_meta"]["warden/reason"],
        json!("timeout"),
        "{runaway}"
    );
    // Charges are written every lease_ms (100 ms) and verdicts reused as
    // long: the other replicas refuse within a few of those.
    for replica in &replicas[1..] {
        let on_replica = a.on(replica);
        let mut last = json!(null);
        let seen = within(Duration::from_secs(2), async || {
            last = on_replica.call("text.count", json!({"text": "a"})).await;
            last["isError"] == json!(true)
        })
        .await;
        assert!(seen.is_some(), "never refused: {last}");
        assert_rate_limited(&last, "fuel budget 1000000/h per caller");
    }
    assert_eq!(
        b.on(&replicas[2])
            .call("text.count", json!({"text": "a"}))
            .await["isError"],
        json!(false),
        "budgets are per caller"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_one_replica_ends_the_session_on_all_within_a_second() {
    let redis = TestRedis::start().await;
    let (key, replicas) = three_replicas(&redis, "").await;
    let a_auth = bearer(CALLER_A);
    let session = replicas[0]
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    for replica in &replicas {
        assert_eq!(session.on(replica).ping_status().await, StatusCode::OK);
    }
    assert_eq!(
        session.on(&replicas[1]).delete().await,
        StatusCode::NO_CONTENT
    );
    for replica in [&replicas[0], &replicas[2]] {
        let on_replica = session.on(replica);
        let ended = within(Duration::from_secs(1), async || {
            on_replica.ping_status().await == StatusCode::NOT_FOUND
        })
        .await;
        assert!(
            ended.is_some(),
            "the session still answers on another replica after 1 s"
        );
        assert_eq!(on_replica.delete().await, StatusCode::NOT_FOUND);
    }
    // A replica started later learns the revocation from Redis.
    let late = TestServer::spawn_process_with(
        &replica_config(&redis, ""),
        &[(SESSION_KEY_VAR, &key)],
        &[],
    )
    .await;
    let on_late = session.on(&late);
    let ended = within(Duration::from_secs(1), async || {
        on_late.ping_status().await == StatusCode::NOT_FOUND
    })
    .await;
    assert!(
        ended.is_some(),
        "a later replica serves the revoked session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_local_mode_keeps_serving_and_a_restart_shares_again() {
    let mut redis = TestRedis::start().await;
    // Bursts under 32 are not leased: every request asks Redis.
    let quota = "[rate_limits]\ncaller_requests = \"1000/h burst 15\"\n\
                 [components.text.rate_limits.tools.\"text.count\"]\ncaller_tool = \"2/h burst 2\"\n";
    let (_, replicas) = three_replicas(&redis, quota).await;
    let a_auth = bearer(CALLER_A);
    let session = replicas[0]
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    let count = json!({"text": "a b"});
    assert_eq!(
        session.call("text.count", count.clone()).await["isError"],
        json!(false)
    );

    // Hung: every command times out (250 ms) and the replica decides alone.
    redis.freeze().await;
    let started = Instant::now();
    let on_second = session.on(&replicas[1]);
    assert_eq!(on_second.ping_status().await, StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "a hung Redis held a request {waited:?}"
    );
    // The second replica has not counted this caller's calls: its own
    // counter allows two.
    assert_eq!(
        on_second.call("text.count", count.clone()).await["isError"],
        json!(false)
    );
    redis.thaw().await;

    // Down: the same, and a DELETE ends the session here only.
    redis.stop().await;
    assert_eq!(session.ping_status().await, StatusCode::OK);
    let health = replicas[0].health().await;
    assert_eq!(health["status"], json!("ok"), "{health}");
    let down = within(Duration::from_secs(5), async || {
        store_up(&replicas[0].metrics().await) == Some(false)
    })
    .await;
    assert!(down.is_some(), "{}", replicas[0].metrics().await);
    let health = replicas[0].health().await;
    assert_eq!(
        health["cluster"],
        json!({"store": "down", "on_unavailable": "local"}),
        "{health}"
    );
    assert_eq!(session.ping_status().await, StatusCode::OK);
    let metrics = replicas[0].metrics().await;
    assert!(
        metrics.contains("warden_cluster_local_fallbacks_total{what=\"requests\"}"),
        "{metrics}"
    );
    assert_eq!(
        session.on(&replicas[2]).delete().await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        session.on(&replicas[2]).ping_status().await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(session.on(&replicas[1]).ping_status().await, StatusCode::OK);

    // Back, empty: the replicas reconnect and share again from scratch.
    redis.restart().await;
    let fresh = replicas[1]
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    // Each replica tries a Redis that failed again every 500 ms.
    for replica in &replicas {
        let answering = within(Duration::from_secs(5), async || {
            store_up(&replica.metrics().await) == Some(true)
        })
        .await;
        assert!(answering.is_some(), "the replica reconnects");
    }
    let mut allowed = 0;
    for replica in &replicas {
        for _ in 0..2 {
            let result = fresh.on(replica).call("text.count", count.clone()).await;
            if result["isError"] == json!(false) {
                allowed += 1;
            }
        }
    }
    // The shared counter restarted with Redis: two calls fleet-wide (a
    // command on a dropped connection is sent again on a new one).
    assert_eq!(allowed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_reject_mode_refuses_with_503() {
    let mut redis = TestRedis::start().await;
    let reject = "on_unavailable = \"reject\"\n";
    // Bursts of 10 are not leased: every request asks Redis.
    // [cluster] is the config's last table.
    let requests = TestServer::spawn_process(&format!(
        "{}{reject}",
        replica_config(
            &redis,
            "[rate_limits]\ncaller_requests = \"1000/h burst 10\""
        )
    ))
    .await;
    let tools = TestServer::spawn_process(&format!(
        "{}{reject}",
        replica_config(
            &redis,
            "[components.text.rate_limits]\ntool = \"1000/h burst 10\""
        )
    ))
    .await;
    let a_auth = bearer(CALLER_A);
    let session = requests
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    let on_tools = tools
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    redis.stop().await;

    let refused = session
        .post_raw(json!({"jsonrpc": "2.0", "id": 5, "method": "ping"}).to_string())
        .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(
        refused.text().contains("shared quota store is unavailable"),
        "{}",
        refused.text()
    );
    assert_eq!(
        session.delete().await,
        StatusCode::SERVICE_UNAVAILABLE,
        "a session that cannot end everywhere is not ended"
    );
    let call = on_tools
        .request(
            "tools/call",
            json!({"name": "text.count", "arguments": {"text": "a"}}),
        )
        .await;
    assert_eq!(
        call["error"]["data"]["warden/reason"],
        json!("shared_store_unavailable"),
        "{call}"
    );
    assert!(
        requests
            .metrics()
            .await
            .contains("warden_rejections_total{reason=\"shared_store_unavailable\"}")
    );

    redis.restart().await;
    let back = within(Duration::from_secs(5), async || {
        session.ping_status().await == StatusCode::OK
    })
    .await;
    assert!(back.is_some(), "requests go through once Redis is back");
    assert_eq!(session.delete().await, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_password_from_the_environment() {
    let ca = TestCa::new("redis test CA");
    let issued = ca.issue("redis", &["127.0.0.1", "localhost"]);
    let password = "s3cret-redis-password";
    let redis = TestRedis::start_secured(Secured {
        tls: Some((issued.cert, issued.key)),
        password: Some(password.to_owned()),
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("redis-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the CA");
    let key = SessionKey::generate().expect("random").to_base64();
    let config = format!(
        "{}[cluster]\nredis_url = \"rediss://127.0.0.1:{}\"\nca_file = \"{}\"\n\
         password = \"${{env:WARDEN_TEST_REDIS_PASSWORD}}\"\n",
        two_callers(),
        redis.port,
        ca_file.display()
    );
    let right = [
        (SESSION_KEY_VAR, key.as_str()),
        ("WARDEN_TEST_REDIS_PASSWORD", password),
    ];
    let wrong = [
        (SESSION_KEY_VAR, key.as_str()),
        ("WARDEN_TEST_REDIS_PASSWORD", "not-the-password"),
    ];
    let (a, b, stranger) = tokio::join!(
        TestServer::spawn_process_with(&config, &right, &[]),
        TestServer::spawn_process_with(&config, &right, &[]),
        TestServer::spawn_process_with(&config, &wrong, &[]),
    );
    let a_auth = bearer(CALLER_A);
    let session = a
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    assert_eq!(session.on(&b).ping_status().await, StatusCode::OK);
    assert_eq!(session.delete().await, StatusCode::NO_CONTENT);
    let on_b = session.on(&b);
    let ended = within(Duration::from_secs(1), async || {
        on_b.ping_status().await == StatusCode::NOT_FOUND
    })
    .await;
    assert!(ended.is_some(), "the revocation went through TLS and AUTH");
    assert_eq!(store_up(&b.metrics().await), Some(true));

    // A wrong password: Redis is unavailable to that replica, which says
    // so without showing what it sent.
    let refused = within(Duration::from_secs(5), async || {
        store_up(&stranger.metrics().await) == Some(false)
    })
    .await;
    assert!(refused.is_some(), "{}", stranger.log());
    let log = stranger.log();
    assert!(
        log.contains("the shared store (Redis) is unavailable"),
        "{log}"
    );
    assert!(
        !log.contains("not-the-password") && !log.contains(password),
        "{log}"
    );
}

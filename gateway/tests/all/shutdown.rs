//! Graceful shutdown of the real binary: SIGTERM under load loses no call in
//! flight, and the drain deadline cancels what is still running with a clear
//! error and says so in the exit code.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use super::support::{Session, TestServer};

/// Calls held in flight while the signal arrives.
const IN_FLIGHT: usize = 24;

/// Waits until `misbehave` has `count` calls running.
async fn wait_for_in_flight(server: &TestServer, count: u64) {
    for _ in 0..500 {
        let health = server.health().await;
        let running = health["components"]
            .as_array()
            .and_then(|components| components.iter().find(|c| c["name"] == "misbehave"))
            .and_then(|misbehave| misbehave["in_flight"].as_u64())
            .unwrap_or_default();
        if running >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the calls never were all in flight");
}

async fn sleep_call(session: &Session<'_>, ms: u64) -> Value {
    session
        .request(
            "tools/call",
            json!({"name": "misbehave.sleep", "arguments": {"ms": ms}}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_lets_every_call_in_flight_finish() {
    let mut server = TestServer::spawn_process("drain_timeout_secs = 30").await;
    let session = server.session().await;

    // Busy callers keep short calls coming on their own connections...
    let stop_load = tokio_util::sync::CancellationToken::new();
    let load: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop_load.clone();
            let addr = server.addr;
            let session_id = session.id.clone();
            tokio::spawn(async move { busy_caller(addr, &session_id, stop).await })
        })
        .collect();
    // ...while these calls are all running when the signal arrives.
    let long_calls = join_all((0..IN_FLIGHT).map(|_| sleep_call(&session, 400)));
    let signal = async {
        wait_for_in_flight(&server, IN_FLIGHT as u64).await;
        server.signal("TERM");
    };
    let (answers, ()) = tokio::join!(long_calls, signal);

    for answer in &answers {
        assert_eq!(answer["result"]["isError"], json!(false), "{answer}");
        assert_eq!(
            answer["result"]["structuredContent"]["slept_ms"],
            json!(400)
        );
    }
    stop_load.cancel();
    let mut answered = 0;
    for caller in load {
        answered += caller.await.expect("caller task");
    }
    assert!(answered > 0, "the busy callers got no answer at all");

    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));
    let log = server.log();
    assert!(log.contains("every request in flight finished"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_drain_deadline_cancels_calls_with_a_clear_error() {
    let mut server = TestServer::spawn_process("drain_timeout_secs = 0").await;
    let session = server.session().await;
    let calls = join_all((0..4).map(|_| sleep_call(&session, 450)));
    let signal = async {
        wait_for_in_flight(&server, 4).await;
        server.signal("TERM");
    };
    let (answers, ()) = tokio::join!(calls, signal);
    for answer in &answers {
        let error = &answer["error"];
        assert_eq!(error["code"], json!(-32603), "{answer}");
        assert_eq!(
            error["data"]["warden/reason"],
            json!("shutdown"),
            "{answer}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("shutting down") && message.contains("misbehave.sleep"),
            "{message}"
        );
    }
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(3));
    let log = server.log();
    assert!(log.contains("drain deadline passed"), "{log}");
}

/// Calls `text.count` over and over, one connection per call, until `stop`;
/// returns how many calls were answered. Once the server stops accepting,
/// connecting fails, which ends the loop: that is a refusal, not a loss.
async fn busy_caller(
    addr: std::net::SocketAddr,
    session_id: &str,
    stop: tokio_util::sync::CancellationToken,
) -> usize {
    let mut answered = 0;
    while !stop.is_cancelled() {
        let body = json!({
            "jsonrpc": "2.0", "id": answered, "method": "tools/call",
            "params": {"name": "text.count", "arguments": {"text": "under load"}}
        });
        match super::support::try_post(addr, session_id, body.to_string()).await {
            Some(reply) => {
                assert_eq!(reply.status, hyper::StatusCode::OK, "{}", reply.text());
                assert_eq!(reply.json()["result"]["isError"], json!(false));
                answered += 1;
            }
            None => break,
        }
    }
    answered
}

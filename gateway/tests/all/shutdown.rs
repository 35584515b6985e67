//! Graceful shutdown of the real binary: SIGTERM under load loses no call in
//! flight, and the drain deadline cancels what is still running with a clear
//! error and says so in the exit code.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use super::support::{Session, TestServer, busy_caller};

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

    // Busy callers keep short calls coming on their own connections (once
    // the listener closes, their connections are refused: not a loss)...
    let stop_load = tokio_util::sync::CancellationToken::new();
    let load: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop_load.clone();
            let addr = server.addr;
            tokio::spawn(busy_caller(addr, session.id.clone(), stop))
        })
        .collect();
    // ...while these calls are all running when the signal arrives.
    let long_calls = join_all((0..IN_FLIGHT).map(|_| sleep_call(&session, 400)));
    let signal = async {
        wait_for_in_flight(&server, IN_FLIGHT as u64).await;
        server.signal("TERM");
        // Readiness drops at once; the metrics listener keeps serving
        // through the drain, so a scrape shows it.
        server.wait_for_log("draining: not ready", 1).await;
        server.metrics().await
    };
    let (answers, metrics) = tokio::join!(long_calls, signal);
    assert!(metrics.contains("warden_ready 0"), "{metrics}");

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
        // Refused connections after the listener closed are expected.
        answered += caller.await.expect("caller task").answered;
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

//! Drives one point: N connections, each with its own session, each sending
//! its next call as soon as the previous one is answered (a closed loop).
//! Calls started during the warm-up are not counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;
use warden_benches::Summary;

use crate::client::Connection;
use crate::knobs::{Knobs, Stop};
use crate::workloads::Workload;

/// Longest a call may take before it counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What one point measured.
pub struct Measured {
    pub latency: Summary,
    /// Calls answered with a success, after the warm-up.
    pub ok: u64,
    pub errors: u64,
    /// From the end of the warm-up to the last counted call's answer.
    pub elapsed: Duration,
    pub first_error: Option<String>,
    /// One successful JSON-RPC response, to compare servers' results.
    pub sample: Option<Bytes>,
}

impl Measured {
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }
}

enum Until {
    Deadline(Instant),
    Tickets(AtomicU64),
}

struct Plan {
    workload: Workload,
    warm_until: Instant,
    until: Until,
}

impl Plan {
    /// Whether a call starting now is counted, or `None` when the point is
    /// over.
    fn next(&self) -> Option<bool> {
        let now = Instant::now();
        if now < self.warm_until {
            return Some(false);
        }
        match &self.until {
            Until::Deadline(end) => (now < *end).then_some(true),
            Until::Tickets(left) => left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
                .then_some(true),
        }
    }
}

#[derive(Default)]
struct PerConnection {
    latencies: Vec<Duration>,
    ok: u64,
    errors: u64,
    last_answer: Option<Instant>,
    first_error: Option<String>,
    sample: Option<Bytes>,
}

pub async fn measure(
    addr: SocketAddr,
    workload: &Workload,
    connections: usize,
    knobs: &Knobs,
) -> anyhow::Result<Measured> {
    // Sessions are opened before the clock starts, all of them at once.
    let mut opening = JoinSet::new();
    for _ in 0..connections {
        opening.spawn(Connection::open(addr));
    }
    let mut opened = Vec::with_capacity(connections);
    while let Some(connection) = opening.join_next().await {
        opened.push(connection??);
    }

    let warm_until = Instant::now() + knobs.warmup;
    let until = match knobs.stop {
        Stop::After(duration) => Until::Deadline(warm_until + duration),
        Stop::Requests(count) => Until::Tickets(AtomicU64::new(count)),
    };
    let plan = Arc::new(Plan {
        workload: workload.clone(),
        warm_until,
        until,
    });
    let ids = Arc::new(AtomicU64::new(1));
    let mut running = JoinSet::new();
    for connection in opened {
        running.spawn(run_connection(connection, plan.clone(), ids.clone()));
    }
    let mut total = PerConnection::default();
    while let Some(done) = running.join_next().await {
        let done = done?;
        total.latencies.extend(done.latencies);
        total.ok += done.ok;
        total.errors += done.errors;
        total.last_answer = total.last_answer.max(done.last_answer);
        total.first_error = total.first_error.or(done.first_error);
        total.sample = total.sample.or(done.sample);
    }
    Ok(Measured {
        latency: Summary::of(total.latencies),
        ok: total.ok,
        errors: total.errors,
        elapsed: total.last_answer.map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(warm_until)
        }),
        first_error: total.first_error,
        sample: total.sample,
    })
}

async fn run_connection(
    mut connection: Connection,
    plan: Arc<Plan>,
    ids: Arc<AtomicU64>,
) -> PerConnection {
    let mut out = PerConnection::default();
    while let Some(counted) = plan.next() {
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let body = Bytes::from(plan.workload.body(id));
        let started = Instant::now();
        let answer = match tokio::time::timeout(CALL_TIMEOUT, connection.call(body, id)).await {
            Ok(answer) => answer,
            Err(_) => {
                connection.reconnect();
                Err(format!("no answer within {CALL_TIMEOUT:?}"))
            }
        };
        let answered = Instant::now();
        if out.sample.is_none()
            && let Ok(message) = &answer
        {
            out.sample = Some(message.clone());
        }
        if !counted {
            continue;
        }
        out.latencies.push(answered - started);
        out.last_answer = Some(answered);
        match answer {
            Ok(_) => out.ok += 1,
            Err(reason) => {
                out.errors += 1;
                out.first_error.get_or_insert(reason);
            }
        }
    }
    out
}

//! A closed loop over N connections: each sends its next request as soon
//! as the previous one is answered. Requests started during the warm-up
//! are not counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;

use crate::Summary;
use crate::mcp_client::{Connection, Template};

/// Longest a request may take before it counts as an error.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long, or how many requests, one point measures.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// Requests started within this long after the warm-up.
    After(Duration),
    /// This many requests after the warm-up, all connections together.
    Requests(u64),
}

/// What one point measured.
pub struct Measured {
    /// Latency of the counted requests.
    pub latency: Summary,
    /// Requests answered with a success, after the warm-up.
    pub ok: u64,
    /// Requests that failed, after the warm-up.
    pub errors: u64,
    /// From the end of the warm-up to the last counted request's answer.
    pub elapsed: Duration,
    /// Why the first failed request failed.
    pub first_error: Option<String>,
    /// One successful JSON-RPC response, to compare servers' results.
    pub sample: Option<Bytes>,
}

impl Measured {
    /// Successful requests per second.
    pub fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }
}

/// Opens `count` connections to `addr` at once, each in its own new
/// session when `in_session`, else connected in none.
pub async fn connections(
    addr: SocketAddr,
    count: usize,
    in_session: bool,
) -> anyhow::Result<Vec<Connection>> {
    let mut opening = JoinSet::new();
    for _ in 0..count {
        opening.spawn(async move {
            if in_session {
                Connection::open(addr).await
            } else {
                Connection::connect(addr).await
            }
        });
    }
    let mut opened = Vec::with_capacity(count);
    while let Some(connection) = opening.join_next().await {
        opened.push(connection??);
    }
    Ok(opened)
}

enum Until {
    Deadline(Instant),
    Tickets(AtomicU64),
}

struct Plan {
    template: Template,
    warm_until: Instant,
    until: Until,
}

impl Plan {
    /// Whether a request starting now is counted, or `None` when the point
    /// is over.
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

/// Sends `template` requests (numbered from 1) on every connection, in a
/// closed loop, for `warmup` and then until `stop`. The connections are
/// closed when it returns.
pub async fn measure(
    connections: Vec<Connection>,
    template: &Template,
    warmup: Duration,
    stop: Stop,
) -> anyhow::Result<Measured> {
    let (measured, _) = measure_probed(connections, template, warmup, stop, || ()).await?;
    Ok(measured)
}

/// What a probe read at the two ends of the measured window.
pub struct Window<T> {
    /// When the warm-up ended (the probe runs on the client's thread, so
    /// up to a timer tick after it), and what the probe read then.
    pub start: (Instant, T),
    /// When the last counted request had been answered, and what the probe
    /// read then.
    pub end: (Instant, T),
}

impl<T> Window<T> {
    /// Wall time between the two readings.
    pub fn wall(&self) -> Duration {
        self.end.0.saturating_duration_since(self.start.0)
    }
}

/// [`measure`], calling `probe` when the warm-up ends and again when every
/// connection is done, so that what the server used in the measured window
/// can be told from the warm-up's. The probe runs twice per point and in
/// no request's path, so the load generator's cost per request is that of
/// [`measure`].
pub async fn measure_probed<T>(
    connections: Vec<Connection>,
    template: &Template,
    warmup: Duration,
    stop: Stop,
    mut probe: impl FnMut() -> T,
) -> anyhow::Result<(Measured, Window<T>)> {
    let mut start = None;
    if warmup.is_zero() {
        start = Some((Instant::now(), probe()));
    }
    let warm_until = Instant::now() + warmup;
    let until = match stop {
        Stop::After(duration) => Until::Deadline(warm_until + duration),
        Stop::Requests(count) => Until::Tickets(AtomicU64::new(count)),
    };
    let plan = Arc::new(Plan {
        template: template.clone(),
        warm_until,
        until,
    });
    let ids = Arc::new(AtomicU64::new(1));
    let mut running = JoinSet::new();
    for connection in connections {
        running.spawn(run_connection(connection, plan.clone(), ids.clone()));
    }
    let warm_end = tokio::time::sleep_until(warm_until.into());
    tokio::pin!(warm_end);
    let mut total = PerConnection::default();
    loop {
        // Until the warm-up is over, its end is awaited beside the
        // connections; a connection does not finish before it.
        let done = if start.is_none() {
            tokio::select! {
                done = running.join_next() => done,
                () = &mut warm_end => {
                    start = Some((Instant::now(), probe()));
                    continue;
                }
            }
        } else {
            running.join_next().await
        };
        let Some(done) = done else {
            break;
        };
        let done = done?;
        total.latencies.extend(done.latencies);
        total.ok += done.ok;
        total.errors += done.errors;
        total.last_answer = total.last_answer.max(done.last_answer);
        total.first_error = total.first_error.or(done.first_error);
        total.sample = total.sample.or(done.sample);
    }
    let end = (Instant::now(), probe());
    // Only when no connection was given: then nothing was measured either.
    let start = match start {
        Some(start) => start,
        None => (end.0, probe()),
    };
    let measured = Measured {
        latency: Summary::of(total.latencies),
        ok: total.ok,
        errors: total.errors,
        elapsed: total.last_answer.map_or(Duration::ZERO, |last| {
            last.saturating_duration_since(warm_until)
        }),
        first_error: total.first_error,
        sample: total.sample,
    };
    Ok((measured, Window { start, end }))
}

async fn run_connection(
    mut connection: Connection,
    plan: Arc<Plan>,
    ids: Arc<AtomicU64>,
) -> PerConnection {
    let mut out = PerConnection::default();
    while let Some(counted) = plan.next() {
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let body = plan.template.body(id);
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

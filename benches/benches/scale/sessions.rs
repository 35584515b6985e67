//! Sessions: what an idle Warden holds, how fast it creates sessions, and
//! what many idle sessions cost it. A creation is one `initialize` POST on
//! an open keep-alive connection, answered 200 with a session id; the
//! `notifications/initialized` a real client sends next (a second POST,
//! answered 202) is not part of it.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use hyper::header::HeaderValue;
use warden_benches::drive::{self, Measured, Stop};
use warden_benches::mcp_client::{Connection, Template};

use crate::Bench;
use crate::knobs::Knobs;

/// `server.max_sessions` while the creation rate is measured: far above
/// what a few seconds can create here, so no creation is refused.
const CREATION_MAX_SESSIONS: u64 = 10_000_000;
/// Sessions created before the many, and asked for a `ping` after them.
pub const EARLY_SESSIONS: u64 = 3;
/// Sessions kept beyond those created: the readiness check's, and margin.
const SPARE_SESSIONS: u64 = 100;
/// Longest the creation of the many sessions may take, each half.
const CREATION_WITHIN: Duration = Duration::from_secs(600);

/// Warden's resident set after start and one initialize.
pub async fn idle(bench: &Bench) -> anyhow::Result<u64> {
    let running = bench.start("idle", |config| config).await?;
    tokio::time::sleep(crate::SETTLE).await;
    crate::rss(&running)
}

/// The creation rate of `knobs.creators` connections.
pub struct Creation {
    pub measured: Measured,
    /// Sessions Warden keeps local state for afterwards (`/healthz`).
    pub held: u64,
    pub rss_after: u64,
}

pub async fn creation(bench: &Bench, knobs: &Knobs) -> anyhow::Result<Creation> {
    let mut running = bench
        .start("creation", |config| {
            config.number("server", "max_sessions", CREATION_MAX_SESSIONS)
        })
        .await?;
    let connections = drive::connections(running.addr, knobs.creators, false).await?;
    let measured = drive::measure(
        connections,
        &Template::initialize(),
        knobs.warmup,
        Stop::After(knobs.secs),
    )
    .await?;
    running.check_alive()?;
    tokio::time::sleep(crate::SETTLE).await;
    let rss_after = crate::rss(&running)?;
    Ok(Creation {
        measured,
        held: live_sessions(&running).await?,
        rss_after,
    })
}

/// Many sessions created, then left idle.
pub struct IdleSessions {
    /// Sessions created (the early ones included).
    pub created: u64,
    /// Creations that failed.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Creations per second, both halves together.
    pub rate: f64,
    /// After start and one initialize.
    pub rss_before: u64,
    /// After the first half of the sessions.
    pub rss_half: u64,
    /// After all of them.
    pub rss_after: u64,
    /// Sessions created in the second half.
    pub second_half: u64,
    /// Sessions Warden keeps local state for afterwards (`/healthz`).
    pub held: u64,
    /// Length of a session id (the `Mcp-Session-Id` header's value).
    pub id_bytes: usize,
    /// Early sessions that answered `ping` afterwards, of [`EARLY_SESSIONS`].
    pub early_answered: u64,
    pub early_error: Option<String>,
}

impl IdleSessions {
    /// Resident bytes per session, from start to the end.
    pub fn bytes_per_session(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.created as f64
    }

    /// Resident bytes per session of the second half: the cost of one more
    /// session, without the one-time growth of the first requests.
    pub fn marginal_bytes_per_session(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_half) as f64 / self.second_half as f64
    }
}

pub async fn idle_sessions(bench: &Bench, knobs: &Knobs) -> anyhow::Result<IdleSessions> {
    ensure!(
        knobs.sessions > 2 * EARLY_SESSIONS,
        "WARDEN_SCALE_SESSIONS must be above {}",
        2 * EARLY_SESSIONS
    );
    // The default cap (10,000) would refuse most of them.
    let mut running = bench
        .start("sessions", |config| {
            config.number("server", "max_sessions", knobs.sessions + SPARE_SESSIONS)
        })
        .await?;
    tokio::time::sleep(crate::SETTLE).await;
    let rss_before = crate::rss(&running)?;

    let mut first = Connection::connect(running.addr).await?;
    let mut early = Vec::new();
    for _ in 0..EARLY_SESSIONS {
        early.push(first.new_session().await?);
    }
    drop(first);
    let id_bytes = early
        .iter()
        .flatten()
        .map(HeaderValue::len)
        .max()
        .unwrap_or(0);
    let first_half = knobs.sessions / 2 - EARLY_SESSIONS;
    let second_half = knobs.sessions - knobs.sessions / 2;
    let a = create(running.addr, knobs.creators, first_half).await?;
    tokio::time::sleep(crate::SETTLE).await;
    let rss_half = crate::rss(&running)?;
    let b = create(running.addr, knobs.creators, second_half).await?;
    running.check_alive()?;
    tokio::time::sleep(crate::SETTLE).await;
    let rss_after = crate::rss(&running)?;

    let (early_answered, early_error) = ping_all(&running, early).await;
    let created_ok = EARLY_SESSIONS + a.ok + b.ok;
    let seconds = (a.elapsed + b.elapsed).as_secs_f64();
    Ok(IdleSessions {
        created: created_ok,
        errors: a.errors + b.errors,
        first_error: a.first_error.or(b.first_error),
        rate: if seconds > 0.0 {
            (a.ok + b.ok) as f64 / seconds
        } else {
            0.0
        },
        rss_before,
        rss_half,
        rss_after,
        second_half: b.ok,
        held: live_sessions(&running).await?,
        id_bytes,
        early_answered,
        early_error,
    })
}

/// Creates `count` sessions over `creators` connections, which are closed
/// when it returns.
async fn create(
    addr: std::net::SocketAddr,
    creators: usize,
    count: u64,
) -> anyhow::Result<Measured> {
    let connections = drive::connections(addr, creators, false).await?;
    let initialize = Template::initialize();
    let creating = drive::measure(
        connections,
        &initialize,
        Duration::ZERO,
        Stop::Requests(count),
    );
    tokio::time::timeout(CREATION_WITHIN, creating)
        .await
        .with_context(|| format!("{count} sessions not created within {CREATION_WITHIN:?}"))?
}

/// How many of `sessions` answer a `ping`, each on a new connection, and
/// why the first that did not.
async fn ping_all(
    running: &warden_benches::server::Running,
    sessions: Vec<Option<HeaderValue>>,
) -> (u64, Option<String>) {
    let ping = Template::new("ping", &serde_json::json!({}));
    let mut answered = 0;
    let mut first_error = None;
    for session in sessions {
        let outcome = async {
            let mut connection = Connection::new(running.addr).map_err(|e| format!("{e:#}"))?;
            connection.join(session);
            let call = connection.call(ping.body(1), 1);
            tokio::time::timeout(Duration::from_secs(10), call)
                .await
                .map_err(|_| "no answer within 10 s".to_owned())?
        }
        .await;
        match outcome {
            Ok(_) => answered += 1,
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    (answered, first_error)
}

/// The `sessions` figure of Warden's `/healthz`: sessions with local state.
async fn live_sessions(running: &warden_benches::server::Running) -> anyhow::Result<u64> {
    let mut connection = Connection::connect(running.addr).await?;
    let (status, body) = connection.get("/healthz").await?;
    ensure!(status.is_success(), "/healthz answered {status}");
    let health: serde_json::Value = serde_json::from_slice(&body).context("/healthz JSON")?;
    health["sessions"]
        .as_u64()
        .context("no `sessions` in /healthz")
}

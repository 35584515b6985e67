//! The figures, printed (a Markdown summary against the targets, so it
//! pastes into the README) and recorded for `benches/compare`.

use warden_benches::{Better, latency_text};

use crate::connections::IdleConnections;
use crate::knobs::Knobs;
use crate::limits::OpenFiles;
use crate::sessions::{Creation, IdleSessions};

const BENCH: &str = "scale";
/// Targets: MB are 10^6 bytes.
const IDLE_RSS_TARGET: f64 = 50e6;
const CREATIONS_TARGET: f64 = 30_000.0;
const CONNECTIONS_TARGET: u64 = 10_000;
const CONNECTIONS_RSS_TARGET: f64 = 200e6;
/// "About zero" bytes per idle session: less than this.
const SESSION_BYTES_TARGET: f64 = 100.0;

pub struct Figures {
    pub idle: anyhow::Result<u64>,
    pub creation: anyhow::Result<Creation>,
    pub sessions: anyhow::Result<IdleSessions>,
    pub connections: anyhow::Result<IdleConnections>,
}

impl Figures {
    /// Whether every measurement was made.
    pub fn complete(&self) -> bool {
        self.idle.is_ok()
            && self.creation.is_ok()
            && self.sessions.is_ok()
            && self.connections.is_ok()
    }
}

pub fn print(figures: &Figures, knobs: &Knobs, files: OpenFiles) {
    println!();
    println!(
        "Warden (release, `text` component) on loopback, a fresh process per measurement; \
         MB = 10^6 bytes; one client thread.\n"
    );
    match &figures.idle {
        Ok(rss) => println!("idle: VmRSS {} after start and one initialize", mb(*rss)),
        Err(error) => println!("idle: failed: {error:#}"),
    }
    match &figures.creation {
        Ok(c) => {
            let m = &c.measured;
            println!(
                "creation: {} connections, {:?} after {:?} of warm-up: {:.0} sessions/s \
                 (one `initialize` POST each), p50 {}, p90 {}, p99 {}, max {}; {} counted, \
                 {} errors{}; Warden then held {} sessions, VmRSS {}",
                knobs.creators,
                knobs.secs,
                knobs.warmup,
                m.requests_per_sec(),
                latency_text(m.latency.p50),
                latency_text(m.latency.p90),
                latency_text(m.latency.p99),
                latency_text(m.latency.max),
                m.ok,
                m.errors,
                first(m.first_error.as_deref()),
                c.held,
                mb(c.rss_after),
            );
        }
        Err(error) => println!("creation: failed: {error:#}"),
    }
    match &figures.sessions {
        Ok(s) => println!(
            "sessions: {} created ({} errors{}) at {:.0}/s over {} connections, then idle; \
             VmRSS {} before, {} at half, {} after; {:.0} B per session overall, {:.0} B per \
             session in the second half; session ids of {} bytes; /healthz counts {} \
             sessions; early sessions answering ping afterwards: {}/{}{}",
            s.created,
            s.errors,
            first(s.first_error.as_deref()),
            s.rate,
            knobs.creators,
            mb(s.rss_before),
            mb(s.rss_half),
            mb(s.rss_after),
            s.bytes_per_session(),
            s.marginal_bytes_per_session(),
            s.id_bytes,
            s.held,
            s.early_answered,
            crate::sessions::EARLY_SESSIONS,
            first(s.early_error.as_deref()),
        ),
        Err(error) => println!("sessions: failed: {error:#}"),
    }
    match &figures.connections {
        Ok(c) => println!(
            "connections: asked for {}; open-file limits: bench {} (raised from {}, hard {}), \
             Warden {}; ephemeral ports {}; Warden's http.max_connections {}; so {} planned, \
             bound by {}; {} opened (each answered one GET /healthz), {} at a time, in \
             {:.1} s{} ({} dropped from a full accept queue); {} still open after {:?} idle; \
             Warden's descriptors {}; VmRSS {} before, {} after: {:.0} B per connection",
            c.asked,
            limit(files.soft),
            limit(files.was),
            limit(files.hard),
            limit(c.server_limit),
            limit(c.ports),
            c.max_connections,
            c.planned,
            c.bound.describe(),
            c.opened,
            crate::connections::BATCH,
            c.open_time.as_secs_f64(),
            c.failure
                .as_deref()
                .map(|failure| format!(", then stopped: {failure}"))
                .unwrap_or_default(),
            c.listen_overflows.map_or("?".into(), |n| n.to_string()),
            c.still_open,
            crate::connections::HOLD,
            limit(c.server_fds),
            mb(c.rss_before),
            mb(c.rss_after),
            c.bytes_per_connection(),
        ),
        Err(error) => println!("connections: failed: {error:#}"),
    }
    println!();
    summary(figures, knobs);
}

/// The Markdown table against the targets.
fn summary(figures: &Figures, knobs: &Knobs) {
    println!("| measurement | figure | target | met |");
    println!("|---|---|---|---|");
    let row = |what: String, figure: String, target: &str, met: Option<bool>| {
        let met = match met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not measured",
        };
        println!("| {what} | {figure} | {target} | {met} |");
    };
    let idle = figures.idle.as_ref().ok();
    row(
        "idle RSS (start + 1 initialize)".into(),
        idle.map_or("failed".into(), |rss| mb(*rss)),
        "≤ 50 MB",
        idle.map(|rss| (*rss as f64) <= IDLE_RSS_TARGET),
    );
    let creation = figures.creation.as_ref().ok();
    row(
        format!("session creations/s ({} connections)", knobs.creators),
        creation.map_or("failed".into(), |c| {
            format!(
                "{:.0}/s (p50 {}, p99 {})",
                c.measured.requests_per_sec(),
                latency_text(c.measured.latency.p50),
                latency_text(c.measured.latency.p99)
            )
        }),
        "≥ 30,000/s",
        creation.map(|c| c.measured.requests_per_sec() >= CREATIONS_TARGET),
    );
    let connections = figures.connections.as_ref().ok();
    row(
        format!("{} idle connections", knobs.connections),
        connections.map_or("failed".into(), |c| {
            format!(
                "{} open: VmRSS {} ({:.0} B each)",
                c.still_open,
                mb(c.rss_after),
                c.bytes_per_connection()
            )
        }),
        "10,000 < 200 MB",
        connections
            .filter(|c| c.still_open >= CONNECTIONS_TARGET)
            .map(|c| (c.rss_after as f64) < CONNECTIONS_RSS_TARGET),
    );
    let sessions = figures.sessions.as_ref().ok();
    row(
        format!("{} idle sessions", knobs.sessions),
        sessions.map_or("failed".into(), |s| {
            format!(
                "{:.0} B each ({:.0} B in the second half), VmRSS {} → {}",
                s.bytes_per_session(),
                s.marginal_bytes_per_session(),
                mb(s.rss_before),
                mb(s.rss_after)
            )
        }),
        "≈ 0 (< 100 B each)",
        sessions.map(|s| s.marginal_bytes_per_session() < SESSION_BYTES_TARGET),
    );
}

/// Appends every figure to the results file (`warden_benches::record`).
pub fn record(figures: &Figures, knobs: &Knobs) {
    let lower = |name: &str, metric: &str, value: f64, unit: &str| {
        warden_benches::record(BENCH, name, metric, value, unit, Better::Lower);
    };
    let higher = |name: &str, metric: &str, value: f64, unit: &str| {
        warden_benches::record(BENCH, name, metric, value, unit, Better::Higher);
    };
    if let Ok(rss) = &figures.idle {
        lower("idle", "rss", *rss as f64, "bytes");
    }
    if let Ok(c) = &figures.creation {
        let name = format!("session creation, {} connections", knobs.creators);
        higher(&name, "rate", c.measured.requests_per_sec(), "per_s");
        c.measured.latency.record(BENCH, &name);
    }
    if let Ok(s) = &figures.sessions {
        let name = format!("{} idle sessions", knobs.sessions);
        lower(&name, "bytes_per_session", s.bytes_per_session(), "bytes");
        let marginal = s.marginal_bytes_per_session();
        lower(&name, "marginal_bytes_per_session", marginal, "bytes");
        lower(&name, "rss", s.rss_after as f64, "bytes");
        higher(&name, "creation_rate", s.rate, "per_s");
    }
    if let Ok(c) = &figures.connections {
        let name = format!("{} idle connections", knobs.connections);
        higher(&name, "open", c.still_open as f64, "connections");
        lower(&name, "rss", c.rss_after as f64, "bytes");
        let per = c.bytes_per_connection();
        lower(&name, "bytes_per_connection", per, "bytes");
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn limit(value: Option<u64>) -> String {
    value.map_or("unlimited or unknown".into(), |value| value.to_string())
}

fn first(error: Option<&str>) -> String {
    error.map_or(String::new(), |error| format!(", first: {error}"))
}

//! Idle connections: as many keep-alive connections as the limits allow,
//! up to the number asked for, each carrying one `GET /healthz` (so Warden
//! has accepted and served it), then all held idle.

use std::time::{Duration, Instant};

use anyhow::ensure;
use tokio::task::JoinSet;
use warden_benches::mcp_client::Connection;

use crate::Bench;
use crate::knobs::Knobs;
use crate::limits::{OpenFiles, ephemeral_ports, listen_overflows, own_open_fds};

/// Connections opened at once: inside Warden's listen backlog (128: the
/// tokio listener's default), so the kernel drops none of them.
pub const BATCH: usize = 64;
/// Descriptors left free on each side for everything else.
const SPARE_FDS: u64 = 64;
/// Longest one connection may take to connect and be answered.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// The largest `http.max_connections` Warden accepts.
const MAX_CONNECTIONS: u64 = 1_000_000;
/// How long the connections are held idle.
pub const HOLD: Duration = Duration::from_secs(2);
/// `http.header_read_timeout_ms` (the idle time Warden allows a keep-alive
/// connection): its maximum, five minutes, so connections opened first are
/// not closed while the last ones open.
const IDLE_TIMEOUT_MS: u64 = 300_000;

/// The limit that bounded the number of connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// As many as asked for.
    Asked,
    /// This process's open-file limit.
    ClientFds,
    /// Warden's open-file limit.
    ServerFds,
    /// The ephemeral port range.
    Ports,
    /// Warden's `http.max_connections`, at its largest.
    MaxConnections,
}

impl Bound {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Asked => "none (as many as asked for)",
            Self::ClientFds => "the bench's open files (RLIMIT_NOFILE)",
            Self::ServerFds => "Warden's open files (RLIMIT_NOFILE)",
            Self::Ports => "ephemeral ports (net.ipv4.ip_local_port_range)",
            Self::MaxConnections => "Warden's http.max_connections",
        }
    }
}

pub struct IdleConnections {
    pub asked: u64,
    /// How many the limits allowed, and which one bound it.
    pub planned: u64,
    pub bound: Bound,
    /// Connected and answered.
    pub opened: u64,
    /// Still open after the idle time.
    pub still_open: u64,
    /// Why opening stopped short of `planned`, if it did.
    pub failure: Option<String>,
    pub open_time: Duration,
    /// Connections the kernel dropped from a full accept queue meanwhile
    /// (any listener's), if readable.
    pub listen_overflows: Option<u64>,
    pub rss_before: u64,
    pub rss_after: u64,
    /// Warden's descriptors after the idle time, and its limit.
    pub server_fds: Option<u64>,
    pub server_limit: Option<u64>,
    pub ports: Option<u64>,
    pub max_connections: u64,
}

impl IdleConnections {
    pub fn bytes_per_connection(&self) -> f64 {
        if self.opened == 0 {
            return 0.0;
        }
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.opened as f64
    }
}

pub async fn idle_connections(
    bench: &Bench,
    knobs: &Knobs,
    files: OpenFiles,
) -> anyhow::Result<IdleConnections> {
    // Above the connections asked for (within the accepted range), so
    // Warden's own cap is not the bound.
    let max_connections = (knobs.connections + SPARE_FDS).min(MAX_CONNECTIONS);
    let mut running = bench
        .start("connections", |config| {
            config
                .number("http", "max_connections", max_connections)
                .number("http", "header_read_timeout_ms", IDLE_TIMEOUT_MS)
        })
        .await?;
    tokio::time::sleep(crate::SETTLE).await;
    let rss_before = crate::rss(&running)?;
    let server_limit = running.open_files_limit();
    let ports = ephemeral_ports();
    let room = |limit: Option<u64>, used: u64| {
        limit.map_or(u64::MAX, |limit| limit.saturating_sub(used + SPARE_FDS))
    };
    let (planned, bound) = [
        (knobs.connections, Bound::Asked),
        (room(files.soft, own_open_fds()), Bound::ClientFds),
        (
            room(server_limit, running.open_fds().unwrap_or(0)),
            Bound::ServerFds,
        ),
        (ports.unwrap_or(u64::MAX), Bound::Ports),
        (max_connections, Bound::MaxConnections),
    ]
    .into_iter()
    .min_by_key(|(count, _)| *count)
    .unwrap_or((knobs.connections, Bound::Asked));

    let overflows_before = listen_overflows();
    let started = Instant::now();
    let (held, failure) = open(running.addr, planned).await;
    let open_time = started.elapsed();
    let overflows = listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after.saturating_sub(before));
    running.check_alive()?;
    tokio::time::sleep(HOLD).await;
    let rss_after = crate::rss(&running)?;
    let still_open = held.iter().filter(|c| c.is_open()).count() as u64;
    let server_fds = running.open_fds();
    ensure!(!held.is_empty(), "no connection opened: {failure:?}");
    Ok(IdleConnections {
        asked: knobs.connections,
        planned,
        bound,
        opened: held.len() as u64,
        still_open,
        failure,
        open_time,
        listen_overflows: overflows,
        rss_before,
        rss_after,
        server_fds,
        server_limit,
        ports,
        max_connections,
    })
}

/// Opens up to `count` connections, [`BATCH`] at a time, each answered
/// once; stops at the first batch with a failure and says why.
async fn open(addr: std::net::SocketAddr, count: u64) -> (Vec<Connection>, Option<String>) {
    let mut held = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    while (held.len() as u64) < count {
        let batch = (count - held.len() as u64).min(BATCH as u64);
        let mut opening = JoinSet::new();
        for _ in 0..batch {
            opening.spawn(tokio::time::timeout(CONNECT_WITHIN, answered(addr)));
        }
        let mut failure = None;
        while let Some(done) = opening.join_next().await {
            match done {
                Ok(Ok(Ok(connection))) => held.push(connection),
                Ok(Ok(Err(error))) => {
                    failure.get_or_insert(format!("{error:#}"));
                }
                Ok(Err(_)) => {
                    failure.get_or_insert(format!("no answer within {CONNECT_WITHIN:?}"));
                }
                Err(error) => {
                    failure.get_or_insert(error.to_string());
                }
            }
        }
        if let Some(failure) = failure {
            return (held, Some(failure));
        }
    }
    (held, None)
}

/// A connection that Warden has answered a `GET /healthz` on.
async fn answered(addr: std::net::SocketAddr) -> anyhow::Result<Connection> {
    let mut connection = Connection::connect(addr).await?;
    let (status, _) = connection.get("/healthz").await?;
    ensure!(status.is_success(), "/healthz answered {status}");
    Ok(connection)
}

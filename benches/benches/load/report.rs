//! The results table: one row per server, workload and connection count,
//! with each server's throughput as a ratio to Warden's on the same point.

use std::time::Duration;

use warden_benches::drive::Measured;
use warden_benches::latency_text;

use crate::servers::Server;

pub struct Row {
    pub server: Server,
    pub workload: String,
    pub connections: usize,
    pub outcome: Result<Point, String>,
}

impl Row {
    /// The point's name, as progress lines and recorded figures give it.
    pub fn name(&self) -> String {
        format!(
            "{} / {} / {} conns",
            self.server.label(),
            self.workload,
            self.connections
        )
    }
}

pub struct Point {
    pub measured: Measured,
    pub peak_rss_bytes: Option<u64>,
    /// Why it could not be read, when it could not.
    pub server_cpu: Result<ServerCpu, String>,
    /// The structured result differs from the first server's.
    pub differs: bool,
}

/// The server process's CPU time over the measured window.
pub struct ServerCpu {
    /// User and system time, all its threads together.
    pub used: Duration,
    /// Wall time between the two readings.
    pub wall: Duration,
    /// Requests answered in the window, failures too: the server did work
    /// for those as well.
    pub calls: u64,
}

impl ServerCpu {
    /// µs of the server's CPU per call; `None` when no call was answered.
    pub fn micros_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.used.as_secs_f64() * 1e6 / self.calls as f64)
    }

    /// CPU-seconds per wall-second: 1.0 is one core kept busy.
    pub fn cpus(&self) -> Option<f64> {
        let wall = self.wall.as_secs_f64();
        (wall > 0.0).then(|| self.used.as_secs_f64() / wall)
    }

    /// Per call and utilisation, as the table and progress lines give them.
    pub fn texts(&self) -> (String, String) {
        (
            self.micros_per_call()
                .map_or("–".to_owned(), |micros| format!("{micros:.1} µs")),
            self.cpus()
                .map_or("–".to_owned(), |cpus| format!("{cpus:.2} CPUs")),
        )
    }
}

/// Prints the table (Markdown, so it pastes into the README as is).
pub fn print(rows: &[Row], skipped: &[(Server, String)]) {
    println!(
        "| server | workload | conns | req/s | p50 | p90 | p99 | max | errors \
         | server CPU/call | server CPU use | peak RSS | req/s vs warden |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let head = format!(
            "| {} | {} | {} |",
            row.server.label(),
            row.workload,
            row.connections
        );
        match &row.outcome {
            Ok(point) => {
                let m = &point.measured;
                let rss = point
                    .peak_rss_bytes
                    .map_or("?".to_owned(), |bytes| format!("{:.1} MiB", mib(bytes)));
                let (cpu_per_call, cpu_use) = point
                    .server_cpu
                    .as_ref()
                    .map_or(("?".to_owned(), "?".to_owned()), ServerCpu::texts);
                println!(
                    "{head} {:.0} | {} | {} | {} | {} | {}{} | {cpu_per_call} | {cpu_use} | {rss} | {} |",
                    m.requests_per_sec(),
                    latency_text(m.latency.p50),
                    latency_text(m.latency.p90),
                    latency_text(m.latency.p99),
                    latency_text(m.latency.max),
                    m.errors,
                    if point.differs {
                        " (result differs)"
                    } else {
                        ""
                    },
                    ratio(rows, row),
                );
            }
            Err(error) => println!(
                "{head} failed: {} |{}",
                first_line(error).replace('|', "/"),
                " |".repeat(9)
            ),
        }
    }
    for (server, error) in skipped {
        println!(
            "\n{} was not measured: {}",
            server.label(),
            first_line(error)
        );
    }
}

/// Records every measured point for `benches/compare`: throughput, p99,
/// the server's CPU per call, peak RSS, and each other server's throughput
/// as a ratio to Warden's (higher is better for Warden, so a baseline
/// server getting relatively faster shows as Warden regressing).
pub fn record(rows: &[Row]) {
    use warden_benches::{Better, record};
    for row in rows {
        let Ok(point) = &row.outcome else {
            continue;
        };
        let name = row.name();
        let m = &point.measured;
        record(
            "load",
            &name,
            "req/s",
            m.requests_per_sec(),
            "req/s",
            Better::Higher,
        );
        record(
            "load",
            &name,
            "p99",
            m.latency.p99.as_secs_f64() * 1e6,
            "us",
            Better::Lower,
        );
        // Its utilisation is not recorded: more of it is neither better nor
        // worse by itself (it follows the throughput).
        if let Some(micros) = point
            .server_cpu
            .as_ref()
            .ok()
            .and_then(ServerCpu::micros_per_call)
        {
            record(
                "load",
                &name,
                "server CPU/call",
                micros,
                "us",
                Better::Lower,
            );
        }
        if let Some(bytes) = point.peak_rss_bytes {
            record("load", &name, "peak RSS", mib(bytes), "MiB", Better::Lower);
        }
        if row.server != Server::Warden
            && let Some(warden_rps) = rows
                .iter()
                .find(|other| {
                    other.server == Server::Warden
                        && other.workload == row.workload
                        && other.connections == row.connections
                })
                .and_then(|other| other.outcome.as_ref().ok())
                .map(|warden| warden.measured.requests_per_sec())
            && m.requests_per_sec() > 0.0
        {
            let ratio = warden_rps / m.requests_per_sec();
            record(
                "load",
                &name,
                "warden req/s ratio",
                ratio,
                "x",
                Better::Higher,
            );
        }
    }
}

/// `row`'s throughput over Warden's on the same workload and connections.
fn ratio(rows: &[Row], row: &Row) -> String {
    let warden = rows.iter().find(|other| {
        other.server == Server::Warden
            && other.workload == row.workload
            && other.connections == row.connections
    });
    let rps = |row: &Row| {
        row.outcome
            .as_ref()
            .ok()
            .map(|p| p.measured.requests_per_sec())
    };
    match (warden.and_then(rps), rps(row)) {
        (Some(base), Some(this)) if base > 0.0 => format!("{:.2}×", this / base),
        _ => "–".to_owned(),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

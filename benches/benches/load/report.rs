//! The results table: one row per server, workload and connection count,
//! with each server's throughput as a ratio to Warden's on the same point;
//! then, where both ran, quotas in Redis against quotas in the process.

use std::time::Duration;

use warden_benches::drive::Measured;
use warden_benches::latency_text;

use crate::redis::Reading;
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
    /// What the server's Redis did in the window, if it has one.
    pub redis: Option<Result<RedisUse, String>>,
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

/// Redis over the measured window of a point: its own process, so its CPU
/// time is apart from the server's.
pub struct RedisUse {
    /// Its CPU time, per call of the server's.
    pub cpu: ServerCpu,
    /// Calls of each command in the window, most called first; the `INFO`
    /// that read them left out. Commands that scripts run are counted as
    /// well as the scripts.
    pub commands: Vec<(String, u64)>,
}

impl RedisUse {
    /// What Redis did between two readings, for `calls` calls answered.
    pub fn between(start: &Reading, end: &Reading, wall: Duration, calls: u64) -> Self {
        let mut commands: Vec<(String, u64)> = end
            .commands
            .iter()
            .filter(|(name, _)| name.as_str() != "info")
            .map(|(name, &after)| {
                let before = start.commands.get(name).copied().unwrap_or(0);
                (name.clone(), after.saturating_sub(before))
            })
            .filter(|(_, calls)| *calls > 0)
            .collect();
        commands.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self {
            cpu: ServerCpu {
                used: end.cpu.saturating_sub(start.cpu),
                wall,
                calls,
            },
            commands,
        }
    }

    /// Scripts run (`EVALSHA`, `EVAL`) per call: Warden's round trips for
    /// quotas and fuel.
    pub fn scripts_per_call(&self) -> Option<f64> {
        let scripts: u64 = self
            .commands
            .iter()
            .filter(|(name, _)| matches!(name.as_str(), "evalsha" | "eval"))
            .map(|(_, calls)| calls)
            .sum();
        self.per_call(scripts)
    }

    /// Each command per call, the most called first: `evalsha 0.188, get
    /// 0.188, ...`.
    pub fn commands_text(&self) -> String {
        let texts: Vec<String> = self
            .commands
            .iter()
            .filter_map(|(name, calls)| Some(format!("{name} {:.3}", self.per_call(*calls)?)))
            .collect();
        if texts.is_empty() {
            "none".to_owned()
        } else {
            texts.join(", ")
        }
    }

    fn per_call(&self, count: u64) -> Option<f64> {
        (self.cpu.calls > 0).then(|| count as f64 / self.cpu.calls as f64)
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
    print_redis_comparison(rows);
}

/// A point of `server` with the same workload and connections as `row`,
/// if it was measured.
fn same_point<'a>(rows: &'a [Row], row: &Row, server: Server) -> Option<&'a Point> {
    rows.iter()
        .find(|other| {
            other.server == server
                && other.workload == row.workload
                && other.connections == row.connections
        })
        .and_then(|other| other.outcome.as_ref().ok())
}

/// What keeping the quotas in Redis changes, on one point: `redis` and
/// `local` are the same point with the quotas in Redis and in the process.
struct RedisCost<'a> {
    redis: &'a Point,
    local: &'a Point,
}

impl RedisCost<'_> {
    /// Every point measured with the quotas in Redis and in the process.
    fn of(rows: &[Row]) -> Vec<(&Row, RedisCost<'_>)> {
        rows.iter()
            .filter(|row| row.server == Server::WardenRedis)
            .filter_map(|row| {
                let redis = row.outcome.as_ref().ok()?;
                let local = same_point(rows, row, Server::WardenQuotas)?;
                Some((row, RedisCost { redis, local }))
            })
            .collect()
    }

    /// Throughput with Redis over throughput without.
    fn ratio(&self) -> Option<f64> {
        let local = self.local.measured.requests_per_sec();
        (local > 0.0).then(|| self.redis.measured.requests_per_sec() / local)
    }

    /// µs added at the median and at the 99th percentile (negative when
    /// Redis's point was faster).
    fn added(&self) -> (f64, f64) {
        let (redis, local) = (&self.redis.measured.latency, &self.local.measured.latency);
        (
            signed_micros(redis.p50, local.p50),
            signed_micros(redis.p99, local.p99),
        )
    }
}

fn signed_micros(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() - b.as_secs_f64()) * 1e6
}

fn cpu_per_call(point: &Point) -> Option<f64> {
    point
        .server_cpu
        .as_ref()
        .ok()
        .and_then(ServerCpu::micros_per_call)
}

fn micros_text(micros: Option<f64>) -> String {
    micros.map_or("?".to_owned(), |micros| format!("{micros:.1} µs"))
}

/// Where quotas were measured both in the process and in Redis: what Redis
/// changed, point by point.
fn print_redis_comparison(rows: &[Row]) {
    let costs = RedisCost::of(rows);
    if costs.is_empty() {
        return;
    }
    println!(
        "\nQuotas in Redis against quotas in the process, same run (\"added\": Redis's figure \
         minus the process's; Redis is a process of its own on the same cores, so its CPU is \
         counted apart, per call of Warden's):\n"
    );
    println!(
        "| workload | conns | req/s warden | req/s in process | req/s Redis | Redis ÷ in process \
         | p50 added | p99 added | Warden CPU/call in process | Warden CPU/call Redis \
         | Redis CPU/call | Warden + Redis CPU/call | Redis commands/call |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
    for (row, cost) in &costs {
        let rps = |point: Option<&Point>| {
            point.map_or("–".to_owned(), |point| {
                format!("{:.0}", point.measured.requests_per_sec())
            })
        };
        let (p50, p99) = cost.added();
        let redis = cost
            .redis
            .redis
            .as_ref()
            .and_then(|redis| redis.as_ref().ok());
        let redis_cpu = redis.and_then(|redis| redis.cpu.micros_per_call());
        let both = cpu_per_call(cost.redis).zip(redis_cpu).map(|(a, b)| a + b);
        let commands = match (redis, cost.redis.redis.as_ref()) {
            (Some(redis), _) => format!(
                "{:.3} scripts: {}",
                redis.scripts_per_call().unwrap_or(0.0),
                redis.commands_text()
            ),
            (None, Some(Err(error))) => format!("unread: {}", first_line(error).replace('|', "/")),
            (None, _) => "?".to_owned(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {p50:+.0} µs | {p99:+.0} µs | {} | {} | {} | {} | {commands} |",
            row.workload,
            row.connections,
            rps(same_point(rows, row, Server::Warden)),
            rps(Some(cost.local)),
            rps(Some(cost.redis)),
            cost.ratio()
                .map_or("–".to_owned(), |ratio| format!("{ratio:.2}×")),
            micros_text(cpu_per_call(cost.local)),
            micros_text(cpu_per_call(cost.redis)),
            micros_text(redis_cpu),
            micros_text(both),
        );
    }
}

/// Records every measured point for `benches/compare`: throughput, p99,
/// the server's CPU per call, peak RSS, and each other server's throughput
/// as a ratio to Warden's (higher is better for Warden, so a baseline
/// server getting relatively faster shows as Warden regressing). Warden
/// with quotas is Warden too: its throughput is recorded as a ratio to
/// Warden's without them (higher is better: checking them got cheaper);
/// with the quotas in Redis, also its ratio to the quotas in the process,
/// the p50 and p99 it adds, Redis's CPU per call and the scripts it ran
/// per call (all lower is better but the ratio).
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
        if row.server.has_quotas() {
            if let Some(warden) = same_point(rows, row, Server::Warden)
                && warden.measured.requests_per_sec() > 0.0
            {
                let ratio = m.requests_per_sec() / warden.measured.requests_per_sec();
                record("load", &name, "req/s vs warden", ratio, "x", Better::Higher);
            }
        } else if row.server != Server::Warden
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
    for (row, cost) in RedisCost::of(rows) {
        let name = row.name();
        if let Some(ratio) = cost.ratio() {
            record(
                "load",
                &name,
                "req/s vs quotas in process",
                ratio,
                "x",
                Better::Higher,
            );
        }
        let (p50, p99) = cost.added();
        record(
            "load",
            &name,
            "p50 added by Redis",
            p50,
            "us",
            Better::Lower,
        );
        record(
            "load",
            &name,
            "p99 added by Redis",
            p99,
            "us",
            Better::Lower,
        );
        if let Some(Ok(redis)) = &cost.redis.redis {
            if let Some(micros) = redis.cpu.micros_per_call() {
                record("load", &name, "Redis CPU/call", micros, "us", Better::Lower);
            }
            if let Some(scripts) = redis.scripts_per_call() {
                record(
                    "load",
                    &name,
                    "Redis scripts/call",
                    scripts,
                    "scripts",
                    Better::Lower,
                );
            }
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

//! End-to-end load: Warden and baseline MCP servers, each started here on
//! loopback, driven by N keep-alive HTTP/1.1 connections (one MCP session
//! each) calling one tool in a closed loop. Prints, per server, workload
//! and connection count: requests per second, latency percentiles, errors,
//! the server's CPU time per call and CPU use (from `/proc/<pid>/stat` at
//! the start and end of the measured window), its peak RSS, and each
//! baseline's throughput as a ratio to Warden's. With `warden-quotas` and
//! `warden-redis` (Warden with every quota on, counted in the process or
//! shared through a Redis the bench starts), it also prints what Redis
//! adds on each point both measured: the throughput ratio, the p50 and p99
//! added, both servers' CPU per call and Redis's own, and the commands
//! Warden sent it per call.
//!
//! ```sh
//! cargo bench -p warden-benches --bench load
//! WARDEN_LOAD_SECS=1 WARDEN_LOAD_WARMUP_SECS=0.5 cargo bench -p warden-benches --bench load
//! ```
//!
//! Knobs (environment): `WARDEN_LOAD_SECS` (measured seconds per point,
//! default 5), `WARDEN_LOAD_REQUESTS` (a request count per point instead),
//! `WARDEN_LOAD_WARMUP_SECS` (default 1), `WARDEN_LOAD_CONNECTIONS` (default
//! `1,64`), `WARDEN_LOAD_SERVERS` (default
//! `warden,warden-quotas,warden-redis,rmcp,rmcp-stateless,hyper,python`),
//! `WARDEN_LOAD_WORKLOADS` (default `count,find,query`),
//! `WARDEN_LOAD_REDIS_LEASE_MAX` (`[cluster] lease_max` of `warden-redis`,
//! default Warden's own, 16).
//!
//! Each point gets a freshly started server, so its peak RSS is that
//! point's alone. The client runs on one thread of the same machine as the
//! server; on two cores it takes a share of the CPU from every server alike.

mod knobs;
mod redis;
mod report;
mod servers;
mod workloads;

use std::collections::HashMap;
use std::process::ExitCode;

use serde_json::Value;
use warden_benches::drive::{self, Stop};
use warden_benches::warden::Paths;

use crate::knobs::Knobs;
use crate::report::{Point, RedisUse, Row, ServerCpu};
use crate::servers::{Prepared, Server};
use crate::workloads::Workload;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        // The table is printed; the status tells scripts it has holes.
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("load: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every point and prints the table; `false` when a server could not
/// be built or a point failed.
fn run() -> anyhow::Result<bool> {
    let knobs = Knobs::from_env()?;
    let paths = Paths::discover()?;
    // One client thread: the rest of the machine is the server's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    // The first structured result each workload produced, to check that
    // every server computes the same thing.
    let mut reference: HashMap<&str, Value> = HashMap::new();
    for &server in &knobs.servers {
        eprintln!("load: building {}", server.label());
        let prepared = match servers::prepare(server, &paths, knobs.redis_lease_max) {
            Ok(prepared) => prepared,
            Err(error) => {
                eprintln!(
                    "load: {} cannot be built, skipping it: {error:#}",
                    server.label()
                );
                skipped.push((server, format!("{error:#}")));
                continue;
            }
        };
        // One start before the points, so that one-time work (Warden
        // compiling its components into its cache) falls in none of them.
        if let Err(error) = runtime.block_on(prepared.start()).map(drop) {
            eprintln!(
                "load: {} does not start, skipping it: {error:#}",
                server.label()
            );
            skipped.push((server, format!("{error:#}")));
            continue;
        }
        for workload in &knobs.workloads {
            for &connections in &knobs.connections {
                let mut row = runtime.block_on(point(&prepared, workload, connections, &knobs));
                if let Ok(point) = &mut row.outcome {
                    point.differs = differs(server, workload, point, &mut reference);
                }
                progress(&row);
                rows.push(row);
            }
        }
    }
    println!();
    println!("{}", describe(&knobs));
    report::print(&rows, &skipped);
    report::record(&rows);
    Ok(skipped.is_empty() && rows.iter().all(|row| row.outcome.is_ok()))
}

async fn point(prepared: &Prepared, workload: &Workload, connections: usize, knobs: &Knobs) -> Row {
    let outcome = async {
        // Dropped at the end of this block, which kills the server (and
        // its Redis).
        let started = prepared.start().await?;
        // Sessions are opened before the clock starts, all of them at once.
        let opened = drive::connections(started.server.addr, connections, true).await?;
        let (measured, window) =
            drive::measure_probed(opened, &workload.request, knobs.warmup, knobs.stop, || {
                (
                    started.server.cpu_time(),
                    started.redis.as_ref().map(redis::Redis::read),
                )
            })
            .await?;
        let wall = window.wall();
        let calls = measured.ok + measured.errors;
        let ((server_start, redis_start), (server_end, redis_end)) = (window.start.1, window.end.1);
        let server_cpu = match (server_start, server_end) {
            (Ok(start), Ok(end)) => Ok(ServerCpu {
                used: end.saturating_sub(start),
                wall,
                calls,
            }),
            (Err(error), _) | (_, Err(error)) => Err(format!("{error:#}")),
        };
        let redis = match (redis_start, redis_end) {
            (Some(Ok(start)), Some(Ok(end))) => {
                Some(Ok(RedisUse::between(&start, &end, wall, calls)))
            }
            (Some(Err(error)), _) | (_, Some(Err(error))) => Some(Err(format!("{error:#}"))),
            _ => None,
        };
        anyhow::Ok(Point {
            measured,
            peak_rss_bytes: started.server.peak_rss_bytes(),
            server_cpu,
            redis,
            differs: false,
        })
    }
    .await;
    Row {
        server: prepared.server,
        workload: workload.label.clone(),
        connections,
        outcome: outcome.map_err(|error| format!("{error:#}")),
    }
}

/// Whether `point`'s structured result differs from the first one seen for
/// `workload`; the first one becomes the reference.
fn differs(
    server: Server,
    workload: &Workload,
    point: &Point,
    reference: &mut HashMap<&str, Value>,
) -> bool {
    if !server.runs_tools() {
        return false;
    }
    let structured = point
        .measured
        .sample
        .as_ref()
        .and_then(|sample| serde_json::from_slice::<Value>(sample).ok())
        .and_then(|mut message| {
            message["result"]
                .get_mut("structuredContent")
                .map(Value::take)
        });
    let Some(structured) = structured else {
        eprintln!(
            "load: {} returned no structured content for {}",
            server.label(),
            workload.label
        );
        return true;
    };
    let first = reference
        .entry(workload.name)
        .or_insert_with(|| structured.clone());
    let differs = *first != structured;
    if differs {
        eprintln!(
            "load: {}'s result for {} differs from the first server's",
            server.label(),
            workload.label
        );
    }
    differs
}

fn progress(row: &Row) {
    let what = row.name();
    match &row.outcome {
        Ok(point) => {
            let m = &point.measured;
            let cpu = match &point.server_cpu {
                Ok(cpu) => {
                    let (per_call, cpus) = cpu.texts();
                    format!("server CPU {per_call}/call ({cpus})")
                }
                Err(error) => format!("server CPU unknown ({error})"),
            };
            let redis = match &point.redis {
                None => String::new(),
                Some(Ok(redis)) => {
                    let (per_call, cpus) = redis.cpu.texts();
                    format!(
                        ", Redis CPU {per_call}/call ({cpus}), {:.3} scripts/call",
                        redis.scripts_per_call().unwrap_or(0.0)
                    )
                }
                Some(Err(error)) => format!(", Redis unread ({error})"),
            };
            eprintln!(
                "load: {what}: {:.0} req/s, p50 {:?}, p99 {:?}, {cpu}{redis}, {} B answers, {} errors{}",
                m.requests_per_sec(),
                m.latency.p50,
                m.latency.p99,
                m.sample.as_ref().map_or(0, bytes::Bytes::len),
                m.errors,
                m.first_error
                    .as_deref()
                    .map(|error| format!(" (first: {error})"))
                    .unwrap_or_default()
            );
        }
        Err(error) => eprintln!("load: {what}: failed: {error}"),
    }
}

fn describe(knobs: &Knobs) -> String {
    let amount = match knobs.stop {
        Stop::After(duration) => format!("{duration:?} per point"),
        Stop::Requests(count) => format!("{count} requests per point"),
    };
    let sizes: Vec<String> = knobs
        .workloads
        .iter()
        .map(|w| format!("{}: {} B requests", w.name, w.request_bytes()))
        .collect();
    let redis = if knobs.servers.contains(&Server::WardenRedis) {
        format!(
            "; warden quotas (Redis): a redis-server per point, [cluster] lease_max {}",
            knobs
                .redis_lease_max
                .map_or("Warden's default".to_owned(), |max| max.to_string())
        )
    } else {
        String::new()
    };
    format!(
        "MCP tools/call over HTTP/1.1 keep-alive on loopback, {amount} after {:?} of warm-up; \
         one session per connection; req/s counts successful calls; server CPU per call is \
         the server's user + system time over the measured window divided by the calls \
         answered in it, and its use that time over the window's wall time; {}{redis}.\n",
        knobs.warmup,
        sizes.join(", ")
    )
}

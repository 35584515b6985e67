//! Shared helpers for Warden's benchmarks: timing loops, percentiles and
//! the machine-readable results that `benches/compare` checks against the
//! committed baseline; and for the end-to-end benchmarks (`load`, `scale`),
//! the release `warden` built and started ([`warden`], [`server`]), an MCP
//! client over keep-alive HTTP/1.1 ([`mcp_client`]) and a closed-loop
//! driver ([`drive`]).

pub mod drive;
pub mod env;
pub mod mcp_client;
pub mod server;
pub mod warden;

use std::io::Write as _;
use std::time::{Duration, Instant};

/// Environment variable naming the file that figures are appended to, one
/// JSON object a line (`benches/run` sets it).
pub const RESULTS_ENV: &str = "WARDEN_BENCH_RESULTS";

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Latencies, memory, times.
    Lower,
    /// Throughput.
    Higher,
}

/// Appends one figure to the results file named by [`RESULTS_ENV`], if
/// set: `{"bench", "name", "metric", "value", "unit", "better"}`. `name`
/// identifies what was measured (stable across runs: the comparison keys on
/// bench, name and metric). Failing to write is reported, not fatal: the
/// printed table is the primary output.
pub fn record(bench: &str, name: &str, metric: &str, value: f64, unit: &str, better: Better) {
    let Ok(path) = std::env::var(RESULTS_ENV) else {
        return;
    };
    let line = serde_json::json!({
        "bench": bench,
        "name": name,
        "metric": metric,
        "value": value,
        "unit": unit,
        "better": match better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        },
    });
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| writeln!(file, "{line}"));
    if let Err(error) = written {
        eprintln!("cannot append to {path}: {error}");
    }
}

/// Whether the part `name` of a bench was selected on its command line: a
/// name fragment after `--` runs only the parts whose names contain it.
pub fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str()))
}

/// Latency figures of one benchmark.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Samples taken.
    pub samples: usize,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest sample.
    pub max: Duration,
}

impl Summary {
    /// Summarises `samples` (in any order).
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let at = |quantile: f64| {
            let index = ((samples.len() as f64 - 1.0) * quantile).round() as usize;
            samples.get(index).copied().unwrap_or_default()
        };
        Self {
            samples: samples.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }

    /// Records p50 and p99 (in µs) under `bench` and `name`.
    pub fn record(&self, bench: &str, name: &str) {
        record(bench, name, "p50", micros(self.p50), "us", Better::Lower);
        record(bench, name, "p99", micros(self.p99), "us", Better::Lower);
    }

    /// Prints one aligned line: name, median, p99, max.
    pub fn print(&self, name: &str) {
        println!(
            "{name:<44} p50 {:>9.1} µs   p99 {:>9.1} µs   max {:>9.1} µs   (n={})",
            micros(self.p50),
            micros(self.p99),
            micros(self.max),
            self.samples
        );
    }
}

/// A latency for a table: µs below a millisecond, else ms.
pub fn latency_text(duration: Duration) -> String {
    let micros = micros(duration);
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else {
        format!("{:.2} ms", micros / 1000.0)
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Times `iterations` runs of `run` after `warmup` untimed ones.
pub async fn time_async<F, Fut>(warmup: usize, iterations: usize, mut run: F) -> Summary
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        run().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        run().await;
        samples.push(started.elapsed());
    }
    Summary::of(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_sorted_samples() {
        let samples = (1..=100).rev().map(Duration::from_micros).collect();
        let summary = Summary::of(samples);
        assert_eq!(summary.p50, Duration::from_micros(51));
        assert_eq!(summary.p90, Duration::from_micros(90));
        assert_eq!(summary.p99, Duration::from_micros(99));
        assert_eq!(summary.max, Duration::from_micros(100));
    }
}

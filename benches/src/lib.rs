//! Shared helpers for Warden's benchmarks: timing loops and percentiles.

use std::time::{Duration, Instant};

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

//! Tools with an interpreter inside: the Python `stats` and JavaScript
//! `markdown` components (about 20 MB each, built by `tools/build-polyglot`)
//! next to the Rust `text` component. Prints:
//!
//! - compile time of each (once, into an empty cache) and its cached load
//!   (a new engine loading it from the cache, as a restart does), median;
//! - the cold start of `warden serve` with a warm cache, `text` alone and
//!   with the two polyglot components beside it, median;
//! - idle memory of the server with `text` alone and with each polyglot
//!   component added, and the growth per component: resident, anonymous
//!   and proportional (`Pss`);
//! - in-process instantiate + call latency (p50, p99) of `text.count`,
//!   `stats.describe` and `markdown.render`;
//! - calls/s of each at 64 connections over HTTP, with the server's CPU time
//!   per call (the load generator shares the two cores).
//!
//! Run with `cargo bench -p warden-benches --bench polyglot`; a name
//! fragment after `--` (`compile`, `start`, `memory`, `in-process`, `http`)
//! runs only those parts. `WARDEN_BENCH_ITERATIONS` (in-process samples,
//! default 2000), `WARDEN_BENCH_SECONDS` (per HTTP point, default 10) and
//! `WARDEN_BENCH_CONNECTIONS` (default 64) change the effort;
//! `WARDEN_BENCH_KEEP_RESIDENT` the in-process engine's kept pool memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use warden_benches::drive::{self, Stop};
use warden_benches::mcp_client::Template;
use warden_benches::warden::{Build, Config, Paths};
use warden_benches::{Better, Summary, env, record, selected, time_async};
use warden_sandbox::{NoEvents, Policy, Sandbox, SandboxConfig, ToolComponent};

const BENCH: &str = "polyglot";
/// Restarts and loads measured per figure; the median is reported.
const REPEATS: usize = 5;

/// One component of the comparison and the call it is measured with.
struct Subject {
    component: &'static str,
    file: &'static str,
    tool: &'static str,
    arguments: &'static str,
}

const SUBJECTS: [Subject; 3] = [
    Subject {
        component: "text",
        file: "text.wasm",
        tool: "text.count",
        arguments: r#"{"text":"the quick brown fox"}"#,
    },
    Subject {
        component: "stats",
        file: "python-stats.wasm",
        tool: "stats.describe",
        arguments: r#"{"values":[3,1,4,1,5,9,2,6,5,3,5,8,9,7,9]}"#,
    },
    Subject {
        component: "markdown",
        file: "js-markdown.wasm",
        tool: "markdown.render",
        arguments: r##"{"markdown":"# Title\n\nSome *emphasis*, a [link](https://example.com) and `code`.\n\n- one\n- two\n"}"##,
    },
];

fn main() -> anyhow::Result<()> {
    let paths = Paths::discover()?;
    let build = Build::release(&paths)?;
    build_polyglot(&paths)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if selected("compile") {
            compile_and_cached_load(&paths, &build).await?;
        }
        let cache = paths.scratch.path().join("cache");
        warm_cache(&build, &cache).await?;
        if selected("start") {
            cold_start(&paths, &build, &cache).await?;
        }
        if selected("memory") {
            idle_memory(&paths, &build, &cache).await?;
        }
        if selected("in-process") {
            in_process(&build, &cache).await?;
        }
        if selected("http") {
            over_http(&paths, &build, &cache).await?;
        }
        anyhow::Ok(())
    })
}

/// Runs `tools/build-polyglot` for this target directory.
fn build_polyglot(paths: &Paths) -> anyhow::Result<()> {
    let status = Command::new("bash")
        .arg(paths.workspace.join("tools/build-polyglot"))
        .env("CARGO_TARGET_DIR", &paths.target)
        .status()
        .context("run tools/build-polyglot")?;
    ensure!(status.success(), "tools/build-polyglot failed: {status}");
    Ok(())
}

fn component_path(build: &Build, subject: &Subject) -> PathBuf {
    build.components.join(subject.file)
}

/// The in-process engine: the server's defaults, with
/// `WARDEN_BENCH_KEEP_RESIDENT` (bytes) in place of
/// `server.pool_keep_resident_bytes` to see what keeping more of each pool
/// slot resident saves an interpreter's calls.
fn sandbox(cache: &Path) -> anyhow::Result<Sandbox> {
    Ok(Sandbox::new(SandboxConfig {
        cache_dir: Some(cache.to_owned()),
        keep_resident_bytes: env::count(
            "WARDEN_BENCH_KEEP_RESIDENT",
            warden_sandbox::DEFAULT_KEEP_RESIDENT_BYTES,
        )?,
        ..SandboxConfig::default()
    })?)
}

async fn load(
    sandbox: &Sandbox,
    build: &Build,
    subject: &Subject,
) -> anyhow::Result<ToolComponent> {
    let path = component_path(build, subject);
    sandbox
        .load(subject.component, &path, Policy::default())
        .await
        .with_context(|| format!("load {}", path.display()))
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Compiles each component into an empty cache, then loads it from that
/// cache with a new engine each time.
async fn compile_and_cached_load(paths: &Paths, build: &Build) -> anyhow::Result<()> {
    println!("compile (once) and cached load (median of {REPEATS}, a new engine each):");
    for subject in &SUBJECTS {
        let cache = paths
            .scratch
            .path()
            .join(format!("compile-{}", subject.component));
        let started = Instant::now();
        load(&sandbox(&cache)?, build, subject).await?;
        let compile = started.elapsed();
        let mut loads = Vec::with_capacity(REPEATS);
        for _ in 0..REPEATS {
            let engine = sandbox(&cache)?;
            let started = Instant::now();
            load(&engine, build, subject).await?;
            loads.push(started.elapsed());
        }
        let cached = median(loads);
        let size = std::fs::metadata(component_path(build, subject))?.len();
        println!(
            "  {:<10} {:>6.1} MB   compile {:>8.1} ms   cached load {:>7.1} ms",
            subject.component,
            size as f64 / 1e6,
            millis(compile),
            millis(cached)
        );
        record(
            BENCH,
            subject.component,
            "compile_ms",
            millis(compile),
            "ms",
            Better::Lower,
        );
        record(
            BENCH,
            subject.component,
            "cached_load_ms",
            millis(cached),
            "ms",
            Better::Lower,
        );
    }
    Ok(())
}

/// Compiles every subject into `cache`, for the parts that start servers.
async fn warm_cache(build: &Build, cache: &Path) -> anyhow::Result<()> {
    let engine = sandbox(cache)?;
    for subject in &SUBJECTS {
        load(&engine, build, subject).await?;
    }
    Ok(())
}

/// A server configuration serving `subjects`, each allowed 64 calls at once.
fn config(build: &Build, cache: &Path, subjects: &[&Subject]) -> anyhow::Result<Config> {
    let mut config = Config::new(0, cache)?;
    for subject in subjects {
        let table = format!("components.{}", subject.component);
        config = config
            .text(
                &table,
                "path",
                &component_path(build, subject).display().to_string(),
            )
            .number(&format!("{table}.limits"), "max_concurrency", 64)
            .number(&format!("{table}.limits"), "queue_timeout_ms", 10_000);
    }
    Ok(config)
}

fn subjects(components: &[&str]) -> Vec<&'static Subject> {
    SUBJECTS
        .iter()
        .filter(|subject| components.contains(&subject.component))
        .collect()
}

/// Time from `warden serve` to answering, with a warm cache.
async fn cold_start(paths: &Paths, build: &Build, cache: &Path) -> anyhow::Result<()> {
    println!("cold start to serving, warm cache (median of {REPEATS}):");
    let mut alone = Duration::ZERO;
    for (name, components) in [
        ("text", &["text"][..]),
        ("text+stats+markdown", &["text", "stats", "markdown"][..]),
    ] {
        let mut samples = Vec::with_capacity(REPEATS);
        for run in 0..REPEATS {
            let config = config(build, cache, &subjects(components))?;
            let file = paths.scratch.path().join(format!("start-{run}.toml"));
            let log = paths.scratch.path().join(format!("start-{run}.log"));
            let started = Instant::now();
            let running = build.start(&config, &file, &log).await?;
            samples.push(started.elapsed());
            drop(running);
        }
        let start = median(samples);
        if components.len() == 1 {
            alone = start;
        }
        println!(
            "  {name:<22} {:>7.1} ms   (+{:.1} ms beside text alone)",
            millis(start),
            millis(start.saturating_sub(alone))
        );
        record(
            BENCH,
            name,
            "cold_start_ms",
            millis(start),
            "ms",
            Better::Lower,
        );
    }
    Ok(())
}

/// Resident memory of an idle server, after start-up and one call of each
/// tool (so each component's pool slot has been used once): the resident
/// set, its anonymous part (the process's own memory; the rest is file pages
/// of the compiled artifacts and snapshots, which the kernel can drop and
/// read again) and the proportional set (file pages mapped twice, as a
/// snapshot page in two pool slots, counted once).
async fn idle_memory(paths: &Paths, build: &Build, cache: &Path) -> anyhow::Result<()> {
    println!("idle memory (after one call of each tool): resident, anonymous, proportional:");
    let mut base: Option<[u64; 3]> = None;
    for components in [
        &["text"][..],
        &["text", "stats"][..],
        &["text", "markdown"][..],
    ] {
        let served = subjects(components);
        let config = config(build, cache, &served)?;
        let name = components.join("+");
        let file = paths.scratch.path().join(format!("memory-{name}.toml"));
        let log = paths.scratch.path().join(format!("memory-{name}.log"));
        let running = build.start(&config, &file, &log).await?;
        let mut connection = drive::connections(running.addr, 1, true).await?;
        let mut connection = connection.pop().context("one connection")?;
        for (id, subject) in served.iter().enumerate() {
            let request = call_template(subject);
            let id = id as u64 + 1;
            let answer = connection
                .call(request.body(id), id)
                .await
                .map_err(|error| anyhow::anyhow!("{}: {error}", subject.tool))?;
            ensure!(
                !String::from_utf8_lossy(&answer).contains("\"isError\":true"),
                "{} failed: {}",
                subject.tool,
                String::from_utf8_lossy(&answer)
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let measured = [
            running.rss_bytes().context("read the server's VmRSS")?,
            running
                .rss_anon_bytes()
                .context("read the server's RssAnon")?,
            running.pss_bytes().context("read the server's Pss")?,
        ];
        let base = *base.get_or_insert(measured);
        let figures: Vec<String> = measured
            .iter()
            .zip(base)
            .map(|(now, base)| {
                format!(
                    "{:>6.1} MB (+{:>4.1})",
                    *now as f64 / 1e6,
                    now.saturating_sub(base) as f64 / 1e6
                )
            })
            .collect();
        println!("  {name:<22} {}", figures.join("   "));
        for (metric, bytes) in ["idle_rss_mb", "idle_rss_anon_mb", "idle_pss_mb"]
            .into_iter()
            .zip(measured)
        {
            record(
                BENCH,
                &name,
                metric,
                bytes as f64 / 1e6,
                "MB",
                Better::Lower,
            );
        }
    }
    Ok(())
}

fn call_template(subject: &Subject) -> Template {
    let arguments: serde_json::Value =
        serde_json::from_str(subject.arguments).expect("the bench's arguments are JSON");
    Template::new(
        "tools/call",
        &serde_json::json!({ "name": subject.tool, "arguments": arguments }),
    )
}

/// Instantiate + call latency in-process, one call at a time.
async fn in_process(build: &Build, cache: &Path) -> anyhow::Result<()> {
    let iterations = env::count("WARDEN_BENCH_ITERATIONS", 2000)? as usize;
    let engine = sandbox(cache)?;
    let events = Arc::new(NoEvents);
    for subject in &SUBJECTS {
        let component = load(&engine, build, subject).await?;
        let instantiations = std::sync::Mutex::new(Vec::with_capacity(iterations));
        let summary: Summary = time_async(iterations / 10, iterations, || {
            let events = events.clone();
            let component = &component;
            let instantiations = &instantiations;
            async move {
                let output = component
                    .call(subject.tool, subject.arguments, events)
                    .await
                    .expect("call");
                assert!(!output.result.is_error, "{} failed", subject.tool);
                if let Ok(mut samples) = instantiations.lock() {
                    samples.push(output.usage.instantiation);
                }
            }
        })
        .await;
        let name = format!("in-process instantiate + {}", subject.tool);
        summary.print(&name);
        summary.record(BENCH, &name);
        let samples = instantiations.into_inner().unwrap_or_default();
        let instantiation = Summary::of(samples);
        let name = format!("  of which instantiation ({})", subject.component);
        instantiation.print(&name);
        record(
            BENCH,
            subject.component,
            "instantiation_p50",
            instantiation.p50.as_secs_f64() * 1e6,
            "us",
            Better::Lower,
        );
    }
    Ok(())
}

/// Calls/s of each tool at N connections over HTTP, one tool at a time,
/// each against a fresh server serving all three components.
async fn over_http(paths: &Paths, build: &Build, cache: &Path) -> anyhow::Result<()> {
    let connections = env::count("WARDEN_BENCH_CONNECTIONS", 64)? as usize;
    let seconds = env::seconds("WARDEN_BENCH_SECONDS", 10.0)?;
    println!(
        "HTTP, {connections} connections, {:.0} s each:",
        seconds.as_secs_f64()
    );
    let all: Vec<&Subject> = SUBJECTS.iter().collect();
    for subject in &SUBJECTS {
        let config = config(build, cache, &all)?;
        let file = paths
            .scratch
            .path()
            .join(format!("http-{}.toml", subject.component));
        let log = paths
            .scratch
            .path()
            .join(format!("http-{}.log", subject.component));
        let running = build.start(&config, &file, &log).await?;
        let opened = drive::connections(running.addr, connections, true).await?;
        let (measured, window) = drive::measure_probed(
            opened,
            &call_template(subject),
            Duration::from_secs(2),
            Stop::After(seconds),
            || running.cpu_time(),
        )
        .await?;
        let cpu = match (window.start.1, window.end.1) {
            (Ok(start), Ok(end)) => end.saturating_sub(start),
            (Err(error), _) | (_, Err(error)) => return Err(error),
        };
        ensure!(
            measured.errors == 0,
            "{}: {} failed calls, first: {:?}",
            subject.tool,
            measured.errors,
            measured.first_error
        );
        let calls = measured.ok.max(1);
        let cpu_per_call = cpu.as_secs_f64() * 1e6 / calls as f64;
        println!(
            "  {:<16} {:>8.0} calls/s   p50 {:>7.2} ms   p99 {:>7.2} ms   server CPU {:>7.0} µs/call",
            subject.tool,
            measured.requests_per_sec(),
            millis(measured.latency.p50),
            millis(measured.latency.p99),
            cpu_per_call
        );
        record(
            BENCH,
            subject.tool,
            "calls_per_sec",
            measured.requests_per_sec(),
            "calls/s",
            Better::Higher,
        );
        record(
            BENCH,
            subject.tool,
            "server_cpu_us_per_call",
            cpu_per_call,
            "us",
            Better::Lower,
        );
    }
    Ok(())
}

//! Cold start: time from `warden serve` being spawned to its listener
//! serving, with ten distinct components, compiled from scratch (empty cache
//! directory) and loaded from the cache. Prints medians; asserts nothing.
//!
//! The ten components are the four example components plus copies of them
//! made distinct by a custom section (so each is compiled and cached on its
//! own, as ten different tools would be), each copy served under its own
//! `tool_prefix`.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_benches::warden::{Build, Paths};

const COMPONENTS: usize = 10;
const RUNS: usize = 5;

fn main() {
    let paths = Paths::discover().expect("find the workspace");
    let binary = Build::release(&paths).expect("build warden").binary;
    let workdir = tempfile::tempdir().expect("temporary directory");
    let components = write_components(workdir.path());
    let total_bytes: u64 = components
        .iter()
        .map(|(_, path, _)| std::fs::metadata(path).map_or(0, |m| m.len()))
        .sum();
    let cache = workdir.path().join("cache");
    let config = workdir.path().join("warden.toml");
    std::fs::write(&config, config_text(&components, &cache)).expect("write config");

    let mut uncached = Vec::with_capacity(RUNS);
    let mut cached = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let _ = std::fs::remove_dir_all(&cache);
        uncached.push(time_to_serving(&binary, &config));
        cached.push(time_to_serving(&binary, &config));
    }
    println!(
        "cold start, {COMPONENTS} components ({:.1} MiB of wasm), {RUNS} runs each:",
        total_bytes as f64 / f64::from(1 << 20)
    );
    print_line(
        "  cache empty (compile every component)",
        "cache empty",
        uncached,
    );
    print_line("  cache warm (load every component)", "cache warm", cached);
}

fn print_line(name: &str, key: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    warden_benches::record(
        "cold_start",
        key,
        "p50",
        ms(samples[samples.len() / 2]),
        "ms",
        warden_benches::Better::Lower,
    );
    println!(
        "{name:<44} p50 {:>8.1} ms   min {:>8.1} ms   max {:>8.1} ms",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
    );
}

/// `(table name, file, tool prefix)` of ten distinct component files.
fn write_components(dir: &Path) -> Vec<(String, PathBuf, String)> {
    let originals = warden_tool_artifacts::ALL;
    (0..COMPONENTS)
        .map(|index| {
            let (name, path) = originals[index % originals.len()];
            let mut bytes = std::fs::read(path).expect("read an example component");
            let copy = index / originals.len();
            if copy > 0 {
                append_custom_section(&mut bytes, "warden-bench-copy", &copy.to_le_bytes());
            }
            let table = format!("{name}_{copy}");
            let file = dir.join(format!("{table}.wasm"));
            std::fs::write(&file, bytes).expect("write component copy");
            let prefix = if copy > 0 {
                format!("copy{copy}.")
            } else {
                String::new()
            };
            (table, file, prefix)
        })
        .collect()
}

/// Appends a custom section (id 0) to a component binary: valid anywhere at
/// the top level, ignored by wasmtime, and enough to change the bytes the
/// cache is keyed on.
fn append_custom_section(bytes: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut payload = Vec::new();
    leb128(&mut payload, name.len());
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    bytes.push(0);
    leb128(bytes, payload.len());
    bytes.extend_from_slice(&payload);
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn config_text(components: &[(String, PathBuf, String)], cache: &Path) -> String {
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nwatch_interval_ms = 0\ncache_dir = \"{}\"\n",
        cache.display()
    );
    for (table, file, prefix) in components {
        let _ = write!(
            text,
            "\n[components.{table}]\npath = \"{}\"\n",
            file.display()
        );
        if !prefix.is_empty() {
            let _ = writeln!(text, "tool_prefix = \"{prefix}\"");
        }
    }
    text
}

/// Spawns `warden serve` and waits for its "serving MCP" line.
fn time_to_serving(binary: &Path, config: &Path) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start warden");
    let stderr = child.stderr.take().expect("stderr");
    let mut log = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("read warden's log");
        if line.contains("serving MCP at") {
            let elapsed = started.elapsed();
            stop(&mut child);
            return elapsed;
        }
        log.push_str(&line);
        log.push('\n');
    }
    stop(&mut child);
    panic!("warden exited before serving:\n{log}");
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

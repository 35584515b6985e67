//! After the run: the median of every benchmark measured in this process,
//! printed in one table and recorded for `benches/compare`, then what the
//! sandbox configurations cost against each other.

use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;
use warden_benches::{Better, record};

/// Name of these figures in the results file.
const BENCH: &str = "micro";

/// One benchmark's result as criterion saved it.
struct Measured {
    name: String,
    median_ns: f64,
    saved: SystemTime,
}

/// Criterion's `new/benchmark.json` (in part).
#[derive(Deserialize)]
struct SavedId {
    full_id: String,
}

/// Criterion's `new/estimates.json` (in part), in nanoseconds.
#[derive(Deserialize)]
struct SavedEstimates {
    median: SavedEstimate,
}

#[derive(Deserialize)]
struct SavedEstimate {
    point_estimate: f64,
}

/// Prints and records the medians criterion saved under `output` since
/// `started`: the benchmarks this process ran (a name filter leaves the
/// others' files as an earlier run wrote them).
pub fn report(output: &Path, started: SystemTime) {
    let mut measured = Vec::new();
    collect(output, started, &mut measured);
    measured.sort_by_key(|one| one.saved);
    if measured.is_empty() {
        println!("\nno benchmark was measured in this run");
        return;
    }

    println!("\nmicro: medians of this run");
    let width = measured.iter().map(|one| one.name.len()).max().unwrap_or(0);
    for one in &measured {
        println!(
            "  {:<width$}  {:>10}",
            one.name,
            human(one.median_ns),
            width = width
        );
        record(
            BENCH,
            &one.name,
            "median",
            one.median_ns / 1e3,
            "us",
            Better::Lower,
        );
    }

    let micros = |name: &str| {
        measured
            .iter()
            .find(|one| one.name == name)
            .map(|one| one.median_ns / 1e3)
    };
    println!();
    for (fuel, said) in [("", "without fuel"), ("+fuel", "with fuel")] {
        let on_demand = micros(&format!("sandbox/instantiate/on-demand{fuel}"));
        let pooling = micros(&format!("sandbox/instantiate/pooling{fuel}"));
        if let (Some(on_demand), Some(pooling)) = (on_demand, pooling) {
            println!(
                "pooling saves {:.1} µs per instantiation ({said}: on-demand {on_demand:.1} µs, pooling {pooling:.1} µs)",
                on_demand - pooling
            );
        }
    }
    let kept = micros("sandbox/instantiate+call/pooling");
    let released = micros("sandbox/instantiate+call/pooling-no-keep-resident");
    if let (Some(kept), Some(released)) = (kept, released) {
        println!(
            "keeping dirtied pages resident saves {:.1} µs per text.count call (released: {released:.1} µs, kept: {kept:.1} µs)",
            released - kept
        );
    }
    for allocation in ["pooling", "on-demand"] {
        let metered = micros(&format!("sandbox/instantiate+call/{allocation}+fuel"));
        let free = micros(&format!("sandbox/instantiate+call/{allocation}"));
        if let (Some(metered), Some(free)) = (metered, free) {
            println!(
                "fuel metering costs {:.1} µs per text.count call ({allocation}: {metered:.1} µs with fuel, {free:.1} µs without)",
                metered - free
            );
        }
    }
}

/// Walks criterion's folders for `new/` results saved since `started`.
fn collect(dir: &Path, started: SystemTime, measured: &mut Vec<Measured>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if entry.file_name() != "new" {
            collect(&path, started, measured);
            continue;
        }
        match read_result(&path) {
            Ok(Some(one)) if one.saved >= started => measured.push(one),
            Ok(_) => {}
            Err(error) => eprintln!("skipping {}: {error}", path.display()),
        }
    }
}

/// The result in one `new/` folder; `None` if it holds no complete one.
fn read_result(new: &Path) -> Result<Option<Measured>, String> {
    let estimates_path = new.join("estimates.json");
    let id_path = new.join("benchmark.json");
    if !estimates_path.is_file() || !id_path.is_file() {
        return Ok(None);
    }
    let read = |path: &Path| std::fs::read(path).map_err(|error| error.to_string());
    let id: SavedId = serde_json::from_slice(&read(&id_path)?).map_err(|e| e.to_string())?;
    let estimates: SavedEstimates =
        serde_json::from_slice(&read(&estimates_path)?).map_err(|e| e.to_string())?;
    let saved = std::fs::metadata(&estimates_path)
        .and_then(|metadata| metadata.modified())
        .map_err(|error| error.to_string())?;
    Ok(Some(Measured {
        name: id.full_id,
        median_ns: estimates.median.point_estimate,
        saved,
    }))
}

/// Nanoseconds below a microsecond, microseconds above.
fn human(nanos: f64) -> String {
    if nanos < 1e3 {
        format!("{nanos:.1} ns")
    } else {
        format!("{:.2} µs", nanos / 1e3)
    }
}

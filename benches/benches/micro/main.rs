//! Criterion micro benchmarks of the pieces of one request: JSON-RPC
//! decoding and dispatch, argument validation, session tokens, and
//! instantiating and calling the `text` component under four engine
//! configurations. Run with `cargo bench -p warden-benches --bench micro`;
//! a regular expression after `--` runs only the benchmarks whose name
//! matches (`-- sandbox`; a literal `+` is `\+`). After criterion's own
//! report comes a table of the medians measured in this run, which are
//! also recorded for `benches/compare`.

mod protocol;
mod sandbox;
mod summary;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::Criterion;

fn main() {
    let started = SystemTime::now();
    let target = target_dir();
    let output =
        std::env::var_os("CRITERION_HOME").map_or_else(|| target.join("criterion"), PathBuf::from);
    // Criterion would ask `cargo metadata` where to write; telling it makes
    // sure the summary reads the files it wrote.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .output_directory(&output)
        .configure_from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cache = target.join("bench-micro").join("warden-cache");

    let gateway = protocol::LazyGateway::new(&runtime, &cache);
    protocol::jsonrpc(&mut criterion, &runtime, &gateway);
    protocol::validate(&mut criterion, &gateway);
    protocol::session(&mut criterion);
    // Its engine and instance pool go before the sandbox benchmarks build theirs.
    drop(gateway);
    sandbox::benches(&mut criterion, &runtime, &cache);

    criterion.final_summary();
    summary::report(&output, started);
}

/// `$CARGO_TARGET_DIR` or the workspace's `target/`, as the other benches
/// and the tool artifacts' build script find it.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the benches crate sits in the workspace");
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir))
}

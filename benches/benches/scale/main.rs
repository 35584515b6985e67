//! Scale: what Warden holds and how fast it takes on clients, each figure
//! from a freshly started release `warden serve` with the `text` component
//! on loopback:
//!
//! 1. its resident set once started and one session initialized;
//! 2. sessions created per second by K keep-alive connections, each
//!    posting `initialize` in a closed loop;
//! 3. the resident set before and after creating many sessions left idle,
//!    and whether the first ones still answer `ping`;
//! 4. the resident set before and after opening many keep-alive
//!    connections (each answered once) and holding them idle.
//!
//! ```sh
//! cargo bench -p warden-benches --bench scale
//! WARDEN_SCALE_SESSIONS=20000 WARDEN_SCALE_CONNECTIONS=2000 cargo bench -p warden-benches --bench scale
//! ```
//!
//! Knobs (environment): `WARDEN_SCALE_CREATORS` (connections creating
//! sessions, default 64), `WARDEN_SCALE_SECS` (measured seconds of the
//! creation rate, default 5), `WARDEN_SCALE_WARMUP_SECS` (default 1),
//! `WARDEN_SCALE_SESSIONS` (default 100000), `WARDEN_SCALE_CONNECTIONS`
//! (default 10000).
//!
//! The soft limit on open files is raised to the hard limit first, and
//! Warden inherits it. The client runs on one thread of the same machine.
//! Prints figures and a summary against the targets; asserts nothing.

mod connections;
mod knobs;
mod limits;
mod report;
mod sessions;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use warden_benches::server::Running;
use warden_benches::warden::{Build, Config, Paths};

use crate::knobs::Knobs;
use crate::report::Figures;

/// Time given to Warden after connections close and before its resident
/// set is read.
pub const SETTLE: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        // The figures are printed; the status tells scripts some are missing.
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("scale: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Starts Warden as each measurement wants it.
pub struct Bench {
    build: Build,
    paths: Paths,
    /// Kept across runs: only a run after `text` changes compiles it.
    cache: PathBuf,
}

impl Bench {
    /// A fresh `warden serve` with the `text` component, no cap on requests
    /// per connection, and whatever `tune` sets; `name` names its
    /// configuration and log files.
    pub async fn start(
        &self,
        name: &str,
        tune: impl FnOnce(Config) -> Config,
    ) -> anyhow::Result<Running> {
        let config = Config::new(0, &self.cache)?
            .component(&self.build, "text")
            .number("http", "max_requests_per_connection", 1_000_000);
        let scratch = self.paths.scratch.path();
        self.build
            .start(
                &tune(config),
                &scratch.join(format!("{name}.toml")),
                &scratch.join(format!("{name}.log")),
            )
            .await
            .with_context(|| format!("start warden for {name}"))
    }
}

/// Warden's resident set now.
pub fn rss(running: &Running) -> anyhow::Result<u64> {
    running
        .rss_bytes()
        .context("cannot read warden's VmRSS from /proc")
}

/// Runs every measurement and prints the figures; `false` when one failed.
fn run() -> anyhow::Result<bool> {
    let files = limits::raise_open_files()?;
    let knobs = Knobs::from_env()?;
    let paths = Paths::discover()?;
    eprintln!("scale: building warden");
    let build = Build::release(&paths)?;
    let bench = Bench {
        cache: paths.target.join("bench-scale/warden-cache"),
        build,
        paths,
    };
    // One client thread: the rest of the machine is Warden's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let figures = runtime.block_on(async {
        // One start first, so compiling `text` into the cache falls in no
        // measurement.
        drop(bench.start("compile", |config| config).await?);
        eprintln!("scale: 1/4 idle resident set");
        let idle = sessions::idle(&bench).await;
        eprintln!("scale: 2/4 session creations per second");
        let creation = sessions::creation(&bench, &knobs).await;
        eprintln!("scale: 3/4 {} idle sessions", knobs.sessions);
        let sessions = sessions::idle_sessions(&bench, &knobs).await;
        eprintln!("scale: 4/4 {} idle connections", knobs.connections);
        let connections = connections::idle_connections(&bench, &knobs, files).await;
        anyhow::Ok(Figures {
            idle,
            creation,
            sessions,
            connections,
        })
    })?;
    report::print(&figures, &knobs, files);
    report::record(&figures, &knobs);
    Ok(figures.complete())
}

//! The release `warden` binary as the end-to-end benchmarks run it: where
//! the workspace is, the build, and the configuration file each start gets.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, ensure};

use crate::server::{Running, free_port};

/// Longest wait for Warden to serve: it compiles its components on the
/// first start of a run whose cache is empty.
pub const READY_WITHIN: Duration = Duration::from_secs(300);

/// Where the workspace and its target directory are.
pub struct Paths {
    /// The workspace's root.
    pub workspace: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// Per-run scratch: configurations and server logs.
    pub scratch: tempfile::TempDir,
}

impl Paths {
    /// The workspace this crate sits in, and a new scratch directory.
    pub fn discover() -> anyhow::Result<Self> {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("the benches crate sits in the workspace")?
            .to_owned();
        // As the tool artifacts' build script does: a relative target dir is
        // relative to the workspace.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
        Ok(Self {
            workspace,
            target,
            scratch: tempfile::tempdir()?,
        })
    }
}

/// Runs cargo with `args` in the workspace; `what` names the build in errors.
pub fn cargo(paths: &Paths, args: &[&str], what: &str) -> anyhow::Result<()> {
    let mut command = Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_for_this_bench) {
            command.env_remove(name);
        }
    }
    let status = command
        .current_dir(&paths.workspace)
        .args(args)
        .status()
        .with_context(|| format!("run cargo to build {what}"))?;
    ensure!(
        status.success(),
        "cargo build of {what} failed ({status}): see its output above"
    );
    Ok(())
}

/// Whether cargo set the variable `name` for the benchmark it runs. Passed
/// on to a nested cargo, they would reach the build scripts' checks
/// (`rerun-if-env-changed`: ring's watches `CARGO_PKG_NAME` and
/// `CARGO_MANIFEST_DIR`), so the nested build and the next `cargo bench`
/// would each rebuild ring, rustls and the gateway for the other.
fn set_for_this_bench(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// The release binary and the example components built with it.
pub struct Build {
    /// `target/release/warden`, or `WARDEN_BENCH_BINARY`.
    pub binary: PathBuf,
    /// The folder of the example components (`text.wasm`, `json.wasm`, ...).
    pub components: PathBuf,
}

impl Build {
    /// Builds the release `warden` binary (a no-op when it is up to date),
    /// or takes the one named by `WARDEN_BENCH_BINARY`, to compare builds:
    /// build each, copy it aside, and run the bench once with each. The
    /// example components then come from the workspace's last build.
    pub fn release(paths: &Paths) -> anyhow::Result<Self> {
        let binary = match std::env::var_os("WARDEN_BENCH_BINARY") {
            Some(binary) => {
                let binary = PathBuf::from(binary);
                ensure!(
                    binary.is_file(),
                    "WARDEN_BENCH_BINARY={} is not a file",
                    binary.display()
                );
                binary
            }
            None => {
                cargo(
                    paths,
                    &[
                        "build",
                        "--release",
                        "-p",
                        "warden-gateway",
                        "--bin",
                        "warden",
                    ],
                    "warden",
                )?;
                paths.target.join("release/warden")
            }
        };
        // The build script of warden-tool-artifacts (a dependency of the
        // gateway) puts the components here.
        let components = paths.target.join("components");
        for name in ["text", "json"] {
            let path = components.join(format!("{name}.wasm"));
            ensure!(
                path.is_file(),
                "{} is missing after the build",
                path.display()
            );
        }
        Ok(Self { binary, components })
    }

    /// The example component `name`.
    pub fn component(&self, name: &str) -> PathBuf {
        self.components.join(format!("{name}.wasm"))
    }

    /// Writes `config` to `file` and starts `warden serve` with it, its
    /// output in `log`; waits until it serves.
    pub async fn start(&self, config: &Config, file: &Path, log: &Path) -> anyhow::Result<Running> {
        std::fs::write(file, config.render())
            .with_context(|| format!("write {}", file.display()))?;
        let mut command = Command::new(&self.binary);
        command.arg("serve").arg("--config").arg(file);
        let mut running = Running::spawn("warden", command, config.port, log)?;
        running.wait_ready(READY_WITHIN).await?;
        Ok(running)
    }
}

/// A Warden configuration file: `[server]` listening on loopback with
/// nothing watched and a compile cache, and the tables each benchmark adds.
#[derive(Debug, Clone)]
pub struct Config {
    port: u16,
    /// Tables in order, each with its `key = value` lines (TOML values).
    tables: Vec<(String, Vec<(String, String)>)>,
}

impl Config {
    /// Listening on `127.0.0.1:port` (a free one when `port` is 0), no file
    /// watching, components compiled into `cache`.
    pub fn new(port: u16, cache: &Path) -> anyhow::Result<Self> {
        let port = if port == 0 { free_port()? } else { port };
        let config = Self {
            port,
            tables: Vec::new(),
        };
        Ok(config
            .text("server", "listen", &format!("127.0.0.1:{port}"))
            .number("server", "watch_interval_ms", 0)
            .text("server", "cache_dir", &cache.display().to_string()))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves the example component `name` of `build`, as `[components.name]`.
    pub fn component(self, build: &Build, name: &str) -> Self {
        let table = format!("components.{name}");
        self.text(&table, "path", &build.component(name).display().to_string())
    }

    /// Sets `key` of `table` to a number.
    pub fn number(self, table: &str, key: &str, value: u64) -> Self {
        self.set(table, key, value.to_string())
    }

    /// Sets `key` of `table` to a string.
    pub fn text(self, table: &str, key: &str, value: &str) -> Self {
        // A JSON string is a valid TOML basic string.
        self.set(table, key, serde_json::Value::from(value).to_string())
    }

    /// Sets `key` of `table` to `value`, TOML as written (an array, an
    /// inline table).
    pub fn toml(self, table: &str, key: &str, value: &str) -> Self {
        self.set(table, key, value.to_owned())
    }

    fn set(mut self, table: &str, key: &str, value: String) -> Self {
        let entries = match self.tables.iter().position(|(name, _)| name == table) {
            Some(index) => &mut self.tables[index].1,
            None => {
                self.tables.push((table.to_owned(), Vec::new()));
                &mut self.tables.last_mut().expect("pushed just above").1
            }
        };
        match entries.iter_mut().find(|(name, _)| name == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key.to_owned(), value)),
        }
        self
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (table, entries) in &self.tables {
            let _ = writeln!(text, "[{table}]");
            for (key, value) in entries {
                let _ = writeln!(text, "{key} = {value}");
            }
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_keep_their_order_and_keys_are_set_once() {
        let config = Config::new(8123, Path::new("/tmp/cache"))
            .expect("config")
            .number("http", "max_connections", 10)
            .number("server", "max_sessions", 5)
            .number("http", "max_connections", 20);
        assert_eq!(
            config.render(),
            "[server]\nlisten = \"127.0.0.1:8123\"\nwatch_interval_ms = 0\n\
             cache_dir = \"/tmp/cache\"\nmax_sessions = 5\n\n\
             [http]\nmax_connections = 20\n\n"
        );
    }
}

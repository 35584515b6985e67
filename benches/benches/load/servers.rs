//! The servers compared, how each is built once per run and started once
//! per point.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use warden_benches::server::{Running, free_port};
use warden_benches::warden::{self, Build, Config, Paths, cargo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The release `warden` binary serving the `text` and `json` components.
    Warden,
    /// rmcp with sessions: every POST answered with an event stream.
    Rmcp,
    /// rmcp without sessions, answering with JSON.
    RmcpStateless,
    /// hyper with a canned result: no tool, the transport's ceiling.
    Hyper,
    /// The official Python SDK (`MCPServer`), sessions and JSON responses.
    Python,
}

impl Server {
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "warden" => Self::Warden,
            "rmcp" => Self::Rmcp,
            "rmcp-stateless" => Self::RmcpStateless,
            "hyper" => Self::Hyper,
            "python" => Self::Python,
            other => {
                bail!("unknown server {other} (warden, rmcp, rmcp-stateless, hyper, python)")
            }
        })
    }

    /// How the table names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Warden => "warden",
            Self::Rmcp => "rmcp (session, SSE)",
            Self::RmcpStateless => "rmcp (stateless, JSON)",
            Self::Hyper => "hyper canned",
            Self::Python => "python mcp (session, JSON)",
        }
    }

    /// Whether the answers come from the real tools (the hyper baseline's
    /// are canned).
    pub fn runs_tools(self) -> bool {
        self != Self::Hyper
    }

    /// Longest wait for it to serve: Warden compiles its components on the
    /// first start of a run whose cache is empty.
    fn ready_within(self) -> Duration {
        match self {
            Self::Warden => warden::READY_WITHIN,
            _ => Duration::from_secs(60),
        }
    }
}

/// A server built and ready to be started.
pub struct Prepared {
    pub server: Server,
    program: PathBuf,
    args: Vec<String>,
    /// Warden's build and where its compile cache lives (the configuration
    /// is written per start, with the port); `None` for the baselines,
    /// which take `--port`.
    warden: Option<(Build, PathBuf)>,
    /// Warden's configuration file.
    config: PathBuf,
    log: PathBuf,
}

impl Prepared {
    /// Starts the server on a free port and waits until it serves.
    pub async fn start(&self) -> anyhow::Result<Running> {
        if let Some((build, cache)) = &self.warden {
            return build
                .start(&warden_config(build, cache)?, &self.config, &self.log)
                .await;
        }
        let port = free_port()?;
        let mut command = Command::new(&self.program);
        command.args(&self.args).arg("--port").arg(port.to_string());
        let mut running = Running::spawn(self.server.label(), command, port, &self.log)?;
        running.wait_ready(self.server.ready_within()).await?;
        Ok(running)
    }
}

/// Builds what `server` needs (a no-op when it is up to date).
pub fn prepare(server: Server, paths: &Paths) -> anyhow::Result<Prepared> {
    let log = paths
        .scratch
        .path()
        .join(format!("{server:?}.log").to_lowercase());
    let (program, args, warden) = match server {
        Server::Warden => {
            let build = Build::release(paths)?;
            // Kept across runs: only a run after the components change
            // compiles them.
            let cache = paths.target.join("bench-load/warden-cache");
            (build.binary.clone(), vec![], Some((build, cache)))
        }
        Server::Rmcp => (build_rmcp(paths)?, vec![], None),
        Server::RmcpStateless => (build_rmcp(paths)?, vec!["--stateless".into()], None),
        Server::Hyper => (
            PathBuf::from(env!("CARGO_BIN_EXE_hyper-baseline")),
            vec![],
            None,
        ),
        Server::Python => {
            let python = python_venv(paths)?;
            let script = paths.workspace.join("benches/baselines/python/server.py");
            (python, vec![script.display().to_string()], None)
        }
    };
    Ok(Prepared {
        server,
        program,
        args,
        warden,
        config: paths.scratch.path().join("warden.toml"),
        log,
    })
}

/// Generous limits, so that the benchmark measures Warden's work and not
/// its refusals: 64 connections all calling one component each find a free
/// slot at once, whichever component it is.
fn warden_config(build: &Build, cache: &Path) -> anyhow::Result<Config> {
    let mut config = Config::new(0, cache)?
        .number("server", "pool_instances", 128)
        .number("http", "max_requests_per_connection", 1_000_000)
        .number("rate_limits", "max_calls_in_flight", 1024)
        .number("rate_limits", "call_queue_timeout_ms", 60_000);
    for name in ["text", "json"] {
        let limits = format!("components.{name}.limits");
        config = config
            .component(build, name)
            .number(&limits, "timeout_ms", 60_000)
            .number(&limits, "max_memory_bytes", 128 << 20)
            .number(&limits, "max_output_bytes", 16 << 20)
            .number(&limits, "max_concurrency", 64)
            .number(&limits, "queue_timeout_ms", 60_000);
    }
    Ok(config)
}

fn build_rmcp(paths: &Paths) -> anyhow::Result<PathBuf> {
    let manifest = paths
        .workspace
        .join("benches/baselines/rmcp-server/Cargo.toml");
    let target = paths.target.join("baselines");
    let manifest = manifest.display().to_string();
    let target_arg = target.display().to_string();
    cargo(
        paths,
        &[
            "build",
            "--release",
            "--manifest-path",
            &manifest,
            "--target-dir",
            &target_arg,
        ],
        "the rmcp baseline",
    )?;
    Ok(target.join("release/warden-baseline-rmcp"))
}

/// A virtualenv under the target directory with the Python baseline's
/// pinned requirements, rebuilt when they change.
fn python_venv(paths: &Paths) -> anyhow::Result<PathBuf> {
    let requirements = paths
        .workspace
        .join("benches/baselines/python/requirements.txt");
    // The file includes the project's pinned SDK requirements; a change to
    // either rebuilds the venv.
    let mut wanted = std::fs::read_to_string(&requirements)?;
    wanted.push_str(&std::fs::read_to_string(
        paths.workspace.join("tests/python/requirements.txt"),
    )?);
    let venv = paths.target.join("bench-load/python-venv");
    let marker = venv.join("installed-requirements.txt");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) && python.exists()
    {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let host_python = std::env::var("WARDEN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        Command::new(&host_python).args(["-m", "venv"]).arg(&venv),
        "create the Python virtualenv",
    )?;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "install the Python baseline's requirements",
    )?;
    std::fs::write(&marker, wanted)?;
    Ok(python)
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("{what}: cannot run {command:?}"))?;
    ensure!(status.success(), "{what} failed ({status})");
    Ok(())
}

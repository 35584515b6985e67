//! The servers compared, how each is built once per run and started once
//! per point.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};

use crate::process::{Running, free_port};

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
            Self::Warden => Duration::from_secs(300),
            _ => Duration::from_secs(60),
        }
    }
}

/// Where the workspace and its target directory are.
pub struct Paths {
    workspace: PathBuf,
    target: PathBuf,
    /// Per-run scratch: configurations and server logs.
    scratch: tempfile::TempDir,
}

impl Paths {
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

/// A server built and ready to be started.
pub struct Prepared {
    pub server: Server,
    program: PathBuf,
    args: Vec<String>,
    /// Warden's configuration (written per start, with the port); `None`
    /// for the baselines, which take `--port`.
    warden: Option<WardenFiles>,
    log: PathBuf,
}

struct WardenFiles {
    components: PathBuf,
    cache: PathBuf,
    config: PathBuf,
}

impl Prepared {
    /// Starts the server on a free port and waits until it serves.
    pub async fn start(&self) -> anyhow::Result<Running> {
        let port = free_port()?;
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        match &self.warden {
            Some(files) => {
                std::fs::write(&files.config, warden_config(files, port))?;
                command.arg("serve").arg("--config").arg(&files.config);
            }
            None => {
                command.arg("--port").arg(port.to_string());
            }
        }
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
            let (binary, files) = build_warden(paths)?;
            (binary, vec![], Some(files))
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
        log,
    })
}

fn cargo(paths: &Paths, args: &[&str], what: &str) -> anyhow::Result<()> {
    let status = Command::new(env!("CARGO"))
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

fn build_warden(paths: &Paths) -> anyhow::Result<(PathBuf, WardenFiles)> {
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
    let files = WardenFiles {
        components,
        // Kept across runs: only a run after the components change compiles them.
        cache: paths.target.join("bench-load/warden-cache"),
        config: paths.scratch.path().join("warden.toml"),
    };
    Ok((paths.target.join("release/warden"), files))
}

/// Generous limits, so that the benchmark measures Warden's work and not
/// its refusals: 64 connections all calling one component each find a free
/// slot at once, whichever component it is.
fn warden_config(files: &WardenFiles, port: u16) -> String {
    let component = |name: &str| {
        format!(
            "[components.{name}]\npath = \"{}\"\n\n[components.{name}.limits]\n\
             timeout_ms = 60000\nmax_memory_bytes = 134217728\n\
             max_output_bytes = 16777216\nmax_concurrency = 64\nqueue_timeout_ms = 60000\n",
            files.components.join(format!("{name}.wasm")).display()
        )
    };
    format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nwatch_interval_ms = 0\n\
         pool_instances = 128\ncache_dir = \"{}\"\n\n\
         [http]\nmax_requests_per_connection = 1000000\n\n\
         [rate_limits]\nmax_calls_in_flight = 1024\ncall_queue_timeout_ms = 60000\n\n{}\n{}",
        files.cache.display(),
        component("text"),
        component("json"),
    )
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

//! The servers compared, how each is built once per run and started once
//! per point.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use warden_benches::server::{Running, free_port};
use warden_benches::warden::{self, Build, Config, Paths, cargo};

use crate::redis::{self, Redis};

/// Every request quota of `warden-quotas` and `warden-redis`: far above
/// what two cores serve, so that nothing is refused and the bench measures
/// checking them. A burst of 100,000 makes a shared quota's lease
/// `min(burst / 8, lease_max)`, the default 16 tokens.
const QUOTA_RATE: &str = "1000000/s burst 100000";
/// The fuel budget of `[rate_limits] caller_fuel`: some 10^14 a second,
/// thousands of times what the calls here consume.
const QUOTA_FUEL: &str = "100000000000000/s";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The release `warden` binary serving the `text` and `json` components.
    Warden,
    /// The same with every quota on, counted in the process: `[rate_limits]
    /// caller_requests` and `caller_fuel`, each component's `tool` and
    /// `caller_tool`.
    WardenQuotas,
    /// The same quotas shared through a Redis the bench starts
    /// (`[cluster] redis_url`).
    WardenRedis,
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
            "warden-quotas" => Self::WardenQuotas,
            "warden-redis" => Self::WardenRedis,
            "rmcp" => Self::Rmcp,
            "rmcp-stateless" => Self::RmcpStateless,
            "hyper" => Self::Hyper,
            "python" => Self::Python,
            other => {
                bail!(
                    "unknown server {other} (warden, warden-quotas, warden-redis, rmcp, \
                     rmcp-stateless, hyper, python)"
                )
            }
        })
    }

    /// How the table names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Warden => "warden",
            Self::WardenQuotas => "warden quotas (in process)",
            Self::WardenRedis => "warden quotas (Redis)",
            Self::Rmcp => "rmcp (session, SSE)",
            Self::RmcpStateless => "rmcp (stateless, JSON)",
            Self::Hyper => "hyper canned",
            Self::Python => "python mcp (session, JSON)",
        }
    }

    /// Whether it is Warden with quotas on, counted here or in Redis.
    pub fn has_quotas(self) -> bool {
        matches!(self, Self::WardenQuotas | Self::WardenRedis)
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
            Self::Warden | Self::WardenQuotas | Self::WardenRedis => warden::READY_WITHIN,
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
    /// `redis-server`, for `warden-redis`.
    redis: Option<PathBuf>,
    /// `[cluster] lease_max` with Redis, when not Warden's default.
    lease_max: Option<u64>,
    /// Warden's configuration file.
    config: PathBuf,
    log: PathBuf,
}

/// A server serving, and the Redis it keeps its quotas in if any. Dropping
/// it kills the server, then Redis.
pub struct Started {
    pub server: Running,
    pub redis: Option<Redis>,
}

impl Prepared {
    /// Starts the server on a free port (and first its Redis, on another)
    /// and waits until it serves.
    pub async fn start(&self) -> anyhow::Result<Started> {
        if let Some((build, cache)) = &self.warden {
            let redis = match &self.redis {
                Some(binary) => {
                    Some(Redis::start(binary, &self.log.with_extension("redis.log")).await?)
                }
                None => None,
            };
            let mut config = warden_config(build, cache)?;
            if self.server.has_quotas() {
                config = with_quotas(config);
            }
            if let Some(redis) = &redis {
                config = config
                    .text("cluster", "redis_url", &redis.url())
                    // A Redis that does not answer would make the process
                    // count alone and measure that: refused calls show it.
                    .text("cluster", "on_unavailable", "reject");
                if let Some(lease_max) = self.lease_max {
                    config = config.number("cluster", "lease_max", lease_max);
                }
            }
            let server = build.start(&config, &self.config, &self.log).await?;
            return Ok(Started { server, redis });
        }
        let port = free_port()?;
        let mut command = Command::new(&self.program);
        command.args(&self.args).arg("--port").arg(port.to_string());
        let mut server = Running::spawn(self.server.label(), command, port, &self.log)?;
        server.wait_ready(self.server.ready_within()).await?;
        Ok(Started {
            server,
            redis: None,
        })
    }
}

/// Builds what `server` needs (a no-op when it is up to date); `lease_max`
/// is `[cluster] lease_max` when Redis keeps the quotas (`None`: Warden's
/// default).
pub fn prepare(server: Server, paths: &Paths, lease_max: Option<u64>) -> anyhow::Result<Prepared> {
    let log = paths
        .scratch
        .path()
        .join(format!("{server:?}.log").to_lowercase());
    // Before the build, which may take minutes.
    let redis = match server {
        Server::WardenRedis => Some(redis::binary()?),
        _ => None,
    };
    let (program, args, warden) = match server {
        Server::Warden | Server::WardenQuotas | Server::WardenRedis => {
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
        redis,
        lease_max,
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

/// Every quota on, none of them ever reached: the caller's requests and
/// fuel, and each component's calls of each tool, all callers together and
/// by caller (without `[auth]` every request is the caller `anonymous`).
fn with_quotas(mut config: Config) -> Config {
    config = config
        .text("rate_limits", "caller_requests", QUOTA_RATE)
        .text("rate_limits", "caller_fuel", QUOTA_FUEL);
    for name in ["text", "json"] {
        let quotas = format!("components.{name}.rate_limits");
        config = config
            .text(&quotas, "tool", QUOTA_RATE)
            .text(&quotas, "caller_tool", QUOTA_RATE);
    }
    config
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

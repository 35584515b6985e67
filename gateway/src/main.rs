//! The `warden` binary: command-line parsing and process set-up over the
//! `warden_gateway` library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use warden_gateway::catalog::Catalog;
use warden_gateway::config::{self, Config, LogFormat};
use warden_gateway::telemetry;
use warden_sandbox::DirMode;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "An MCP gateway that runs every tool call in a fresh, sandboxed WebAssembly instance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over Streamable HTTP.
    Serve {
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
        /// Listen on this address instead of the configured one.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log format; overrides the configured one.
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
        /// Speak newline-delimited JSON-RPC on stdin/stdout instead of HTTP
        /// (for clients that launch Warden themselves); logs go to stderr.
        #[arg(long, conflicts_with = "listen")]
        stdio: bool,
    },
    /// Load and compile every component, print the tools with their limits,
    /// and exit non-zero on any problem.
    Check {
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Serve {
            config,
            listen,
            log_format,
            stdio,
        } => runtime.block_on(serve(config, listen, log_format, stdio)),
        Command::Check { config } => runtime.block_on(check(config)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    config_path: PathBuf,
    listen: Option<SocketAddr>,
    log_format: Option<LogFormatArg>,
    stdio: bool,
) -> anyhow::Result<()> {
    let config = config::load(&config_path)?;
    let format = match log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => config.server.log_format,
    };
    telemetry::init(format);
    let gateway = warden_gateway::build(&config).await?;
    if stdio {
        tracing::info!(
            tools = gateway.mcp.catalog().tools().len(),
            "serving MCP on stdin/stdout"
        );
        let input = tokio::io::BufReader::new(tokio::io::stdin());
        warden_gateway::stdio::serve(gateway, input, tokio::io::stdout()).await?;
        tracing::info!("stdin closed; stopped");
        return Ok(());
    }
    if let Some(metrics_address) = config.server.metrics_listen {
        let listener = tokio::net::TcpListener::bind(metrics_address)
            .await
            .with_context(|| format!("cannot listen for metrics on {metrics_address}"))?;
        tracing::info!(
            "serving metrics at http://{}/metrics",
            listener.local_addr()?
        );
        tokio::spawn(warden_gateway::http::serve_metrics(
            std::sync::Arc::clone(&gateway),
            listener,
            std::future::pending(),
        ));
    }
    let address = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    tracing::info!(
        tools = gateway.mcp.catalog().tools().len(),
        "serving MCP at http://{local}{}",
        warden_gateway::http::MCP_PATH
    );
    warden_gateway::http::serve(gateway, listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(terminate) => terminate,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch SIGTERM; stopping on Ctrl-C only");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
}

async fn check(config_path: PathBuf) -> anyhow::Result<()> {
    let config: Config = config::load(&config_path)?;
    let catalog = Catalog::load(&config).await?;
    println!("{}: ok", config_path.display());
    for component in catalog.components() {
        let limits = &component.policy().limits;
        let caps = &component.policy().capabilities;
        println!(
            "component {} ({} tools{})",
            component.name(),
            component.tools().len(),
            if component.loaded_from_cache() {
                ", cached"
            } else {
                ""
            }
        );
        println!(
            "  limits: timeout {} ms, fuel {}, memory {} bytes, output {} bytes, {} log messages, {} concurrent, queue {} ms",
            limits.timeout_ms,
            limits
                .fuel
                .map_or_else(|| "unmetered".to_owned(), |fuel| fuel.to_string()),
            limits.max_memory_bytes,
            limits.max_output_bytes,
            limits.max_log_messages,
            limits.max_concurrency,
            limits.queue_timeout_ms,
        );
        for dir in &caps.dirs {
            let mode = match dir.mode {
                DirMode::ReadOnly => "read-only",
                DirMode::ReadWrite => "read-write",
            };
            println!("  dir: {} -> {} ({mode})", dir.host.display(), dir.guest);
        }
        for (name, _) in &caps.env {
            println!("  env: {name}");
        }
        for target in &caps.tcp_connect {
            println!("  tcp: {target}");
        }
        for tool in component.tools() {
            println!("  tool {}: {}", tool.name, tool.description);
        }
    }
    Ok(())
}

//! `warden serve`: HTTP or stdio until a signal, then a graceful drain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use warden_gateway::Gateway;
use warden_gateway::config::{self, AuditSink, LogFormat};
use warden_gateway::lifecycle::DrainOutcome;
use warden_gateway::reload::{self, Reloader, WatchedFiles};
use warden_gateway::telemetry;

use crate::exit;

fn drain_exit_code(outcome: DrainOutcome) -> ExitCode {
    if outcome.is_clean() {
        tracing::info!("stopped: every request in flight finished");
        ExitCode::SUCCESS
    } else {
        tracing::warn!(
            cancelled_calls = outcome.cancelled_calls,
            connections_closed = outcome.forced_close,
            "stopped: the drain deadline passed"
        );
        ExitCode::from(exit::DRAIN_INCOMPLETE)
    }
}

pub async fn run(
    config_path: PathBuf,
    listen: Option<SocketAddr>,
    log_format: Option<LogFormat>,
    stdio: bool,
) -> anyhow::Result<ExitCode> {
    let (config, watched) = reload::load_watched(&config_path)?;
    let telemetry = telemetry::init(
        log_format.unwrap_or(config.server.log_format),
        &config.tracing,
    )?;
    let exit_code = serve(config, watched, config_path, listen, stdio).await;
    telemetry.shutdown().await;
    exit_code
}

async fn serve(
    config: config::Config,
    watched: WatchedFiles,
    config_path: PathBuf,
    listen: Option<SocketAddr>,
    stdio: bool,
) -> anyhow::Result<ExitCode> {
    if stdio && matches!(&config.audit, Some(audit) if audit.sink == AuditSink::Stdout) {
        anyhow::bail!(
            "audit.sink = \"stdout\" cannot be used with --stdio, which speaks MCP on stdout; \
             use sink = \"file\""
        );
    }
    // Stdio is reached by no one but the process that started Warden.
    let exposed_on = (!stdio).then(|| listen.unwrap_or(config.server.listen));
    if let Some(address) = exposed_on {
        config::check_exposure(address, &config.auth)
            .map_err(|message| anyhow::anyhow!("cannot serve on {address}: {message}"))?;
    }
    let gateway = warden_gateway::build(&config).await?;
    let reloader = Arc::new(Reloader::new(
        Arc::clone(&gateway),
        &config_path,
        &config,
        watched,
        exposed_on,
    ));
    start_reload_triggers(&reloader, config.server.watch_interval_ms);
    if stdio {
        tracing::info!(
            tools = gateway.mcp.catalog().tools().len(),
            "serving MCP on stdin/stdout"
        );
        let input = tokio::io::BufReader::new(tokio::io::stdin());
        let shutdown = shutdown_signal(Arc::clone(&gateway));
        let outcome = warden_gateway::stdio::serve(
            Arc::clone(&gateway),
            input,
            tokio::io::stdout(),
            shutdown,
        )
        .await?;
        close_audit_log(&gateway).await;
        return Ok(drain_exit_code(outcome));
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
            Arc::clone(&gateway),
            listener,
            std::future::pending(),
        ));
    }
    let address = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let local = listener.local_addr()?;
    let scheme = if gateway.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(
        tools = gateway.mcp.catalog().tools().len(),
        "serving MCP at {scheme}://{local}{}",
        warden_gateway::http::MCP_PATH
    );
    let shutdown = shutdown_signal(Arc::clone(&gateway));
    let outcome = warden_gateway::http::serve(Arc::clone(&gateway), listener, shutdown).await;
    close_audit_log(&gateway).await;
    Ok(drain_exit_code(outcome))
}

/// Writes the audit records of the calls that finished during the drain.
async fn close_audit_log(gateway: &Gateway) {
    if let Some(audit) = gateway.mcp.audit() {
        audit.shutdown().await;
    }
}

/// Reloads on SIGHUP and, unless `watch_interval_ms` is 0, when the config
/// or a component file changes.
fn start_reload_triggers(reloader: &Arc<Reloader>, watch_interval_ms: u64) {
    if watch_interval_ms > 0 {
        let reloader = Arc::clone(reloader);
        tokio::spawn(async move {
            reloader
                .watch(Duration::from_millis(watch_interval_ms))
                .await;
        });
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => hangup,
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGHUP; reload by file change only");
                return;
            }
        };
        let reloader = Arc::clone(reloader);
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                // The outcome is logged and counted by the reloader.
                let _ = reloader.reload("SIGHUP").await;
            }
        });
    }
}

/// Resolves at the first SIGTERM or SIGINT. A second one cancels the calls
/// still running at once instead of waiting for the drain deadline.
async fn shutdown_signal(gateway: Arc<Gateway>) {
    termination_signal().await;
    tracing::info!("shutdown requested; a second signal cancels the calls in flight at once");
    tokio::spawn(async move {
        termination_signal().await;
        tracing::warn!("second signal: cancelling the calls in flight");
        gateway.mcp.lifecycle().cancel_calls();
    });
}

async fn termination_signal() {
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
}

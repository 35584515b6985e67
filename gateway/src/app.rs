//! The application: what every transport serves. Built once from the
//! configuration ([`build`]: load the catalog, open the audit log, make the
//! session store and the authenticator), configured again on reload
//! (`reload`: a new catalog and authenticator swapped in whole), and handed
//! to the transports, which only frame messages, authenticate and carry
//! streams.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::audit::{AuditError, AuditLog};
use crate::auth::Authenticator;
use crate::catalog::{Catalog, CatalogError};
use crate::cluster::store::StoreError;
use crate::cluster::{Shared, revocations};
use crate::config::{self, ClusterConfig, Config, HttpConfig, ServerConfig, SessionKey};
use crate::limits::Limits;
use crate::limits::held_bytes::HeldBytes;
use crate::mcp::McpServer;
use crate::mcp::session::token::SESSION_ID_BYTES;
use crate::mcp::session::{SessionSettings, SessionStore};
use crate::tasks::Tasks;
use crate::telemetry::{self, metrics::LiveState};
use crate::tls::{Tls, TlsError};

/// The application every transport serves: the protocol handler with its
/// catalog, sessions and quotas, the authenticator, and the settings the
/// transports read.
pub struct Gateway {
    /// The MCP server every transport hands its messages to.
    pub mcp: Arc<McpServer>,
    /// Checks HTTP callers' credentials; replaced whole on reload.
    pub auth: ArcSwap<Authenticator>,
    /// The `[server]` settings (origins, body and nesting limits).
    pub settings: ServerConfig,
    /// The `[http]` limits.
    pub http: HttpConfig,
    /// The events all sessions keep for resumption, held to
    /// `server.stream_replay_total_bytes`.
    pub replay_held: Arc<HeldBytes>,
    /// The responses connections have not yet read, held to
    /// `http.max_unsent_bytes`.
    pub unsent_held: Arc<HeldBytes>,
    /// HTTPS on the MCP listener, when `[tls]` is configured.
    pub tls: Option<Tls>,
    /// The `[cluster]` table the gateway started with.
    pub cluster: ClusterConfig,
    /// The state shared with other replicas through Redis, if any.
    pub shared: Option<Arc<Shared>>,
    /// When the gateway started.
    pub started: Instant,
    /// The address the MCP listener is bound to, once
    /// [`crate::http::serve`] runs: a `--listen` override or an ephemeral
    /// port makes it differ from `settings.listen`, and the `Host` check
    /// must judge the real one.
    pub served_on: OnceLock<SocketAddr>,
}

impl Gateway {
    /// The address MCP is served on: the bound one, else the configured one.
    pub fn listen_address(&self) -> SocketAddr {
        self.served_on
            .get()
            .copied()
            .unwrap_or(self.settings.listen)
    }

    /// The live figures the metrics exporter shows as gauges.
    pub fn live_state(&self) -> LiveState {
        let catalog = self.mcp.catalog();
        let pool = catalog.sandbox().pool_stats();
        LiveState {
            sessions: self.mcp.sessions().len(),
            calls_in_flight: catalog
                .components()
                .iter()
                .map(|component| component.in_flight())
                .sum(),
            pool_slots_in_use: pool.in_use,
            pool_slots: pool.capacity,
            tools_loaded: catalog.tools().len(),
            ready: !self.mcp.lifecycle().is_draining(),
            unsent_bytes: self.unsent_held.bytes(),
            replay_bytes: self.replay_held.bytes(),
        }
    }
}

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A component failed to load.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The TLS certificate, key or client CA could not be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The audit log could not be opened.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// No session key is configured and the OS random source failed to
    /// make one.
    #[error("cannot generate a session key: {0}")]
    SessionKey(#[from] getrandom::Error),
    /// `[auth]` cannot be put in place.
    #[error("{0}")]
    Auth(String),
    /// `[cluster]`'s Redis client cannot be set up.
    #[error("[cluster]: {0}")]
    Cluster(#[from] StoreError),
}

/// Loads every component of `config` and builds the request handler.
pub async fn build(config: &Config) -> Result<Arc<Gateway>, BuildError> {
    telemetry::metrics::recorder();
    let catalog = Arc::new(Catalog::load(config).await?);
    telemetry::metrics::record_catalog_loaded();
    let server = &config.server;
    let key = match &server.session_key {
        Some(key) => key.clone(),
        None => {
            tracing::info!(
                "no session key configured: sessions are sealed with a key of this process \
                 and end with it; set {} to share them across replicas",
                config::SESSION_KEY_VAR
            );
            SessionKey::generate()?
        }
    };
    let audit = config
        .audit
        .as_ref()
        .map(AuditLog::start)
        .transpose()?
        .map(Arc::new);
    let tls = config.tls.as_ref().map(Tls::new).transpose()?;
    let authenticator = Authenticator::new(&config.auth, None).map_err(BuildError::Auth)?;
    let sessions = SessionStore::new(&SessionSettings {
        key,
        former_keys: server.session_old_keys.clone(),
        lifetime: Duration::from_secs(server.session_lifetime_secs),
        idle_timeout: Duration::from_secs(server.session_idle_timeout_secs),
        max_sessions: server.max_sessions,
    });
    let shared = Shared::new(
        &config.cluster,
        Duration::from_secs(server.session_lifetime_secs),
    )?;
    let tasks = Tasks::new(
        &config.tasks,
        shared.as_ref().map(|shared| Arc::clone(&shared.store)),
    );
    Ok(Arc::new(Gateway {
        mcp: Arc::new(
            McpServer::new(
                catalog,
                sessions,
                Limits::new(&config.rate_limits, shared.clone()),
                audit,
                server.page_size,
            )
            .with_tasks(tasks),
        ),
        auth: ArcSwap::from_pointee(authenticator),
        settings: server.clone(),
        http: config.http.clone(),
        replay_held: HeldBytes::new(server.stream_replay_total_bytes),
        unsent_held: HeldBytes::new(config.http.max_unsent_bytes),
        tls,
        cluster: config.cluster.clone(),
        shared,
        started: Instant::now(),
        served_on: OnceLock::new(),
    }))
}

/// How often a replica renews its heartbeat (it lasts five seconds).
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// Keeps this process in step with the other replicas while `gateway`
/// serves: writes the fuel its calls consumed every `lease_ms`, ends the
/// sessions other replicas' `DELETE`s revoked and stops the tasks they
/// cancelled. `None` without a shared store.
pub fn spawn_cluster_sync(gateway: &Arc<Gateway>) -> Option<tokio::task::JoinHandle<()>> {
    let shared = Arc::clone(gateway.shared.as_ref()?);
    let gateway = Arc::downgrade(gateway);
    Some(tokio::spawn(async move {
        let tick = shared.flush_interval.min(revocations::POLL_INTERVAL);
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_read: Option<Instant> = None;
        let mut last_heartbeat: Option<Instant> = None;
        loop {
            interval.tick().await;
            let Some(gateway) = gateway.upgrade() else {
                return;
            };
            // Errors are logged and counted by the store; what was not
            // written is written next time.
            let _ = shared.fuel.flush().await;
            if last_read.is_none_or(|read| read.elapsed() >= revocations::POLL_INTERVAL) {
                last_read = Some(Instant::now());
                if let Ok(revoked) = shared.revocations.read_new().await {
                    end_revoked(&gateway, &revoked);
                }
                let tasks = gateway.mcp.tasks();
                let _ = tasks.stop_cancelled_elsewhere().await;
                if last_heartbeat.is_none_or(|beat| beat.elapsed() >= HEARTBEAT_INTERVAL) {
                    last_heartbeat = Some(Instant::now());
                    let _ = tasks.heartbeat().await;
                }
            }
        }
    }))
}

fn end_revoked(gateway: &Gateway, revoked: &[revocations::Revoked]) {
    let sessions = gateway.mcp.sessions();
    for one in revoked {
        let mut id = [0u8; SESSION_ID_BYTES];
        if hex::decode_to_slice(&one.id_hex, &mut id).is_err() {
            continue;
        }
        if let Some(log_tag) = sessions.end_revoked(id, one.expires_at) {
            tracing::info!(session = %log_tag, "session ended by a DELETE on another replica");
        }
    }
}

/// Stops the sync [`spawn_cluster_sync`] started, writing the fuel the last
/// calls consumed first.
pub async fn stop_cluster_sync(gateway: &Gateway, sync: Option<tokio::task::JoinHandle<()>>) {
    if let Some(sync) = sync {
        sync.abort();
        if let Some(shared) = &gateway.shared {
            let _ = shared.fuel.flush().await;
        }
    }
}

//! Warden's gateway: MCP over Streamable HTTP in front of the sandbox.
//!
//! The flow of one call: [`http`] checks the transport (origin, headers,
//! body size) → [`mcp`] decodes JSON-RPC, checks the session and dispatches
//! → [`catalog`] finds the tool and validates its arguments → the sandbox
//! runs it in a fresh instance → [`mcp`] maps the outcome onto the wire.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod http;
pub mod lifecycle;
pub mod limits;
pub mod mcp;
pub mod reload;
pub mod stdio;
pub mod telemetry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use audit::{AuditError, AuditLog};
use auth::Authenticator;
use catalog::{Catalog, CatalogError};
use config::{Config, SessionKey};
use http::Gateway;
use http::tls::{Tls, TlsError};
use limits::Limits;
use mcp::Mcp;
use mcp::session::replay::ReplayBounds;
use mcp::session::{SessionSettings, SessionStore};

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
        replay: ReplayBounds {
            max_events: server.stream_replay_events,
            max_bytes: server.stream_replay_bytes,
        },
    });
    Ok(Arc::new(Gateway {
        mcp: Mcp::new(
            catalog,
            sessions,
            Limits::new(&config.rate_limits),
            audit,
            server.page_size,
        ),
        auth: ArcSwap::from_pointee(authenticator),
        settings: server.clone(),
        http: config.http.clone(),
        tls,
        started: Instant::now(),
        served_on: std::sync::OnceLock::new(),
    }))
}

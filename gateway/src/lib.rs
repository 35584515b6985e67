//! Warden's gateway: MCP over Streamable HTTP in front of the sandbox.
//!
//! The flow of one call: [`http`] checks the transport (origin, headers,
//! body size) → [`mcp`] decodes JSON-RPC, checks the session and dispatches
//! → [`catalog`] finds the tool and validates its arguments → the sandbox
//! runs it in a fresh instance → [`mcp`] maps the outcome onto the wire.

pub mod catalog;
pub mod config;
pub mod http;
pub mod lifecycle;
pub mod mcp;
pub mod reload;
pub mod stdio;
pub mod telemetry;

use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog::{Catalog, CatalogError};
use config::Config;
use http::Gateway;
use mcp::Mcp;
use mcp::session::SessionStore;

/// Loads every component of `config` and builds the request handler.
pub async fn build(config: &Config) -> Result<Arc<Gateway>, CatalogError> {
    telemetry::metrics::recorder();
    let catalog = Arc::new(Catalog::load(config).await?);
    telemetry::metrics::record_catalog_loaded();
    let server = &config.server;
    let sessions = SessionStore::new(
        Duration::from_secs(server.session_idle_timeout_secs),
        server.max_sessions,
    );
    Ok(Arc::new(Gateway {
        mcp: Mcp::new(catalog, sessions, server.page_size),
        settings: server.clone(),
        started: Instant::now(),
    }))
}

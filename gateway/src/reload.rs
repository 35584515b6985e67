//! Hot reload: the catalog is rebuilt from the config file aside and swapped
//! in whole, on SIGHUP or when the config file or a component file changes.
//! A config or component that fails to load is refused with its reason and
//! the running catalog keeps serving; calls in flight finish on the catalog
//! they started with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::app::Gateway;
use crate::auth::Authenticator;
use crate::catalog::CatalogError;
use crate::config::{
    self, AuditConfig, ComponentSource, Config, ConfigError, JwksSource, ServerConfig,
    TracingConfig,
};
use crate::limits::Limits;
use crate::telemetry::metrics;
use crate::tls::{Tls, TlsError};

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A component failed to load, or the tools clash.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The new config would leave the listening address without
    /// authentication.
    #[error("{0}")]
    Exposure(String),
    /// The new certificate, key or client CA cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The new `[auth]` cannot be put in place.
    #[error("{0}")]
    Auth(String),
}

/// What a successful reload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloaded {
    /// Tools served now.
    pub tools: usize,
    /// Whether the tool listing changed (and sessions were told so).
    pub listing_changed: bool,
}

/// Reloads one gateway's catalog from its config file.
pub struct Reloader {
    gateway: Arc<Gateway>,
    config_path: PathBuf,
    /// One reload at a time.
    running: tokio::sync::Mutex<()>,
    /// The files the catalog in service was built from, as they were read.
    watched: Mutex<WatchedFiles>,
    /// The `[tracing]` table the process started with; it is not reloaded.
    tracing: TracingConfig,
    /// The `[audit]` table the process started with; it is not reloaded.
    audit: Option<AuditConfig>,
    /// The HTTP address served, if any: a reload may not drop `[auth]`
    /// while it is reachable from other machines.
    exposed_on: Option<SocketAddr>,
}

impl Reloader {
    /// A reloader for `gateway`, which was built from `config` and
    /// `watched`, both from [`load_watched`] of `config_path`, and serves
    /// HTTP on `exposed_on` (`None`: stdio).
    pub fn new(
        gateway: Arc<Gateway>,
        config_path: &Path,
        config: &Config,
        watched: WatchedFiles,
        exposed_on: Option<SocketAddr>,
    ) -> Self {
        Self {
            gateway,
            config_path: config_path.to_owned(),
            running: tokio::sync::Mutex::new(()),
            watched: Mutex::new(watched),
            tracing: config.tracing.clone(),
            audit: config.audit.clone(),
            exposed_on,
        }
    }

    /// Rebuilds the catalog and swaps it in; `trigger` names the cause in
    /// the log. On error the catalog in service is left as it was.
    pub async fn reload(&self, trigger: &str) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self.running.lock().await;
        tracing::info!(trigger, config = %self.config_path.display(), "reloading");
        match self.rebuild().await {
            Ok(reloaded) => {
                metrics::record_reload(true);
                tracing::info!(
                    trigger,
                    tools = reloaded.tools,
                    listing_changed = reloaded.listing_changed,
                    "catalog reloaded"
                );
                Ok(reloaded)
            }
            Err(error) => {
                metrics::record_reload(false);
                tracing::error!(trigger, %error, "reload refused; the running tools keep serving");
                Err(error)
            }
        }
    }

    async fn rebuild(&self) -> Result<Reloaded, ReloadError> {
        let (config, watched) = load_watched(&self.config_path)?;
        if let Some(address) = self.exposed_on {
            config::check_exposure(address, &config.auth).map_err(ReloadError::Exposure)?;
        }
        warn_of_restart_only_changes(&self.gateway.settings, &config.server);
        if config.tracing != self.tracing {
            tracing::warn!("[tracing] changes take effect at the next restart");
        }
        if config.audit != self.audit {
            tracing::warn!("[audit] changes take effect at the next restart");
        }
        if self.gateway.mcp.tasks().config() != &config.tasks {
            tracing::warn!("[tasks] changes take effect at the next restart");
        }
        if self.gateway.cluster != config.cluster {
            tracing::warn!("[cluster] changes take effect at the next restart");
        }
        // Certificates are re-read on every reload (renewals keep their
        // paths); turning TLS on or off needs a restart.
        let renewed_tls = match (&self.gateway.tls, &config.tls) {
            (Some(_), Some(tls)) => Some(Tls::prepare(tls)?),
            (None, None) => None,
            _ => {
                tracing::warn!("turning [tls] on or off takes effect at the next restart");
                None
            }
        };
        let authenticator = Authenticator::new(&config.auth, Some(&self.gateway.auth.load()))
            .map_err(ReloadError::Auth)?;
        let current = self.gateway.mcp.catalog();
        let next = Arc::new(current.reload(&config).await?);
        let reloaded = Reloaded {
            tools: next.tools().len(),
            listing_changed: current.listing_differs(&next),
        };
        // Everything is ready: swap. Keys first, so a removed key stops
        // working no later than the catalog changes.
        if let (Some(tls), Some(renewed)) = (&self.gateway.tls, renewed_tls) {
            tls.install(renewed);
        }
        self.gateway.auth.store(Arc::new(authenticator));
        // Unchanged limits keep their counters (and calls their places).
        if self.gateway.mcp.limits().config() != &config.rate_limits {
            let shared = self.gateway.mcp.limits().shared().cloned();
            self.gateway
                .mcp
                .replace_limits(Limits::new(&config.rate_limits, shared));
        }
        self.gateway.mcp.replace_catalog(next);
        *self.watched() = watched;
        Ok(reloaded)
    }

    /// Checks the watched files every `interval` and reloads once a change
    /// has settled (the same on two checks in a row), so a file being
    /// written is not read half-way. Runs until the task is dropped.
    ///
    /// Changes are judged against the files as the catalog in service read
    /// them, not as they were when watching began, so an edit made while
    /// the process was still starting is not missed.
    pub async fn watch(&self, interval: Duration) {
        let mut applied = self.watched().stamps.clone();
        let mut pending: Option<Stamps> = None;
        loop {
            tokio::time::sleep(interval).await;
            let now = self.watched().stamp_again();
            if now == applied {
                pending = None;
                continue;
            }
            if pending.as_ref() != Some(&now) {
                pending = Some(now);
                continue;
            }
            applied = match self.reload("file change").await {
                // What the new catalog read, over its own list of files.
                Ok(_) => self.watched().stamps.clone(),
                // Refused: this version has been tried, and the next edit
                // triggers the next attempt.
                Err(_) => now,
            };
            pending = None;
        }
    }

    fn watched(&self) -> std::sync::MutexGuard<'_, WatchedFiles> {
        self.watched
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Loads the config at `config_path` together with the stamps of every file
/// a catalog built from it reads. The config file is stamped before it is
/// read and the others right after, before anything reads them: a change
/// made meanwhile shows as a difference at the next check instead of being
/// taken for the version in service.
pub fn load_watched(config_path: &Path) -> Result<(Config, WatchedFiles), ConfigError> {
    let config_stamp = stamp(config_path);
    let config = config::load(config_path)?;
    let paths = watched_files(config_path, &config);
    let stamps = paths
        .iter()
        .map(|path| {
            if path == config_path {
                config_stamp
            } else {
                stamp(path)
            }
        })
        .collect();
    Ok((config, WatchedFiles { paths, stamps }))
}

/// The config file, the component files and the key and certificate files
/// of one catalog, with their stamps when that catalog read them.
#[derive(Debug, Clone)]
pub struct WatchedFiles {
    paths: Vec<PathBuf>,
    stamps: Stamps,
}

impl WatchedFiles {
    fn stamp_again(&self) -> Stamps {
        self.paths.iter().map(|path| stamp(path)).collect()
    }
}

/// A file's modification time and size, `None` when it cannot be read.
type Stamp = Option<(Option<SystemTime>, u64)>;

/// The stamps of [`WatchedFiles::paths`], in order.
type Stamps = Vec<Stamp>;

fn stamp(path: &Path) -> Stamp {
    // Metadata follows symlinks, so a Kubernetes ConfigMap's atomic symlink
    // swap shows up as a change.
    std::fs::metadata(path)
        .ok()
        .map(|meta| (meta.modified().ok(), meta.len()))
}

fn watched_files(config_path: &Path, config: &Config) -> Vec<PathBuf> {
    let tls = config.tls.iter().flat_map(|tls| {
        [
            Some(&tls.cert_file),
            Some(&tls.key_file),
            tls.client_ca_file.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
    });
    std::iter::once(config_path.to_owned())
        .chain(config.auth.api_keys_file.clone())
        .chain(config.auth.jwt.iter().filter_map(|jwt| match &jwt.jwks {
            JwksSource::File { path, .. } => Some(path.clone()),
            JwksSource::Url { ca_file, .. } => ca_file.clone(),
        }))
        .chain(tls)
        .chain(config.components.iter().filter_map(|c| match &c.source {
            ComponentSource::File(path) => Some(path.clone()),
            ComponentSource::Oci(_) => None,
        }))
        .chain(config.registry.secret_files.iter().cloned())
        .chain(config.registry.auth_file.iter().cloned())
        .chain(config.registry.ca_file.iter().cloned())
        .chain(
            config
                .components
                .iter()
                .flat_map(|c| c.secret_files.iter().cloned()),
        )
        .collect()
}

/// The `[server]` keys that a reload applies: those the engine is built
/// from. The others (listen address, limits of the HTTP layer, sessions...)
/// belong to objects that live as long as the process.
fn warn_of_restart_only_changes(running: &ServerConfig, new: &ServerConfig) {
    let comparable = ServerConfig {
        pool_instances: running.pool_instances,
        pool_keep_resident_bytes: running.pool_keep_resident_bytes,
        cache_dir: running.cache_dir.clone(),
        ..new.clone()
    };
    if &comparable != running {
        tracing::warn!(
            "[server] changes other than pool_instances, pool_keep_resident_bytes and cache_dir take effect at the next restart"
        );
    }
}

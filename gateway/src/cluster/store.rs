//! The connection to Redis: one multiplexed connection that reconnects by
//! itself with exponential backoff, every command bounded by
//! `cluster.timeout_ms`, and whether Redis answers, logged when it changes
//! and shown as a gauge.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, RedisResult, TlsCertificates};

use crate::config::{ClusterConfig, RedisConfig};
use crate::telemetry::cluster_metrics;

/// Why the shared store could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The URL, the CA file or the TLS settings cannot make a client.
    #[error("cannot set up the Redis client: {0}")]
    Setup(String),
    /// No answer within `cluster.timeout_ms`.
    #[error("Redis did not answer within {0} ms")]
    Timeout(u64),
    /// Redis answered with an error, or the connection failed.
    #[error("Redis failed: {0}")]
    Failed(String),
    /// Redis failed moments ago: the command was not sent, so that an
    /// outage costs requests no wait (one command per
    /// [`PROBE_INTERVAL`] still tries).
    #[error("Redis failed {0} ms ago and is tried again every 500 ms")]
    Down(u64),
}

/// While Redis does not answer, how often a command is sent to find out
/// whether it is back; the others fail at once.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// Redis, as this process reaches it.
pub struct Store {
    connection: ConnectionManager,
    timeout: Duration,
    prefix: String,
    /// Whether the last command was answered: changes are logged once.
    answering: AtomicBool,
    /// When a command last failed or probed while Redis did not answer.
    last_try: Mutex<Option<Instant>>,
}

impl Store {
    /// A client for `config`'s Redis; the connection is made by the first
    /// command, so a Redis that is down at start does not stop the
    /// process.
    pub fn new(config: &ClusterConfig, redis: &RedisConfig) -> Result<Self, StoreError> {
        let setup = |error: redis::RedisError| StoreError::Setup(error.to_string());
        let mut info = redis.url.as_str().into_connection_info().map_err(setup)?;
        let mut settings = info.redis_settings().clone();
        if let Some(username) = &redis.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &redis.password {
            settings = settings.set_password(password);
        }
        info = info.set_redis_settings(settings);
        let client = match &redis.ca_file {
            Some(path) => {
                let root_cert = std::fs::read(path).map_err(|error| {
                    StoreError::Setup(format!("cannot read `{}`: {error}", path.display()))
                })?;
                Client::build_with_tls(
                    info,
                    TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root_cert),
                    },
                )
            }
            None => Client::open(info),
        }
        .map_err(setup)?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(2))
            .set_number_of_retries(3);
        let connection =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(setup)?;
        cluster_metrics::record_store_answering(true);
        Ok(Self {
            connection,
            timeout,
            prefix: config.key_prefix.clone(),
            answering: AtomicBool::new(true),
            last_try: Mutex::new(None),
        })
    }

    /// The key `{prefix}:{parts…}`.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    /// Runs the command `command` makes (`what` names it in logs and
    /// metrics) within the timeout, noting whether Redis answered. A
    /// command whose connection had dropped (Redis restarted, a failover)
    /// is sent once more on the new connection the manager makes.
    pub async fn run<T, F>(
        &self,
        what: &'static str,
        mut command: impl FnMut(ConnectionManager) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = RedisResult<T>>,
    {
        if !self.answering() {
            let mut last_try = self
                .last_try
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            match *last_try {
                Some(tried) if now.duration_since(tried) < PROBE_INTERVAL => {
                    let ago = now.duration_since(tried).as_millis();
                    return Err(StoreError::Down(u64::try_from(ago).unwrap_or(u64::MAX)));
                }
                // This one probes.
                _ => *last_try = Some(now),
            }
        }
        let attempts = async {
            match command(self.connection.clone()).await {
                Err(error) if error.is_connection_dropped() => {
                    command(self.connection.clone()).await
                }
                outcome => outcome,
            }
        };
        let outcome = match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError::Failed(error.to_string())),
            Err(_) => Err(StoreError::Timeout(
                u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            )),
        };
        self.note(what, outcome.as_ref().err());
        outcome
    }

    fn note(&self, what: &'static str, error: Option<&StoreError>) {
        let answering = error.is_none();
        if let Some(error) = error {
            cluster_metrics::record_store_error(what);
            *self
                .last_try
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
            if self.answering.swap(false, Ordering::Relaxed) {
                tracing::error!(%error, command = what, "the shared store (Redis) is unavailable");
                cluster_metrics::record_store_answering(false);
            }
        } else if answering && !self.answering.swap(true, Ordering::Relaxed) {
            tracing::info!("the shared store (Redis) answers again");
            cluster_metrics::record_store_answering(true);
        }
    }

    /// Whether the last command was answered.
    pub fn answering(&self) -> bool {
        self.answering.load(Ordering::Relaxed)
    }

    /// The longest a command may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

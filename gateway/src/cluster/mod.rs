//! What replicas share through Redis when `[cluster] redis_url` is set:
//! request quotas and fuel budgets ([`rates`], [`fuel`]) and the sessions a
//! `DELETE` ended ([`revocations`]). Without it, each process keeps these
//! alone, as [`crate::limits`] and the session store do.
//!
//! Redis is reached through one reconnecting connection ([`store`]); every
//! command is bounded by `cluster.timeout_ms`, and what a failed command
//! means is `cluster.on_unavailable`'s choice.

pub mod fuel;
pub mod rates;
pub mod revocations;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{ClusterConfig, OnUnavailable};
use fuel::SharedFuel;
use rates::SharedRates;
use revocations::Revocations;
use store::{Store, StoreError};

/// The state this process shares with the other replicas.
pub struct Shared {
    /// The connection to Redis.
    pub store: Arc<Store>,
    /// Request quotas.
    pub rates: SharedRates,
    /// Fuel budgets.
    pub fuel: SharedFuel,
    /// Sessions ended by a `DELETE`.
    pub revocations: Revocations,
    /// What to do while Redis does not answer.
    pub on_unavailable: OnUnavailable,
    /// How often charged fuel is written.
    pub flush_interval: Duration,
}

impl Shared {
    /// The shared state `config` describes, or `None` without a Redis URL.
    /// `session_lifetime` bounds how long revocations are kept.
    pub fn new(
        config: &ClusterConfig,
        session_lifetime: Duration,
    ) -> Result<Option<Arc<Self>>, StoreError> {
        let Some(redis) = &config.redis else {
            return Ok(None);
        };
        let store = Arc::new(Store::new(config, redis)?);
        let lease_for = Duration::from_millis(config.lease_ms);
        Ok(Some(Arc::new(Self {
            rates: SharedRates::new(Arc::clone(&store), config.lease_max, lease_for),
            fuel: SharedFuel::new(Arc::clone(&store), lease_for),
            revocations: Revocations::new(Arc::clone(&store), session_lifetime),
            on_unavailable: config.on_unavailable,
            flush_interval: lease_for,
            store,
        })))
    }

    /// Forgets leases and verdicts no longer in use.
    pub fn forget_idle(&self) {
        self.rates.forget_idle();
        self.fuel.forget_idle();
    }
}

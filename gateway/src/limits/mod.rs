//! Quotas and load shedding.
//!
//! - Per caller, every `/mcp` request: `rate_limits.caller_requests`; beyond
//!   it the transport answers 429 with `Retry-After`.
//! - Process-wide, tool calls over HTTP: at most `max_calls_in_flight` run,
//!   `call_queue` more wait up to `call_queue_timeout_ms`; beyond that 503
//!   with `Retry-After`.
//! - Per tool, and per caller and tool: `components.<name>.rate_limits`;
//!   per caller, the fuel the caller's calls consumed
//!   (`rate_limits.caller_fuel`). Beyond these the call gets a tool error
//!   with reason `rate_limited` and the delay to wait.
//!
//! With `[cluster] redis_url`, the request quotas and fuel budgets are
//! shared by every replica ([`crate::cluster`]); the counters of this
//! process are kept up to date all the same and decide alone while Redis
//! does not answer (`on_unavailable = "local"`).

pub mod admission;
pub mod fuel;
pub mod held_bytes;
pub mod rate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::Shared;
use crate::cluster::store::StoreError;
use crate::config::{OnUnavailable, RateLimitsConfig, RateQuota};
use crate::telemetry::cluster_metrics;
use admission::Admission;
use fuel::FuelBudgets;
use rate::{KeyedRate, Rate};

/// The limits of `[rate_limits]`, kept as long as that table is unchanged.
pub struct Limits {
    config: RateLimitsConfig,
    caller_requests: Option<KeyedRate>,
    admission: Admission,
    fuel: Option<FuelBudgets>,
    shared: Option<Arc<Shared>>,
}

/// Why a quota did not let a request through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refused {
    /// The quota is spent for now.
    #[error("{} exceeded; retry in {} ms", .0.quota, .0.wait.as_millis())]
    Limited(RateLimited),
    /// The shared store did not answer and `on_unavailable = "reject"`.
    #[error("the shared quota store is unavailable ({0}); retry later")]
    Unavailable(StoreError),
}

impl Limits {
    /// Fresh counters for `config`, shared through `shared` when the
    /// replicas have a store.
    pub fn new(config: &RateLimitsConfig, shared: Option<Arc<Shared>>) -> Self {
        Self {
            config: config.clone(),
            caller_requests: config.caller_requests.map(KeyedRate::new),
            admission: Admission::new(
                config.max_calls_in_flight,
                config.call_queue,
                Duration::from_millis(config.call_queue_timeout_ms),
            ),
            fuel: config.caller_fuel.map(FuelBudgets::new),
            shared,
        }
    }

    /// The table these limits enforce.
    pub fn config(&self) -> &RateLimitsConfig {
        &self.config
    }

    /// The store shared with other replicas, if any.
    pub fn shared(&self) -> Option<&Arc<Shared>> {
        self.shared.as_ref()
    }

    /// Takes one request of `caller` from its request quota.
    pub async fn check_caller(&self, caller: &str) -> Result<(), Refused> {
        let Some(rate) = &self.caller_requests else {
            return Ok(());
        };
        let quota = rate.quota();
        decide(
            self.shared.as_deref(),
            "requests",
            rate.check(caller),
            |shared| shared.rates.take("requests", caller, quota),
            || quota.to_string(),
        )
        .await
    }

    /// The cap on calls in flight.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// Whether `caller` may start a call under its fuel budget, when one
    /// is configured.
    pub async fn check_fuel(&self, caller: &str) -> Result<(), Refused> {
        let Some(budgets) = &self.fuel else {
            return Ok(());
        };
        let quota = budgets.quota();
        decide(
            self.shared.as_deref(),
            "fuel",
            budgets.check(caller),
            |shared| shared.fuel.check(caller, quota),
            || format!("fuel budget {quota} per caller"),
        )
        .await
    }

    /// Whether a fuel budget applies to callers.
    pub fn has_fuel_budget(&self) -> bool {
        self.fuel.is_some()
    }

    /// Charges `fuel` that a call of `caller` consumed, here and (soon,
    /// see [`crate::cluster::fuel`]) in the shared store.
    pub fn charge_fuel(&self, caller: &str, fuel: u64) {
        if let Some(budgets) = &self.fuel {
            budgets.charge(caller, fuel);
            if let Some(shared) = &self.shared {
                shared.fuel.charge(caller, fuel, budgets.quota());
            }
        }
    }

    /// Forgets callers whose counters are full again.
    pub fn forget_idle(&self) {
        if let Some(rate) = &self.caller_requests {
            rate.forget_idle();
        }
        if let Some(fuel) = &self.fuel {
            fuel.forget_full();
        }
        if let Some(shared) = &self.shared {
            shared.forget_idle();
        }
    }
}

/// The verdict on one request: this process's `local` one, or with a
/// shared store the one `remote` asks it for, and `local` again while the
/// store does not answer if `on_unavailable` allows (`what` counts it). A
/// refusal names its quota with `quota` (made only then).
async fn decide<'a, F>(
    shared: Option<&'a Shared>,
    what: &'static str,
    local: Result<(), Duration>,
    remote: impl FnOnce(&'a Shared) -> F,
    quota: impl FnOnce() -> String,
) -> Result<(), Refused>
where
    F: Future<Output = Result<Result<(), Duration>, StoreError>>,
{
    let verdict = match shared {
        None => local,
        Some(shared) => match remote(shared).await {
            Ok(verdict) => verdict,
            Err(error) => match shared.on_unavailable {
                OnUnavailable::Local => {
                    cluster_metrics::record_local_fallback(what);
                    local
                }
                OnUnavailable::Reject => return Err(Refused::Unavailable(error)),
            },
        },
    };
    verdict.map_err(|wait| {
        Refused::Limited(RateLimited {
            quota: quota(),
            wait,
        })
    })
}

/// The request quotas of one tool (or prompt, resource, URI prefix).
#[derive(Clone, Default)]
pub struct ToolRates {
    /// All callers together.
    pub tool: Option<Arc<Rate>>,
    /// Each caller apart.
    pub caller_tool: Option<Arc<KeyedRate>>,
    /// What the quotas govern (`tool:<component>:<name>`…), naming their
    /// shared counters alike on every replica.
    scope: Arc<str>,
    /// The scope of the per-caller counters, made once at load.
    caller_scope: Arc<str>,
}

/// Which quota refused a call, and the wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    /// What was exceeded, for the message: e.g. "5/s burst 5 per caller".
    pub quota: String,
    /// How long until a call would be allowed.
    pub wait: Duration,
}

impl ToolRates {
    /// Counters for `tool` and `caller_tool` of `scope`, reusing
    /// `previous` ones whose quota is the same, so a reload does not hand
    /// out a fresh burst.
    pub fn new(
        scope: String,
        tool: Option<RateQuota>,
        caller_tool: Option<RateQuota>,
        previous: Option<&ToolRates>,
    ) -> Self {
        let same_tool = previous
            .and_then(|rates| rates.tool.clone())
            .filter(|rate| Some(rate.quota()) == tool);
        let same_caller_tool = previous
            .and_then(|rates| rates.caller_tool.clone())
            .filter(|rate| Some(rate.quota()) == caller_tool);
        Self {
            tool: same_tool.or_else(|| tool.map(|quota| Arc::new(Rate::new(quota)))),
            caller_tool: same_caller_tool
                .or_else(|| caller_tool.map(|quota| Arc::new(KeyedRate::new(quota)))),
            caller_scope: format!("caller-{scope}").into(),
            scope: scope.into(),
        }
    }

    /// Takes one call of `caller`, from the shared counters when `shared`
    /// is given.
    pub async fn check(&self, caller: &str, shared: Option<&Shared>) -> Result<(), Refused> {
        if let Some(rate) = &self.caller_tool {
            let quota = rate.quota();
            decide(
                shared,
                "tool_rate",
                rate.check(caller),
                |shared| shared.rates.take(&self.caller_scope, caller, quota),
                || format!("{quota} per caller"),
            )
            .await?;
        }
        if let Some(rate) = &self.tool {
            let quota = rate.quota();
            decide(
                shared,
                "tool_rate",
                rate.check(),
                |shared| shared.rates.take(&self.scope, "", quota),
                || format!("{quota} for all callers"),
            )
            .await?;
        }
        Ok(())
    }

    /// Forgets callers whose counters are full again.
    pub fn forget_idle(&self) {
        if let Some(rate) = &self.caller_tool {
            rate.forget_idle();
        }
    }

    /// The quotas, for comparing catalogs.
    pub fn quotas(&self) -> (Option<RateQuota>, Option<RateQuota>) {
        (
            self.tool.as_ref().map(|rate| rate.quota()),
            self.caller_tool.as_ref().map(|rate| rate.quota()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuotaPeriod;

    fn per_hour(count: u32) -> RateQuota {
        RateQuota {
            count,
            period: QuotaPeriod::Hour,
            burst: count,
        }
    }

    fn limited(verdict: Result<(), Refused>) -> RateLimited {
        match verdict {
            Err(Refused::Limited(limited)) => limited,
            other => panic!("expected a refusal by a quota: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_reload_keeps_the_counters_of_unchanged_quotas() {
        let before = ToolRates::new("t".into(), Some(per_hour(1)), Some(per_hour(1)), None);
        assert!(before.check("a", None).await.is_ok());
        let kept = ToolRates::new(
            "t".into(),
            Some(per_hour(1)),
            Some(per_hour(2)),
            Some(&before),
        );
        let limited = limited(kept.check("b", None).await);
        assert_eq!(limited.quota, "1/h burst 1 for all callers");
        assert_eq!(kept.quotas(), (Some(per_hour(1)), Some(per_hour(2))));
        let fresh = ToolRates::new("t".into(), Some(per_hour(3)), None, Some(&kept));
        assert!(
            fresh.check("b", None).await.is_ok(),
            "a changed quota starts afresh"
        );
    }

    #[tokio::test]
    async fn the_callers_own_quota_is_checked_first() {
        let rates = ToolRates::new("t".into(), Some(per_hour(5)), Some(per_hour(1)), None);
        assert!(rates.check("a", None).await.is_ok());
        let limited = limited(rates.check("a", None).await);
        assert_eq!(limited.quota, "1/h burst 1 per caller");
        assert!(rates.check("b", None).await.is_ok(), "b has its own");
    }
}

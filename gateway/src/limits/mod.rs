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

pub mod admission;
pub mod fuel;
pub mod held_bytes;
pub mod rate;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{RateLimitsConfig, RateQuota};
use admission::Admission;
use fuel::FuelBudgets;
use rate::{KeyedRate, Rate};

/// The limits of `[rate_limits]`, kept as long as that table is unchanged.
pub struct Limits {
    config: RateLimitsConfig,
    caller_requests: Option<KeyedRate>,
    admission: Admission,
    fuel: Option<FuelBudgets>,
}

impl Limits {
    /// Fresh counters for `config`.
    pub fn new(config: &RateLimitsConfig) -> Self {
        Self {
            config: config.clone(),
            caller_requests: config.caller_requests.map(KeyedRate::new),
            admission: Admission::new(
                config.max_calls_in_flight,
                config.call_queue,
                Duration::from_millis(config.call_queue_timeout_ms),
            ),
            fuel: config.caller_fuel.map(FuelBudgets::new),
        }
    }

    /// The table these limits enforce.
    pub fn config(&self) -> &RateLimitsConfig {
        &self.config
    }

    /// Takes one request of `caller` from its request quota; `Err` holds
    /// the quota and how long to wait.
    pub fn check_caller(&self, caller: &str) -> Result<(), (RateQuota, Duration)> {
        match &self.caller_requests {
            Some(rate) => rate.check(caller).map_err(|wait| (rate.quota(), wait)),
            None => Ok(()),
        }
    }

    /// The cap on calls in flight.
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The per-caller fuel budgets, when configured.
    pub fn fuel(&self) -> Option<&FuelBudgets> {
        self.fuel.as_ref()
    }

    /// Forgets callers whose counters are full again.
    pub fn forget_idle(&self) {
        if let Some(rate) = &self.caller_requests {
            rate.forget_idle();
        }
        if let Some(fuel) = &self.fuel {
            fuel.forget_full();
        }
    }
}

/// The request quotas of one tool.
#[derive(Clone, Default)]
pub struct ToolRates {
    /// All callers together.
    pub tool: Option<Arc<Rate>>,
    /// Each caller apart.
    pub caller_tool: Option<Arc<KeyedRate>>,
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
    /// Counters for `tool` and `caller_tool`, reusing `previous` ones whose
    /// quota is the same, so a reload does not hand out a fresh burst.
    pub fn new(
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
        }
    }

    /// Takes one call of `caller`.
    pub fn check(&self, caller: &str) -> Result<(), RateLimited> {
        if let Some(rate) = &self.caller_tool {
            rate.check(caller).map_err(|wait| RateLimited {
                quota: format!("{} per caller", rate.quota()),
                wait,
            })?;
        }
        if let Some(rate) = &self.tool {
            rate.check().map_err(|wait| RateLimited {
                quota: format!("{} for all callers", rate.quota()),
                wait,
            })?;
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

    #[test]
    fn a_reload_keeps_the_counters_of_unchanged_quotas() {
        let before = ToolRates::new(Some(per_hour(1)), Some(per_hour(1)), None);
        assert!(before.check("a").is_ok());
        let kept = ToolRates::new(Some(per_hour(1)), Some(per_hour(2)), Some(&before));
        let limited = kept
            .check("b")
            .expect_err("the tool's counter carried over");
        assert_eq!(limited.quota, "1/h burst 1 for all callers");
        assert_eq!(kept.quotas(), (Some(per_hour(1)), Some(per_hour(2))));
        let fresh = ToolRates::new(Some(per_hour(3)), None, Some(&kept));
        assert!(fresh.check("b").is_ok(), "a changed quota starts afresh");
    }

    #[test]
    fn the_callers_own_quota_is_checked_first() {
        let rates = ToolRates::new(Some(per_hour(5)), Some(per_hour(1)), None);
        assert!(rates.check("a").is_ok());
        let limited = rates.check("a").expect_err("a's quota is spent");
        assert_eq!(limited.quota, "1/h burst 1 per caller");
        assert!(rates.check("b").is_ok(), "b has its own");
    }
}

//! Request rates (GCRA, from `governor`): one counter, or one per key.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::config::RateQuota;

/// `quota` as governor counts it: one request replenished every
/// period/count, up to `burst` at once.
fn governor_quota(quota: RateQuota) -> Quota {
    let interval = (quota.period.duration() / quota.count).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(quota.burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(interval)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst)
}

/// One rate shared by every request it applies to.
pub struct Rate {
    quota: RateQuota,
    limiter: DefaultDirectRateLimiter,
}

impl Rate {
    /// A full rate: `quota.burst` requests may come at once.
    pub fn new(quota: RateQuota) -> Self {
        Self {
            quota,
            limiter: DefaultDirectRateLimiter::direct(governor_quota(quota)),
        }
    }

    /// The quota it enforces.
    pub fn quota(&self) -> RateQuota {
        self.quota
    }

    /// Takes one request; `Err` holds how long until one is allowed.
    pub fn check(&self) -> Result<(), Duration> {
        self.limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// One rate per key (a caller's name).
pub struct KeyedRate {
    quota: RateQuota,
    limiter: DefaultKeyedRateLimiter<String>,
}

impl KeyedRate {
    /// Every key starts full.
    pub fn new(quota: RateQuota) -> Self {
        Self {
            quota,
            limiter: DefaultKeyedRateLimiter::keyed(governor_quota(quota)),
        }
    }

    /// The quota it enforces, for each key.
    pub fn quota(&self) -> RateQuota {
        self.quota
    }

    /// Takes one request of `key`; `Err` holds how long until one is allowed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets keys whose counters are full again, so the map holds only
    /// callers seen lately.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

/// A wait as whole seconds for `Retry-After`, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuotaPeriod;

    #[test]
    fn bursts_then_refuses_with_the_wait() {
        let rate = Rate::new(RateQuota {
            count: 1,
            period: QuotaPeriod::Hour,
            burst: 2,
        });
        assert!(rate.check().is_ok());
        assert!(rate.check().is_ok());
        let wait = rate.check().expect_err("burst spent");
        assert!(
            wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3600),
            "{wait:?}"
        );
        assert_eq!(retry_after_secs(wait), wait.as_secs() + 1);
    }

    #[test]
    fn keys_count_apart() {
        let rate = KeyedRate::new(RateQuota {
            count: 1,
            period: QuotaPeriod::Hour,
            burst: 1,
        });
        assert!(rate.check("a").is_ok());
        assert!(rate.check("a").is_err());
        assert!(rate.check("b").is_ok());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}

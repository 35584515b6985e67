//! Per-caller fuel budgets: each caller's calls may consume `fuel` units per
//! period, refilled continuously. A call is charged after it ran, with what
//! it actually consumed (failed calls too), so a budget may go into debt;
//! while it is empty or in debt, the caller's calls are refused.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::FuelQuota;

struct Bucket {
    /// Fuel available; negative is debt.
    level: i128,
    updated: Instant,
}

/// Fuel budgets of every caller.
pub struct FuelBudgets {
    quota: FuelQuota,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl FuelBudgets {
    /// Budgets of `quota`; every caller starts with a full one.
    pub fn new(quota: FuelQuota) -> Self {
        Self {
            quota,
            buckets: Mutex::default(),
        }
    }

    /// The quota each caller has.
    pub fn quota(&self) -> FuelQuota {
        self.quota
    }

    fn capacity(&self) -> i128 {
        i128::from(self.quota.fuel)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // Every update leaves the map consistent.
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `bucket` refilled up to `now`.
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_nanos();
        let period = self.quota.period.duration().as_nanos().max(1);
        let earned = i128::try_from(elapsed.saturating_mul(u128::from(self.quota.fuel)) / period)
            .unwrap_or(i128::MAX);
        bucket.level = bucket.level.saturating_add(earned).min(self.capacity());
        bucket.updated = now;
    }

    /// Whether `caller` may start a call; `Err` holds how long until its
    /// budget is positive again.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        self.check_at(caller, Instant::now())
    }

    fn check_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.lock();
        let Some(bucket) = buckets.get_mut(caller) else {
            return Ok(());
        };
        self.refill(bucket, now);
        if bucket.level > 0 {
            return Ok(());
        }
        // Time for the budget to earn back the debt plus one unit.
        let missing = u128::try_from(1 - bucket.level).unwrap_or(u128::MAX);
        let period = self.quota.period.duration().as_nanos();
        let nanos = missing.saturating_mul(period) / u128::from(self.quota.fuel);
        Err(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }

    /// Charges `fuel` that a call of `caller` consumed.
    pub fn charge(&self, caller: &str, fuel: u64) {
        self.charge_at(caller, fuel, Instant::now());
    }

    fn charge_at(&self, caller: &str, fuel: u64, now: Instant) {
        let capacity = self.capacity();
        let mut buckets = self.lock();
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            level: capacity,
            updated: now,
        });
        self.refill(bucket, now);
        bucket.level = bucket.level.saturating_sub(i128::from(fuel));
    }

    /// Forgets callers whose budget is full again: they are as new.
    pub fn forget_full(&self) {
        let now = Instant::now();
        let mut buckets = self.lock();
        buckets.retain(|_, bucket| {
            self.refill(bucket, now);
            bucket.level < self.capacity()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuotaPeriod;

    #[test]
    fn spending_the_budget_refuses_until_it_refills() {
        let budgets = FuelBudgets::new(FuelQuota {
            fuel: 1000,
            period: QuotaPeriod::Hour,
        });
        assert!(budgets.check("a").is_ok());
        budgets.charge("a", 600);
        assert!(budgets.check("a").is_ok());
        // The call that crosses the line is charged in full: debt.
        budgets.charge("a", 900);
        let wait = budgets.check("a").expect_err("budget spent");
        // 501 units at 1000 per hour: about half an hour.
        let expected = Duration::from_secs(3600) * 501 / 1000;
        assert!(wait.abs_diff(expected) < Duration::from_secs(2), "{wait:?}");
        assert!(budgets.check("b").is_ok(), "budgets are per caller");
        budgets.forget_full();
        assert!(
            budgets.check("a").is_err(),
            "a caller in debt is remembered"
        );
    }

    #[test]
    fn budgets_refill_with_time() {
        let budgets = FuelBudgets::new(FuelQuota {
            fuel: 1000,
            period: QuotaPeriod::Second,
        });
        let start = Instant::now();
        budgets.charge_at("a", 1100, start);
        // 100 units of debt at 1000 a second: 101 ms to a positive budget.
        let wait = budgets.check_at("a", start).expect_err("in debt");
        assert_eq!(wait, Duration::from_millis(101));
        let later = start + Duration::from_millis(100);
        assert!(budgets.check_at("a", later).is_err());
        assert!(
            budgets
                .check_at("a", start + Duration::from_millis(102))
                .is_ok()
        );
        // Refilling stops at the budget: a long pause does not bank fuel.
        let much_later = start + Duration::from_secs(3600);
        budgets.charge_at("a", 999, much_later);
        assert!(budgets.check_at("a", much_later).is_ok());
        budgets.charge_at("a", 1, much_later);
        assert!(budgets.check_at("a", much_later).is_err());
    }
}

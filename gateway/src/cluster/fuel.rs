//! Fuel budgets shared by every replica. A caller's budget is one number in
//! Redis: the time (on Redis's clock, in microseconds) at which it will be
//! full again. A charge pushes that time later by the time the budget takes
//! to earn the fuel back; the budget is positive while it is less than one
//! period ahead. The same refill as [`crate::limits::fuel`], in one value a
//! Lua script updates atomically.
//!
//! To keep the round trips off each call, a replica writes the fuel its
//! calls consumed every `lease_ms` (one command for all the callers that
//! ran something) and reuses a verdict for `lease_ms`; when it is older,
//! one call fetches a fresh one while the others go on with the old
//! (one fetch per caller at a time). A caller's calls may therefore start
//! up to about 2 × `lease_ms` and a round trip after its budget ran out
//! on another replica; a charge that cannot be written is kept and written
//! with the next one, never dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::Script;

use super::store::{Store, StoreError};
use crate::config::FuelQuota;

/// Pushes the full-again time at each `KEYS[i]` later by `ARGV[i]` µs.
const CHARGE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
for i, key in ipairs(KEYS) do
  local full_at = tonumber(redis.call('GET', key)) or now
  if full_at < now then full_at = now end
  full_at = full_at + tonumber(ARGV[i])
  redis.call('SET', key, string.format('%.0f', full_at), 'PX', math.ceil((full_at - now) / 1000) + 1)
end
return 0
";

/// Most budgets one charging command updates.
const CHARGES_PER_COMMAND: usize = 256;

/// How many µs the budget at `KEYS[1]` is from full.
const BEHIND: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local full_at = tonumber(redis.call('GET', KEYS[1])) or now
if full_at < now then return 0 end
return full_at - now
";

/// A verdict reused for a while: when it was fetched and what it said.
struct Verdict {
    fetched: Instant,
    wait: Option<Duration>,
    /// A call is fetching a fresh one.
    refreshing: bool,
}

impl Verdict {
    /// What it says at `now`.
    fn at(&self, now: Instant) -> Result<(), Duration> {
        match self.wait {
            None => Ok(()),
            Some(wait) => wait
                .checked_sub(now.duration_since(self.fetched))
                .map_or(Ok(()), Err),
        }
    }
}

/// The shared fuel budgets of this process's callers.
pub struct SharedFuel {
    store: Arc<Store>,
    charge: Script,
    behind: Script,
    reuse_for: Duration,
    verdicts: Mutex<HashMap<String, Verdict>>,
    /// Fuel consumed here and not yet written, with the quota it counts
    /// against.
    unwritten: Mutex<HashMap<String, (u64, FuelQuota)>>,
}

/// µs the budget of `quota` takes to earn `fuel` back.
fn refill_micros(fuel: u64, quota: FuelQuota) -> u64 {
    let period = quota.period.duration().as_micros();
    let micros = u128::from(fuel).saturating_mul(period) / u128::from(quota.fuel.max(1));
    u64::try_from(micros).unwrap_or(u64::MAX)
}

impl SharedFuel {
    /// Budgets kept in `store`; verdicts reused for `reuse_for`.
    pub fn new(store: Arc<Store>, reuse_for: Duration) -> Self {
        Self {
            store,
            charge: Script::new(CHARGE),
            behind: Script::new(BEHIND),
            reuse_for,
            verdicts: Mutex::default(),
            unwritten: Mutex::default(),
        }
    }

    /// Whether `caller` may start a call: `Ok(Err(wait))` when its budget
    /// is spent; `Err` when Redis did not answer.
    pub async fn check(
        &self,
        caller: &str,
        quota: FuelQuota,
    ) -> Result<Result<(), Duration>, StoreError> {
        let now = Instant::now();
        {
            let mut verdicts = lock(&self.verdicts);
            match verdicts.get_mut(caller) {
                Some(verdict)
                    if verdict.refreshing
                        || now.duration_since(verdict.fetched) < self.reuse_for =>
                {
                    return Ok(verdict.at(now));
                }
                Some(verdict) => verdict.refreshing = true,
                // Never seen here: full until Redis says otherwise, which
                // the calls after this one hear.
                None => {
                    verdicts.insert(
                        caller.to_owned(),
                        Verdict {
                            fetched: now,
                            wait: None,
                            refreshing: true,
                        },
                    );
                }
            }
        }
        let fetched = self.fetch(caller, quota, now).await;
        if fetched.is_err()
            && let Some(verdict) = lock(&self.verdicts).get_mut(caller)
        {
            verdict.refreshing = false;
        }
        fetched
    }

    /// Reads `caller`'s budget from Redis and keeps the verdict.
    async fn fetch(
        &self,
        caller: &str,
        quota: FuelQuota,
        now: Instant,
    ) -> Result<Result<(), Duration>, StoreError> {
        let key = self.store.key(&["fuel", caller]);
        let behind_us: u64 = self
            .store
            .run("fuel", |mut connection| {
                let invocation = self.behind.key(&key);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        let period_us = u64::try_from(quota.period.duration().as_micros()).unwrap_or(u64::MAX);
        // Positive while less than a period from full; else wait until it
        // has earned back the debt and one unit.
        let wait = (behind_us >= period_us)
            .then(|| Duration::from_micros(behind_us - period_us + refill_micros(1, quota).max(1)));
        lock(&self.verdicts).insert(
            caller.to_owned(),
            Verdict {
                fetched: now,
                wait,
                refreshing: false,
            },
        );
        Ok(wait.map_or(Ok(()), Err))
    }

    /// Notes `fuel` consumed by a call of `caller`, written by the next
    /// [`flush`](Self::flush).
    pub fn charge(&self, caller: &str, fuel: u64, quota: FuelQuota) {
        let mut unwritten = lock(&self.unwritten);
        let entry = unwritten.entry(caller.to_owned()).or_insert((0, quota));
        entry.0 = entry.0.saturating_add(fuel);
        entry.1 = quota;
    }

    /// Writes the fuel charged since the last flush; what cannot be
    /// written is kept for the next.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let charges: Vec<(String, (u64, FuelQuota))> = lock(&self.unwritten).drain().collect();
        if charges.is_empty() {
            return Ok(());
        }
        let mut outcome = Ok(());
        for batch in charges.chunks(CHARGES_PER_COMMAND) {
            let written = match &outcome {
                Ok(()) => self.write(batch).await,
                Err(error) => Err(StoreError::clone(error)),
            };
            if let Err(error) = written {
                let mut unwritten = lock(&self.unwritten);
                for (caller, (fuel, quota)) in batch {
                    let entry = unwritten.entry(caller.clone()).or_insert((0, *quota));
                    entry.0 = entry.0.saturating_add(*fuel);
                }
                outcome = Err(error);
            }
        }
        outcome
    }

    async fn write(&self, batch: &[(String, (u64, FuelQuota))]) -> Result<(), StoreError> {
        let _: i64 = self
            .store
            .run("fuel_charge", |mut connection| {
                let mut invocation = self.charge.prepare_invoke();
                for (caller, (fuel, quota)) in batch {
                    invocation
                        .key(self.store.key(&["fuel", caller]))
                        .arg(refill_micros(*fuel, *quota));
                }
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        Ok(())
    }

    /// Forgets verdicts too old to be reused.
    pub fn forget_idle(&self) {
        let now = Instant::now();
        lock(&self.verdicts).retain(|_, verdict| {
            verdict.refreshing || now.duration_since(verdict.fetched) < self.reuse_for
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update leaves the map consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QuotaPeriod;

    #[test]
    fn refill_time_is_the_share_of_the_period() {
        let quota = FuelQuota {
            fuel: 1_000,
            period: QuotaPeriod::Second,
        };
        assert_eq!(refill_micros(500, quota), 500_000);
        assert_eq!(refill_micros(1, quota), 1_000);
        assert_eq!(refill_micros(u64::MAX, quota), u64::MAX);
    }
}

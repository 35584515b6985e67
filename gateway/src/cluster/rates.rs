//! Request quotas shared by every replica: one GCRA state per quota and
//! key in Redis, updated atomically by a Lua script on Redis's own clock.
//!
//! A replica takes a lease of up to `lease` tokens at a time and spends
//! them locally for at most `lease_ms`, so most requests cost no round
//! trip. Tokens are taken from the shared state when leased, so the long
//! run rate is exact; what a lease changes is when a token is spent. Over
//! any window, the calls allowed fleet-wide exceed what one process would
//! allow by at most `min(replicas × (lease − 1), rate × lease_ms)`, and a
//! quota whose burst is under 2 × 8 tokens is never leased (`lease` = 1).
//! Leased tokens left unspent when their lease ends are lost: a replica
//! that stops receiving a caller's requests makes the others refuse
//! slightly early, never late.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::Script;

use super::store::{Store, StoreError};
use crate::config::RateQuota;

/// Takes up to `ARGV[3]` tokens of the GCRA state at `KEYS[1]`; `ARGV[1]`
/// is the emission interval and `ARGV[2]` the burst, in microseconds and
/// tokens. Answers `{granted, wait_us}`.
const TAKE_TOKENS: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local room = math.floor((now + burst * interval - tat) / interval)
if room < 1 then
  return {0, tat + interval - burst * interval - now}
end
local granted = math.min(want, room)
tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return {granted, 0}
";

/// Bursts at least this many times the lease are leased; smaller ones are
/// counted one request at a time, exactly.
const BURST_PER_LEASE: u32 = 8;

struct Lease {
    tokens: u32,
    until: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Lease>>;

/// Every shared request quota of this process, with its leases.
pub struct SharedRates {
    store: Arc<Store>,
    script: Script,
    lease_max: u32,
    lease_for: Duration,
    leases: Mutex<HashMap<String, Slot>>,
}

impl SharedRates {
    /// Quotas kept in `store`; leases of at most `lease_max` tokens, each
    /// usable for `lease_for`.
    pub fn new(store: Arc<Store>, lease_max: u32, lease_for: Duration) -> Self {
        Self {
            store,
            script: Script::new(TAKE_TOKENS),
            lease_max,
            lease_for,
            leases: Mutex::default(),
        }
    }

    /// How many tokens of `quota` one round trip takes.
    pub fn lease_size(&self, quota: RateQuota) -> u32 {
        (quota.burst / BURST_PER_LEASE).clamp(1, self.lease_max)
    }

    fn slot(&self, key: String) -> Slot {
        let mut leases = self
            .leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(leases.entry(key).or_insert_with(|| {
            Arc::new(tokio::sync::Mutex::new(Lease {
                tokens: 0,
                until: Instant::now(),
            }))
        }))
    }

    /// Takes one request of `key` (a caller's name, or `""` for a quota of
    /// all callers) under the quota named `scope`. `Ok(Err(wait))`: refused
    /// for `wait`; `Err`: Redis did not answer. Waiting for another
    /// request's refill counts against the store's timeout too.
    pub async fn take(
        &self,
        scope: &str,
        key: &str,
        quota: RateQuota,
    ) -> Result<Result<(), Duration>, StoreError> {
        let timeout = self.store.timeout();
        match tokio::time::timeout(timeout, self.take_in_turn(scope, key, quota)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Timeout(
                u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            )),
        }
    }

    async fn take_in_turn(
        &self,
        scope: &str,
        key: &str,
        quota: RateQuota,
    ) -> Result<Result<(), Duration>, StoreError> {
        let redis_key = self.store.key(&["rate", scope, key]);
        let slot = self.slot(redis_key.clone());
        // One refill at a time per key: the others wait for its tokens
        // rather than each taking a lease of its own.
        let mut lease = slot.lock().await;
        let now = Instant::now();
        if lease.tokens > 0 && lease.until > now {
            lease.tokens -= 1;
            return Ok(Ok(()));
        }
        let interval_us = (quota.period.duration().as_micros() / u128::from(quota.count)).max(1);
        let want = self.lease_size(quota);
        let interval_us = u64::try_from(interval_us).unwrap_or(u64::MAX);
        let (granted, wait_us): (u32, u64) = self
            .store
            .run("rate", |mut connection| {
                let mut invocation = self.script.key(&redis_key);
                invocation.arg(interval_us).arg(quota.burst).arg(want);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        if granted == 0 {
            lease.tokens = 0;
            return Ok(Err(Duration::from_micros(wait_us.max(1))));
        }
        lease.tokens = granted.saturating_sub(1);
        lease.until = now + self.lease_for;
        Ok(Ok(()))
    }

    /// Forgets keys whose lease has ended, so the map holds only keys seen
    /// lately.
    pub fn forget_idle(&self) {
        let now = Instant::now();
        self.leases
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, slot| match slot.try_lock() {
                Ok(lease) => lease.tokens > 0 && lease.until > now,
                // Being refilled: in use.
                Err(_) => true,
            });
    }
}

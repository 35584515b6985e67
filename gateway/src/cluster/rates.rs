//! Request quotas shared by every replica: one GCRA state per quota and
//! key in Redis, updated atomically by a Lua script on Redis's own clock.
//!
//! A replica takes a lease of up to `lease` tokens at a time and spends
//! them locally, so most requests cost no round trip and no wait: taking a
//! leased token is a short synchronous lock. When half a lease is spent, a
//! background refill tops it up to `lease` again before it runs out; a
//! request that finds it empty waits for the one refill in flight (single
//! flight per key; all waiters wake together when it lands) instead of
//! asking Redis itself, and a refusal is remembered until its wait passes
//! (at most `lease_ms`), so a spent quota costs one round trip, not one per
//! request. Tokens are
//! taken from the shared state when leased, so the long run rate is exact;
//! what a lease changes is when a token is spent. A replica never holds
//! more than `lease` tokens of a key, so over any window the calls allowed
//! fleet-wide exceed what one process would allow by at most
//! `replicas × lease` (tokens held when the window opens), and from a full
//! bucket never the burst. A lease is `burst / 16` tokens (at most
//! `lease_max`), so a quota whose burst is under 32 is never leased: counted
//! one request at a time, exactly. Held tokens stay usable `lease_ms` after the
//! last refill of their key. Leased tokens left
//! unspent when their lease ends are lost: a replica that stops receiving
//! a caller's requests makes the others refuse slightly early, never late.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
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
const BURST_PER_LEASE: u32 = 16;

/// The tokens of one key this replica holds.
struct Lease {
    tokens: u32,
    until: Instant,
    /// A refill (in the background or for waiting requests) is on its way.
    refilling: bool,
    /// Redis refused until then: requests are refused without asking.
    refused_until: Option<Instant>,
}

/// One key's lease, and the requests waiting for its refill.
struct KeyState {
    lease: Mutex<Lease>,
    refilled: tokio::sync::Notify,
}

impl KeyState {
    fn lease(&self) -> MutexGuard<'_, Lease> {
        // Every update leaves the lease consistent.
        self.lease
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What a request found in its key's lease.
enum Found {
    /// A token, and how many are left.
    Token(u32),
    /// A refusal remembered: wait this long.
    Refused(Duration),
    /// Nothing; this request makes the refill.
    Refill,
    /// Nothing; a refill is on its way.
    Wait,
}

/// What every lease of this process shares, owned by the background
/// refills too.
struct Inner {
    store: Arc<Store>,
    script: Script,
    lease_max: u32,
    lease_for: Duration,
    keys: Mutex<HashMap<String, Arc<KeyState>>>,
}

impl Inner {
    /// Takes up to `want` tokens of `quota` at `key` from Redis: how many
    /// it granted, and the wait when none.
    async fn ask(&self, key: &str, quota: RateQuota, want: u32) -> Result<(u32, u64), StoreError> {
        let interval_us = (quota.period.duration().as_micros() / u128::from(quota.count)).max(1);
        let interval_us = u64::try_from(interval_us).unwrap_or(u64::MAX);
        self.store
            .run("rate", |mut connection| {
                let mut invocation = self.script.key(key);
                invocation.arg(interval_us).arg(quota.burst).arg(want);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await
    }

    /// Asks Redis for what `state`'s lease lacks of `lease` tokens and
    /// ends the refill (granted tokens usable `lease_for` more, a refusal
    /// remembered), waking the requests that wait for it.
    async fn refill(
        &self,
        state: &KeyState,
        key: &str,
        quota: RateQuota,
        lease: u32,
    ) -> Result<(), StoreError> {
        // However the refill ends (its request cancelled or timed out
        // too), the key is free for the next one and its waiters hear it.
        let _ended = RefillEnded(state);
        let want = {
            let held = state.lease();
            let usable = if held.until > Instant::now() {
                held.tokens
            } else {
                0
            };
            lease.saturating_sub(usable).max(1)
        };
        let asked = self.ask(key, quota, want).await;
        {
            let now = Instant::now();
            let mut held = state.lease();
            match &asked {
                Ok((0, wait_us)) => {
                    let wait = Duration::from_micros((*wait_us).max(1));
                    held.refused_until = Some(now + wait.min(self.lease_for));
                }
                Ok((granted, _)) => {
                    if held.until <= now {
                        held.tokens = 0;
                    }
                    held.tokens = held.tokens.saturating_add(*granted);
                    held.until = now + self.lease_for;
                    held.refused_until = None;
                }
                Err(_) => {}
            }
        }
        asked.map(drop)
    }
}

/// Ends a key's refill when dropped.
struct RefillEnded<'a>(&'a KeyState);

impl Drop for RefillEnded<'_> {
    fn drop(&mut self) {
        self.0.lease().refilling = false;
        self.0.refilled.notify_waiters();
    }
}

/// Every shared request quota of this process, with its leases.
pub struct SharedRates {
    inner: Arc<Inner>,
}

impl SharedRates {
    /// Quotas kept in `store`; leases of at most `lease_max` tokens, each
    /// usable for `lease_for`.
    pub fn new(store: Arc<Store>, lease_max: u32, lease_for: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                script: Script::new(TAKE_TOKENS),
                lease_max,
                lease_for,
                keys: Mutex::default(),
            }),
        }
    }

    /// How many tokens of `quota` a replica holds at most.
    pub fn lease_size(&self, quota: RateQuota) -> u32 {
        (quota.burst / BURST_PER_LEASE).clamp(1, self.inner.lease_max)
    }

    fn state(&self, key: &str) -> Arc<KeyState> {
        let mut keys = self
            .inner
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(state) = keys.get(key) {
            return Arc::clone(state);
        }
        let state = Arc::new(KeyState {
            lease: Mutex::new(Lease {
                tokens: 0,
                until: Instant::now(),
                refilling: false,
                refused_until: None,
            }),
            refilled: tokio::sync::Notify::new(),
        });
        keys.insert(key.to_owned(), Arc::clone(&state));
        state
    }

    /// Takes one request of `key` (a caller's name, or `""` for a quota of
    /// all callers) under the quota named `scope`. `Ok(Err(wait))`: refused
    /// for `wait`; `Err`: Redis did not answer. Waiting for the refill in
    /// flight counts against the store's timeout too.
    pub async fn take(
        &self,
        scope: &str,
        key: &str,
        quota: RateQuota,
    ) -> Result<Result<(), Duration>, StoreError> {
        let redis_key = self.inner.store.key(&["rate", scope, key]);
        let state = self.state(&redis_key);
        let lease = self.lease_size(quota);
        let claimed = match Self::find(&state) {
            Found::Token(remaining) => {
                if remaining < lease / 2 {
                    self.prefetch(&state, redis_key, quota, lease);
                }
                return Ok(Ok(()));
            }
            Found::Refused(wait) => return Ok(Err(wait)),
            Found::Refill => true,
            Found::Wait => false,
        };
        let timeout = self.inner.store.timeout();
        let refilled = self.wait_or_refill(&state, &redis_key, quota, lease, claimed);
        match tokio::time::timeout(timeout, refilled).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Timeout(
                u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            )),
        }
    }

    /// A token of `state`'s lease, a remembered refusal, or which of the
    /// requests without one refills it (claimed here).
    fn find(state: &KeyState) -> Found {
        let now = Instant::now();
        let mut held = state.lease();
        if held.tokens > 0 && held.until > now {
            held.tokens -= 1;
            return Found::Token(held.tokens);
        }
        if let Some(until) = held.refused_until {
            if until > now {
                return Found::Refused(until - now);
            }
            held.refused_until = None;
        }
        if held.refilling {
            return Found::Wait;
        }
        held.refilling = true;
        Found::Refill
    }

    /// Takes a token once the refill in flight, or the one this request
    /// makes (`claimed`: it already took the key's turn), has landed.
    async fn wait_or_refill(
        &self,
        state: &KeyState,
        redis_key: &str,
        quota: RateQuota,
        lease: u32,
        mut claimed: bool,
    ) -> Result<Result<(), Duration>, StoreError> {
        loop {
            if claimed {
                claimed = false;
                self.inner.refill(state, redis_key, quota, lease).await?;
            }
            let refilled = state.refilled.notified();
            tokio::pin!(refilled);
            // Registered before looking, so a refill that lands in between
            // is not missed.
            refilled.as_mut().enable();
            match Self::find(state) {
                Found::Token(_) => return Ok(Ok(())),
                Found::Refused(wait) => return Ok(Err(wait)),
                Found::Refill => claimed = true,
                Found::Wait => refilled.await,
            }
        }
    }

    /// Tops `state`'s lease up to `lease` tokens in the background, unless
    /// a refill is already on its way.
    fn prefetch(&self, state: &Arc<KeyState>, redis_key: String, quota: RateQuota, lease: u32) {
        {
            let mut held = state.lease();
            if held.refilling {
                return;
            }
            held.refilling = true;
        }
        let (inner, state) = (Arc::clone(&self.inner), Arc::clone(state));
        // A failure leaves the lease as it is: the next request that finds
        // it empty asks again and hears why.
        tokio::spawn(async move {
            let _ = inner.refill(&state, &redis_key, quota, lease).await;
        });
    }

    /// Forgets keys whose lease has ended and that no refill uses, so the
    /// map holds only keys seen lately.
    pub fn forget_idle(&self) {
        let now = Instant::now();
        self.inner
            .keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, state| {
                let lease = state.lease();
                (lease.tokens > 0 && lease.until > now)
                    || lease.refilling
                    || lease.refused_until.is_some_and(|until| until > now)
            });
    }
}

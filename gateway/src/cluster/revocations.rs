//! Sessions ended by a `DELETE` on any replica. Each revocation is a
//! member of one sorted set, scored by the time (Redis's clock, µs) it was
//! added; every replica reads the members added since the last score it
//! saw, every [`POLL_INTERVAL`], and ends those sessions too. Members older
//! than the session lifetime are trimmed: their ids have expired anyway.
//!
//! A replica that starts reads every revocation still in the set. If Redis
//! loses the set (a restart without persistence), replicas keep what they
//! learnt; a replica started after that does not know earlier revocations.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use redis::Script;

use super::store::{Store, StoreError};

/// How often a replica reads new revocations: a `DELETE` reaches every
/// replica within this plus one round trip.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Most revocations read at once; the rest come with the next reads.
const READ_BATCH: usize = 1024;

/// Adds `ARGV[1]` scored now, trims members older than `ARGV[2]` µs and
/// keeps the set that long.
const REVOKE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) / 1000) + 1000)
return 0
";

/// One revoked session: its id's bytes, hex-encoded, and when it expires
/// (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The session id's bytes, hex.
    pub id_hex: String,
    /// When the id expires anyway.
    pub expires_at: u64,
}

impl Revoked {
    fn member(&self) -> String {
        format!("{}.{}", self.id_hex, self.expires_at)
    }

    fn parse(member: &str) -> Option<Self> {
        let (id_hex, expires_at) = member.split_once('.')?;
        Some(Self {
            id_hex: id_hex.to_owned(),
            expires_at: expires_at.parse().ok()?,
        })
    }
}

/// The shared list of revoked sessions.
pub struct Revocations {
    store: Arc<Store>,
    key: String,
    script: Script,
    keep_us: u64,
    /// The score of the newest member read; the next read starts there
    /// (inclusive: members added in the same microsecond are not missed).
    read_up_to: Mutex<f64>,
}

impl Revocations {
    /// Revocations kept for `lifetime`, the sessions' lifetime.
    pub fn new(store: Arc<Store>, lifetime: Duration) -> Self {
        Self {
            key: store.key(&["revoked-sessions"]),
            store,
            script: Script::new(REVOKE),
            keep_us: u64::try_from(lifetime.as_micros()).unwrap_or(u64::MAX),
            read_up_to: Mutex::new(f64::NEG_INFINITY),
        }
    }

    /// Tells every replica that `revoked` ended.
    pub async fn publish(&self, revoked: &Revoked) -> Result<(), StoreError> {
        let member = revoked.member();
        let _: i64 = self
            .store
            .run("revoke_session", |mut connection| {
                let mut invocation = self.script.key(&self.key);
                invocation.arg(&member).arg(self.keep_us);
                async move { invocation.invoke_async(&mut connection).await }
            })
            .await?;
        Ok(())
    }

    /// The revocations added since the last read (and some read before:
    /// ending a session twice is harmless).
    pub async fn read_new(&self) -> Result<Vec<Revoked>, StoreError> {
        let from = *self
            .read_up_to
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let min = if from.is_finite() {
            format!("{from:.0}")
        } else {
            "-inf".to_owned()
        };
        let mut command = redis::cmd("ZRANGEBYSCORE");
        command
            .arg(&self.key)
            .arg(min)
            .arg("+inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(READ_BATCH);
        let members: Vec<(String, f64)> = self
            .store
            .run("read_revocations", |mut connection| {
                let command = command.clone();
                async move { command.query_async(&mut connection).await }
            })
            .await?;
        if let Some(newest) = members.iter().map(|(_, score)| *score).reduce(f64::max) {
            *self
                .read_up_to
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = newest;
        }
        Ok(members
            .iter()
            .filter_map(|(member, _)| Revoked::parse(member))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_read_back() {
        let revoked = Revoked {
            id_hex: "00ff".to_owned(),
            expires_at: 1_700_000_000,
        };
        assert_eq!(Revoked::parse(&revoked.member()), Some(revoked));
        assert_eq!(Revoked::parse("nodot"), None);
        assert_eq!(Revoked::parse("ab.notanumber"), None);
    }
}

//! What to run, read from `WARDEN_SCALE_*` variables.

use std::time::Duration;

use warden_benches::env::{count, seconds};

/// Everything `WARDEN_SCALE_*` selects.
#[derive(Debug)]
pub struct Knobs {
    /// Connections creating sessions at once, each in a closed loop.
    pub creators: usize,
    /// Measured time of the creation rate, after the warm-up.
    pub secs: Duration,
    /// Creations before the measured ones, not counted.
    pub warmup: Duration,
    /// Sessions created, then left idle.
    pub sessions: u64,
    /// Idle connections aimed at.
    pub connections: u64,
}

impl Knobs {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            creators: usize::try_from(count("WARDEN_SCALE_CREATORS", 64)?)?,
            secs: seconds("WARDEN_SCALE_SECS", 5.0)?,
            warmup: seconds("WARDEN_SCALE_WARMUP_SECS", 1.0)?,
            sessions: count("WARDEN_SCALE_SESSIONS", 100_000)?,
            connections: count("WARDEN_SCALE_CONNECTIONS", 10_000)?,
        })
    }
}

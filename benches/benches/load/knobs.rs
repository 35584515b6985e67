//! What to run, read from the environment: `cargo bench` hands the bench
//! its own arguments, so knobs travel as variables.

use std::time::Duration;

use anyhow::{Context as _, bail};
use warden_benches::drive::Stop;
use warden_benches::env::{count, list, seconds, var};

use crate::servers::Server;
use crate::workloads::Workload;

/// Everything `WARDEN_LOAD_*` selects.
#[derive(Debug)]
pub struct Knobs {
    pub warmup: Duration,
    pub stop: Stop,
    pub connections: Vec<usize>,
    pub servers: Vec<Server>,
    pub workloads: Vec<Workload>,
    /// `[cluster] lease_max` of `warden-redis`; `None`: Warden's default.
    pub redis_lease_max: Option<u64>,
}

impl Knobs {
    pub fn from_env() -> anyhow::Result<Self> {
        let stop = match var("WARDEN_LOAD_REQUESTS") {
            Some(text) => Stop::Requests(
                text.parse()
                    .with_context(|| format!("WARDEN_LOAD_REQUESTS={text} is not a count"))?,
            ),
            None => Stop::After(seconds("WARDEN_LOAD_SECS", 5.0)?),
        };
        let connections = list("WARDEN_LOAD_CONNECTIONS", "1,64", |text| {
            match text.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => bail!("{text} is not a positive connection count"),
            }
        })?;
        let servers = list(
            "WARDEN_LOAD_SERVERS",
            "warden,warden-quotas,warden-redis,rmcp,rmcp-stateless,hyper,python",
            Server::parse,
        )?;
        let workloads = list("WARDEN_LOAD_WORKLOADS", "count,find,query", Workload::named)?;
        let redis_lease_max = match var("WARDEN_LOAD_REDIS_LEASE_MAX") {
            Some(_) => Some(count("WARDEN_LOAD_REDIS_LEASE_MAX", 1)?),
            None => None,
        };
        Ok(Self {
            warmup: seconds("WARDEN_LOAD_WARMUP_SECS", 1.0)?,
            stop,
            connections,
            servers,
            workloads,
            redis_lease_max,
        })
    }
}

//! What to run, read from the environment: `cargo bench` hands the bench
//! its own arguments, so knobs travel as variables.

use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::servers::Server;
use crate::workloads::Workload;

/// How long, or how many requests, one point measures.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// Requests started within this long after the warm-up.
    After(Duration),
    /// This many requests after the warm-up, all connections together.
    Requests(u64),
}

/// Everything `WARDEN_LOAD_*` selects.
#[derive(Debug)]
pub struct Knobs {
    pub warmup: Duration,
    pub stop: Stop,
    pub connections: Vec<usize>,
    pub servers: Vec<Server>,
    pub workloads: Vec<Workload>,
}

impl Knobs {
    pub fn from_env() -> anyhow::Result<Self> {
        let seconds = |name: &str, default: f64| -> anyhow::Result<Duration> {
            let value = var(name).map_or(Ok(default), |text| {
                text.parse::<f64>()
                    .with_context(|| format!("{name}={text} is not a number of seconds"))
            })?;
            Duration::try_from_secs_f64(value).with_context(|| format!("{name}={value}"))
        };
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
            "warden,rmcp,rmcp-stateless,hyper,python",
            Server::parse,
        )?;
        let workloads = list("WARDEN_LOAD_WORKLOADS", "count,find,query", Workload::named)?;
        Ok(Self {
            warmup: seconds("WARDEN_LOAD_WARMUP_SECS", 1.0)?,
            stop,
            connections,
            servers,
            workloads,
        })
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A comma-separated list, each item parsed by `parse`.
fn list<T>(
    name: &str,
    default: &str,
    parse: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let text = var(name).unwrap_or_else(|| default.to_owned());
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| parse(item).with_context(|| format!("in {name}")))
        .collect()
}

//! Knobs read from the environment: `cargo bench` hands a bench its own
//! arguments, so knobs travel as variables. An empty variable counts as
//! unset.

use std::time::Duration;

use anyhow::Context as _;

/// The variable `name`, unless unset or blank.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A duration given in (fractional) seconds, `default` when unset.
pub fn seconds(name: &str, default: f64) -> anyhow::Result<Duration> {
    let value = var(name).map_or(Ok(default), |text| {
        text.parse::<f64>()
            .with_context(|| format!("{name}={text} is not a number of seconds"))
    })?;
    Duration::try_from_secs_f64(value).with_context(|| format!("{name}={value}"))
}

/// A count of at least 1, `default` when unset.
pub fn count(name: &str, default: u64) -> anyhow::Result<u64> {
    let Some(text) = var(name) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(count) if count > 0 => Ok(count),
        _ => anyhow::bail!("{name}={text} is not a positive count"),
    }
}

/// A comma-separated list, each item parsed by `parse`; `default` when unset.
pub fn list<T>(
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

//! The gateway's configuration: one TOML file, read once per (re)load.
//!
//! [`load`](fn@load) reads a file and [`parse`](fn@parse) takes its text; both return a
//! [`Config`] of plain data or a [`ConfigError`] that names the file, the
//! line, the column and the dotted key at fault:
//!
//! ```text
//! warden.toml:14:19: components.text.limits.timeout_ms: must be between 1 and 600000 milliseconds, got 0
//! ```
//!
//! The rules, in the order they are applied:
//! - every table rejects unknown keys, listing the keys it accepts;
//! - every value is type- and range-checked where it is written (all limits
//!   have units in their names and conservative defaults, see the `DEFAULT_*`
//!   and `*_RANGE` constants);
//! - relative paths are resolved against the configuration file's folder;
//!   component files and granted directories of enabled components must
//!   exist, and are canonicalised;
//! - capabilities are deny by default: a component with no `capabilities`
//!   table sees no directory, no environment variable and no network; a
//!   directory grant that holds `/`, the configuration's folder, the compile
//!   cache or the binary is refused without `allow_sensitive = true`;
//! - at least one component must be enabled; disabled ones are dropped
//!   (their values are still checked, their paths are not).
//!
//! - [`load`](fn@load) then applies the environment variables that override
//!   secrets ([`SESSION_KEY_VAR`], [`SESSION_OLD_KEYS_VAR`]).
//!
//! The reference for every key is `docs/configuration.md`; the bundled
//! example is `examples/warden.toml`.

mod audit;
mod auth;
mod cluster;
mod defaults;
mod environment;
mod error;
mod grants;
mod http_grant;
mod jwt;
mod load;
mod load_oci;
mod model;
mod model_auth;
mod oci;
mod quota;
mod raw;
mod raw_http;
mod raw_oci;
mod raw_text;
mod secrets;
mod tasks;
mod values;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_checks;
#[cfg(test)]
mod tests_cluster;
#[cfg(test)]
mod tests_http;
#[cfg(test)]
mod tests_oci;
#[cfg(test)]
mod tests_security;

pub use auth::check_exposure;
pub use cluster::{
    CLUSTER_TIMEOUT_MS_RANGE, ClusterConfig, DEFAULT_CLUSTER_TIMEOUT_MS, DEFAULT_LEASE_MAX,
    DEFAULT_LEASE_MS, LEASE_MAX_RANGE, LEASE_MS_RANGE, OnUnavailable, RedisConfig,
};
pub use environment::{SESSION_KEY_VAR, SESSION_OLD_KEYS_VAR};
pub use error::ConfigError;
pub use load::{load, parse};
pub use model::*;
pub use oci::{
    ComponentSource, DEFAULT_MAX_COMPONENT_BYTES, DEFAULT_REGISTRY_TIMEOUT_MS,
    MAX_COMPONENT_BYTES_RANGE, OciReference, OciSource, REGISTRY_TIMEOUT_MS_RANGE, RegistryConfig,
    RegistryCredentials, Verification, check_digest,
};
pub use tasks::{
    DEFAULT_MAX_KEPT_TASKS, DEFAULT_MAX_OPEN_TASKS, DEFAULT_MAX_TASK_TTL_MS, DEFAULT_TASK_POLL_MS,
    DEFAULT_TASK_TTL_MS, MAX_TASK_DURATION_MS_RANGE, TasksConfig,
};

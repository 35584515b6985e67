//! The configuration layer's error type.

use std::io;
use std::path::PathBuf;

/// Why a configuration file could not be loaded.
///
/// Every variant names the file; the ones about the file's content also name
/// the 1-based line and column and the dotted key (`components.text.path`),
/// so `Display` reads like a compiler diagnostic:
///
/// ```text
/// warden.toml:12:14: components.text.limits.timeout_ms: must be between 1 and 600000 milliseconds, got 0
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8), or the
    /// folder its relative paths are resolved against could not be found.
    #[error("{}: cannot read the configuration file", path.display())]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The file is not valid TOML.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// What the TOML parser expected.
        message: String,
    },

    /// A key or value is not allowed: an unknown key, a wrong type, a value
    /// out of range, a path that does not exist, a malformed origin, …
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        /// The configuration file.
        path: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column (in characters) of the offending key or value.
        column: usize,
        /// Dotted path of the key, e.g. `components.text.limits.timeout_ms`
        /// (array elements as `dirs[0]`). Empty for the top-level table.
        key: String,
        /// What is wrong and, where useful, what is expected.
        message: String,
    },

    /// An environment variable that overrides a setting holds a bad value.
    /// The message never repeats the value: these variables carry secrets.
    #[error("environment variable {variable}: {message}")]
    Environment {
        /// The variable, e.g. `WARDEN_SESSION_KEY`.
        variable: &'static str,
        /// What is wrong with its value.
        message: String,
    },

    /// The file configures no enabled component, so there is nothing to serve.
    #[error(
        "{}: no enabled components: add a [components.<name>] table with a `path` to a .wasm file",
        path.display()
    )]
    NoComponents {
        /// The configuration file.
        path: PathBuf,
    },
}

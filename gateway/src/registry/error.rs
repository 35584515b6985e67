//! What the registry module reports: its errors and what a pull yields.

use std::path::PathBuf;

use crate::signing::KeyError;

/// Why a component could not be pulled, pushed or signed. Messages name
/// the reference and what to do; never a credential.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)]
pub enum RegistryError {
    /// The registry did not answer (connection refused, DNS, TLS).
    #[error("{reference}: the registry cannot be reached: {why}")]
    Unreachable { reference: String, why: String },
    /// The registry wants credentials it was not given, or refused them.
    #[error(
        "{reference}: the registry refused access; give credentials in [registry.credentials] \
         or a Docker auth file (registry.auth_file, REGISTRY_AUTH_FILE)"
    )]
    Unauthorized { reference: String },
    /// No manifest at the reference.
    #[error("{reference}: no such manifest in the registry")]
    NotFound { reference: String },
    /// The registry answered with another error.
    #[error("{reference}: the registry answered with an error: {why}")]
    Refused { reference: String, why: String },
    /// Content that does not match the digest that names it.
    #[error("{reference}: the {what} has digest {got}, not the {expected} it is pinned to")]
    DigestMismatch {
        reference: String,
        what: &'static str,
        expected: String,
        got: String,
    },
    /// The manifest or its layer is not a WebAssembly component.
    #[error("{reference} is not a WebAssembly component: {why}")]
    NotAComponent { reference: String, why: String },
    /// The component's layer is larger than allowed.
    #[error(
        "{reference}: the component is at least {size} bytes, more than \
         registry.max_component_bytes ({limit})"
    )]
    TooLarge {
        reference: String,
        size: u64,
        limit: u64,
    },
    /// A manifest or index larger than Warden reads.
    #[error(
        "{reference}: the registry's {what} is larger than {limit} bytes, the most Warden reads"
    )]
    DocumentTooLarge {
        reference: String,
        what: &'static str,
        limit: usize,
    },
    /// No signature where one is required.
    #[error("{reference} ({digest}) is not signed, and {required_by} requires a signature")]
    Unsigned {
        reference: String,
        digest: String,
        required_by: String,
    },
    /// Signatures, none valid by a trusted key for this digest.
    #[error("{reference} ({digest}): no valid signature by a key of {required_by}: {reasons}")]
    BadSignature {
        reference: String,
        digest: String,
        required_by: String,
        reasons: String,
    },
    /// The pull took longer than `registry.timeout_ms`.
    #[error("{reference}: the registry took longer than registry.timeout_ms ({ms} ms)")]
    Timeout { reference: String, ms: u64 },
    /// The Docker-style auth file could not be used.
    #[error("the registry auth file {}: {why}", path.display())]
    AuthFile { path: PathBuf, why: String },
    /// `registry.ca_file` could not be read.
    #[error("registry.ca_file {}: {why}", path.display())]
    CaFile { path: PathBuf, why: String },
    /// The HTTP client for registries could not be set up.
    #[error("the registry client cannot be set up: {why}")]
    Client { why: String },
    /// Components from a registry are kept in `server.cache_dir`.
    #[error("{reference}: components pulled from a registry need server.cache_dir")]
    NoCache { reference: String },
    /// The cache could not be written.
    #[error("the component cache {}: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A signing key could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// What was asked cannot be done with this reference.
    #[error("{reference}: {why}")]
    Usage { reference: String, why: String },
}

/// A component ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// Its wasm, in the cache.
    pub path: PathBuf,
    /// The manifest digest the reference resolved to.
    pub digest: String,
    /// The fingerprint of the key whose signature verified, if one was
    /// required.
    pub signed_by: Option<String>,
    /// Whether nothing was downloaded.
    pub from_cache: bool,
}

impl Pulled {
    /// `, signed by <key>` when a signature was verified, for listings.
    pub fn signature_note(&self) -> String {
        self.signed_by
            .as_deref()
            .map(|key| format!(", signed by {key}"))
            .unwrap_or_default()
    }
}

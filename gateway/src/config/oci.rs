//! Components pulled from OCI registries, as configured: the `[registry]`
//! table (how registries are reached, credentials, size cap, trust rules)
//! and a component's `oci`, `allow_tags` and `verify` keys.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use crate::signing::VerifyingKey;

/// Default `registry.max_component_bytes`: a component's layer larger than
/// this is refused while it downloads.
pub const DEFAULT_MAX_COMPONENT_BYTES: u64 = 64 << 20;
/// Allowed `registry.max_component_bytes`.
pub const MAX_COMPONENT_BYTES_RANGE: RangeInclusive<u64> = 1 << 10..=1 << 30;
/// Default `registry.timeout_ms`: how long one pull (manifest, layer and
/// signatures) may take.
pub const DEFAULT_REGISTRY_TIMEOUT_MS: u64 = 60_000;
/// Allowed `registry.timeout_ms`.
pub const REGISTRY_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 100..=3_600_000;

/// Where a component's wasm comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentSource {
    /// A local file: its canonical absolute path, which existed and was a
    /// file when the configuration was loaded.
    File(PathBuf),
    /// A component in an OCI registry, pulled into `server.cache_dir`.
    Oci(OciSource),
}

/// `oci = "…"` and the keys that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciSource {
    /// The reference as written.
    pub reference: OciReference,
    /// Whether a reference without a digest is allowed (`allow_tags`):
    /// the tag is then resolved at every (re)load and the digest logged.
    pub allow_tags: bool,
    /// The keys one of which must have signed the manifest; `None`: no
    /// signature is required.
    pub verify: Option<Verification>,
}

/// A signature requirement: the keys, and where they were configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// A valid signature by any one of these keys is enough.
    pub keys: Vec<VerifyingKey>,
    /// `components.<name>.verify` or `registry.trust[<i>]`, for messages.
    pub required_by: String,
}

/// A parsed OCI reference: registry, repository, and a tag, a digest or
/// both. Only `sha256` digests are accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct OciReference(oci_client::Reference);

impl OciReference {
    /// Parses `text`, the way `docker pull` reads a reference (a missing
    /// registry is Docker Hub's).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim() != text || text.is_empty() {
            return Err("the reference is empty or has surrounding spaces".to_owned());
        }
        if let Some((_, digest)) = text.rsplit_once('@') {
            check_digest(digest)?;
        }
        let reference: oci_client::Reference = text
            .parse()
            .map_err(|e| format!("`{text}` is not an OCI reference: {e}"))?;
        // oci-spec reads a first component with capitals as part of a
        // Docker Hub repository, which then names nothing and does not
        // read back from its own rendering: refuse it here.
        if reference
            .repository()
            .bytes()
            .any(|b| b.is_ascii_uppercase())
        {
            return Err(format!(
                "`{text}`: the repository `{}` has capital letters; repository names are lowercase \
                 (a registry host needs a `.` or a port to be read as one)",
                reference.repository()
            ));
        }
        let rendered = reference.whole();
        if rendered.parse::<oci_client::Reference>().ok().as_ref() != Some(&reference) {
            return Err(format!(
                "`{text}` is not an OCI reference that reads back as itself (as `{rendered}`)"
            ));
        }
        Ok(Self(reference))
    }

    /// The reference as oci-client takes it.
    pub fn as_oci(&self) -> &oci_client::Reference {
        &self.0
    }

    /// The registry's host (and port).
    pub fn registry(&self) -> &str {
        self.0.registry()
    }

    /// The repository within the registry.
    pub fn repository(&self) -> &str {
        self.0.repository()
    }

    /// The tag, if written.
    pub fn tag(&self) -> Option<&str> {
        self.0.tag()
    }

    /// The digest, if written.
    pub fn digest(&self) -> Option<&str> {
        self.0.digest()
    }

    /// `registry/repository`, the identity a signature names.
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.0.registry(), self.0.repository())
    }

    /// The same repository at `digest`.
    pub fn at_digest(&self, digest: &str) -> Self {
        Self(oci_client::Reference::with_digest(
            self.0.registry().to_owned(),
            self.0.repository().to_owned(),
            digest.to_owned(),
        ))
    }

    /// The same repository at `tag`.
    pub fn at_tag(&self, tag: &str) -> Self {
        Self(oci_client::Reference::with_tag(
            self.0.registry().to_owned(),
            self.0.repository().to_owned(),
            tag.to_owned(),
        ))
    }
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.whole())
    }
}

impl fmt::Debug for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OciReference({})", self.0.whole())
    }
}

/// `sha256:` and 64 lowercase hex digits.
pub fn check_digest(digest: &str) -> Result<(), String> {
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return Err(format!(
            "the digest `{digest}` is not a sha256 digest (`sha256:` and 64 hex digits)"
        ));
    };
    if hex.len() != 64 {
        return Err(format!(
            "the digest `{digest}` has {} hex digits after `sha256:`, not 64",
            hex.len()
        ));
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "the digest `{digest}` has characters other than lowercase hex digits"
        ));
    }
    Ok(())
}

/// A registry host as `[registry]` names it: a DNS name or IP address with
/// an optional port, nothing else.
pub fn check_registry_host(host: &str) -> Result<(), String> {
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b))
        && !host.contains("://");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{host}` is not a registry host (a name or address with an optional port, no scheme or path)"
        ))
    }
}

/// The `[registry]` table: how OCI registries are reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// A Docker-style `config.json` with registry credentials; `None`:
    /// `REGISTRY_AUTH_FILE`, then `$DOCKER_CONFIG/config.json`, then
    /// `~/.docker/config.json`, where one exists.
    pub auth_file: Option<PathBuf>,
    /// Certificates (PEM) trusted besides the built-in roots, for a
    /// registry with a private CA.
    pub ca_file: Option<PathBuf>,
    /// Registries reached over plain HTTP. Loopback registries
    /// (`localhost`, `127.0.0.0/8`, `[::1]`) always are.
    pub insecure: Vec<String>,
    /// Largest component layer pulled.
    pub max_component_bytes: u64,
    /// How long one pull may take.
    pub timeout_ms: u64,
    /// Credentials per registry host, taking precedence over the auth file.
    pub credentials: Vec<(String, RegistryCredentials)>,
    /// Files read for `${file:…}` references in credentials and the key
    /// files of trust rules: a change to one reloads the configuration.
    pub secret_files: Vec<PathBuf>,
    /// `[[registry.trust]]`, in order.
    pub trust: Vec<TrustRule>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            auth_file: None,
            ca_file: None,
            insecure: Vec::new(),
            max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES,
            timeout_ms: DEFAULT_REGISTRY_TIMEOUT_MS,
            credentials: Vec::new(),
            secret_files: Vec::new(),
            trust: Vec::new(),
        }
    }
}

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryCredentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistryCredentials({}, <redacted>)", self.username)
    }
}

/// One `[[registry.trust]]` rule, with its keys read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRule {
    /// Matched against `registry/repository` of a reference.
    pub prefix: String,
    /// A valid signature by any one of these keys is enough.
    pub keys: Vec<VerifyingKey>,
    /// `registry.trust[<i>]`, for messages.
    pub written_as: String,
}

impl TrustRule {
    /// The requirement of the longest rule of `rules` whose prefix
    /// `reference` starts with.
    pub fn applying_to(rules: &[TrustRule], reference: &OciReference) -> Option<Verification> {
        let written = reference.repository_name();
        rules
            .iter()
            .filter(|rule| written.starts_with(&rule.prefix))
            .max_by_key(|rule| rule.prefix.len())
            .map(|rule| Verification {
                keys: rule.keys.clone(),
                required_by: rule.written_as.clone(),
            })
    }
}

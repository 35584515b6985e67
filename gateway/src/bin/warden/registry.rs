//! `warden pull`, `warden push` and `warden sign`: components in OCI
//! registries.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use warden_gateway::catalog::Catalog;
use warden_gateway::config::{self, OciReference, RegistryConfig};
use warden_gateway::registry::Registry;
use warden_gateway::signing::SigningKey;

/// How `push` and `sign` reach a registry, from the command line.
#[derive(clap::Args)]
pub struct RegistryArgs {
    /// Allow plain HTTP to the registry when it does not speak TLS
    /// (loopback registries always may).
    #[arg(long)]
    insecure: bool,
    /// A Docker-style auth file; default: REGISTRY_AUTH_FILE, then
    /// $DOCKER_CONFIG/config.json, then ~/.docker/config.json.
    #[arg(long)]
    auth_file: Option<PathBuf>,
    /// Certificates (PEM) to trust besides the built-in roots.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl RegistryArgs {
    fn registry(&self, reference: &OciReference) -> anyhow::Result<Registry> {
        let config = RegistryConfig {
            auth_file: self.auth_file.clone(),
            ca_file: self.ca_file.clone(),
            insecure: if self.insecure {
                vec![reference.registry().to_owned()]
            } else {
                Vec::new()
            },
            ..RegistryConfig::default()
        };
        Ok(Registry::new(&config, None)?)
    }
}

fn reference(text: &str) -> anyhow::Result<OciReference> {
    OciReference::parse(text).map_err(anyhow::Error::msg)
}

/// `warden pull`: pulls, verifies and compiles every component the
/// configuration names, filling `server.cache_dir`.
pub async fn pull(config_path: &Path) -> anyhow::Result<()> {
    let config = config::load(config_path)?;
    let catalog = Catalog::load(&config).await?;
    let mut out = String::new();
    for pulled in catalog.pulled() {
        writeln!(
            out,
            "{} {} {} ({}{})",
            pulled.component,
            pulled.reference,
            pulled.pulled.digest,
            if pulled.pulled.from_cache {
                "cached"
            } else {
                "pulled"
            },
            pulled.pulled.signature_note()
        )?;
    }
    if catalog.pulled().is_empty() {
        writeln!(
            out,
            "{}: no component comes from a registry",
            config_path.display()
        )?;
    }
    super::describe::emit(&out)
}

/// `warden push`: publishes `file` at `reference`; prints the pinned
/// reference.
pub async fn push(file: &Path, reference_text: &str, args: &RegistryArgs) -> anyhow::Result<()> {
    let reference = reference(reference_text)?;
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let digest = args.registry(&reference)?.push(wasm, &reference).await?;
    super::describe::emit(&format!("{}@{digest}\n", reference.repository_name()))
}

/// `warden sign`: signs the manifest `reference` names with the key in
/// `key_file`; prints the signed digest.
pub async fn sign(
    key_file: &Path,
    reference_text: &str,
    args: &RegistryArgs,
) -> anyhow::Result<()> {
    let reference = reference(reference_text)?;
    let pem = std::fs::read(key_file)
        .with_context(|| format!("cannot read the key {}", key_file.display()))?;
    let key =
        SigningKey::from_pem(&pem).with_context(|| format!("the key {}", key_file.display()))?;
    let digest = args.registry(&reference)?.sign(&reference, &key).await?;
    let signer = key.verifying_key()?;
    super::describe::emit(&format!(
        "signed {}@{digest} with {} key {}\n",
        reference.repository_name(),
        signer.algorithm(),
        signer.fingerprint()
    ))
}

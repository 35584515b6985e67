//! Pulled components on disk, by manifest digest, beside the compiled
//! artifacts of `server.cache_dir`:
//!
//! ```text
//! <cache_dir>/oci/sha256/<hex>/manifest.json   the manifest, as pulled
//! <cache_dir>/oci/sha256/<hex>/component.wasm  its wasm layer
//! <cache_dir>/oci/sha256/<hex>/signatures.json signatures that verified
//! <cache_dir>/oci/tags/<hex of the reference>  a tag's last digest
//! ```
//!
//! Everything read back is checked against its digest again, so a damaged
//! or altered file is pulled anew rather than loaded.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::manifest::component_layer;
use super::remote::sha256_digest;

/// A signature kept with a component: the payload and its base64
/// signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredSignature {
    pub payload: String,
    pub signature: String,
}

pub(super) struct Cache {
    root: PathBuf,
}

/// A component found in the cache, its bytes checked.
pub(super) struct Cached {
    pub component: PathBuf,
    pub signatures: Vec<StoredSignature>,
}

impl Cache {
    pub(super) fn new(cache_dir: &Path) -> Self {
        Self {
            root: cache_dir.join("oci"),
        }
    }

    fn entry(&self, digest: &str) -> PathBuf {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        self.root.join(algorithm).join(hex)
    }

    /// The component cached for manifest `digest`, if present and intact.
    pub(super) fn get(&self, digest: &str) -> Option<Cached> {
        let entry = self.entry(digest);
        let manifest = std::fs::read(entry.join("manifest.json")).ok()?;
        if sha256_digest(&manifest) != digest {
            tracing::warn!(%digest, "ignoring a cached manifest that does not match its digest");
            return None;
        }
        let layer = component_layer(digest, &manifest).ok()?;
        let component = entry.join("component.wasm");
        let wasm_digest = file_digest(&component).ok()?;
        if wasm_digest != layer.digest {
            tracing::warn!(%digest, "ignoring a cached component that does not match its digest");
            return None;
        }
        let signatures = std::fs::read(entry.join("signatures.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Some(Cached {
            component,
            signatures,
        })
    }

    /// Stores a pulled component; returns the path of its wasm.
    pub(super) fn put(
        &self,
        digest: &str,
        manifest: &[u8],
        wasm: &[u8],
        signatures: &[StoredSignature],
    ) -> io::Result<PathBuf> {
        let entry = self.entry(digest);
        std::fs::create_dir_all(&entry)?;
        let component = entry.join("component.wasm");
        write_atomically(&component, wasm)?;
        self.put_signatures(digest, signatures)?;
        // The manifest last: an entry is complete once it is there.
        write_atomically(&entry.join("manifest.json"), manifest)?;
        Ok(component)
    }

    /// Replaces the signatures kept for `digest`.
    pub(super) fn put_signatures(
        &self,
        digest: &str,
        signatures: &[StoredSignature],
    ) -> io::Result<()> {
        let entry = self.entry(digest);
        std::fs::create_dir_all(&entry)?;
        let text = serde_json::to_vec(signatures).map_err(io::Error::other)?;
        write_atomically(&entry.join("signatures.json"), &text)
    }

    fn tag_file(&self, reference: &str) -> PathBuf {
        self.root
            .join("tags")
            .join(hex::encode(Sha256::digest(reference.as_bytes())))
    }

    /// The digest `reference` (a tag) resolved to last.
    pub(super) fn tag(&self, reference: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.tag_file(reference)).ok()?;
        let digest = text.trim().to_owned();
        crate::config::check_digest(&digest).ok().map(|()| digest)
    }

    /// Records what `reference` (a tag) resolved to.
    pub(super) fn set_tag(&self, reference: &str, digest: &str) -> io::Result<()> {
        let file = self.tag_file(reference);
        if let Some(folder) = file.parent() {
            std::fs::create_dir_all(folder)?;
        }
        write_atomically(&file, digest.as_bytes())
    }
}

fn file_digest(path: &Path) -> io::Result<String> {
    Ok(sha256_digest(&std::fs::read(path)?))
}

/// Writes `bytes` beside `path` and renames it into place, so a reader
/// never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    io::Write::write_all(&mut temporary, bytes)?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

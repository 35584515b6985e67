//! Components from OCI registries: pulled by digest (or, when the operator
//! allows it, by tag), checked against their digests, verified against
//! cosign signatures where a key is required, and cached by digest in
//! `server.cache_dir` so that a restart with the same references pulls
//! and compiles nothing and works with the registry down. Also what
//! `warden push` and `warden sign` publish.

mod auth;
mod cache;
mod documents;
mod error;
pub mod manifest;
mod remote;
mod scheme;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{OciReference, OciSource, RegistryConfig};
use crate::signing::{self, SigningKey};
use auth::Credentials;
use cache::Cache;
pub use error::{Pulled, RegistryError};
use manifest::{
    check_component, component_artifact, component_layer, signature_manifest, signature_tag,
};
use remote::{Remote, Transport};

/// Pulls, pushes and signs components, under one `[registry]` table.
pub struct Registry {
    transport: Transport,
    credentials: Credentials,
    cache: Option<Cache>,
    max_component_bytes: u64,
    timeout_ms: u64,
}

impl Registry {
    /// Reads the credentials and certificates `config` names. Components
    /// are cached in `cache_dir`; without one, only push and sign work.
    pub fn new(config: &RegistryConfig, cache_dir: Option<&Path>) -> Result<Self, RegistryError> {
        Ok(Self {
            transport: Transport::new(config)?,
            credentials: Credentials::load(&config.credentials, config.auth_file.as_deref())?,
            cache: cache_dir.map(Cache::new),
            max_component_bytes: config.max_component_bytes,
            timeout_ms: config.timeout_ms,
        })
    }

    async fn remote(&self, reference: &OciReference) -> Remote {
        let auth = self
            .credentials
            .for_registry(reference.as_oci().resolve_registry());
        self.transport.remote(reference, auth).await
    }

    /// The client in `slot`, made on first use: a component served from
    /// the cache never contacts its registry.
    async fn connected<'s>(
        &self,
        slot: &'s mut Option<Remote>,
        reference: &OciReference,
    ) -> &'s Remote {
        match slot {
            Some(remote) => remote,
            empty => empty.insert(self.remote(reference).await),
        }
    }

    async fn bounded<T>(
        &self,
        reference: &OciReference,
        work: impl Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        tokio::time::timeout(Duration::from_millis(self.timeout_ms), work)
            .await
            .unwrap_or_else(|_| {
                Err(RegistryError::Timeout {
                    reference: reference.to_string(),
                    ms: self.timeout_ms,
                })
            })
    }

    /// The component `source` names, from the cache when it holds the
    /// digest, else from the registry; verified when a key is required.
    pub async fn resolve(&self, source: &OciSource) -> Result<Pulled, RegistryError> {
        let reference = &source.reference;
        let cache = self.cache.as_ref().ok_or_else(|| RegistryError::NoCache {
            reference: reference.to_string(),
        })?;
        self.bounded(reference, self.resolve_into(cache, source))
            .await
    }

    async fn resolve_into(
        &self,
        cache: &Cache,
        source: &OciSource,
    ) -> Result<Pulled, RegistryError> {
        let reference = &source.reference;
        let mut slot = None;
        let (digest, mut manifest) = match reference.digest() {
            Some(digest) => (digest.to_owned(), None),
            None => {
                let remote = self.connected(&mut slot, reference).await;
                self.resolve_tag(cache, remote, reference).await?
            }
        };
        let cache_error = |source| RegistryError::Cache {
            path: PathBuf::from("server.cache_dir"),
            source,
        };
        if let Some(cached) = cache.get(&digest) {
            let signed_by = match &source.verify {
                None => None,
                Some(verification) => {
                    match verify::check_stored(&cached.signatures, &digest, &verification.keys) {
                        Ok(signer) => Some(signer),
                        // Keys may have rotated since: ask the registry.
                        Err(_) => {
                            let remote = self.connected(&mut slot, reference).await;
                            let (signer, stored) =
                                verify::fetch_and_check(remote, reference, &digest, verification)
                                    .await?;
                            cache
                                .put_signatures(&digest, &stored)
                                .map_err(cache_error)?;
                            Some(signer)
                        }
                    }
                }
            };
            return Ok(Pulled {
                path: cached.component,
                digest,
                signed_by,
                from_cache: true,
            });
        }
        let pinned = reference.at_digest(&digest);
        let remote = self.connected(&mut slot, reference).await;
        let manifest = match manifest.take() {
            Some(manifest) => manifest,
            None => {
                remote
                    .manifest(&pinned)
                    .await?
                    .ok_or_else(|| RegistryError::NotFound {
                        reference: reference.to_string(),
                    })?
                    .0
            }
        };
        let shown = reference.to_string();
        let layer = component_layer(&shown, &manifest)?;
        let wasm = remote
            .blob(&pinned, &layer, self.max_component_bytes)
            .await?;
        check_component(&shown, &wasm)?;
        let (signed_by, stored) = match &source.verify {
            None => (None, Vec::new()),
            Some(verification) => {
                let (signer, stored) =
                    verify::fetch_and_check(remote, reference, &digest, verification).await?;
                (Some(signer), stored)
            }
        };
        let path = cache
            .put(&digest, &manifest, &wasm, &stored)
            .map_err(cache_error)?;
        Ok(Pulled {
            path,
            digest,
            signed_by,
            from_cache: false,
        })
    }

    /// The digest a tag names now, or the last one it named when the
    /// registry cannot be reached.
    async fn resolve_tag(
        &self,
        cache: &Cache,
        remote: &Remote,
        reference: &OciReference,
    ) -> Result<(String, Option<bytes::Bytes>), RegistryError> {
        let key = reference.to_string();
        match remote.manifest(reference).await {
            Ok(Some((manifest, digest))) => {
                if cache.tag(&key).as_deref() != Some(digest.as_str()) {
                    tracing::info!(reference = %key, %digest, "tag resolved");
                    if let Err(error) = cache.set_tag(&key, &digest) {
                        tracing::warn!(reference = %key, %error, "cannot record the tag's digest");
                    }
                }
                Ok((digest, Some(manifest)))
            }
            Ok(None) => Err(RegistryError::NotFound { reference: key }),
            Err(error @ RegistryError::Unreachable { .. }) => match cache.tag(&key) {
                Some(digest) => {
                    tracing::warn!(reference = %key, %digest, %error, "registry unreachable: using the digest the tag named last");
                    Ok((digest, None))
                }
                None => Err(error),
            },
            Err(error) => Err(error),
        }
    }

    /// Publishes `wasm` at `reference` (which must name a tag) in the wasm
    /// OCI artifact layout; returns the manifest digest.
    pub async fn push(
        &self,
        wasm: Vec<u8>,
        reference: &OciReference,
    ) -> Result<String, RegistryError> {
        let shown = reference.to_string();
        if reference.tag().is_none() {
            return Err(RegistryError::Usage {
                reference: shown,
                why: "name a tag to push to (`…:1.0`)".to_owned(),
            });
        }
        check_component(&shown, &wasm)?;
        let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let artifact = component_artifact(&wasm, &created);
        let remote = self.remote(reference).await;
        let tagged = reference.at_tag(reference.tag().unwrap_or("latest"));
        self.bounded(reference, async {
            remote.begin_push(reference).await?;
            remote.push_blob(reference, wasm).await?;
            remote.push_blob(reference, artifact.config).await?;
            remote
                .push_manifest(
                    &tagged,
                    artifact.manifest,
                    oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
                )
                .await
        })
        .await
    }

    /// Signs the manifest `reference` names (its digest, or what its tag
    /// names now) with `key`, cosign's way: the signature is added to
    /// those under the `sha256-<hex>.sig` tag. Returns the signed digest.
    pub async fn sign(
        &self,
        reference: &OciReference,
        key: &SigningKey,
    ) -> Result<String, RegistryError> {
        let remote = self.remote(reference).await;
        self.bounded(reference, async {
            let digest = match reference.digest() {
                Some(digest) => digest.to_owned(),
                None => {
                    remote
                        .manifest(reference)
                        .await?
                        .ok_or_else(|| RegistryError::NotFound {
                            reference: reference.to_string(),
                        })?
                        .1
                }
            };
            let payload = signing::payload(&reference.repository_name(), &digest);
            let signature = signing::encode_signature(&key.sign(&payload)?);
            let signatures = reference.at_tag(&signature_tag(&digest));
            let existing = remote.manifest(&signatures).await?;
            let (config, manifest) = signature_manifest(
                existing.as_ref().map(|(bytes, _)| &bytes[..]),
                &payload,
                &signature,
            );
            remote.begin_push(reference).await?;
            remote.push_blob(&signatures, payload).await?;
            remote.push_blob(&signatures, config).await?;
            remote
                .push_manifest(
                    &signatures,
                    manifest,
                    oci_client::manifest::OCI_IMAGE_MEDIA_TYPE,
                )
                .await?;
            Ok(digest)
        })
        .await
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

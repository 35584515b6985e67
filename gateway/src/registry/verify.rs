//! Signatures of a manifest digest: found under cosign's `sha256-<hex>.sig`
//! tag, checked against the trusted keys, kept with the component so a
//! restart verifies offline.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::cache::StoredSignature;
use super::error::RegistryError;
use super::manifest::{MAX_PAYLOAD_BYTES, SIGNATURE_ARTIFACT, signature_layers, signature_tag};

/// Signature manifests read through referrers, and signatures read from
/// one manifest: bounds on what a hostile registry can make Warden fetch.
const MAX_SIGNATURE_MANIFESTS: usize = 16;
const MAX_SIGNATURES: usize = 64;
use super::remote::Remote;
use crate::config::{OciReference, Verification};
use crate::signing::{self, VerifyingKey};

/// The key that made the first of `signatures` to verify for `digest`;
/// otherwise why none did.
pub(super) fn check_stored(
    signatures: &[StoredSignature],
    digest: &str,
    keys: &[VerifyingKey],
) -> Result<String, Vec<String>> {
    let mut reasons = Vec::new();
    for stored in signatures {
        let Ok(payload) = BASE64.decode(&stored.payload) else {
            reasons.push("a kept payload is not base64".to_owned());
            continue;
        };
        match signing::verify(&payload, &stored.signature, digest, keys) {
            Ok(key) => return Ok(key.fingerprint().to_owned()),
            Err(error) => reasons.push(error.to_string()),
        }
    }
    Err(reasons)
}

/// Fetches the signatures of `digest` from `reference`'s repository and
/// verifies them; returns the signer's fingerprint and the signatures to
/// keep.
pub(super) async fn fetch_and_check(
    remote: &Remote,
    reference: &OciReference,
    digest: &str,
    verification: &Verification,
) -> Result<(String, Vec<StoredSignature>), RegistryError> {
    // cosign's tag first, then OCI 1.1 referrers (cosign's
    // `--registry-referrers-mode=oci-1-1`).
    let mut manifests = Vec::new();
    if let Some((manifest, _)) = remote
        .manifest(&reference.at_tag(&signature_tag(digest)))
        .await?
    {
        manifests.push(manifest);
    }
    let pinned = reference.at_digest(digest);
    for referrer in remote
        .referrers(&pinned, SIGNATURE_ARTIFACT, MAX_SIGNATURE_MANIFESTS)
        .await
    {
        if let Some((manifest, _)) = remote.manifest(&reference.at_digest(&referrer)).await? {
            manifests.push(manifest);
        }
    }
    let mut stored = Vec::new();
    for manifest in &manifests {
        for (layer, signature) in signature_layers(manifest).into_iter().take(MAX_SIGNATURES) {
            let payload = remote.blob(&pinned, &layer, MAX_PAYLOAD_BYTES).await?;
            stored.push(StoredSignature {
                payload: BASE64.encode(payload),
                signature,
            });
        }
    }
    if stored.is_empty() {
        return Err(RegistryError::Unsigned {
            reference: reference.to_string(),
            digest: digest.to_owned(),
            required_by: verification.required_by.clone(),
        });
    }
    match check_stored(&stored, digest, &verification.keys) {
        Ok(signer) => Ok((signer, stored)),
        Err(reasons) => Err(RegistryError::BadSignature {
            reference: reference.to_string(),
            digest: digest.to_owned(),
            required_by: verification.required_by.clone(),
            reasons: dedup(reasons).join("; "),
        }),
    }
}

fn dedup(mut reasons: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    reasons.retain(|reason| {
        let fresh = !seen.contains(reason);
        if fresh {
            seen.push(reason.clone());
        }
        fresh
    });
    reasons
}

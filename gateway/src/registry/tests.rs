use base64::Engine as _;

use super::cache::{Cache, StoredSignature};
use super::manifest::*;
use super::remote::sha256_digest;
use super::*;
use crate::config::Verification;

/// The smallest component: the preamble alone.
const EMPTY_COMPONENT: &[u8] = &[0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00];
const CORE_MODULE: &[u8] = &[0, b'a', b's', b'm', 1, 0, 0, 0];

#[test]
fn a_pushed_artifact_reads_back_as_a_component() {
    let artifact = component_artifact(EMPTY_COMPONENT, "2026-01-01T00:00:00Z");
    let layer = component_layer("r/x:1", &artifact.manifest).expect("a component manifest");
    assert_eq!(layer.digest, sha256_digest(EMPTY_COMPONENT));
    assert_eq!(layer.media_type, WASM_LAYER);
    let manifest: serde_json::Value =
        serde_json::from_slice(&artifact.manifest).expect("manifest JSON");
    assert_eq!(manifest["config"]["mediaType"], WASM_CONFIG);
    let config: serde_json::Value = serde_json::from_slice(&artifact.config).expect("config");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["layerDigests"][0], layer.digest);
}

#[test]
fn manifests_that_are_not_a_components_are_refused_with_what_they_are() {
    let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let error = component_layer("r/x:1", index)
        .expect_err("index")
        .to_string();
    assert!(error.contains("image index"), "{error}");
    let image = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:00","size":1},
        "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:01","size":2}]}"#;
    let error = component_layer("r/x:1", image)
        .expect_err("image")
        .to_string();
    assert!(error.contains("no `application/wasm` layer"), "{error}");
    assert!(error.contains("tar+gzip"), "{error}");
    let error = component_layer("r/x:1", b"{")
        .expect_err("not JSON")
        .to_string();
    assert!(error.contains("not JSON"), "{error}");
    let error = check_component("r/x:1", CORE_MODULE)
        .expect_err("module")
        .to_string();
    assert!(error.contains("core WebAssembly module"), "{error}");
    let error = check_component("r/x:1", b"#!/bin/sh")
        .expect_err("text")
        .to_string();
    assert!(error.contains("not WebAssembly"), "{error}");
}

#[test]
fn signature_manifests_collect_signatures_once_each() {
    let (first, _) = signature_manifest(None, b"payload", "c2ln");
    let _ = first;
    let (_, manifest) = signature_manifest(None, b"payload", "c2ln");
    let (_, twice) = signature_manifest(Some(&manifest), b"payload", "c2ln");
    assert_eq!(signature_layers(&twice).len(), 1);
    let (_, more) = signature_manifest(Some(&twice), b"other payload", "b3RoZXI=");
    let layers = signature_layers(&more);
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[1].1, "b3RoZXI=");
    assert_eq!(layers[1].0.media_type, SIGNATURE_LAYER);
    assert_eq!(signature_tag("sha256:abc"), "sha256-abc.sig");
}

#[test]
fn the_cache_serves_only_intact_entries_and_remembers_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(dir.path());
    let artifact = component_artifact(EMPTY_COMPONENT, "2026-01-01T00:00:00Z");
    let digest = sha256_digest(&artifact.manifest);
    let stored = vec![StoredSignature {
        payload: "cA==".to_owned(),
        signature: "c2ln".to_owned(),
    }];
    let path = cache
        .put(&digest, &artifact.manifest, EMPTY_COMPONENT, &stored)
        .expect("store");
    let cached = cache.get(&digest).expect("cached");
    assert_eq!(cached.component, path);
    assert_eq!(cached.signatures, stored);
    // An altered component is not served from the cache.
    std::fs::write(&path, CORE_MODULE).expect("alter");
    assert!(cache.get(&digest).is_none());
    assert!(cache.get(&sha256_digest(b"absent")).is_none());
    assert_eq!(cache.tag("r/x:1"), None);
    cache.set_tag("r/x:1", &digest).expect("tag");
    assert_eq!(cache.tag("r/x:1"), Some(digest));
}

#[test]
fn kept_signatures_verify_offline_against_the_current_keys() {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate");
    let key = SigningKey::from_pem(pair.serialize_pem().as_bytes()).expect("key");
    let digest = sha256_digest(b"manifest");
    let payload = signing::payload("r.example/x", &digest);
    let stored = vec![StoredSignature {
        payload: base64::engine::general_purpose::STANDARD.encode(&payload),
        signature: signing::encode_signature(&key.sign(&payload).expect("sign")),
    }];
    let verification = Verification {
        keys: vec![key.verifying_key().expect("public")],
        required_by: "components.x.verify".to_owned(),
    };
    let signer = verify::check_stored(&stored, &digest, &verification.keys).expect("verifies");
    assert_eq!(signer, verification.keys[0].fingerprint());
    let rotated = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate");
    let rotated = SigningKey::from_pem(rotated.serialize_pem().as_bytes())
        .expect("key")
        .verifying_key()
        .expect("public");
    let reasons = verify::check_stored(&stored, &digest, &[rotated]).expect_err("unknown key");
    assert_eq!(
        reasons,
        vec!["no trusted key made this signature".to_owned()]
    );
}

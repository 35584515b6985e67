//! The manifests Warden reads and writes: a component's (the layout of the
//! CNCF wasm OCI artifact, as `wkg oci push` writes it) and cosign's
//! signature manifests.

use std::collections::BTreeMap;

use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use serde_json::json;

use super::error::RegistryError;
use super::remote::sha256_digest;

/// The layer media type of a wasm component.
pub const WASM_LAYER: &str = "application/wasm";
/// The layer media type of the older wasm-to-oci layout, also read.
const LEGACY_WASM_LAYER: &str = oci_client::manifest::WASM_LAYER_MEDIA_TYPE;
/// The config media type of a wasm artifact.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The layer media type of a cosign simple-signing payload.
pub const SIGNATURE_LAYER: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The artifact type of a signature manifest stored as an OCI 1.1
/// referrer.
pub const SIGNATURE_ARTIFACT: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// The annotation that carries a payload's signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The config media type of a signature manifest.
const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Largest signature payload read: a few hundred bytes of JSON.
pub const MAX_PAYLOAD_BYTES: u64 = 64 << 10;

/// The `application/wasm` layer of the manifest `reference` names.
pub fn component_layer(reference: &str, manifest: &[u8]) -> Result<OciDescriptor, RegistryError> {
    let not_a_component = |why: String| RegistryError::NotAComponent {
        reference: reference.to_owned(),
        why,
    };
    let value: serde_json::Value = serde_json::from_slice(manifest)
        .map_err(|e| not_a_component(format!("its manifest is not JSON: {e}")))?;
    let media_type = value.get("mediaType").and_then(|v| v.as_str());
    if value.get("manifests").is_some() {
        return Err(not_a_component(format!(
            "it is an image index ({}), not a component's manifest",
            media_type.unwrap_or("no media type")
        )));
    }
    let parsed: OciImageManifest = serde_json::from_value(value)
        .map_err(|e| not_a_component(format!("its manifest is not an image manifest: {e}")))?;
    let mut wasm = parsed
        .layers
        .iter()
        .filter(|layer| layer.media_type == WASM_LAYER || layer.media_type == LEGACY_WASM_LAYER);
    match (wasm.next(), wasm.next()) {
        (Some(layer), None) => Ok(layer.clone()),
        (None, _) => {
            let types: Vec<&str> = parsed
                .layers
                .iter()
                .map(|layer| layer.media_type.as_str())
                .collect();
            Err(not_a_component(format!(
                "its manifest has no `{WASM_LAYER}` layer (config `{}`, layers [{}]); \
                 is it a container image?",
                parsed.config.media_type,
                types.join(", ")
            )))
        }
        (Some(_), Some(_)) => Err(not_a_component(format!(
            "its manifest has several `{WASM_LAYER}` layers; a component has one"
        ))),
    }
}

/// Refuses bytes that are not a WebAssembly component.
pub fn check_component(reference: &str, wasm: &[u8]) -> Result<(), RegistryError> {
    let why = match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00]) => return Ok(()),
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            "it is a core WebAssembly module, not a component (build for wasm32-wasip2)"
        }
        _ => "it is not WebAssembly",
    };
    Err(RegistryError::NotAComponent {
        reference: reference.to_owned(),
        why: why.to_owned(),
    })
}

/// The names a component imports and exports at its top level.
fn component_world(wasm: &[u8]) -> (Vec<String>, Vec<String>) {
    use wasmparser::{Parser, Payload};
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut depth = 0_usize;
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                imports.extend(reader.into_iter().flatten().map(|i| i.name.name.to_owned()));
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                exports.extend(reader.into_iter().flatten().map(|e| e.name.name.to_owned()));
            }
            _ => {}
        }
    }
    (imports, exports)
}

/// A component ready to push: its config blob and its manifest.
pub struct ComponentArtifact {
    /// The config blob.
    pub config: Vec<u8>,
    /// The manifest naming the config and the component's layer.
    pub manifest: Vec<u8>,
}

/// The config and manifest of `wasm` in the wasm OCI artifact layout.
pub fn component_artifact(wasm: &[u8], created: &str) -> ComponentArtifact {
    let layer_digest = sha256_digest(wasm);
    let (imports, exports) = component_world(wasm);
    let config = json!({
        "created": created,
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest],
        "component": {"exports": exports, "imports": imports, "target": null},
    })
    .to_string()
    .into_bytes();
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_owned()),
        config: descriptor(WASM_CONFIG, &config, None),
        layers: vec![descriptor(WASM_LAYER, wasm, None)],
        subject: None,
        artifact_type: None,
        annotations: None,
    };
    ComponentArtifact {
        manifest: serde_json::to_vec(&manifest).unwrap_or_default(),
        config,
    }
}

fn descriptor(
    media_type: &str,
    content: &[u8],
    annotations: Option<BTreeMap<String, String>>,
) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.to_owned(),
        digest: sha256_digest(content),
        size: i64::try_from(content.len()).unwrap_or(i64::MAX),
        urls: None,
        annotations,
        artifact_type: None,
    }
}

/// The signatures a cosign signature manifest holds: each payload's
/// descriptor and its base64 signature.
pub fn signature_layers(manifest: &[u8]) -> Vec<(OciDescriptor, String)> {
    let Ok(parsed) = serde_json::from_slice::<OciImageManifest>(manifest) else {
        return Vec::new();
    };
    parsed
        .layers
        .into_iter()
        .filter(|layer| layer.media_type == SIGNATURE_LAYER)
        .filter_map(|layer| {
            let signature = layer
                .annotations
                .as_ref()?
                .get(SIGNATURE_ANNOTATION)?
                .clone();
            Some((layer, signature))
        })
        .collect()
}

/// A signature manifest: the layers of `existing` (if any) and one more
/// for `payload` signed by `signature`; with the config blob it names.
pub fn signature_manifest(
    existing: Option<&[u8]>,
    payload: &[u8],
    signature: &str,
) -> (Vec<u8>, Vec<u8>) {
    let mut layers: Vec<OciDescriptor> = existing
        .and_then(|bytes| serde_json::from_slice::<OciImageManifest>(bytes).ok())
        .map(|manifest| manifest.layers)
        .unwrap_or_default();
    let annotations = BTreeMap::from([(SIGNATURE_ANNOTATION.to_owned(), signature.to_owned())]);
    let layer = descriptor(SIGNATURE_LAYER, payload, Some(annotations));
    let duplicate = layers
        .iter()
        .any(|l| l.digest == layer.digest && l.annotations == layer.annotations);
    if !duplicate {
        layers.push(layer);
    }
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    // The config cosign writes: an empty image whose root file system is
    // the payload layers.
    let config = json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {},
    })
    .to_string()
    .into_bytes();
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_owned()),
        config: descriptor(IMAGE_CONFIG, &config, None),
        layers,
        subject: None,
        artifact_type: None,
        annotations: None,
    };
    (config, serde_json::to_vec(&manifest).unwrap_or_default())
}

/// The tag cosign stores `digest`'s signatures under.
pub fn signature_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1) + ".sig"
}

//! What a registry or an operator hands Warden about components: OCI
//! references (config), manifests and signature manifests (registry
//! responses), public keys (key files) and signature payloads. The first
//! byte picks which; the rest is the input.
//!
//! Fails when any of them panics or runs away; when a reference that
//! parsed does not parse again from its own rendering; when a manifest
//! Warden accepts yields a layer that is not a wasm layer; or when a
//! signature verifies for a payload the test key never signed.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_gateway::config::OciReference;
use warden_gateway::registry::manifest::{
    WASM_LAYER, check_component, component_layer, signature_layers,
};
use warden_gateway::signing::{self, SigningKey, VerifyingKey};

/// A fixed P-256 key (PKCS #8), so runs are reproducible.
const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcjEAqe0Yv3E71c3B
hg+1J7RYTQH5EBbHhkFmqgIiFX6hRANCAASY63NrIyWMjajZkYTplXwa0CpnIXDI
9doKgr48cwEXgwAViIxWVv2O+HL00Ui6GwI3kxv5xggfM6+Iy2KWXQgE
-----END PRIVATE KEY-----
";

fn trusted() -> &'static [VerifyingKey] {
    static KEYS: OnceLock<Vec<VerifyingKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = SigningKey::from_pem(KEY.as_bytes()).expect("the fixed key reads");
        vec![key.verifying_key().expect("its public key")]
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(reference) = OciReference::parse(text) {
                let again = OciReference::parse(&reference.to_string())
                    .expect("a parsed reference parses from its rendering");
                assert_eq!(again.to_string(), reference.to_string());
            }
        }
        1 => {
            if let Ok(layer) = component_layer("fuzz/x:1", rest) {
                assert!(
                    layer.media_type == WASM_LAYER || layer.media_type.contains("wasm"),
                    "a non-wasm layer was taken: {}",
                    layer.media_type
                );
            }
            let _ = check_component("fuzz/x:1", rest);
        }
        2 => {
            for (_, signature) in signature_layers(rest) {
                assert!(
                    signing::verify(rest, &signature, "sha256:00", trusted()).is_err(),
                    "an unsigned manifest's annotation verified"
                );
            }
        }
        3 => {
            let _ = VerifyingKey::from_pem(rest);
            let _ = SigningKey::from_pem(rest);
        }
        _ => {
            // A payload and a signature, split at the first newline: only
            // the fixed key's own signatures may verify, and none of them
            // is made here.
            let text = String::from_utf8_lossy(rest);
            let (payload, signature) = text.split_once('\n').unwrap_or((&text, ""));
            assert!(
                signing::verify(payload.as_bytes(), signature, "sha256:00", trusted()).is_err(),
                "a signature the test key never made verified"
            );
        }
    }
});

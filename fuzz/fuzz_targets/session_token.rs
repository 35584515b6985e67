//! The session-token opener: any string presented as `Mcp-Session-Id`.
//! Opening must never panic and never succeed for a token this key did not
//! seal; and claims derived from the input, once sealed, must open to the
//! same claims.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_gateway::config::SessionKey;
use warden_gateway::mcp::revision::Revision;
use warden_gateway::mcp::session::token::{SessionClaims, SessionSealer};

fn sealer() -> &'static SessionSealer {
    static SEALER: OnceLock<SessionSealer> = OnceLock::new();
    SEALER.get_or_init(|| {
        let key = SessionKey::generate().expect("random key");
        let former = SessionKey::generate().expect("random key");
        SessionSealer::new(&key, &[former])
    })
}

fuzz_target!(|input: &[u8]| {
    let sealer = sealer();
    if let Ok(text) = std::str::from_utf8(input) {
        assert!(
            sealer.open(text).is_err(),
            "a token this process never sealed opened: {text:?}"
        );
    }
    // Claims from the input: they must survive sealing and opening intact
    // (or be refused as too large when sealing).
    let text = String::from_utf8_lossy(input);
    let (owner, info) = text.split_at(text.floor_char_boundary(text.len() / 2));
    let mut claims = SessionClaims::new(
        Revision::LATEST,
        serde_json::json!({ "experimental": { "fuzz": owner } }),
        serde_json::json!({ "name": info, "version": "1" }),
        (!owner.is_empty()).then_some(owner),
    );
    claims.id = std::array::from_fn(|i| input.get(i).copied().unwrap_or(0));
    claims.expires_at =
        u64::from_le_bytes(std::array::from_fn(|i| input.get(i).copied().unwrap_or(0)));
    if let Ok(token) = sealer.seal(&claims) {
        let opened = sealer.open(&token).expect("a sealed token opens");
        assert_eq!(opened, claims);
    }
});

//! `warden hash-key` and `warden new-session-key`: the secrets an operator
//! puts in place before serving beyond localhost.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warden_gateway::config::{ApiKeyHash, SessionKey};

use crate::describe::emit;

/// Prefix of the keys `--generate` makes, so a leaked one is recognisable
/// by secret scanners.
const GENERATED_KEY_PREFIX: &str = "wdn_";

/// Most bytes read from stdin as a key.
const MAX_KEY_BYTES: u64 = 4096;

pub fn hash_key(generate: bool) -> anyhow::Result<()> {
    if generate {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).context("cannot generate a key")?;
        let key = format!("{GENERATED_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
        return emit(&format!("{key}\n{}\n", ApiKeyHash::of(&key)));
    }
    let mut input = String::new();
    std::io::stdin()
        .take(MAX_KEY_BYTES + 1)
        .read_to_string(&mut input)
        .context("cannot read the key from stdin (it must be UTF-8)")?;
    // A key typed or piped in ends with a newline that is not part of it.
    let key = input.trim_end_matches(['\r', '\n']);
    if key.len() as u64 > MAX_KEY_BYTES {
        bail!("the key on stdin is longer than {MAX_KEY_BYTES} bytes");
    }
    if !key.bytes().all(|byte| (0x21..=0x7e).contains(&byte)) {
        bail!("the key must be visible ASCII (no spaces), as an HTTP header carries it");
    }
    if warden_gateway::auth::looks_like_jwt(key) {
        bail!(
            "the key has the shape of a JWT (three base64url parts joined by dots), which \
             [auth.jwt] would read as a token; use `warden hash-key --generate`"
        );
    }
    if key.len() < ApiKeyHash::MIN_KEY_CHARS {
        bail!(
            "the key is shorter than {} characters; use `warden hash-key --generate` for a strong one",
            ApiKeyHash::MIN_KEY_CHARS
        );
    }
    emit(&format!("{}\n", ApiKeyHash::of(key)))
}

pub fn new_session_key() -> anyhow::Result<()> {
    let key = SessionKey::generate().context("cannot generate a session key")?;
    emit(&format!("{}\n", key.to_base64()))
}

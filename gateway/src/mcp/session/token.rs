//! Session ids as sealed tokens: the session's claims encrypted and
//! authenticated with XChaCha20-Poly1305 under a key the replicas share, so
//! any of them can open an id that another issued, with no shared store.
//!
//! Layout, base64url without padding:
//! `version (1) | key id (4) | nonce (24) | ciphertext + tag (16)`.
//! The version and key id are authenticated as associated data. The key id
//! (the first bytes of SHA-256 over the key) picks the key to open with, so
//! a rotation costs no trial decryption. Nonces are random: 192 bits make
//! collisions negligible however many ids are sealed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::SessionKey;
use crate::mcp::revision::Revision;

const FORMAT_VERSION: u8 = 1;
const KEY_ID_BYTES: usize = 4;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
const HEADER_BYTES: usize = 1 + KEY_ID_BYTES;

/// Most bytes of claims (JSON) a token may seal: keeps ids well inside the
/// 8 KiB header lines that proxies commonly accept.
pub const MAX_CLAIMS_BYTES: usize = 4096;

/// First byte of a sealed `requestState`.
const REQUEST_STATE_FORMAT: u8 = 0x52;

/// Most bytes a sealed `requestState` carries (the answers a call collected
/// so far); a token longer than what this seals is refused before any
/// decoding.
pub const MAX_REQUEST_STATE_BYTES: usize = 256 * 1024;

/// Bytes of a session's own random id inside its claims.
pub const SESSION_ID_BYTES: usize = 16;

/// What a session id carries.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionClaims {
    /// Random, unique per session: names it in the replica's list of ended
    /// sessions and (in part) in logs. Not a secret: the sealed token is.
    pub id: [u8; SESSION_ID_BYTES],
    /// The negotiated revision.
    pub revision: Revision,
    /// The client's declared capabilities.
    pub client_capabilities: Value,
    /// The client's `clientInfo`.
    pub client_info: Value,
    /// The authenticated caller the session belongs to; `None` when
    /// callers are not authenticated.
    pub owner: Option<String>,
    /// Unix time (seconds) after which every replica refuses the id.
    pub expires_at: u64,
}

impl SessionClaims {
    /// Claims for a new session; the store fills in its id and expiry.
    pub fn new(
        revision: Revision,
        client_capabilities: Value,
        client_info: Value,
        owner: Option<&str>,
    ) -> Self {
        Self {
            id: [0; SESSION_ID_BYTES],
            revision,
            client_capabilities,
            client_info,
            owner: owner.map(str::to_owned),
            expires_at: 0,
        }
    }
}

/// The claims as sealed: short keys, the revision as its date.
#[derive(Serialize, Deserialize)]
struct WireClaims {
    id: String,
    rev: String,
    caps: Value,
    info: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    exp: u64,
}

/// Why claims could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The client's capabilities and info are too large to carry.
    #[error(
        "`capabilities` and `clientInfo` take {0} bytes, more than the {MAX_CLAIMS_BYTES} a session id can carry"
    )]
    TooLarge(usize),
    /// The OS random source failed.
    #[error("cannot generate a nonce: {0}")]
    Random(String),
}

/// Why a token was not opened. Each is answered as an unknown session; the
/// reason is for the server's debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Longer than any sealed token.
    #[error("too long")]
    TooLong,
    /// Not base64url, or too short to hold a header, nonce and tag.
    #[error("malformed")]
    Malformed,
    /// A format version this build does not know.
    #[error("unknown format version")]
    UnknownVersion,
    /// Sealed under a key this process does not hold.
    #[error("sealed under an unknown key")]
    UnknownKey,
    /// Authentication failed: forged or altered.
    #[error("failed authentication")]
    Forged,
    /// Authentic, but the claims do not parse or name a revision this build
    /// does not serve (a newer replica issued it).
    #[error("unreadable claims")]
    BadClaims,
}

struct SealingKey {
    id: [u8; KEY_ID_BYTES],
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn new(key: &SessionKey) -> Self {
        let digest = Sha256::digest(key.bytes());
        let mut id = [0u8; KEY_ID_BYTES];
        id.copy_from_slice(&digest[..KEY_ID_BYTES]);
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&Key::from(*key.bytes())),
        }
    }
}

/// Seals claims under the current key; opens tokens sealed under it or
/// under a former key.
pub struct SessionSealer {
    /// The current key first, then the former ones.
    keys: Vec<SealingKey>,
}

impl SessionSealer {
    /// A sealer that seals with `current` and also opens with `former`.
    pub fn new(current: &SessionKey, former: &[SessionKey]) -> Self {
        let keys = std::iter::once(current)
            .chain(former)
            .map(SealingKey::new)
            .collect();
        Self { keys }
    }

    /// The token that carries `claims`.
    pub fn seal(&self, claims: &SessionClaims) -> Result<String, SealError> {
        let wire = WireClaims {
            id: hex::encode(claims.id),
            rev: claims.revision.as_str().to_owned(),
            caps: claims.client_capabilities.clone(),
            info: claims.client_info.clone(),
            owner: claims.owner.clone(),
            exp: claims.expires_at,
        };
        // Serialising a tree of JSON values cannot fail.
        let plaintext = serde_json::to_vec(&wire).unwrap_or_default();
        self.seal_bytes(Sealed::SessionId, &plaintext)
    }

    /// The claims `token` carries, if one of this sealer's keys sealed it.
    /// Expiry is the caller's to check.
    pub fn open(&self, token: &str) -> Result<SessionClaims, OpenError> {
        let plaintext = self.open_bytes(Sealed::SessionId, token)?;
        let wire: WireClaims =
            serde_json::from_slice(&plaintext).map_err(|_| OpenError::BadClaims)?;
        let mut id = [0u8; SESSION_ID_BYTES];
        hex::decode_to_slice(&wire.id, &mut id).map_err(|_| OpenError::BadClaims)?;
        Ok(SessionClaims {
            id,
            revision: Revision::parse(&wire.rev).ok_or(OpenError::BadClaims)?,
            client_capabilities: wire.caps,
            client_info: wire.info,
            owner: wire.owner,
            expires_at: wire.exp,
        })
    }

    /// `plaintext` sealed as a `what`: only [`open_bytes`](Self::open_bytes)
    /// with the same `what` opens it, so a token made for one purpose is
    /// never accepted for another.
    pub fn seal_bytes(&self, what: Sealed, plaintext: &[u8]) -> Result<String, SealError> {
        if plaintext.len() > what.max_plaintext_bytes() {
            return Err(SealError::TooLarge(plaintext.len()));
        }
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|error| SealError::Random(error.to_string()))?;
        let key = &self.keys[0];
        let mut token =
            Vec::with_capacity(HEADER_BYTES + NONCE_BYTES + plaintext.len() + TAG_BYTES);
        token.push(what.format_version());
        token.extend_from_slice(&key.id);
        let sealed = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &token[..HEADER_BYTES],
                },
            )
            // Encryption fails only for messages of gigabytes.
            .map_err(|_| SealError::TooLarge(plaintext.len()))?;
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(token))
    }

    /// What a token [`seal_bytes`](Self::seal_bytes) made for `what` carries.
    pub fn open_bytes(&self, what: Sealed, token: &str) -> Result<Vec<u8>, OpenError> {
        let max_token_chars =
            (HEADER_BYTES + NONCE_BYTES + what.max_plaintext_bytes() + TAG_BYTES).div_ceil(3) * 4;
        if token.len() > max_token_chars {
            return Err(OpenError::TooLong);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| OpenError::Malformed)?;
        if bytes.len() < HEADER_BYTES + NONCE_BYTES + TAG_BYTES {
            return Err(OpenError::Malformed);
        }
        let (header, rest) = bytes.split_at(HEADER_BYTES);
        if header[0] != what.format_version() {
            return Err(OpenError::UnknownVersion);
        }
        let key = self
            .keys
            .iter()
            .find(|key| key.id == header[1..])
            .ok_or(OpenError::UnknownKey)?;
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
        key.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: header,
                },
            )
            .map_err(|_| OpenError::Forged)
    }
}

/// What a sealed token is for; its first byte (authenticated) says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// A session id (handshake revisions).
    SessionId,
    /// The `requestState` of an `InputRequiredResult` (2026-07-28).
    RequestState,
}

impl Sealed {
    fn format_version(self) -> u8 {
        match self {
            Self::SessionId => FORMAT_VERSION,
            Self::RequestState => REQUEST_STATE_FORMAT,
        }
    }

    fn max_plaintext_bytes(self) -> usize {
        match self {
            Self::SessionId => MAX_CLAIMS_BYTES,
            Self::RequestState => MAX_REQUEST_STATE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> SessionKey {
        SessionKey::generate().expect("random")
    }

    fn claims() -> SessionClaims {
        SessionClaims {
            id: [7; SESSION_ID_BYTES],
            revision: Revision::V2025_06_18,
            client_capabilities: json!({ "sampling": {} }),
            client_info: json!({ "name": "client", "version": "1" }),
            owner: Some("ci-bot".to_owned()),
            expires_at: 1_900_000_000,
        }
    }

    #[test]
    fn round_trips_as_visible_ascii_with_fresh_nonces() {
        let sealer = SessionSealer::new(&key(), &[]);
        let first = sealer.seal(&claims()).expect("seal");
        let second = sealer.seal(&claims()).expect("seal");
        assert_ne!(first, second, "a nonce was reused");
        assert!(first.bytes().all(|byte| (0x21..=0x7e).contains(&byte)));
        assert_eq!(sealer.open(&first), Ok(claims()));
        assert_eq!(sealer.open(&second), Ok(claims()));
    }

    #[test]
    fn rotation_opens_with_former_keys_and_seals_with_the_current() {
        let (old, new) = (key(), key());
        let before = SessionSealer::new(&old, &[]);
        let during = SessionSealer::new(&new, std::slice::from_ref(&old));
        let after = SessionSealer::new(&new, &[]);
        let issued_before = before.seal(&claims()).expect("seal");
        let issued_during = during.seal(&claims()).expect("seal");
        assert_eq!(during.open(&issued_before), Ok(claims()));
        assert_eq!(after.open(&issued_during), Ok(claims()));
        assert_eq!(after.open(&issued_before), Err(OpenError::UnknownKey));
        assert_eq!(before.open(&issued_during), Err(OpenError::UnknownKey));
    }

    #[test]
    fn refuses_altered_foreign_and_malformed_tokens() {
        let key = key();
        let sealer = SessionSealer::new(&key, &[]);
        let token = sealer.seal(&claims()).expect("seal");
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");

        // Every byte is covered: header (as associated data), nonce, body, tag.
        for index in [
            0,
            1,
            HEADER_BYTES,
            HEADER_BYTES + NONCE_BYTES,
            bytes.len() - 1,
        ] {
            bytes[index] ^= 1;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            assert!(sealer.open(&altered).is_err(), "byte {index} altered");
            bytes[index] ^= 1;
        }
        let truncated = URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]);
        assert_eq!(sealer.open(&truncated), Err(OpenError::Forged));

        let foreign = SessionSealer::new(&self::key(), &[]);
        assert_eq!(foreign.open(&token), Err(OpenError::UnknownKey));

        assert_eq!(sealer.open(""), Err(OpenError::Malformed));
        assert_eq!(sealer.open("not base64!"), Err(OpenError::Malformed));
        assert_eq!(sealer.open("AAAA"), Err(OpenError::Malformed));
        let long =
            "A".repeat((HEADER_BYTES + NONCE_BYTES + MAX_CLAIMS_BYTES + TAG_BYTES) * 4 / 3 + 4);
        assert_eq!(sealer.open(&long), Err(OpenError::TooLong));
    }

    #[test]
    fn a_token_opens_only_for_its_purpose() {
        let sealer = SessionSealer::new(&key(), &[]);
        let session = sealer.seal(&claims()).expect("sealed");
        assert_eq!(
            sealer.open_bytes(Sealed::RequestState, &session),
            Err(OpenError::UnknownVersion)
        );
        let state = sealer
            .seal_bytes(Sealed::RequestState, br#"{"answers":{}}"#)
            .expect("sealed");
        assert_eq!(sealer.open(&state), Err(OpenError::UnknownVersion));
        assert_eq!(
            sealer.open_bytes(Sealed::RequestState, &state).as_deref(),
            Ok(&br#"{"answers":{}}"#[..])
        );
    }

    #[test]
    fn claims_beyond_the_limit_are_refused() {
        let sealer = SessionSealer::new(&key(), &[]);
        let mut large = claims();
        large.client_capabilities =
            json!({ "experimental": { "x": "y".repeat(MAX_CLAIMS_BYTES) } });
        assert!(matches!(sealer.seal(&large), Err(SealError::TooLarge(_))));

        // The largest claims that fit still open: the length cap is not too tight.
        let mut fitting = claims();
        fitting.client_capabilities = json!({ "experimental": { "x": "" } });
        let base = serde_json::to_vec(&WireClaims {
            id: hex::encode(fitting.id),
            rev: fitting.revision.as_str().to_owned(),
            caps: fitting.client_capabilities.clone(),
            info: fitting.client_info.clone(),
            owner: fitting.owner.clone(),
            exp: fitting.expires_at,
        })
        .expect("json")
        .len();
        fitting.client_capabilities =
            json!({ "experimental": { "x": "y".repeat(MAX_CLAIMS_BYTES - base) } });
        let token = sealer.seal(&fitting).expect("fits exactly");
        assert_eq!(sealer.open(&token), Ok(fitting));
    }
}

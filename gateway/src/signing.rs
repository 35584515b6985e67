//! Cosign's key-based signatures of OCI manifests ("simple signing"): the
//! payload that names a manifest digest, and the keys that sign and verify
//! it.
//!
//! The format is cosign's, so that signatures made by `cosign sign --key`
//! verify here and those made by `warden sign` verify with cosign (and with
//! other implementations, such as containers/image's): the payload is a
//! JSON document whose `critical.image.docker-manifest-digest` is the
//! signed digest; an ECDSA P-256 signature is the ASN.1 DER signature of
//! the payload's SHA-256, an Ed25519 signature the 64-byte signature of
//! the payload itself; both travel base64-encoded.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use rustls::pki_types::pem::{self, PemObject, SectionKind};
use serde::Deserialize;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// The `critical.type` of a cosign signature payload.
pub const PAYLOAD_TYPE: &str = "cosign container image signature";

/// id-ecPublicKey, RFC 5480.
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// The P-256 curve (prime256v1 / secp256r1).
const OID_P256: &str = "1.2.840.10045.3.1.7";
/// Ed25519, RFC 8410.
const OID_ED25519: &str = "1.3.101.112";

/// Why a key could not be read or a signature made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The text holds no PEM section of the expected kind.
    #[error("{0}")]
    Pem(String),
    /// The key is of an algorithm other than ECDSA P-256 and Ed25519.
    #[error("{0}")]
    Unsupported(String),
    /// The key's encoding is damaged.
    #[error("{0}")]
    Malformed(String),
    /// The system's random source failed while signing.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Why a signature does not vouch for a manifest digest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The payload is not a cosign simple-signing payload.
    #[error("the signed payload is not a cosign signature payload: {0}")]
    Payload(String),
    /// The payload names another digest.
    #[error("the signature is of {signed}, not of {wanted}")]
    OtherDigest {
        /// The digest the payload names.
        signed: String,
        /// The digest being verified.
        wanted: String,
    },
    /// The signature is not valid base64.
    #[error("the signature is not base64")]
    Encoding,
    /// No key verified the signature.
    #[error("no trusted key made this signature")]
    UnknownKey,
}

/// The two algorithms a verifying key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256, cosign's default.
    EcdsaP256,
    /// Ed25519.
    Ed25519,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::EcdsaP256 => "ECDSA P-256",
            Algorithm::Ed25519 => "Ed25519",
        })
    }
}

/// A public key that signatures are verified with, read from a PEM
/// `PUBLIC KEY` (SubjectPublicKeyInfo) section as `cosign generate-key-pair`
/// and `openssl pkey -pubout` write it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    algorithm: Algorithm,
    /// The raw key: an uncompressed P-256 point or 32 Ed25519 bytes.
    key: Vec<u8>,
    /// Names the key in messages: the SHA-256 of its SubjectPublicKeyInfo,
    /// shortened.
    fingerprint: String,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({} {})", self.algorithm, self.fingerprint)
    }
}

impl VerifyingKey {
    /// Reads the first `PUBLIC KEY` section of `pem_text`.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, KeyError> {
        let der = first_section(pem_text, SectionKind::PublicKey, "PUBLIC KEY")?;
        Self::from_spki_der(&der)
    }

    fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let (_, spki) = SubjectPublicKeyInfo::from_der(der).map_err(|e| {
            KeyError::Malformed(format!("the public key is not a SubjectPublicKeyInfo: {e}"))
        })?;
        let oid = spki.algorithm.algorithm.to_id_string();
        let algorithm = match oid.as_str() {
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|params| params.as_oid().ok())
                    .map(|oid| oid.to_id_string());
                if curve.as_deref() != Some(OID_P256) {
                    return Err(KeyError::Unsupported(format!(
                        "an elliptic-curve key on curve {}, not P-256: only ECDSA P-256 and Ed25519 keys are supported",
                        curve.as_deref().unwrap_or("(none named)")
                    )));
                }
                Algorithm::EcdsaP256
            }
            OID_ED25519 => Algorithm::Ed25519,
            other => {
                return Err(KeyError::Unsupported(format!(
                    "a key of algorithm {other} ({}): only ECDSA P-256 and Ed25519 keys are supported",
                    algorithm_name(other)
                )));
            }
        };
        let key = spki.subject_public_key.data.to_vec();
        let expected = match algorithm {
            Algorithm::EcdsaP256 => 65,
            Algorithm::Ed25519 => 32,
        };
        if key.len() != expected {
            return Err(KeyError::Malformed(format!(
                "the {algorithm} public key is {} bytes long, not {expected}",
                key.len()
            )));
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        Ok(Self {
            algorithm,
            key,
            fingerprint: format!("SHA256:{}", &hex::encode(digest.as_ref())[..16]),
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// A short name for the key in messages (not a secret).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether `signature` (raw bytes) is this key's signature of `payload`.
    pub fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
            Algorithm::Ed25519 => &signature::ED25519,
        };
        UnparsedPublicKey::new(algorithm, &self.key)
            .verify(payload, signature)
            .is_ok()
    }
}

/// A private key that signs, read from a PEM `PRIVATE KEY` (PKCS #8)
/// section as `openssl genpkey` writes it.
pub struct SigningKey {
    pair: Pair,
    rng: SystemRandom,
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Reads the first private key of `pem_text`.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let mut found_other = None;
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem_text) {
            let (kind, der) = section.map_err(|e| KeyError::Pem(pem_error(&e)))?;
            match kind {
                SectionKind::PrivateKey => {
                    let pair = if let Ok(pair) = EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                        &der,
                        &rng,
                    ) {
                        Pair::Ecdsa(pair)
                    } else if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
                        Pair::Ed25519(pair)
                    } else {
                        return Err(KeyError::Unsupported(
                            "the private key is neither an ECDSA P-256 nor an Ed25519 PKCS #8 key"
                                .to_owned(),
                        ));
                    };
                    return Ok(Self { pair, rng });
                }
                SectionKind::EcPrivateKey | SectionKind::RsaPrivateKey => {
                    found_other = Some(
                        "a SEC1 or PKCS #1 private key; convert it to PKCS #8 with \
                         `openssl pkcs8 -topk8 -nocrypt`",
                    );
                }
                _ => {}
            }
        }
        let why = if pem_text
            .windows(b"ENCRYPTED".len())
            .any(|window| window == b"ENCRYPTED")
        {
            "an encrypted private key (such as cosign's own format); give an unencrypted PKCS #8 key (`-----BEGIN PRIVATE KEY-----`)"
        } else {
            found_other.unwrap_or("no `-----BEGIN PRIVATE KEY-----` section")
        };
        Err(KeyError::Pem(why.to_owned()))
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let (algorithm, key) = match &self.pair {
            Pair::Ecdsa(pair) => (Algorithm::EcdsaP256, pair.public_key().as_ref().to_vec()),
            Pair::Ed25519(pair) => (Algorithm::Ed25519, pair.public_key().as_ref().to_vec()),
        };
        VerifyingKey::from_spki_der(&spki_der(algorithm, &key))
    }

    /// The matching public key as a PEM `PUBLIC KEY` section.
    pub fn public_key_pem(&self) -> String {
        let (algorithm, key) = match &self.pair {
            Pair::Ecdsa(pair) => (Algorithm::EcdsaP256, pair.public_key().as_ref()),
            Pair::Ed25519(pair) => (Algorithm::Ed25519, pair.public_key().as_ref()),
        };
        let body = BASE64.encode(spki_der(algorithm, key));
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// This key's signature of `payload`, raw.
    pub fn sign(&self, payload: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, payload)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|e| KeyError::Signing(e.to_string())),
            Pair::Ed25519(pair) => Ok(pair.sign(payload).as_ref().to_vec()),
        }
    }
}

/// The SubjectPublicKeyInfo DER of a raw key: a fixed prefix per algorithm
/// (RFC 5480 and RFC 8410) before the key bits.
fn spki_der(algorithm: Algorithm, key: &[u8]) -> Vec<u8> {
    let prefix: &[u8] = match algorithm {
        Algorithm::EcdsaP256 => &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ],
        Algorithm::Ed25519 => &[
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ],
    };
    [prefix, key].concat()
}

/// The payload cosign signs for `digest` of the repository
/// `docker_reference` (registry and repository, without tag or digest).
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    // Keys in cosign's order, which is also the sorted order a `Value`
    // writes them in.
    serde_json::json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": PAYLOAD_TYPE,
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// Whether `signature` (base64, as cosign's annotation holds it) over
/// `payload` is by one of `keys` and names `digest`; the key that made it.
pub fn verify<'k>(
    payload: &[u8],
    signature_base64: &str,
    digest: &str,
    keys: &'k [VerifyingKey],
) -> Result<&'k VerifyingKey, SignatureError> {
    let signature = BASE64
        .decode(signature_base64.trim())
        .map_err(|_| SignatureError::Encoding)?;
    let key = keys
        .iter()
        .find(|key| key.verifies(payload, &signature))
        .ok_or(SignatureError::UnknownKey)?;
    // Only a payload a trusted key signed is parsed.
    let parsed: Payload =
        serde_json::from_slice(payload).map_err(|e| SignatureError::Payload(e.to_string()))?;
    if parsed.critical.kind != PAYLOAD_TYPE {
        return Err(SignatureError::Payload(format!(
            "its type is `{}`, not `{PAYLOAD_TYPE}`",
            parsed.critical.kind
        )));
    }
    let signed = parsed.critical.image.docker_manifest_digest;
    if signed != digest {
        return Err(SignatureError::OtherDigest {
            signed,
            wanted: digest.to_owned(),
        });
    }
    Ok(key)
}

/// Encodes a raw signature as cosign's annotation carries it.
pub fn encode_signature(signature: &[u8]) -> String {
    BASE64.encode(signature)
}

/// The parts of a payload that verification reads. The identity (the
/// repository the signer named) is not compared, as cosign does not by
/// default: a signed component copied to a mirror stays signed.
#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

fn first_section(pem_text: &[u8], wanted: SectionKind, label: &str) -> Result<Vec<u8>, KeyError> {
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem_text) {
        let (kind, der) = section.map_err(|e| KeyError::Pem(pem_error(&e)))?;
        if kind == wanted {
            return Ok(der);
        }
    }
    Err(KeyError::Pem(format!(
        "no `-----BEGIN {label}-----` section"
    )))
}

fn pem_error(error: &pem::Error) -> String {
    format!("not valid PEM: {error}")
}

fn algorithm_name(oid: &str) -> &'static str {
    match oid {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.3.101.113" => "Ed448",
        "1.3.101.110" | "1.3.101.111" => "X25519/X448, key agreement only",
        _ => "unknown",
    }
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;

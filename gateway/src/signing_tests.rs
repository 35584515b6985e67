use super::*;

fn p256() -> (SigningKey, String) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate");
    let key = SigningKey::from_pem(pair.serialize_pem().as_bytes()).expect("read private key");
    (key, pair.public_key_pem())
}

fn ed25519() -> (SigningKey, String) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("generate");
    let key = SigningKey::from_pem(pair.serialize_pem().as_bytes()).expect("read private key");
    (key, pair.public_key_pem())
}

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn signatures_verify_with_the_matching_key_of_either_algorithm() {
    for (key, public_pem) in [p256(), ed25519()] {
        let public = VerifyingKey::from_pem(public_pem.as_bytes()).expect("read public key");
        assert_eq!(key.verifying_key().expect("derive"), public);
        assert_eq!(
            VerifyingKey::from_pem(key.public_key_pem().as_bytes()).expect("reread"),
            public
        );
        let payload = payload("127.0.0.1:5000/tools/text", DIGEST);
        let signature = encode_signature(&key.sign(&payload).expect("sign"));
        let keys = [public.clone()];
        let signer = verify(&payload, &signature, DIGEST, &keys).expect("verifies");
        assert_eq!(signer.fingerprint(), public.fingerprint());
    }
}

#[test]
fn a_payload_is_cosigns_simple_signing_document() {
    let text = String::from_utf8(payload("r.example/a/b", DIGEST)).expect("utf-8");
    assert_eq!(
        text,
        format!(
            "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"r.example/a/b\"}},\
             \"image\":{{\"docker-manifest-digest\":\"{DIGEST}\"}},\
             \"type\":\"cosign container image signature\"}},\"optional\":null}}"
        )
    );
}

#[test]
fn an_unknown_key_another_digest_or_a_damaged_signature_is_refused() {
    let (key, _) = p256();
    let (_, other_public) = p256();
    let other = [VerifyingKey::from_pem(other_public.as_bytes()).expect("read")];
    let mine = [key.verifying_key().expect("derive")];
    let payload = payload("r.example/a", DIGEST);
    let signature = encode_signature(&key.sign(&payload).expect("sign"));
    assert_eq!(
        verify(&payload, &signature, DIGEST, &other),
        Err(SignatureError::UnknownKey)
    );
    let another = DIGEST.replace("0123", "4567");
    assert!(matches!(
        verify(&payload, &signature, &another, &mine),
        Err(SignatureError::OtherDigest { .. })
    ));
    assert_eq!(
        verify(&payload, "%%%", DIGEST, &mine),
        Err(SignatureError::Encoding)
    );
    let mut tampered = payload.clone();
    tampered[10] ^= 1;
    assert_eq!(
        verify(&tampered, &signature, DIGEST, &mine),
        Err(SignatureError::UnknownKey)
    );
}

#[test]
fn keys_of_other_algorithms_or_shapes_are_refused_precisely() {
    let ed25519_spki = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
        -----END PUBLIC KEY-----\n";
    // An Ed25519 key reads.
    assert_eq!(
        VerifyingKey::from_pem(ed25519_spki.as_bytes())
            .expect("ed25519")
            .algorithm(),
        Algorithm::Ed25519
    );
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("generate");
    let error = VerifyingKey::from_pem(p384.public_key_pem().as_bytes()).expect_err("P-384");
    assert!(error.to_string().contains("not P-256"), "{error}");
    let error = VerifyingKey::from_pem(b"not a key").expect_err("no PEM");
    assert!(error.to_string().contains("PUBLIC KEY"), "{error}");
    let error = SigningKey::from_pem(p384.serialize_pem().as_bytes()).expect_err("P-384");
    assert!(error.to_string().contains("neither"), "{error}");
    let error = SigningKey::from_pem(
        b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    )
    .expect_err("encrypted");
    assert!(error.to_string().contains("encrypted"), "{error}");
}

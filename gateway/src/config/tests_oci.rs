//! `oci`, `allow_tags`, `verify` and `[registry]`.

use std::fs;

use super::tests::{Fixture, MINIMAL};
use super::*;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn with_cache(rest: &str) -> String {
    format!("[server]\ncache_dir = \"cache\"\n{rest}")
}

fn public_key(f: &Fixture, name: &str) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("generate");
    fs::write(f.root().join(name), pair.public_key_pem()).expect("write key");
}

fn fixture() -> Fixture {
    let f = Fixture::new();
    fs::create_dir(f.root().join("cache")).expect("cache dir");
    f
}

#[test]
fn a_pinned_reference_is_read_with_its_keys() {
    let f = fixture();
    public_key(&f, "signer.pub");
    public_key(&f, "team.pub");
    let config = f.ok(&with_cache(&format!(
        "[components.gh]\noci = \"ghcr.io/acme/github:1.4@{DIGEST}\"\n\
         [components.gh.verify]\nkeys = [\"signer.pub\"]\n\
         [components.team]\noci = \"registry.example/team/x@{DIGEST}\"\n\
         [components.open]\noci = \"127.0.0.1:5000/open/x:2\"\nallow_tags = true\n\
         [[registry.trust]]\nprefix = \"registry.example/\"\nkeys = [\"signer.pub\"]\n\
         [[registry.trust]]\nprefix = \"registry.example/team/\"\nkeys = [\"team.pub\"]\n"
    )));
    let source = |name: &str| match &config.component(name).expect("component").source {
        ComponentSource::Oci(source) => source.clone(),
        other => panic!("{name}: {other:?}"),
    };
    let gh = source("gh");
    assert_eq!(gh.reference.registry(), "ghcr.io");
    assert_eq!(gh.reference.repository(), "acme/github");
    assert_eq!(gh.reference.digest(), Some(DIGEST));
    let verify = gh.verify.expect("verify");
    assert_eq!(verify.required_by, "components.gh.verify");
    assert_eq!(verify.keys.len(), 1);
    // The longest matching trust prefix applies.
    let team = source("team").verify.expect("trust rule");
    assert_eq!(team.required_by, "registry.trust[1]");
    let open = source("open");
    assert!(open.allow_tags && open.verify.is_none());
    assert_eq!(open.reference.tag(), Some("2"));
    assert!(
        config
            .registry
            .secret_files
            .contains(&f.canonical("team.pub")),
        "trust keys are watched for changes"
    );
    assert!(
        config
            .component("gh")
            .expect("gh")
            .secret_files
            .contains(&f.canonical("signer.pub"))
    );
}

#[test]
fn bad_references_are_refused_where_written() {
    let f = fixture();
    let e = f.invalid(&with_cache("[components.x]\noci = \"ghcr.io/Acme/x:1\"\n"));
    e.assert(
        "components.x.oci",
        4,
        &["not an OCI reference", "invalid reference format"],
    );
    let e = f.invalid(&with_cache(
        "[components.x]\noci = \"ghcr.io/a/x@sha256:abc\"\n",
    ));
    e.assert("components.x.oci", 4, &["3 hex digits", "not 64"]);
    let e = f.invalid(&with_cache(&format!(
        "[components.x]\noci = \"ghcr.io/a/x@{}\"\n",
        DIGEST.replace("sha256", "sha512")
    )));
    e.assert("components.x.oci", 4, &["not a sha256 digest"]);
    let e = f.invalid(&with_cache(&format!(
        "[components.x]\noci = \"ghcr.io/a/x@{}\"\n",
        DIGEST.to_uppercase().replace("SHA256", "sha256")
    )));
    e.assert("components.x.oci", 4, &["lowercase hex"]);
    // A capital in the first component makes it a Docker Hub repository.
    let e = f.invalid(&with_cache("[components.x]\noci = \"Tools/x:1\"\n"));
    e.assert("components.x.oci", 4, &["Tools/x", "capital letters"]);
    let e = f.invalid(&with_cache("[components.x]\noci = \"\"\n"));
    e.assert("components.x.oci", 4, &["empty"]);
}

#[test]
fn a_component_has_exactly_one_source_and_tags_need_the_opt_in() {
    let f = fixture();
    let e = f.invalid(&with_cache(&format!(
        "[components.x]\npath = \"text.wasm\"\noci = \"ghcr.io/a/x@{DIGEST}\"\n"
    )));
    e.assert("components.x", 4, &["either `path` or `oci`, not both"]);
    let e = f.invalid(&with_cache("[components.x]\noci = \"ghcr.io/a/x:1.0\"\n"));
    e.assert(
        "components.x.oci",
        4,
        &["names no digest", "allow_tags = true"],
    );
    let e = f.invalid(&format!("[components.x]\noci = \"ghcr.io/a/x@{DIGEST}\"\n"));
    e.assert("components.x.oci", 2, &["server.cache_dir"]);
    let e = f.invalid(&with_cache(&format!(
        "{MINIMAL}[components.text.verify]\nkeys = [\"k.pub\"]\n"
    )));
    e.assert("components.text.verify", 5, &["`oci` components only"]);
}

#[test]
fn unusable_keys_are_refused_with_the_reason() {
    let f = fixture();
    let component = |keys: &str| {
        with_cache(&format!(
            "[components.x]\noci = \"ghcr.io/a/x@{DIGEST}\"\n[components.x.verify]\nkeys = {keys}\n"
        ))
    };
    let e = f.invalid(&component("[\"absent.pub\"]"));
    e.assert("components.x.verify.keys[0]", 6, &["does not exist"]);
    fs::write(f.root().join("not-pem.pub"), "hello").expect("write");
    let e = f.invalid(&component("[\"not-pem.pub\"]"));
    e.assert("components.x.verify.keys[0]", 6, &["PUBLIC KEY"]);
    let p384 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("generate");
    fs::write(f.root().join("p384.pub"), p384.public_key_pem()).expect("write");
    let e = f.invalid(&component("[\"p384.pub\"]"));
    e.assert("components.x.verify.keys[0]", 6, &["not P-256", "Ed25519"]);
    let e = f.invalid(&component("[]"));
    e.assert("components.x.verify.keys", 5, &["no keys"]);
    let e = f.invalid(&with_cache(
        "[components.x]\npath = \"text.wasm\"\n[[registry.trust]]\nprefix = \"\"\nkeys = []\n",
    ));
    e.assert("registry.trust[0].prefix", 6, &["empty"]);
}

#[test]
fn registry_settings_are_checked_and_credentials_expanded() {
    let f = fixture();
    fs::write(f.root().join("password.txt"), "s3cret\n").expect("write");
    let config = f.ok(&format!(
        "{MINIMAL}[registry]\ninsecure = [\"registry.internal:5000\"]\nmax_component_bytes = 2048\ntimeout_ms = 500\n\
         [registry.credentials.\"ghcr.io\"]\nusername = \"bot\"\npassword = \"${{file:password.txt}}\"\n"
    ));
    assert_eq!(config.registry.insecure, ["registry.internal:5000"]);
    assert_eq!(config.registry.max_component_bytes, 2048);
    assert_eq!(config.registry.timeout_ms, 500);
    let (host, credentials) = &config.registry.credentials[0];
    assert_eq!(host, "ghcr.io");
    assert_eq!(credentials.password, "s3cret");
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "credentials are redacted"
    );
    let e = f.invalid(&format!(
        "{MINIMAL}[registry]\ninsecure = [\"http://r.example\"]\n"
    ));
    e.assert("registry.insecure[0]", 4, &["not a registry host"]);
    let e = f.invalid(&format!("{MINIMAL}[registry]\nmax_component_bytes = 10\n"));
    e.assert("registry.max_component_bytes", 4, &["between"]);
    let e = f.invalid(&format!(
        "{MINIMAL}[registry.credentials.\"ghcr.io\"]\nusername = \"bot\"\npassword = \"${{env:WARDEN_TEST_UNSET_REGISTRY_PASSWORD}}\"\n"
    ));
    e.assert(
        "registry.credentials.\"ghcr.io\".password",
        5,
        &["WARDEN_TEST_UNSET_REGISTRY_PASSWORD", "not set"],
    );
    let e = f.invalid(&format!(
        "{MINIMAL}[registry.credentials.\"ghcr.io\"]\nusername = \"bot\"\npassword = \"hunter2\"\n"
    ));
    e.assert(
        "registry.credentials.\"ghcr.io\".password",
        5,
        &["`${env:NAME}` or `${file:PATH}`"],
    );
    assert!(!e.message.contains("hunter2"));
    let e = f.invalid(&format!(
        "{MINIMAL}[registry]\nauth_file = \"absent.json\"\n"
    ));
    e.assert("registry.auth_file", 4, &["does not exist"]);
}

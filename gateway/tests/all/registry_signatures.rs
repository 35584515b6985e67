//! Cosign signatures made and checked without Warden: openssl signs by
//! hand, skopeo (containers/image's sigstore verifier) checks.
//!
//! Bookworm's `skopeo` 1.9.3 is built with Debian's `disable-sigstore`
//! patch: any `sigstoreSigned` policy rejects with "Debian-local change:
//! sigstore disabled". [`skopeo_verifies`] therefore uses trixie's skopeo
//! (1.18, upstream sigstore code), unpacked with trixie's libc under
//! Cargo's target directory and started through that libc's loader; the
//! system is not changed by it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::registry_support::*;
use crate::support::run;

/// Checks with skopeo, independently of Warden, that `image`
/// (`127.0.0.1:PORT/repo@sha256:...`) has a cosign signature, stored as the
/// `sha256-<hex>.sig` tag in its repository, by the key in
/// `public_key_pem_path` (PEM `PUBLIC KEY`) whose identity names the
/// image's repository. `Err` carries skopeo's complaint.
///
/// The policy rejects everything except `transports.docker` for the
/// image's repository, which needs `sigstoreSigned` with that key and
/// `signedIdentity: matchRepository` (the payload's `docker-reference` must
/// be `127.0.0.1:PORT/repo` exactly; `matchExact` fails against a digest
/// reference). skopeo requires the payload's `optional` key (`null` does);
/// it copies a wasm artifact (config `application/vnd.wasm.config.v0+json`,
/// layer `application/wasm`) to `dir:` like any image, so a tampered layer
/// fails too, with a digest mismatch.
pub async fn skopeo_verifies(image: &str, public_key_pem_path: &Path) -> Result<(), String> {
    let (repository, _) = image
        .split_once('@')
        .unwrap_or_else(|| panic!("`{image}` is not a digest reference"));
    let (host, _) = repository
        .split_once('/')
        .unwrap_or_else(|| panic!("`{image}` names no registry"));
    let key = std::fs::canonicalize(public_key_pem_path)
        .unwrap_or_else(|error| panic!("{}: {error}", public_key_pem_path.display()));
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = serde_json::json!({
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                repository: [{
                    "type": "sigstoreSigned",
                    "keyPath": key,
                    "signedIdentity": {"type": "matchRepository"},
                }]
            }
        }
    });
    let policy_path = dir.path().join("policy.json");
    std::fs::write(&policy_path, policy.to_string()).expect("write policy.json");
    let registries_d = dir.path().join("registries.d");
    std::fs::create_dir(&registries_d).expect("create registries.d");
    std::fs::write(
        registries_d.join("warden-test.yaml"),
        format!("docker:\n  \"{host}\":\n    use-sigstore-attachments: true\n"),
    )
    .expect("write registries.d");
    let mut command = sigstore_skopeo().await;
    let output = command
        .arg("--policy")
        .arg(&policy_path)
        .arg("--registries.d")
        .arg(&registries_d)
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{image}"))
        .arg(format!("dir:{}", dir.path().join("copy").display()))
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run skopeo");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The marker Debian's `disable-sigstore` patch leaves in skopeo.
const SIGSTORE_DISABLED: &[u8] = b"Debian-local change: sigstore disabled";

/// The packages that make trixie's skopeo run on bookworm: skopeo and the
/// libraries it links, libc included.
const TRIXIE_PACKAGES: &[&str] = &[
    "skopeo",
    "libc6",
    "libgpgme11t64",
    "libsqlite3-0",
    "libassuan9",
    "libgpg-error0",
];

/// A command that runs a skopeo able to verify sigstore signatures: the
/// system's when it is, else trixie's, unpacked (once) under Cargo's target
/// directory and run through trixie's loader.
async fn sigstore_skopeo() -> Command {
    debian_tools().await;
    static UNPACKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _unpacking = UNPACKING.lock().await;
    if let Some(system) = which("skopeo")
        && let Ok(binary) = std::fs::read(&system)
        && !binary
            .windows(SIGSTORE_DISABLED.len())
            .any(|window| window == SIGSTORE_DISABLED)
    {
        return Command::new(system);
    }
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trixie-skopeo");
    let root = base.join("root");
    let libs = root.join("usr/lib/x86_64-linux-gnu");
    let loader = libs.join("ld-linux-x86-64.so.2");
    let skopeo = root.join("usr/bin/skopeo");
    if !(loader.exists() && skopeo.exists()) {
        let _ = std::fs::remove_dir_all(&base);
        for sub in ["lists/partial", "cache/archives/partial", "debs", "root"] {
            std::fs::create_dir_all(base.join(sub)).expect("create the apt folders");
        }
        std::fs::write(
            base.join("sources.list"),
            "deb http://deb.debian.org/debian trixie main\n",
        )
        .expect("write sources.list");
        // apt with its own sources, lists and cache: the system's apt state
        // is left alone, and nothing is installed.
        let mut options: Vec<String> = vec![
            format!(
                "Dir::Etc::sourcelist={}",
                base.join("sources.list").display()
            ),
            "Dir::Etc::sourceparts=-".to_owned(),
            format!("Dir::State::Lists={}", base.join("lists").display()),
            format!("Dir::Cache={}", base.join("cache").display()),
            "Acquire::Languages=none".to_owned(),
        ];
        if is_root().await {
            options.push("APT::Sandbox::User=root".to_owned());
        }
        let apt = |action: &[&str]| {
            let mut command = Command::new("apt-get");
            for option in &options {
                command.args(["-o", option]);
            }
            command.args(action).current_dir(base.join("debs"));
            command
        };
        run(&mut apt(&["update", "-qq"]), "read trixie's package lists").await;
        let mut download = vec!["download", "-qq"];
        download.extend_from_slice(TRIXIE_PACKAGES);
        run(&mut apt(&download), "download trixie's skopeo").await;
        for entry in std::fs::read_dir(base.join("debs")).expect("read the downloads") {
            let deb = entry.expect("download").path();
            run(
                Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
                "unpack trixie's skopeo",
            )
            .await;
        }
        assert!(
            loader.exists() && skopeo.exists(),
            "trixie's packages did not unpack skopeo and its loader"
        );
    }
    let mut command = Command::new(loader);
    command.arg("--library-path").arg(libs).arg(skopeo);
    command
}

/// A P-256 key pair made with openssl: the private and public PEM files.
pub async fn openssl_key_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let private = dir.join("cosign.key.pem");
    let public = dir.join("cosign.pub.pem");
    run(
        Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(&private),
        "make a P-256 key",
    )
    .await;
    run(
        Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public),
        "write the public key",
    )
    .await;
    (private, public)
}

/// Signs `repository@digest` as cosign does, by hand with openssl: the
/// simple-signing payload as a blob, its ECDSA signature (ASN.1 DER,
/// base64) as the layer's `dev.cosignproject.cosign/signature`
/// annotation, the manifest at tag `sha256-<hex>.sig`.
pub async fn cosign_sign_by_hand(
    registry: &TestRegistry,
    repository: &str,
    digest: &str,
    private_key: &Path,
) {
    sign_by_hand(registry, repository, digest, private_key, Store::Tag).await;
}

/// Where a signature made by hand is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// cosign's `sha256-<hex>.sig` tag.
    Tag,
    /// An OCI 1.1 referrer of the signed manifest (cosign's
    /// `--registry-referrers-mode=oci-1-1`), listed through the referrers
    /// tag schema (`sha256-<hex>`), since this registry has no referrers
    /// API.
    Referrer,
}

/// As [`cosign_sign_by_hand`], stored as `store` says.
pub async fn sign_by_hand(
    registry: &TestRegistry,
    repository: &str,
    digest: &str,
    private_key: &Path,
    store: Store,
) {
    use base64::Engine as _;
    let payload = serde_json::json!({
        "critical": {
            "identity": {"docker-reference": format!("{}/{repository}", registry.host())},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string();
    let scratch = tempfile::tempdir().expect("tempdir");
    let payload_path = scratch.path().join("payload.json");
    std::fs::write(&payload_path, &payload).expect("write the payload");
    let output = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(private_key)
        .arg(&payload_path)
        .output()
        .await
        .expect("run openssl dgst");
    assert!(
        output.status.success(),
        "openssl dgst: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(&output.stdout);
    let payload_digest = push_blob(registry, &[], repository, payload.as_bytes()).await;
    let config = push_blob(registry, &[], repository, b"{}").await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [{
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": payload_digest,
            "size": payload.len(),
            "annotations": {"dev.cosignproject.cosign/signature": signature},
        }],
    });
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    if store == Store::Tag {
        push_manifest(
            registry,
            &[],
            repository,
            &format!("sha256-{hex}.sig"),
            &manifest,
        )
        .await;
        return;
    }
    let artifact_type = "application/vnd.dev.cosign.artifact.sig.v1+json";
    let mut manifest = manifest;
    manifest["artifactType"] = artifact_type.into();
    let (_, _, subject) = registry_request(
        registry.addr,
        "GET",
        &format!("/v2/{repository}/manifests/{digest}"),
        &[("accept", "application/vnd.oci.image.manifest.v1+json")],
        b"",
    )
    .await;
    manifest["subject"] = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": subject.len(),
    });
    let bytes = manifest.to_string();
    let own = sha256_digest(bytes.as_bytes());
    push_manifest(registry, &[], repository, &own, &manifest).await;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": own,
            "size": bytes.len(),
            "artifactType": artifact_type,
        }],
    });
    push_manifest(registry, &[], repository, &format!("sha256-{hex}"), &index).await;
}

#[tokio::test]
async fn test_skopeo_verifies_a_hand_made_cosign_signature_of_a_wasm_artifact() {
    let registry = TestRegistry::start(None).await;
    let keys = tempfile::tempdir().expect("tempdir");
    let (private, public) = openssl_key_pair(keys.path()).await;
    let wasm = b"\0asm\x01\0\0\0";
    let (digest, layer) = push_wasm_artifact(&registry, "tools/text", "v1", wasm).await;
    let image = format!("{}/tools/text@{digest}", registry.host());

    let unsigned = skopeo_verifies(&image, &public).await;
    assert!(
        unsigned
            .as_ref()
            .is_err_and(|error| error.contains("no signature exists")),
        "{unsigned:?}"
    );

    cosign_sign_by_hand(&registry, "tools/text", &digest, &private).await;
    skopeo_verifies(&image, &public)
        .await
        .unwrap_or_else(|error| panic!("skopeo rejected the signature: {error}"));

    let stranger = tempfile::tempdir().expect("tempdir");
    let (_, stranger_public) = openssl_key_pair(stranger.path()).await;
    let wrong_key = skopeo_verifies(&image, &stranger_public).await;
    assert!(
        wrong_key
            .as_ref()
            .is_err_and(|error| error.contains("signature verification failed")),
        "{wrong_key:?}"
    );

    std::fs::write(registry.blob_path(&layer), b"\0asm\x01\0\0\x01").expect("tamper");
    let tampered = skopeo_verifies(&image, &public).await;
    assert!(
        tampered
            .as_ref()
            .is_err_and(|error| error.contains("Digest did not match")),
        "{tampered:?}"
    );
}

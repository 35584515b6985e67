//! Components from a real OCI registry (Debian's `docker-registry`, the
//! CNCF distribution registry) on loopback: pushed with `warden push`,
//! signed with `warden sign`, pinned, verified, cached and served; the
//! signatures checked by skopeo too.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;
use tokio::process::Command;

use crate::registry_signatures::{
    Store, cosign_sign_by_hand, openssl_key_pair, sign_by_hand, skopeo_verifies,
};
use crate::registry_support::{
    TestRegistry, push_blob, push_manifest, push_wasm_artifact, registry_request, sha256_digest,
};
use crate::support::TestServer;

/// A folder for keys, auth files, configs and the cache, and a `HOME`
/// without Docker credentials.
pub(crate) struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("cache")).expect("cache dir");
        std::fs::create_dir(dir.path().join("home")).expect("home dir");
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    /// Empties the cache, so the next pull goes to the registry.
    pub(crate) fn clear_cache(&self) {
        std::fs::remove_dir_all(self.cache()).expect("remove the cache");
        std::fs::create_dir(self.cache()).expect("create the cache");
    }

    /// Runs `warden` with `args`, isolated from the user's Docker
    /// credentials, plus `env`.
    pub(crate) async fn warden(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .env("HOME", self.path().join("home"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_CONFIG")
            .envs(env.iter().copied())
            .output()
            .await
            .expect("run warden")
    }

    /// Writes `name` holding a config with one component `text` from
    /// `reference`, `component_extra` lines in its table and `rest` after.
    pub(crate) fn config(
        &self,
        name: &str,
        reference: &str,
        component_extra: &str,
        rest: &str,
    ) -> PathBuf {
        let text = config_text(&self.cache(), reference, component_extra, rest);
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// `warden check` of the config file `name`.
    pub(crate) async fn check(&self, config: &Path, env: &[(&str, &str)]) -> Output {
        self.warden(&["check", "--config", &config.display().to_string()], env)
            .await
    }
}

pub(crate) fn config_text(
    cache: &Path,
    reference: &str,
    component_extra: &str,
    rest: &str,
) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\ncache_dir = \"{}\"\n\
         [components.text]\noci = \"{reference}\"\n{component_extra}\n{rest}",
        cache.display()
    )
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
pub(crate) fn assert_ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        stderr(output),
        stdout(output)
    );
    stdout(output)
}

#[track_caller]
pub(crate) fn assert_refused(output: &Output, words: &[&str]) -> String {
    let error = stderr(output);
    assert_eq!(output.status.code(), Some(1), "expected a refusal: {error}");
    for word in words {
        assert!(error.contains(word), "{word:?} missing from: {error}");
    }
    error
}

/// `warden push`es `file` to `repository:tag`; the pinned reference.
pub(crate) async fn push(
    work: &Workdir,
    registry: &TestRegistry,
    file: &str,
    repo_tag: &str,
) -> String {
    let output = work
        .warden(
            &["push", file, &format!("{}/{repo_tag}", registry.host())],
            &[],
        )
        .await;
    assert_ok(&output, "warden push").trim().to_owned()
}

/// A registry with the `text` component pushed to `repo_tag`, a work
/// folder, and the pinned reference.
async fn text_pushed_to(repo_tag: &str) -> (TestRegistry, Workdir, String) {
    let registry = TestRegistry::start(None).await;
    let work = Workdir::new();
    let pinned = push(&work, &registry, warden_tool_artifacts::TEXT, repo_tag).await;
    (registry, work, pinned)
}

pub(crate) fn digest_of(pinned: &str) -> String {
    pinned
        .rsplit_once('@')
        .map(|(_, digest)| digest.to_owned())
        .expect("a pinned reference")
}

#[tokio::test]
async fn a_pushed_component_is_served_by_digest_and_shown_with_it() {
    let (registry, work, pinned) = text_pushed_to("tools/text:1.0").await;
    assert!(pinned.starts_with(&format!("{}/tools/text@sha256:", registry.host())));
    let config = work.config("warden.toml", &pinned, "", "");

    let pulled = assert_ok(
        &work
            .warden(&["pull", "--config", &config.display().to_string()], &[])
            .await,
        "warden pull",
    );
    assert!(
        pulled.contains(&format!("text {pinned} {}", digest_of(&pinned))),
        "{pulled}"
    );
    assert!(pulled.contains("(pulled)"), "{pulled}");
    let again = work
        .warden(&["pull", "--config", &config.display().to_string()], &[])
        .await;
    assert!(assert_ok(&again, "second pull").contains("(cached)"));

    let tools = work
        .warden(
            &["tools", "--json", "--config", &config.display().to_string()],
            &[],
        )
        .await;
    let tools: serde_json::Value =
        serde_json::from_str(&assert_ok(&tools, "warden tools")).expect("JSON");
    let count = tools
        .as_array()
        .expect("a list")
        .iter()
        .find(|tool| tool["name"] == "text.count")
        .expect("text.count listed");
    assert_eq!(count["pulled"]["digest"], digest_of(&pinned));

    let text = std::fs::read_to_string(&config).expect("config");
    let server = TestServer::spawn_with_config(&text, &[]).await;
    let session = server.session().await;
    let result = session
        .call("text.count", json!({"text": "one two three"}))
        .await;
    assert_eq!(result["structuredContent"]["words"], 3, "{result}");
    assert!(
        server.log().contains("component resolved"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn a_component_in_the_layout_wkg_pushes_is_read() {
    let registry = TestRegistry::start(None).await;
    let work = Workdir::new();
    let wasm = std::fs::read(warden_tool_artifacts::TEXT).expect("read text.wasm");
    // wkg's layout (the CNCF wasm OCI artifact), pushed without Warden.
    let (digest, _) = push_wasm_artifact(&registry, "wkg/text", "0.1.0", &wasm).await;
    let reference = format!("{}/wkg/text:0.1.0@{digest}", registry.host());
    let output = work
        .check(&work.config("wkg.toml", &reference, "", ""), &[])
        .await;
    assert!(assert_ok(&output, "check").contains("tool text.count"));
}

#[tokio::test]
async fn tags_are_followed_only_when_the_operator_allows_it() {
    let (registry, work, pinned) = text_pushed_to("tools/text:stable").await;
    let tag = format!("{}/tools/text:stable", registry.host());
    let refused = work
        .check(&work.config("tag.toml", &tag, "", ""), &[])
        .await;
    assert_refused(
        &refused,
        &["components.text.oci", "names no digest", "allow_tags"],
    );
    let allowed = work
        .check(
            &work.config("allowed.toml", &tag, "allow_tags = true", ""),
            &[],
        )
        .await;
    let shown = assert_ok(&allowed, "check with allow_tags");
    assert!(
        shown.contains(&format!("from {tag} = {}", digest_of(&pinned))),
        "{shown}"
    );
}

#[tokio::test]
async fn content_that_does_not_match_its_digest_or_is_not_a_component_is_refused() {
    let (registry, work, pinned) = text_pushed_to("tools/text:1").await;
    // The manifest pinned to another digest.
    let wrong = format!(
        "{}@sha256:{}",
        pinned.rsplit_once('@').expect("pinned").0,
        "0".repeat(64)
    );
    let output = work
        .check(&work.config("wrong.toml", &wrong, "", ""), &[])
        .await;
    assert_refused(&output, &["wrong.toml:6", "no such manifest"]);

    // A layer altered in the registry's storage: same length, one byte off.
    let wasm = std::fs::read(warden_tool_artifacts::TEXT).expect("read text.wasm");
    let blob = registry.blob_path(&sha256_digest(&wasm));
    let mut altered = wasm.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0xff;
    std::fs::write(&blob, &altered).expect("alter the blob");
    let output = work
        .check(&work.config("tampered.toml", &pinned, "", ""), &[])
        .await;
    assert_refused(
        &output,
        &["the layer has digest", "not the", "it is pinned to"],
    );
    std::fs::write(&blob, &wasm).expect("restore the blob");

    // A container image's manifest, not a component's.
    let layer = push_blob(&registry, &[], "tools/image", b"not a tar, but a layer").await;
    let config_blob = push_blob(&registry, &[], "tools/image", b"{}").await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_blob, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 22}],
    });
    let digest = push_manifest(&registry, &[], "tools/image", "1", &manifest).await;
    let image = format!("{}/tools/image@{digest}", registry.host());
    let output = work
        .check(&work.config("image.toml", &image, "", ""), &[])
        .await;
    assert_refused(
        &output,
        &[
            "is not a WebAssembly component",
            "no `application/wasm` layer",
        ],
    );

    // A layer larger than the configured cap.
    let output = work
        .check(
            &work.config(
                "capped.toml",
                &pinned,
                "",
                "[registry]\nmax_component_bytes = 1024\n",
            ),
            &[],
        )
        .await;
    assert_refused(&output, &["more than registry.max_component_bytes (1024)"]);

    // A core module is not pushed.
    let module = work.path().join("module.wasm");
    std::fs::write(&module, [0, b'a', b's', b'm', 1, 0, 0, 0]).expect("write module");
    let output = work
        .warden(
            &[
                "push",
                &module.display().to_string(),
                &format!("{}/tools/m:1", registry.host()),
            ],
            &[],
        )
        .await;
    assert_refused(&output, &["core WebAssembly module"]);
}

#[tokio::test]
async fn signatures_are_required_checked_against_the_keys_and_readable_by_skopeo() {
    let (registry, work, text) = text_pushed_to("tools/x:text").await;
    let keys = work.path().join("keys");
    let other_keys = work.path().join("other");
    std::fs::create_dir_all(&keys).expect("mkdir");
    std::fs::create_dir_all(&other_keys).expect("mkdir");
    let (private, public) = openssl_key_pair(&keys).await;
    let (other_private, other_public) = openssl_key_pair(&other_keys).await;
    let json = push(
        &work,
        &registry,
        warden_tool_artifacts::JSON,
        "tools/x:json",
    )
    .await;
    let verify = format!(
        "[components.text.verify]\nkeys = [\"{}\"]\n",
        public.display()
    );
    let work = &work;
    let check = |name: &'static str, reference: String| {
        let config = work.config(name, &reference, "", &verify);
        async move { work.check(&config, &[]).await }
    };

    let output = check("unsigned.toml", text.clone()).await;
    assert_refused(
        &output,
        &[
            "is not signed",
            "components.text.verify requires a signature",
        ],
    );

    let sign = |key: PathBuf, reference: String| async move {
        work.warden(
            &["sign", "--key", &key.display().to_string(), &reference],
            &[],
        )
        .await
    };
    let signed = sign(other_private.clone(), text.clone()).await;
    assert!(assert_ok(&signed, "sign").contains(&digest_of(&text)));
    let output = check("unknown.toml", text.clone()).await;
    assert_refused(
        &output,
        &["no valid signature", "no trusted key made this signature"],
    );

    // A valid signature of `json`'s digest, moved to where `text`'s would be.
    assert_ok(&sign(private.clone(), json.clone()).await, "sign json");
    let json_signatures = format!("sha256-{}.sig", &digest_of(&json)["sha256:".len()..]);
    let text_signatures = format!("sha256-{}.sig", &digest_of(&text)["sha256:".len()..]);
    let (status, _, body) = registry_request(
        registry.addr,
        "GET",
        &format!("/v2/tools/x/manifests/{json_signatures}"),
        &[("accept", "application/vnd.oci.image.manifest.v1+json")],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let moved: serde_json::Value = serde_json::from_slice(&body).expect("manifest");
    push_manifest(&registry, &[], "tools/x", &text_signatures, &moved).await;
    let output = check("moved.toml", text.clone()).await;
    assert_refused(
        &output,
        &[&format!(
            "the signature is of {}, not of {}",
            digest_of(&json),
            digest_of(&text)
        )],
    );

    // Signed with the trusted key: served, and the signer shown.
    let signed = sign(private.clone(), text.clone()).await;
    assert_ok(&signed, "sign text");
    let output = check("signed.toml", text.clone()).await;
    let shown = assert_ok(&output, "check a signed component");
    assert!(shown.contains("signed by SHA256:"), "{shown}");

    // An independent verifier (containers/image, through skopeo) accepts
    // Warden's signature with the right key only.
    skopeo_verifies(&json, &public)
        .await
        .expect("skopeo verifies warden's signature");
    assert!(skopeo_verifies(&json, &other_public).await.is_err());

    // A signature stored as an OCI 1.1 referrer, not under the tag.
    let referred = push(
        work,
        &registry,
        warden_tool_artifacts::CONFORMANCE,
        "tools/x:conformance",
    )
    .await;
    let output = check("referred-unsigned.toml", referred.clone()).await;
    assert_refused(&output, &["is not signed"]);
    sign_by_hand(
        &registry,
        "tools/x",
        &digest_of(&referred),
        &private,
        Store::Referrer,
    )
    .await;
    let output = check("referred.toml", referred).await;
    assert_ok(&output, "check a component signed through a referrer");

    // And Warden accepts a signature made without it (openssl, by hand).
    let hand = push(
        work,
        &registry,
        warden_tool_artifacts::FILES,
        "tools/x:files",
    )
    .await;
    cosign_sign_by_hand(&registry, "tools/x", &digest_of(&hand), &private).await;
    let output = check("by-hand.toml", hand).await;
    assert_ok(&output, "check a component signed by openssl");
}

#[tokio::test]
async fn a_warm_cache_serves_with_the_registry_down_and_a_cold_one_says_why() {
    let (mut registry, work, pinned) = text_pushed_to("tools/text:1").await;
    let config = work.config("warden.toml", &pinned, "", "");
    assert_ok(
        &work
            .warden(&["pull", "--config", &config.display().to_string()], &[])
            .await,
        "pull",
    );
    registry.stop().await;
    let output = work.check(&config, &[]).await;
    let shown = assert_ok(&output, "check from the cache");
    assert!(shown.contains(&digest_of(&pinned)), "{shown}");
    // Nothing pulled and nothing compiled: the component's compiled form
    // is in the cache beside it.
    assert!(shown.contains(", cached)"), "{shown}");
    let text = std::fs::read_to_string(&config).expect("config");
    let server = TestServer::spawn_with_config(&text, &[]).await;
    let session = server.session().await;
    let result = session.call("text.count", json!({"text": "a b"})).await;
    assert_eq!(result["structuredContent"]["words"], 2, "{result}");

    let cold = tempfile::tempdir().expect("tempdir");
    let cold_config = work.path().join("cold.toml");
    std::fs::write(&cold_config, config_text(cold.path(), &pinned, "", "")).expect("write");
    let output = work.check(&cold_config, &[]).await;
    assert_refused(&output, &[&pinned, "the registry cannot be reached"]);
}

#[tokio::test]
async fn a_reload_that_fails_verification_keeps_the_old_version_serving() {
    let (registry, work, text) = text_pushed_to("tools/x:text").await;
    let (private, public) = openssl_key_pair(work.path()).await;
    let unsigned = push(
        &work,
        &registry,
        warden_tool_artifacts::JSON,
        "tools/x:json",
    )
    .await;
    let signed = work
        .warden(
            &["sign", "--key", &private.display().to_string(), &text],
            &[],
        )
        .await;
    assert_ok(&signed, "sign");
    let verify = format!(
        "[components.text.verify]\nkeys = [\"{}\"]\n",
        public.display()
    );
    let server =
        TestServer::spawn_with_config(&config_text(&work.cache(), &text, "", &verify), &[]).await;
    server.write_config(&config_text(&work.cache(), &unsigned, "", &verify));
    server.signal("HUP");
    server.wait_for_log("is not signed", 1).await;
    let session = server.session().await;
    assert!(
        server
            .tool_names(&session)
            .await
            .contains(&"text.count".to_owned())
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("warden_config_reloads_total{outcome=\"error\"} 1"),
        "{metrics}"
    );

    // Signed, the changed reference is pulled, verified and swapped in.
    let signed = work
        .warden(
            &["sign", "--key", &private.display().to_string(), &unsigned],
            &[],
        )
        .await;
    assert_ok(&signed, "sign json");
    server.write_config(&config_text(&work.cache(), &unsigned, "", &verify));
    server.signal("HUP");
    server.wait_for_log("catalog reloaded", 1).await;
    let tools = server.tool_names(&server.session().await).await;
    assert!(
        tools.iter().any(|tool| tool.starts_with("json.")),
        "{tools:?}"
    );
    assert!(!tools.contains(&"text.count".to_owned()), "{tools:?}");
}

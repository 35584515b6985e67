//! Reaching a registry: credentials from an auth file or the config
//! (never shown), and HTTPS with a private CA, never downgraded.

use base64::Engine as _;
use serde_json::json;

use crate::registry::{Workdir, assert_ok, assert_refused};
use crate::registry_support::TestRegistry;

#[tokio::test]
async fn credentials_come_from_an_auth_file_or_the_config_and_never_show() {
    let registry = TestRegistry::start(Some(("warden", "pa55-word"))).await;
    let work = Workdir::new();
    let target = format!("{}/tools/text:1", registry.host());
    let output = work
        .warden(&["push", warden_tool_artifacts::TEXT, &target], &[])
        .await;
    assert_refused(&output, &["refused access"]);

    let auth = work.path().join("auth.json");
    let encoded = base64::engine::general_purpose::STANDARD.encode("warden:pa55-word");
    std::fs::write(
        &auth,
        json!({"auths": {registry.host(): {"auth": encoded}}}).to_string(),
    )
    .expect("write auth file");
    let auth_arg = auth.display().to_string();
    let output = work
        .warden(
            &[
                "push",
                "--auth-file",
                &auth_arg,
                warden_tool_artifacts::TEXT,
                &target,
            ],
            &[],
        )
        .await;
    let pinned = assert_ok(&output, "push with an auth file")
        .trim()
        .to_owned();

    let anonymous = work
        .check(&work.config("anonymous.toml", &pinned, "", ""), &[])
        .await;
    let error = assert_refused(&anonymous, &["refused access"]);
    assert!(!error.contains("pa55"), "{error}");
    let from_file = work
        .check(
            &work.config(
                "file.toml",
                &pinned,
                "",
                &format!("[registry]\nauth_file = \"{auth_arg}\"\n"),
            ),
            &[],
        )
        .await;
    assert_ok(&from_file, "check with registry.auth_file");
    // REGISTRY_AUTH_FILE, as podman and skopeo use it.
    work.clear_cache();
    let from_env = work
        .check(
            &work.config("env-file.toml", &pinned, "", ""),
            &[("REGISTRY_AUTH_FILE", &auth_arg)],
        )
        .await;
    assert_ok(&from_env, "check with REGISTRY_AUTH_FILE");
    let configured = format!(
        "[registry.credentials.\"{}\"]\nusername = \"warden\"\npassword = \"${{env:TEST_REGISTRY_PASSWORD}}\"\n",
        registry.host()
    );
    work.clear_cache();
    let from_config = work
        .check(
            &work.config("credentials.toml", &pinned, "", &configured),
            &[("TEST_REGISTRY_PASSWORD", "pa55-word")],
        )
        .await;
    let shown = assert_ok(&from_config, "check with [registry.credentials]");
    assert!(!shown.contains("pa55"), "{shown}");
    work.clear_cache();
    let wrong = work
        .check(
            &work.config("wrong.toml", &pinned, "", &configured),
            &[("TEST_REGISTRY_PASSWORD", "wrong")],
        )
        .await;
    assert_refused(&wrong, &["refused access"]);

    // The Docker CLI's own file, found through HOME.
    work.clear_cache();
    let docker = work.path().join("home/.docker");
    std::fs::create_dir_all(&docker).expect("mkdir");
    std::fs::copy(&auth, docker.join("config.json")).expect("copy the auth file");
    let from_home = work
        .check(&work.config("home.toml", &pinned, "", ""), &[])
        .await;
    assert_ok(&from_home, "check with ~/.docker/config.json");
}

#[tokio::test]
async fn an_https_registry_is_trusted_through_its_ca_and_never_downgraded() {
    let ca = crate::tls::TestCa::new("Registry test CA");
    let issued = ca.issue("registry", &["127.0.0.1"]);
    let registry = TestRegistry::start_tls(&issued.cert, &issued.key).await;
    let work = Workdir::new();
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write the CA");
    let ca_arg = ca_file.display().to_string();
    let target = format!("{}/tools/text:1", registry.host());

    // Loopback, but it speaks TLS: HTTPS, and a certificate Warden does not
    // trust is an error, not a reason to fall back to plain HTTP.
    let untrusted = work
        .warden(&["push", warden_tool_artifacts::TEXT, &target], &[])
        .await;
    assert_refused(
        &untrusted,
        &["the registry cannot be reached", "certificate"],
    );
    let pushed = work
        .warden(
            &[
                "push",
                "--ca-file",
                &ca_arg,
                warden_tool_artifacts::TEXT,
                &target,
            ],
            &[],
        )
        .await;
    let pinned = assert_ok(&pushed, "push over HTTPS").trim().to_owned();

    let trusted = work
        .check(
            &work.config(
                "trusted.toml",
                &pinned,
                "",
                &format!("[registry]\nca_file = \"{ca_arg}\"\n"),
            ),
            &[],
        )
        .await;
    assert_ok(&trusted, "check with registry.ca_file");
    work.clear_cache();
    let output = work
        .check(&work.config("untrusted.toml", &pinned, "", ""), &[])
        .await;
    assert_refused(&output, &["certificate"]);
}

/// A registry on loopback that answers `/v2/` and then, for every other
/// request, a 200 whose body never ends (chunked, 64 KiB at a time) or, when
/// `announce` is set, one whose `content-length` says 1 GiB. It does not
/// speak TLS, so Warden reaches it over plain HTTP. Returns its address.
async fn endless_registry(announce: bool) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = vec![0u8; 4];
                if stream.read_exact(&mut head).await.is_err() || head != b"GET " {
                    // The scheme probe's TLS handshake: not a TLS server.
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                    return;
                }
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let line = String::from_utf8_lossy(&head);
                if line.starts_with("GET /v2/ ") {
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                        .await;
                    return;
                }
                let kind = "application/vnd.oci.image.manifest.v1+json";
                if announce {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n",
                        1u64 << 30
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&[b' '; 64 << 10]).await;
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut chunk = format!("{:x}\r\n", 64 << 10).into_bytes();
                chunk.extend_from_slice(&[b' '; 64 << 10]);
                chunk.extend_from_slice(b"\r\n");
                // Until Warden hangs up.
                while stream.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    address
}

#[tokio::test]
async fn a_registry_that_sends_an_endless_or_huge_manifest_is_refused_at_the_cap() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    for announce in [false, true] {
        let address = endless_registry(announce).await;
        let work = Workdir::new();
        let reference = format!("{address}/tools/text@{digest}");
        let config = work.config("warden.toml", &reference, "", "");
        let output = work.check(&config, &[]).await;
        assert_refused(
            &output,
            &[&reference, "manifest is larger than 4194304 bytes"],
        );
    }
}

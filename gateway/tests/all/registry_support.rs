//! A real OCI registry on an ephemeral loopback port (Debian's
//! `docker-registry`, CNCF distribution 2.8) and an independent check of
//! cosign signatures with `skopeo`.
//!
//! Facts found by running these tools on Debian bookworm:
//!
//! - `docker-registry serve CONFIG` with `http.addr: 127.0.0.1:0` logs
//!   `msg="listening on 127.0.0.1:PORT"` on stderr; its access log goes to
//!   stdout. Basic auth (`auth.htpasswd`) works over plain HTTP: the
//!   registry neither refuses to start nor warns, so no TLS is needed.
//! - Installing the package does not start a daemon in a container (the
//!   image's `policy-rc.d` denies it); where systemd runs, its unit would
//!   listen on `:5000`, so [`debian_tools`] stops it after installing.
//! - Bookworm's `skopeo` 1.9.3 is built with Debian's `disable-sigstore`
//!   patch: any `sigstoreSigned` policy rejects with "Debian-local change:
//!   sigstore disabled". [`skopeo_verifies`] therefore uses trixie's skopeo
//!   (1.18, upstream sigstore code), unpacked with trixie's libc under
//!   Cargo's target directory and started through that libc's loader; the
//!   system is not changed by it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::support::exchange;

/// Programs the registry tests need, and the Debian packages that have them.
const TOOLS: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("htpasswd", "apache2-utils"),
    ("openssl", "openssl"),
    ("redis-server", "redis-server"),
];

/// Installs `docker-registry`, `skopeo`, `htpasswd`, `openssl` and
/// `redis-server` (the cluster tests' peer) from
/// Debian's packages when any is missing; parallel tests install once.
pub async fn debian_tools() {
    static INSTALLING: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);
    let mut done = INSTALLING.lock().await;
    if *done {
        return;
    }
    if TOOLS.iter().any(|(program, _)| !on_path(program)) {
        let packages: Vec<&str> = TOOLS.iter().map(|(_, package)| *package).collect();
        let sudo = if is_root().await { "" } else { "sudo " };
        let script = format!(
            "{sudo}apt-get update -qq && \
             {sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
             --no-install-recommends {}",
            packages.join(" ")
        );
        let output = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap_or_else(|error| panic!("cannot run apt-get: {error}"));
        assert!(
            output.status.success(),
            "installing the Debian packages {packages:?} failed (`{script}`):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // Where systemd runs, the packages start a registry on :5000 and a
        // Redis on :6379 with their own configs; the tests never use them.
        let stop = format!(
            "if [ -d /run/systemd/system ]; then {sudo}systemctl stop docker-registry.service; \
             elif [ -x /etc/init.d/docker-registry ]; then {sudo}/etc/init.d/docker-registry stop; fi; \
             if [ -d /run/systemd/system ]; then {sudo}systemctl stop redis-server.service; \
             elif [ -x /etc/init.d/redis-server ]; then {sudo}/etc/init.d/redis-server stop; fi"
        );
        let _ = Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .output()
            .await;
        for (program, package) in TOOLS {
            assert!(
                on_path(program),
                "`{program}` is still missing after installing the Debian package {package}"
            );
        }
    }
    *done = true;
}

/// Whether `program` is an executable file on `PATH`.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    which(program)
        .and_then(|path| std::fs::metadata(path).ok())
        .is_some_and(|meta| meta.permissions().mode() & 0o111 != 0)
}

pub async fn is_root() -> bool {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .await
        .expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// A distribution registry serving plain HTTP on `127.0.0.1` at an
/// ephemeral port, storing into its own temporary folder. Stopped when
/// dropped.
pub struct TestRegistry {
    pub addr: SocketAddr,
    child: Option<Child>,
    /// Everything the registry has logged (stderr) and its access log
    /// (stdout).
    log: Arc<Mutex<String>>,
    /// `storage/` in `dir`.
    storage: PathBuf,
    /// Holds `config.yml`, `htpasswd` and `storage/`.
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Starts a registry; with `basic_auth` every request needs those
    /// credentials (HTTP Basic, checked against an htpasswd file).
    pub async fn start(basic_auth: Option<(&str, &str)>) -> TestRegistry {
        Self::start_with(basic_auth, None).await
    }

    /// Starts a registry serving HTTPS with `certificate` and `key` (PEM).
    pub async fn start_tls(certificate: &str, key: &str) -> TestRegistry {
        Self::start_with(None, Some((certificate, key))).await
    }

    async fn start_with(
        basic_auth: Option<(&str, &str)>,
        tls: Option<(&str, &str)>,
    ) -> TestRegistry {
        debian_tools().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = dir.path().join("storage");
        std::fs::create_dir(&storage).expect("create the storage folder");
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n\
             storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:0\n  secret: warden-test-secret\n",
            storage = storage.display()
        );
        if let Some((certificate, key)) = tls {
            let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            std::fs::write(&cert_path, certificate).expect("write the certificate");
            std::fs::write(&key_path, key).expect("write the key");
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert_path.display(),
                key_path.display()
            ));
        }
        if let Some((user, password)) = basic_auth {
            let htpasswd = dir.path().join("htpasswd");
            let output = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .await
                .expect("run htpasswd");
            assert!(
                output.status.success(),
                "htpasswd failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::fs::write(&htpasswd, &output.stdout).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: warden-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write the registry config");
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start docker-registry");
        let log = Arc::new(Mutex::new(String::new()));
        drain(child.stdout.take().expect("stdout"), Arc::clone(&log));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read the registry log") {
                append(&log, &line);
                if let Some(addr) = listening_address(&line) {
                    return addr;
                }
            }
            panic!(
                "docker-registry exited before listening:\n{}",
                log.lock().expect("log")
            );
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "docker-registry did not listen within 30 s:\n{}",
                log.lock().expect("log")
            )
        });
        // Keep reading so the registry never blocks on a full pipe.
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                append(&sink, &line);
            }
        });
        TestRegistry {
            addr,
            child: Some(child),
            log,
            storage,
            _dir: dir,
        }
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Stops the registry (its port then refuses connections); its storage
    /// stays until the value is dropped.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// The storage root. distribution keeps each blob, manifests included,
    /// at `docker/registry/v2/blobs/sha256/<first 2 hex>/<hex>/data` under
    /// it (see [`blob_path`](Self::blob_path)); tags are links under
    /// `docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/`.
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }

    /// Where the blob `sha256:<hex>` is stored, to tamper with it. The
    /// registry serves the file as it is without checking its digest.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.storage_dir()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// What the registry has logged so far (its log and access log).
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        // `kill_on_drop` reaps it too; killing here stops it at once.
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

fn drain(stream: impl AsyncRead + Unpin + Send + 'static, log: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            append(&log, &line);
        }
    });
}

fn append(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().expect("log");
    log.push_str(line);
    log.push('\n');
}

/// The address in distribution's `msg="listening on 127.0.0.1:PORT"`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let prefix = "listening on ";
    let rest = &line[line.find(prefix)? + prefix.len()..];
    let end = rest.find(['"', ' ', ',']).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// One HTTP/1.1 exchange with the registry (`Connection: close`): the
/// status and the raw head and body of the answer.
pub async fn registry_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    let answer = exchange(addr, &request, Duration::from_secs(10)).await;
    let (head, rest) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP answer: {answer:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {head:?}"));
    (status, head.to_owned(), rest.as_bytes().to_vec())
}

/// `value` of header `name` in a raw answer head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Uploads `bytes` as a blob of `repository` (monolithic POST then PUT);
/// returns its digest.
pub async fn push_blob(
    registry: &TestRegistry,
    auth: &[(&str, &str)],
    repository: &str,
    bytes: &[u8],
) -> String {
    let digest = sha256_digest(bytes);
    let (status, head, _) = registry_request(
        registry.addr,
        "POST",
        &format!("/v2/{repository}/blobs/uploads/"),
        auth,
        b"",
    )
    .await;
    assert_eq!(status, 202, "start an upload: {head}");
    let location = header(&head, "location").expect("upload location");
    let path = location
        .strip_prefix(&format!("http://{}", registry.addr))
        .unwrap_or(location);
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut headers = auth.to_vec();
    headers.push(("content-type", "application/octet-stream"));
    let (status, head, _) = registry_request(
        registry.addr,
        "PUT",
        &format!("{path}{separator}digest={digest}"),
        &headers,
        bytes,
    )
    .await;
    assert_eq!(status, 201, "finish an upload: {head}");
    digest
}

/// Stores `manifest` (an OCI image manifest) under `reference` (a tag or
/// digest); returns its digest.
pub async fn push_manifest(
    registry: &TestRegistry,
    auth: &[(&str, &str)],
    repository: &str,
    reference: &str,
    manifest: &serde_json::Value,
) -> String {
    let bytes = manifest.to_string().into_bytes();
    let mut headers = auth.to_vec();
    let media_type = manifest["mediaType"]
        .as_str()
        .unwrap_or("application/vnd.oci.image.manifest.v1+json");
    headers.push(("content-type", media_type));
    let (status, head, _) = registry_request(
        registry.addr,
        "PUT",
        &format!("/v2/{repository}/manifests/{reference}"),
        &headers,
        &bytes,
    )
    .await;
    assert_eq!(status, 201, "push a manifest: {head}");
    sha256_digest(&bytes)
}

/// Pushes a wasm artifact (config `application/vnd.wasm.config.v0+json`,
/// one `application/wasm` layer holding `wasm`) tagged `tag`; returns the
/// manifest's digest and the layer's.
pub async fn push_wasm_artifact(
    registry: &TestRegistry,
    repository: &str,
    tag: &str,
    wasm: &[u8],
) -> (String, String) {
    let layer = push_blob(registry, &[], repository, wasm).await;
    let config_bytes = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer],
    })
    .to_string();
    let config = push_blob(registry, &[], repository, config_bytes.as_bytes()).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.wasm.config.v0+json",
            "digest": config,
            "size": config_bytes.len(),
        },
        "layers": [{
            "mediaType": "application/wasm",
            "digest": layer,
            "size": wasm.len(),
        }],
    });
    let digest = push_manifest(registry, &[], repository, tag, &manifest).await;
    (digest, layer)
}

#[tokio::test]
async fn test_registry_starts_and_requires_credentials_when_asked() {
    use base64::Engine as _;
    let open = TestRegistry::start(None).await;
    let (status, head, _) = registry_request(open.addr, "GET", "/v2/", &[], b"").await;
    assert_eq!(status, 200, "{head}\n{}", open.log());
    assert_eq!(open.host(), format!("127.0.0.1:{}", open.addr.port()));

    let mut guarded = TestRegistry::start(Some(("warden", "s3cret"))).await;
    let (status, head, _) = registry_request(guarded.addr, "GET", "/v2/", &[], b"").await;
    assert_eq!(status, 401, "{head}");
    assert!(
        header(&head, "www-authenticate").is_some_and(|value| value.starts_with("Basic")),
        "{head}"
    );
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("warden:wrong")
    );
    let (status, _, _) = registry_request(
        guarded.addr,
        "GET",
        "/v2/",
        &[("authorization", &wrong)],
        b"",
    )
    .await;
    assert_eq!(status, 401);
    let right = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("warden:s3cret")
    );
    let (status, head, _) = registry_request(
        guarded.addr,
        "GET",
        "/v2/",
        &[("authorization", &right)],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{head}\n{}", guarded.log());

    guarded.stop().await;
    assert!(
        tokio::net::TcpStream::connect(guarded.addr).await.is_err(),
        "a stopped registry refuses connections"
    );
}

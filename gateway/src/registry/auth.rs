//! Registry credentials: `[registry.credentials]` first, then a Docker-style
//! `config.json` (`auths` entries), else anonymous.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

use super::error::RegistryError;
use crate::config::RegistryCredentials;

/// Largest auth file read.
const MAX_AUTH_FILE_BYTES: u64 = 1 << 20;

/// Where credentials for each registry come from.
#[derive(Default)]
pub(super) struct Credentials {
    configured: Vec<(String, RegistryCredentials)>,
    /// `auths` of the Docker-style file, keyed by host.
    file: BTreeMap<String, (String, String)>,
}

impl Credentials {
    /// Reads `auth_file`, or the first of `REGISTRY_AUTH_FILE`,
    /// `$DOCKER_CONFIG/config.json` and `~/.docker/config.json` that
    /// exists, when none is given.
    pub(super) fn load(
        configured: &[(String, RegistryCredentials)],
        auth_file: Option<&Path>,
    ) -> Result<Self, RegistryError> {
        let file = match auth_file.map(Path::to_owned).or_else(default_auth_file) {
            Some(path) => read_auth_file(&path)?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            configured: configured.to_vec(),
            file,
        })
    }

    /// The credentials for `registry` (its host and port, as resolved for
    /// Docker Hub).
    pub(super) fn for_registry(&self, registry: &str) -> RegistryAuth {
        if let Some((_, found)) = self.configured.iter().find(|(host, _)| host == registry) {
            return RegistryAuth::Basic(found.username.clone(), found.password.clone());
        }
        match self.file.get(registry) {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => RegistryAuth::Anonymous,
        }
    }
}

fn default_auth_file() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("REGISTRY_AUTH_FILE").map(PathBuf::from),
        std::env::var_os("DOCKER_CONFIG").map(|dir| PathBuf::from(dir).join("config.json")),
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json")),
    ];
    candidates.into_iter().flatten().find(|path| path.is_file())
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

fn read_auth_file(path: &Path) -> Result<BTreeMap<String, (String, String)>, RegistryError> {
    let fail = |why: String| RegistryError::AuthFile {
        path: path.to_owned(),
        why,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_AUTH_FILE_BYTES {
        return Err(fail(format!(
            "larger than {MAX_AUTH_FILE_BYTES} bytes; not an auth file"
        )));
    }
    let text = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    // serde_json's message names the line and column, never the value.
    let parsed: AuthFile =
        serde_json::from_slice(&text).map_err(|e| fail(format!("not a Docker auth file: {e}")))?;
    let mut out = BTreeMap::new();
    for (key, entry) in parsed.auths {
        let host = host_of(&key);
        let pair = match (entry.auth, entry.username, entry.password) {
            (Some(encoded), _, _) => {
                let decoded = BASE64
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| fail(format!("auths.\"{key}\".auth is not base64 UTF-8")))?;
                let (user, password) = decoded.split_once(':').ok_or_else(|| {
                    fail(format!(
                        "auths.\"{key}\".auth does not decode to `user:password`"
                    ))
                })?;
                (user.to_owned(), password.to_owned())
            }
            (None, Some(user), Some(password)) => (user, password),
            // An entry with only an identity token or nothing usable.
            _ => continue,
        };
        out.insert(host, pair);
    }
    Ok(out)
}

/// `https://index.docker.io/v1/` → `index.docker.io`; `ghcr.io` stays.
fn host_of(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn docker_auth_entries_are_keyed_by_host() {
        let (_dir, path) = file_with(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
                "127.0.0.1:5000":{"username":"u","password":"p"},
                "ghcr.io":{"identitytoken":"x"}}}"#,
        );
        let credentials = Credentials::load(&[], Some(&path)).expect("load");
        assert!(matches!(
            credentials.for_registry("index.docker.io"),
            RegistryAuth::Basic(u, p) if u == "user" && p == "pass"
        ));
        assert!(matches!(
            credentials.for_registry("127.0.0.1:5000"),
            RegistryAuth::Basic(u, p) if u == "u" && p == "p"
        ));
        assert!(matches!(
            credentials.for_registry("ghcr.io"),
            RegistryAuth::Anonymous
        ));
    }

    #[test]
    fn configured_credentials_come_first() {
        let (_dir, path) = file_with(r#"{"auths":{"r.example":{"auth":"YTpi"}}}"#);
        let configured = vec![(
            "r.example".to_owned(),
            RegistryCredentials {
                username: "me".to_owned(),
                password: "secret".to_owned(),
            },
        )];
        let credentials = Credentials::load(&configured, Some(&path)).expect("load");
        assert!(matches!(
            credentials.for_registry("r.example"),
            RegistryAuth::Basic(u, _) if u == "me"
        ));
    }

    #[test]
    fn a_damaged_file_is_named_without_its_values() {
        let (_dir, path) = file_with(r#"{"auths":{"r.example":{"auth":"%%%secret"}}}"#);
        let error = Credentials::load(&[], Some(&path))
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("config.json"), "{error}");
        assert!(error.contains("not base64"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        let (_dir, path) = file_with("{not json");
        let error = Credentials::load(&[], Some(&path))
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("not a Docker auth file"), "{error}");
    }
}

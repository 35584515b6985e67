//! What the fuzz targets share: a configuration of the bundled example
//! components in a temporary folder, and a gateway built from it once per
//! fuzzing process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use warden_gateway::Gateway;
use warden_gateway::config::Config;

/// A folder holding `warden.toml` and a data folder for `files`, kept for
/// the life of the process.
pub struct Fixture {
    _dir: tempfile::TempDir,
    /// The config file.
    pub config_path: PathBuf,
    /// Its text.
    pub config_text: String,
}

/// The fixture, made on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary folder");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("data folder");
        std::fs::write(data.join("notes.txt"), "warden fuzzing data\n").expect("data file");
        // Files the seed configurations name by relative paths.
        for (name, path) in [
            ("text.wasm", warden_tool_artifacts::TEXT),
            ("json.wasm", warden_tool_artifacts::JSON),
            ("files.wasm", warden_tool_artifacts::FILES),
        ] {
            std::fs::copy(path, dir.path().join(name)).expect("component copy");
        }
        std::fs::write(dir.path().join("jwks.json"), JWKS).expect("JWK Set");
        std::fs::write(dir.path().join("api-keys.toml"), API_KEYS).expect("keys file");
        let config_text = config_text(&data);
        let config_path = dir.path().join("warden.toml");
        std::fs::write(&config_path, &config_text).expect("config file");
        Fixture {
            _dir: dir,
            config_path,
            config_text,
        }
    })
}

/// A JWK Set for seed configurations' `auth.jwt.jwks_file`.
const JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

/// An API keys file for seed configurations' `auth.api_keys_file`.
const API_KEYS: &str = "[[api_keys]]\nname = \"ci-bot\"\nhash = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n";

fn config_text(data: &Path) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"
session_idle_timeout_secs = 3600
cache_dir = "{cache}"

[http]
request_timeout_ms = 5000
header_read_timeout_ms = 2000

[components.text]
path = "{text}"

[components.json]
path = "{json}"

[components.files]
path = "{files}"
[components.files.capabilities]
dirs = [{{ host = "{data}", guest = "/data", mode = "ro" }}]
"#,
        text = warden_tool_artifacts::TEXT,
        json = warden_tool_artifacts::JSON,
        files = warden_tool_artifacts::FILES,
        data = data.display(),
        cache = concat!(env!("CARGO_MANIFEST_DIR"), "/target/warden-cache"),
    )
}

/// The fixture's configuration, loaded.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        warden_gateway::config::load(&fixture().config_path).expect("the fixture config loads")
    })
}

/// A single-threaded runtime for the targets that drive async code: the
/// input's work runs on the fuzzer's thread, so a panic anywhere in it is a
/// crash the fuzzer sees.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// The gateway serving the fixture's components.
pub fn gateway() -> &'static Arc<Gateway> {
    static GATEWAY: OnceLock<Arc<Gateway>> = OnceLock::new();
    GATEWAY.get_or_init(|| {
        runtime()
            .block_on(warden_gateway::build(config()))
            .expect("the gateway builds")
    })
}

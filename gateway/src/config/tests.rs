//! Tests of the whole configuration layer: text in, `Config` or a located
//! error out.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::*;

/// A folder holding `warden.toml`'s neighbours: two component files and a
/// `data/` directory with one file.
pub(super) struct Fixture {
    dir: TempDir,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::write(dir.path().join("text.wasm"), b"\0asm").expect("write text.wasm");
        fs::write(dir.path().join("json.wasm"), b"\0asm").expect("write json.wasm");
        fs::create_dir(dir.path().join("data")).expect("create data/");
        fs::create_dir(dir.path().join("data/out")).expect("create data/out/");
        fs::write(dir.path().join("data/notes.md"), "hello").expect("write notes.md");
        Self { dir }
    }

    pub(super) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(super) fn canonical(&self, relative: &str) -> PathBuf {
        fs::canonicalize(self.root().join(relative)).expect("canonical path")
    }

    pub(super) fn origin(&self) -> PathBuf {
        self.root().join("warden.toml")
    }

    pub(super) fn parse(&self, text: &str) -> Result<Config, ConfigError> {
        parse(text, &self.origin())
    }

    pub(super) fn ok(&self, text: &str) -> Config {
        match self.parse(text) {
            Ok(config) => config,
            Err(e) => panic!("expected a valid config, got: {e}"),
        }
    }

    /// The error for `text`, which must be `ConfigError::Invalid`.
    pub(super) fn invalid(&self, text: &str) -> Invalid {
        match self.parse(text) {
            Err(ConfigError::Invalid {
                path,
                line,
                column,
                key,
                message,
            }) => {
                assert_eq!(path, self.origin(), "the error names the file");
                Invalid {
                    line,
                    column,
                    key,
                    message,
                }
            }
            other => panic!("expected ConfigError::Invalid, got {other:?}"),
        }
    }
}

#[derive(Debug)]
pub(super) struct Invalid {
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) key: String,
    pub(super) message: String,
}

impl Invalid {
    /// Asserts the key and line, and that the message mentions each of `words`.
    pub(super) fn assert(&self, key: &str, line: usize, words: &[&str]) {
        assert_eq!(self.key, key, "key of {self:?}");
        assert_eq!(self.line, line, "line of {self:?}");
        for word in words {
            assert!(
                self.message.contains(word),
                "message of {self:?} should mention {word:?}"
            );
        }
    }
}

pub(super) const MINIMAL: &str = "[components.text]\npath = \"text.wasm\"\n";

/// `MINIMAL` plus `extra`; `extra` starts on line 3.
pub(super) fn minimal_with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn full_config_is_read_into_plain_data() {
    let f = Fixture::new();
    let config = f.ok(r#"
[server]
listen = "127.0.0.1:9090"
allowed_origins = ["https://App.Example.com", "http://tools.internal:8443", "https://app.example.com:443"]
allow_localhost_origins = false
max_body_bytes = 1048576
max_json_depth = 32
page_size = 10
session_idle_timeout_secs = 60
drain_timeout_secs = 5
watch_interval_ms = 500
max_sessions = 500
stream_replay_total_bytes = 33554432
pool_instances = 128
pool_keep_resident_bytes = 262144
cache_dir = "cache"
log_format = "json"
metrics_listen = "127.0.0.1:9090"

[components.text]
path = "text.wasm"

[components.text.limits]
timeout_ms = 250
fuel = 5000000
max_memory_bytes = 16777216
max_output_bytes = 65536
max_log_messages = 0
max_concurrency = 4
queue_timeout_ms = 0
client_request_timeout_ms = 60000
max_client_requests = 2

[components.text.capabilities]
dirs = [
  { host = "data", guest = "/data" },
  { host = "data/out", guest = "/work/", mode = "rw" },
]
env = { ZED = "last", GREETING = "hello" }
tcp_connect = ["127.0.0.1:9000", "DB.internal:5432", "[::1]:80", "127.0.0.1:9000"]

[components.json]
path = "json.wasm"
enabled = true
"#);
    assert_eq!(config.source, f.origin());
    let server = &config.server;
    assert_eq!(
        server.listen,
        "127.0.0.1:9090".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(
        server.allowed_origins,
        ["https://app.example.com", "http://tools.internal:8443"],
        "origins are normalised and deduplicated"
    );
    assert!(!server.allow_localhost_origins);
    assert_eq!(server.max_body_bytes, 1 << 20);
    assert_eq!(server.max_json_depth, 32);
    assert_eq!(server.page_size, 10);
    assert_eq!(server.session_idle_timeout_secs, 60);
    assert_eq!(server.drain_timeout_secs, 5);
    assert_eq!(server.watch_interval_ms, 500);
    assert_eq!(server.max_sessions, 500);
    assert_eq!(server.stream_replay_total_bytes, 32 << 20);
    assert_eq!(server.pool_instances, 128);
    assert_eq!(server.pool_keep_resident_bytes, 256 << 10);
    assert_eq!(server.cache_dir.as_deref(), Some(&*f.root().join("cache")));
    assert_eq!(server.log_format, LogFormat::Json);
    assert_eq!(
        server.metrics_listen,
        Some("127.0.0.1:9090".parse().expect("addr"))
    );

    let names: Vec<&str> = config.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["json", "text"], "components are sorted by name");
    let text = config.component("text").expect("text component");
    assert_eq!(text.source, ComponentSource::File(f.canonical("text.wasm")));
    assert_eq!(
        text.limits,
        Limits {
            timeout_ms: 250,
            fuel: Some(5_000_000),
            max_memory_bytes: 16 << 20,
            max_output_bytes: 64 << 10,
            max_log_messages: 0,
            max_concurrency: 4,
            queue_timeout_ms: 0,
            client_request_timeout_ms: 60_000,
            max_client_requests: 2,
            min_pool_slots: 1,
        }
    );
    assert_eq!(
        text.capabilities.dirs,
        [
            DirGrant {
                host: f.canonical("data"),
                guest: "/data".to_owned(),
                mode: warden_sandbox::DirMode::ReadOnly,
            },
            DirGrant {
                host: f.canonical("data/out"),
                guest: "/work".to_owned(),
                mode: warden_sandbox::DirMode::ReadWrite,
            },
        ]
    );
    assert_eq!(
        text.capabilities.env,
        [
            ("GREETING".to_owned(), "hello".to_owned()),
            ("ZED".to_owned(), "last".to_owned()),
        ],
        "env is sorted by name"
    );
    assert_eq!(
        text.capabilities.tcp_connect,
        ["127.0.0.1:9000", "db.internal:5432", "[::1]:80"]
    );
    assert!(config.component("missing").is_none());
}

#[test]
fn defaults_are_conservative_and_documented() {
    let f = Fixture::new();
    let config = f.ok(MINIMAL);
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    assert!(config.server.allowed_origins.is_empty());
    assert!(config.server.allow_localhost_origins);
    assert_eq!(config.server.max_body_bytes, 4 << 20);
    assert_eq!(config.server.max_json_depth, 64);
    assert_eq!(config.server.page_size, 50);
    assert_eq!(config.server.session_idle_timeout_secs, 1800);
    assert_eq!(config.server.drain_timeout_secs, 25);
    assert_eq!(config.server.watch_interval_ms, 2000);
    assert_eq!(config.server.max_sessions, 10_000);
    assert_eq!(config.server.stream_replay_total_bytes, 256 << 20);
    assert_eq!(config.server.pool_instances, 64);
    assert_eq!(config.server.cache_dir, None);
    assert_eq!(config.server.log_format, LogFormat::Text);

    let [text] = config.components.as_slice() else {
        panic!("one component expected");
    };
    assert_eq!(text.name.as_str(), "text");
    assert_eq!(text.limits, Limits::DEFAULT);
    assert_eq!(
        text.capabilities,
        Capabilities::default(),
        "deny by default: no capability unless granted"
    );
    assert!(text.capabilities.dirs.is_empty());
    assert!(text.capabilities.env.is_empty());
    assert!(text.capabilities.tcp_connect.is_empty());
}

#[test]
fn empty_tables_mean_defaults() {
    let f = Fixture::new();
    let config = f.ok("[server]\n[components.text]\npath = \"text.wasm\"\n\
         [components.text.limits]\n[components.text.capabilities]\n");
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.components[0].limits, Limits::default());
    assert_eq!(config.components[0].capabilities, Capabilities::default());
}

#[test]
fn every_range_is_enforced_at_both_ends_with_key_and_line() {
    // (table, key, lowest accepted, highest accepted or None when open-ended)
    let ranges: &[(&str, &str, i64, Option<i64>)] = &[
        ("server", "max_body_bytes", 1024, Some(64 << 20)),
        ("server", "max_json_depth", 2, Some(512)),
        ("server", "page_size", 1, Some(1000)),
        (
            "server",
            "session_idle_timeout_secs",
            1,
            Some(365 * 24 * 3600),
        ),
        ("server", "session_lifetime_secs", 1, Some(365 * 24 * 3600)),
        ("server", "drain_timeout_secs", 0, Some(3600)),
        ("server", "watch_interval_ms", 0, Some(3_600_000)),
        ("server", "max_sessions", 1, None),
        (
            "server",
            "stream_replay_total_bytes",
            1 << 20,
            Some(64 << 30),
        ),
        ("server", "pool_instances", 1, Some(10_000)),
        ("server", "pool_keep_resident_bytes", 0, Some(64 << 20)),
        ("limits", "timeout_ms", 1, Some(600_000)),
        ("limits", "fuel", 1, None),
        ("limits", "max_memory_bytes", 1 << 20, Some(4 << 30)),
        ("limits", "max_output_bytes", 1024, Some(64 << 20)),
        ("limits", "max_log_messages", 0, Some(100_000)),
        ("limits", "max_concurrency", 1, Some(10_000)),
        ("limits", "queue_timeout_ms", 0, Some(60_000)),
        ("limits", "client_request_timeout_ms", 100, Some(3_600_000)),
        ("limits", "max_client_requests", 0, Some(100)),
        // Its upper bound meets the pool's size first (tests_checks).
        ("limits", "min_pool_slots", 0, None),
    ];
    let f = Fixture::new();
    for &(table, key, min, max) in ranges {
        let (header, dotted) = match table {
            "server" => ("[server]".to_owned(), format!("server.{key}")),
            _ => (
                "[components.text.limits]".to_owned(),
                format!("components.text.limits.{key}"),
            ),
        };
        // The bad value sits on line 5, after the component and the header.
        let text = |value: i64| format!("{MINIMAL}\n{header}\n{key} = {value}\n");
        f.ok(&text(min));
        if let Some(max) = max {
            f.ok(&text(max));
            let e = f.invalid(&text(max + 1));
            e.assert(&dotted, 5, &[&(max + 1).to_string(), &max.to_string()]);
            assert_eq!(e.column, key.len() + 4, "column of the value in {e:?}");
        }
        let e = f.invalid(&text(min - 1));
        e.assert(&dotted, 5, &[&(min - 1).to_string(), &min.to_string()]);
    }
}

#[test]
fn session_keys_are_32_bytes_of_base64_and_never_echoed() {
    let f = Fixture::new();
    let current = SessionKey::generate().expect("random");
    let old = SessionKey::generate().expect("random");
    // URL-safe alphabet and missing padding are accepted too.
    let url_safe = old.to_base64().replace('+', "-").replace('/', "_");
    let config = f.ok(&format!(
        "[server]\nsession_key = \"{}\"\nsession_old_keys = [\"{}\"]\nsession_lifetime_secs = 600\n{MINIMAL}",
        current.to_base64(),
        url_safe.trim_end_matches('='),
    ));
    assert_eq!(config.server.session_key, Some(current));
    assert_eq!(config.server.session_old_keys, vec![old]);
    assert_eq!(config.server.session_lifetime_secs, 600);
    assert!(!format!("{:?}", config.server).contains(&url_safe[..20]));

    let short = "c2VjcmV0LXRvby1zaG9ydA==";
    let e = f.invalid(&format!("[server]\nsession_key = \"{short}\"\n{MINIMAL}"));
    e.assert(
        "server.session_key",
        2,
        &["decodes to 16 bytes, expected 32", "warden new-session-key"],
    );
    assert!(!e.message.contains(short), "{e:?}");
    let e = f.invalid(&format!(
        "[server]\nsession_old_keys = [\n  \"{}\",\n  \"%%%\",\n]\n{MINIMAL}",
        SessionKey::generate().expect("random").to_base64()
    ));
    e.assert("server.session_old_keys[1]", 4, &["not base64"]);
}

#[test]
fn range_messages_speak_in_units() {
    let f = Fixture::new();
    let e = f.invalid(&minimal_with("limits.max_memory_bytes = 1000\n"));
    e.assert(
        "components.text.limits.max_memory_bytes",
        3,
        &["1 MiB", "4 GiB", "bytes", "got 1000"],
    );
    let e = f.invalid(&minimal_with("limits.timeout_ms = 0\n"));
    e.assert("components.text.limits.timeout_ms", 3, &["milliseconds"]);
}

#[test]
fn unknown_keys_are_named_with_their_line_and_the_expected_keys() {
    let f = Fixture::new();
    let e = f.invalid(&format!("\ncolour = \"blue\"\n{MINIMAL}"));
    e.assert("colour", 2, &["`colour`", "`server`", "`components`"]);

    let e = f.invalid(&format!(
        "[server]\nlisten = \"127.0.0.1:1\"\nlisen = 2\n{MINIMAL}"
    ));
    e.assert("server.lisen", 3, &["`lisen`", "`listen`", "`cache_dir`"]);
    assert_eq!(e.column, 1);

    let e = f.invalid(&minimal_with("enable = false\n"));
    e.assert(
        "components.text.enable",
        3,
        &["`enable`", "`enabled`", "`path`"],
    );

    let e = f.invalid(&minimal_with("\n[components.text.limits]\ntimeout = 5\n"));
    e.assert(
        "components.text.limits.timeout",
        5,
        &["`timeout`", "`timeout_ms`", "`queue_timeout_ms`"],
    );

    let e = f.invalid(&minimal_with(
        "[components.text.capabilities]\nnetwork = true\n",
    ));
    e.assert(
        "components.text.capabilities.network",
        4,
        &["`network`", "`tcp_connect`", "`dirs`", "`env`"],
    );

    let e = f.invalid(&minimal_with(
        "capabilities.dirs = [{ host = \"data\", guest = \"/d\", readonly = true }]\n",
    ));
    e.assert(
        "components.text.capabilities.dirs[0].readonly",
        3,
        &["`readonly`", "`mode`"],
    );
}

#[test]
fn type_errors_name_the_key_and_the_expected_type() {
    let f = Fixture::new();
    let e = f.invalid(&minimal_with(
        "[components.text.limits]\ntimeout_ms = \"5s\"\n",
    ));
    e.assert(
        "components.text.limits.timeout_ms",
        4,
        &["string", "integer", "milliseconds"],
    );
    assert_eq!(e.column, 14, "the column of the value");

    let e = f.invalid(&minimal_with("enabled = \"yes\"\n"));
    e.assert("components.text.enabled", 3, &["boolean"]);

    let e = f.invalid(&minimal_with("limits = 5\n"));
    e.assert("components.text.limits", 3, &["a table"]);

    let e = f.invalid(&minimal_with("limits = [5000]\n"));
    e.assert("components.text.limits", 3, &["array", "a table"]);

    let e = f.invalid("[server]\nlog_format = \"xml\"\n");
    e.assert("server.log_format", 2, &["`xml`", "`text`", "`json`"]);

    let e = f.invalid(&minimal_with(
        "capabilities.dirs = [{ host = \"data\", guest = \"/d\", mode = \"r\" }]\n",
    ));
    e.assert(
        "components.text.capabilities.dirs[0].mode",
        3,
        &["`ro`", "`rw`"],
    );

    let e = f.invalid(&minimal_with("capabilities.env = { PORT = 8080 }\n"));
    e.assert(
        "components.text.capabilities.env.PORT",
        3,
        &["integer", "string"],
    );
}

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
fn minimal_with(extra: &str) -> String {
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
  { host = ".", guest = "/work/", mode = "rw" },
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
    assert_eq!(text.path, f.canonical("text.wasm"));
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
                host: f.canonical("."),
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

#[test]
fn a_missing_component_file_is_reported_at_its_path_line() {
    let f = Fixture::new();
    let e = f.invalid("[components.json]\npath = \"json.wasm\"\n\n[components.text]\npath = \"build/text.wasm\"\n");
    e.assert(
        "components.text.path",
        5,
        &["build/text.wasm", "does not exist"],
    );
    assert_eq!(e.column, 8);

    let e = f.invalid("[components.text]\npath = \"data\"\n");
    e.assert("components.text.path", 2, &["not a file"]);

    let e = f.invalid("[components.text]\npath = \"\"\n");
    e.assert("components.text.path", 2, &["empty"]);

    let e = f.invalid("[components.text]\nenabled = true\n");
    e.assert("components.text", 1, &["missing field `path`"]);
}

#[test]
fn a_missing_or_wrong_preopen_dir_is_reported() {
    let f = Fixture::new();
    let e = f.invalid(&minimal_with(
        "[components.text.capabilities]\ndirs = [\n  { host = \"data\", guest = \"/data\" },\n  { host = \"nowhere\", guest = \"/other\" },\n]\n",
    ));
    e.assert(
        "components.text.capabilities.dirs[1].host",
        6,
        &["nowhere", "does not exist"],
    );
    assert_eq!(e.column, 12);

    let e = f.invalid(&minimal_with(
        "capabilities.dirs = [{ host = \"text.wasm\", guest = \"/t\" }]\n",
    ));
    e.assert(
        "components.text.capabilities.dirs[0].host",
        3,
        &["not a directory"],
    );
}

#[test]
fn bad_guest_paths_are_refused() {
    let f = Fixture::new();
    for (guest, word) in [
        ("data", "absolute"),
        ("/data/../etc", ".."),
        ("/a//b", "empty segment"),
        ("C:\\\\data", "absolute"),
    ] {
        let e = f.invalid(&minimal_with(&format!(
            "[components.text.capabilities]\ndirs = [{{ host = \"data\", guest = \"{guest}\" }}]\n"
        )));
        e.assert("components.text.capabilities.dirs[0].guest", 4, &[word]);
    }

    let e = f.invalid(&minimal_with(
        "[components.text.capabilities]\ndirs = [\n  { host = \"data\", guest = \"/data\" },\n  { host = \".\", guest = \"/data/\", mode = \"rw\" },\n]\n",
    ));
    e.assert(
        "components.text.capabilities.dirs[1].guest",
        6,
        &["/data", "already granted", "dirs[0]"],
    );
}

#[test]
fn bad_origins_are_refused_and_good_ones_matched() {
    let f = Fixture::new();
    for (origin, word) in [
        ("https://app.example.com/", "path"),
        ("app.example.com", "scheme://host"),
        ("ftp://app.example.com", "http or https"),
        ("*", "scheme://host"),
        ("https://*.example.com", "wildcard"),
        ("https://app.example.com:99999", "port"),
    ] {
        let e = f.invalid(&format!(
            "[server]\nallowed_origins = [\n  \"https://ok.example.com\",\n  \"{origin}\",\n]\n{MINIMAL}"
        ));
        e.assert("server.allowed_origins[1]", 4, &[word]);
        assert_eq!(e.column, 3, "column of {origin}");
    }

    let config = f.ok(&format!(
        "[server]\nallowed_origins = [\"https://app.example.com\"]\n{MINIMAL}"
    ));
    let server = &config.server;
    assert!(server.is_origin_allowed("https://app.example.com"));
    assert!(server.is_origin_allowed("https://APP.example.com:443"));
    assert!(!server.is_origin_allowed("http://app.example.com"));
    assert!(!server.is_origin_allowed("https://evil.example.com"));
    assert!(server.is_origin_allowed("http://localhost:5173"));
    assert!(server.is_origin_allowed("http://127.0.0.1:3000"));
    assert!(server.is_origin_allowed("https://[::1]"));
    assert!(!server.is_origin_allowed("null"));

    let config = f.ok(&format!(
        "[server]\nallow_localhost_origins = false\n{MINIMAL}"
    ));
    assert!(!config.server.is_origin_allowed("http://localhost:5173"));
}

#[test]
fn bad_tcp_targets_are_refused_at_their_own_line() {
    let f = Fixture::new();
    for (target, word) in [
        ("db.internal", "host:port"),
        ("db.internal:0", "port"),
        ("db.internal:70000", "port"),
        ("::1:80", "host:port"),
        ("*.internal:443", "wildcard"),
        ("bad host:80", "host name"),
    ] {
        let e = f.invalid(&minimal_with(&format!(
            "[components.text.capabilities]\ntcp_connect = [\n  \"127.0.0.1:9000\",\n  \"{target}\",\n]\n"
        )));
        e.assert("components.text.capabilities.tcp_connect[1]", 6, &[word]);
    }
}

#[test]
fn bad_env_names_are_refused() {
    let f = Fixture::new();
    let e = f.invalid(&minimal_with(
        "[components.text.capabilities.env]\nOK = \"1\"\n\"NOT-OK\" = \"2\"\n",
    ));
    e.assert(
        "components.text.capabilities.env.NOT-OK",
        5,
        &["environment variable name"],
    );
}

#[test]
fn bad_names_and_listen_addresses_are_refused() {
    let f = Fixture::new();
    let e = f.invalid("[components.\"my tool\"]\npath = \"text.wasm\"\n");
    e.assert(
        "components.\"my tool\"",
        1,
        &["component name", "`my tool`"],
    );

    let e = f.invalid(&format!("[server]\nlisten = \"localhost:8080\"\n{MINIMAL}"));
    e.assert("server.listen", 2, &["IP:port"]);
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let f = Fixture::new();
    let conf_dir = f.root().join("etc/warden");
    fs::create_dir_all(&conf_dir).expect("create etc/warden");
    let origin = conf_dir.join("warden.toml");
    let absolute_wasm = f.root().join("json.wasm");
    let text = format!(
        "[server]\ncache_dir = \"../../cache\"\n\
         [components.text]\npath = \"../../text.wasm\"\n\
         capabilities.dirs = [{{ host = \"../../data\", guest = \"/data\" }}]\n\
         [components.json]\npath = {:?}\n",
        absolute_wasm.display().to_string()
    );
    fs::write(&origin, &text).expect("write config");

    // Parse from a relative origin too: the current directory is the base.
    for config in [
        load(&origin).expect("load"),
        parse(&text, &origin).expect("parse"),
    ] {
        assert_eq!(config.source, origin);
        let text = config.component("text").expect("text");
        assert_eq!(text.path, f.canonical("text.wasm"));
        assert!(text.path.is_absolute());
        assert_eq!(text.capabilities.dirs[0].host, f.canonical("data"));
        let json = config.component("json").expect("json");
        assert_eq!(json.path, f.canonical("json.wasm"));
        let cache = config.server.cache_dir.expect("cache_dir");
        assert!(cache.is_absolute());
        assert_eq!(cache, conf_dir.join("../../cache"));
    }

    // The same file seen from elsewhere does not resolve.
    let e = parse(&text, &f.root().join("warden.toml")).expect_err("paths do not resolve");
    assert!(
        matches!(&e, ConfigError::Invalid { key, line: 4, .. } if key == "components.text.path"),
        "{e:?}"
    );
}

#[test]
fn cache_dir_must_not_be_a_file() {
    let f = Fixture::new();
    let e = f.invalid(&format!("[server]\ncache_dir = \"text.wasm\"\n{MINIMAL}"));
    e.assert("server.cache_dir", 2, &["not a directory"]);
}

#[test]
fn disabled_components_are_checked_but_dropped() {
    let f = Fixture::new();
    let config = f.ok(&minimal_with(
        "[components.later]\npath = \"not-built-yet.wasm\"\nenabled = false\n",
    ));
    assert_eq!(config.components.len(), 1);
    assert!(config.component("later").is_none());

    let e = f.invalid(&minimal_with(
        "[components.later]\npath = \"x.wasm\"\nenabled = false\nlimits.timeout_ms = 0\n",
    ));
    e.assert("components.later.limits.timeout_ms", 6, &["milliseconds"]);
}

#[test]
fn a_config_without_enabled_components_is_refused() {
    let f = Fixture::new();
    for text in [
        "",
        "[server]\n",
        "[components]\n",
        "[components.text]\npath = \"text.wasm\"\nenabled = false\n",
    ] {
        match f.parse(text) {
            Err(ConfigError::NoComponents { path }) => assert_eq!(path, f.origin()),
            other => panic!("expected NoComponents for {text:?}, got {other:?}"),
        }
    }
}

#[test]
fn bad_toml_syntax_gives_line_and_column() {
    let f = Fixture::new();
    let cases = [
        ("[server\nlisten = 1\n", 1, 8),
        ("[server]\nlisten = = 1\n", 2, 10),
        ("[server]\nlisten = \"127.0.0.1:1\n", 2, 22),
    ];
    for (text, line, column) in cases {
        match f.parse(text) {
            Err(ConfigError::Syntax {
                path,
                line: l,
                column: c,
                message,
            }) => {
                assert_eq!(path, f.origin());
                assert_eq!((l, c), (line, column), "{text:?}: {message}");
                assert!(!message.is_empty());
            }
            other => panic!("expected a syntax error for {text:?}, got {other:?}"),
        }
    }

    match f.parse(&minimal_with("path = \"json.wasm\"\n")) {
        Err(ConfigError::Syntax { line, message, .. }) => {
            assert_eq!(line, 3);
            assert!(message.contains("duplicate key `path`"), "{message}");
        }
        other => panic!("expected a duplicate key error, got {other:?}"),
    }
}

#[test]
fn errors_display_as_file_line_column_key_message() {
    let f = Fixture::new();
    let origin = Path::new("warden.toml");
    let text =
        "[components.text]\npath = \"text.wasm\"\n\n[components.text.limits]\ntimeout_ms = 0\n";
    let e = parse(text, origin).expect_err("timeout_ms = 0 is out of range");
    assert_eq!(
        e.to_string(),
        "warden.toml:5:14: components.text.limits.timeout_ms: \
         must be between 1 and 600000 milliseconds, got 0"
    );

    let e = parse("[server\n", origin).expect_err("syntax");
    assert!(e.to_string().starts_with("warden.toml:1:8: "), "{e}");

    let e = parse("", origin).expect_err("no components");
    assert!(
        e.to_string()
            .starts_with("warden.toml: no enabled components"),
        "{e}"
    );

    let missing = f.root().join("missing.toml");
    let e = load(&missing).expect_err("no such file");
    assert!(matches!(&e, ConfigError::Read { path, .. } if *path == missing));
    assert!(e.to_string().contains("missing.toml"), "{e}");
}

#[test]
fn columns_count_characters_not_bytes() {
    let f = Fixture::new();
    let e = f.invalid(&minimal_with("# é\ncapabilities.env = { \"É\" = \"x\" }\n"));
    e.assert("components.text.capabilities.env.\"É\"", 4, &["`É`"]);
    assert_eq!(e.column, 22);
}

/// The bundled example must stay valid. Its component files are built later,
/// so they are stood in for by empty files laid out as in the repository.
#[test]
fn bundled_example_is_valid() {
    let example = include_str!("../../../examples/warden.toml");
    let f = Fixture::new();
    let examples = f.root().join("examples");
    fs::create_dir_all(examples.join("data")).expect("create examples/data");
    fs::create_dir_all(f.root().join("target/components")).expect("create target/components");
    for name in ["text", "json", "files"] {
        fs::write(f.root().join(format!("target/components/{name}.wasm")), b"")
            .expect("write stand-in component");
    }
    let config = parse(example, &examples.join("warden.toml")).expect("examples/warden.toml");
    let names: Vec<&str> = config.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["files", "json", "text"]);
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    let files = config.component("files").expect("files");
    assert_eq!(files.capabilities.dirs.len(), 1);
    assert_eq!(files.capabilities.dirs[0].guest, "/data");
    assert_eq!(
        files.capabilities.dirs[0].mode,
        warden_sandbox::DirMode::ReadOnly
    );
    assert_eq!(
        files.capabilities.dirs[0].host,
        f.canonical("examples/data")
    );
    for name in ["text", "json"] {
        let component = config.component(name).expect(name);
        assert_eq!(component.capabilities, Capabilities::default(), "{name}");
    }
}

#[test]
fn tracing_export_is_off_unless_an_endpoint_is_set() {
    let f = Fixture::new();
    assert_eq!(f.ok(MINIMAL).tracing, TracingConfig::default());
    assert_eq!(f.ok(MINIMAL).tracing.otlp, None);
    let config = f.ok(&format!(
        "{MINIMAL}[tracing]\notlp_endpoint = \"http://Collector.local:4318\"\n"
    ));
    let otlp = config.tracing.otlp.expect("otlp export configured");
    assert_eq!(otlp.endpoint, "http://collector.local:4318/v1/traces");
    assert_eq!(otlp.service_name, "warden");
    assert_eq!(otlp.sample_ratio, SampleRatio::ALL);
    assert_eq!(otlp.timeout_ms, 10_000);

    let config = f.ok(&format!(
        "{MINIMAL}[tracing]\notlp_endpoint = \"http://[::1]:9000/otlp/traces\"\n\
         service_name = \"mcp-gateway\"\nsample_ratio = 0.25\notlp_timeout_ms = 500\n"
    ));
    let otlp = config.tracing.otlp.expect("otlp export configured");
    assert_eq!(otlp.endpoint, "http://[::1]:9000/otlp/traces");
    assert_eq!(otlp.service_name, "mcp-gateway");
    assert_eq!(otlp.sample_ratio.as_f64(), 0.25);
    assert_eq!(otlp.timeout_ms, 500);
    for (written, expected) in [("0", 0.0), ("1", 1.0), ("0.0001", 0.0001)] {
        let config = f.ok(&format!(
            "{MINIMAL}[tracing]\notlp_endpoint = \"http://127.0.0.1\"\nsample_ratio = {written}\n"
        ));
        let otlp = config.tracing.otlp.expect("otlp export configured");
        assert_eq!(otlp.sample_ratio.as_f64(), expected, "{written}");
        assert_eq!(otlp.endpoint, "http://127.0.0.1/v1/traces");
    }
}

#[test]
fn bad_tracing_values_are_refused_with_their_reason() {
    let f = Fixture::new();
    let cases = [
        (
            "otlp_endpoint = \"https://collector:4318\"",
            "plain HTTP only",
        ),
        (
            "otlp_endpoint = \"grpc://collector:4317\"",
            "scheme must be http",
        ),
        ("otlp_endpoint = \"collector:4318\"", "not an origin"),
        (
            "otlp_endpoint = \"http://user:pw@collector\"",
            "user information",
        ),
        (
            "otlp_endpoint = \"http://collector/v1/traces?x=1\"",
            "no query",
        ),
        ("otlp_endpoint = \"http://collector:0\"", "not a port"),
        ("otlp_endpoint = \"http://collector/a b\"", "spaces"),
        ("otlp_endpoint = 4318", "URL string"),
        ("sample_ratio = 1.5", "between 0.0 and 1.0, got 1.5"),
        ("sample_ratio = -0.1", "between 0.0 and 1.0"),
        ("sample_ratio = 2", "between 0.0 and 1.0, got 2"),
        ("sample_ratio = nan", "between 0.0 and 1.0"),
        ("service_name = \"\"", "invalid service name"),
        ("service_name = \"my gateway\"", "invalid service name"),
        ("otlp_timeout_ms = 0", "between 1 and 60000 milliseconds"),
        ("endpoint = \"http://collector\"", "unknown field"),
    ];
    for (line, reason) in cases {
        let error = f.invalid(&format!("{MINIMAL}[tracing]\n{line}\n"));
        assert!(
            error.key.starts_with("tracing"),
            "{line}: key {}",
            error.key
        );
        assert!(
            error.message.contains(reason),
            "{line}: expected `{reason}` in `{}`",
            error.message
        );
        assert_eq!(error.line, MINIMAL.lines().count() + 2, "{line}");
    }
}

#[test]
fn tool_prefixes_are_checked_and_default_to_none() {
    let f = Fixture::new();
    assert_eq!(f.ok(MINIMAL).components[0].tool_prefix, "");
    let config = f.ok(&format!("{MINIMAL}tool_prefix = \"acme_tools.v2-\"\n"));
    assert_eq!(config.components[0].tool_prefix, "acme_tools.v2-");
    for bad in [
        "\"\"",
        "\"a b\"",
        "\"ünï\"",
        "\"a/b\"",
        &format!("\"{}\"", "x".repeat(65)),
    ] {
        let error = f.invalid(&format!("{MINIMAL}tool_prefix = {bad}\n"));
        assert_eq!(error.key, "components.text.tool_prefix", "{bad}");
        assert!(
            error.message.contains("invalid tool prefix"),
            "{bad}: {}",
            error.message
        );
        assert_eq!(error.line, 3, "{bad}");
    }
}

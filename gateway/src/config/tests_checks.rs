//! Tests of the configuration layer's checks against the file system and
//! the values' own rules: component files, preopened directories, guest
//! paths, origins, targets and names; syntax errors and how every error is
//! displayed; the bundled example; tracing and tool prefixes.

use std::fs;
use std::path::Path;

use super::tests::{Fixture, MINIMAL, minimal_with};
use super::*;

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
    e.assert("components.text", 1, &["needs `path`", "or `oci`"]);
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
fn grants_of_the_root_the_config_or_the_cache_need_an_override() {
    let f = Fixture::new();
    for (host, words) in [
        ("/", &["whole file system"][..]),
        (".", &["configuration folder", "allow_sensitive = true"][..]),
        ("cache", &["compile cache"][..]),
    ] {
        std::fs::create_dir_all(f.root().join("cache")).expect("mkdir cache");
        let e = f.invalid(&format!(
            "[server]\ncache_dir = \"cache\"\n{}",
            minimal_with(&format!(
                "[components.text.capabilities]\ndirs = [{{ host = \"{host}\", guest = \"/x\", mode = \"rw\" }}]\n"
            ))
        ));
        e.assert("components.text.capabilities.dirs[0].host", 6, words);
    }
    let config = f.ok(&minimal_with(
        "[components.text.capabilities]\ndirs = [{ host = \".\", guest = \"/x\", allow_sensitive = true }]\n",
    ));
    assert_eq!(
        config.components[0].capabilities.dirs[0].host,
        f.canonical(".")
    );
}

#[test]
fn the_components_kept_pool_slots_must_fit_in_the_pool() {
    let f = Fixture::new();
    let text = |slots: u32| {
        format!(
            "[server]\npool_instances = 4\n{MINIMAL}[components.text.limits]\nmin_pool_slots = {slots}\n"
        )
    };
    let e = f.invalid(&text(5));
    e.assert(
        "components.text.limits.min_pool_slots",
        4,
        &["add up to 5", "4 slots of server.pool_instances"],
    );
    assert_eq!(f.ok(&text(4)).components[0].limits.min_pool_slots, 4);
    let e = f.invalid(&format!(
        "{MINIMAL}[components.text.limits]\nmin_pool_slots = 10001\n"
    ));
    e.assert(
        "components.text.limits.min_pool_slots",
        4,
        &["10001", "10000"],
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
        "[components.text.capabilities]\ndirs = [\n  { host = \"data\", guest = \"/data\" },\n  { host = \"data/out\", guest = \"/data/\", mode = \"rw\" },\n]\n",
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
        assert_eq!(text.source, ComponentSource::File(f.canonical("text.wasm")));
        assert!(matches!(&text.source, ComponentSource::File(path) if path.is_absolute()));
        assert_eq!(text.capabilities.dirs[0].host, f.canonical("data"));
        let json = config.component("json").expect("json");
        assert_eq!(json.source, ComponentSource::File(f.canonical("json.wasm")));
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
    for name in ["text", "json", "files", "web"] {
        fs::write(f.root().join(format!("target/components/{name}.wasm")), b"")
            .expect("write stand-in component");
    }
    let config = parse(example, &examples.join("warden.toml")).expect("examples/warden.toml");
    let names: Vec<&str> = config.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["files", "json", "text", "web"]);
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

//! Tests of the tables that guard the gateway: `[auth]` and its keys file,
//! access rules, `[rate_limits]`, `[audit]` and `[http]`.

use std::fs;

use super::tests::{Fixture, MINIMAL};
use super::*;

fn hash(key: &str) -> String {
    ApiKeyHash::of(key).to_string()
}

#[test]
fn api_keys_and_access_rules_are_read() {
    let f = Fixture::new();
    fs::write(
        f.root().join("keys.toml"),
        format!(
            "[[api_keys]]\nname = \"deployer\"\nhash = \"{}\"\nroles = [\"admin\"]\n",
            hash("deployer-key-0123456789abcdef0123")
        ),
    )
    .expect("write keys");
    let config = f.ok(&format!(
        r#"
[server]
listen = "0.0.0.0:8080"

[auth]
api_keys_file = "keys.toml"
[[auth.api_keys]]
name = "ci-bot"
hash = "{}"
roles = ["reader", "reader"]

[components.text]
path = "text.wasm"
[components.text.access]
roles = ["reader"]
[components.text.access.tools.count]
callers = ["deployer"]
"#,
        hash("ci-bot-key-0123456789abcdef012345")
    ));
    let auth = &config.auth;
    assert!(auth.is_enabled());
    assert_eq!(auth.api_keys_file, Some(f.canonical("keys.toml")));
    let names: Vec<&str> = auth.api_keys.iter().map(|key| key.name.as_str()).collect();
    assert_eq!(names, ["ci-bot", "deployer"]);
    assert_eq!(
        auth.api_keys[0].hash,
        ApiKeyHash::of("ci-bot-key-0123456789abcdef012345")
    );
    assert_eq!(auth.api_keys[0].roles.len(), 1, "roles are a set");

    let access = config
        .component("text")
        .and_then(|text| text.access.clone())
        .expect("access");
    let rule = access.rule.expect("a component rule");
    assert!(rule.roles.contains("reader"));
    assert!(rule.callers.is_empty());
    assert!(access.tools["count"].callers.contains("deployer"));
}

#[test]
fn an_access_table_with_only_tool_rules_leaves_the_other_tools_open() {
    let f = Fixture::new();
    let open = f.ok(&format!(
        "[[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\n{MINIMAL}\
         [components.text.access.tools.count]\nroles = [\"admin\"]\n",
        hash("a-key-0123456789abcdef0123456789ab")
    ));
    let access = open.components[0].access.as_ref().expect("access");
    assert_eq!(access.rule, None);
    let closed = f.ok(&format!(
        "[[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\n{MINIMAL}\
         [components.text.access]\ncallers = []\n",
        hash("a-key-0123456789abcdef0123456789ab")
    ));
    let access = closed.components[0].access.as_ref().expect("access");
    assert_eq!(
        access.rule,
        Some(AccessRule::default()),
        "an explicit empty list admits nobody"
    );
}

#[test]
fn serving_beyond_loopback_needs_auth() {
    let f = Fixture::new();
    let e = f.invalid(&format!("[server]\nlisten = \"0.0.0.0:8080\"\n{MINIMAL}"));
    e.assert(
        "server.listen",
        2,
        &["reachable from other machines", "[auth]", "127.0.0.1"],
    );
    let e = f.invalid(&format!("[server]\nlisten = \"[::]:8080\"\n{MINIMAL}"));
    e.assert("server.listen", 2, &["no [auth]"]);
    f.ok(&format!("[server]\nlisten = \"[::1]:8080\"\n{MINIMAL}"));
    f.ok(&format!("[server]\nlisten = \"127.0.0.2:8080\"\n{MINIMAL}"));
    assert!(check_exposure("10.0.0.1:80".parse().expect("addr"), &AuthConfig::default()).is_err());
}

#[test]
fn access_rules_need_auth_to_name_callers() {
    let f = Fixture::new();
    let e = f.invalid(&format!(
        "{MINIMAL}[components.text.access]\nroles = [\"reader\"]\n"
    ));
    e.assert(
        "components.text.access",
        3,
        &["neither [auth] nor tls.client_ca_file"],
    );
}

#[test]
fn bad_keys_are_located_in_their_own_file() {
    let f = Fixture::new();
    let key = |name: &str, hash: &str| {
        format!("[[auth.api_keys]]\nname = \"{name}\"\nhash = \"{hash}\"\n")
    };
    let h = hash("one-key-0123456789abcdef0123456789");

    let e = f.invalid(&format!("{}{}{MINIMAL}", key("a", &h), key("b", &h)));
    e.assert(
        "auth.api_keys[1].hash",
        6,
        &["same key hash", "auth.api_keys[0]"],
    );
    let e = f.invalid(&format!(
        "{}{}{MINIMAL}",
        key("a", &h),
        key("a", &hash("two-key-0123456789abcdef0123456789"))
    ));
    e.assert("auth.api_keys[1].name", 5, &["`a` is already used"]);
    let e = f.invalid(&format!("{}{MINIMAL}", key("a", "plain-text-key")));
    e.assert(
        "auth.api_keys[0].hash",
        3,
        &["sha256:", "never goes in the config"],
    );
    let e = f.invalid(&format!("{}{MINIMAL}", key("a b", &h)));
    e.assert("auth.api_keys[0].name", 2, &["invalid name `a b`"]);
    let e = f.invalid(&format!(
        "[auth]\napi_keys_file = \"absent.toml\"\n{MINIMAL}"
    ));
    e.assert("auth.api_keys_file", 2, &["does not exist"]);

    // An error inside the keys file names that file and its line.
    fs::write(
        f.root().join("keys.toml"),
        format!(
            "# keys\n{}",
            key("a", "sha256:00").replace("[[auth.api_keys]]", "[[api_keys]]")
        ),
    )
    .expect("write keys");
    let error = f
        .parse(&format!("[auth]\napi_keys_file = \"keys.toml\"\n{MINIMAL}"))
        .expect_err("bad hash in the keys file")
        .to_string();
    assert!(error.contains("keys.toml:4:8: api_keys[0].hash"), "{error}");

    // A file that repeats a name from the config file is refused too.
    fs::write(
        f.root().join("keys.toml"),
        key("a", &hash("two-key-0123456789abcdef0123456789"))
            .replace("[[auth.api_keys]]", "[[api_keys]]"),
    )
    .expect("write keys");
    let error = f
        .parse(&format!(
            "[auth]\napi_keys_file = \"keys.toml\"\n{}{MINIMAL}",
            key("a", &h)
        ))
        .expect_err("duplicate name across files")
        .to_string();
    assert!(error.contains("keys.toml:2:8: api_keys[0].name"), "{error}");
    assert!(error.contains("warden.toml: auth.api_keys[0]"), "{error}");
}

#[test]
fn rate_limits_are_read_and_bad_ones_located() {
    let f = Fixture::new();
    let config = f.ok(&format!(
        "[rate_limits]\ncaller_requests = \"100/s burst 20\"\ncaller_fuel = \"5000000000/min\"\n\
         max_calls_in_flight = 8\ncall_queue = 0\ncall_queue_timeout_ms = 50\n{MINIMAL}\
         [components.text.rate_limits]\ncaller_tool = \"5/s\"\n\
         [components.text.rate_limits.tools.count]\ntool = \"1/min burst 1\"\n"
    ));
    let limits = &config.rate_limits;
    assert_eq!(
        limits.caller_requests.map(|q| q.to_string()).as_deref(),
        Some("100/s burst 20")
    );
    assert_eq!(limits.caller_fuel.map(|q| q.fuel), Some(5_000_000_000));
    assert_eq!(
        (
            limits.max_calls_in_flight,
            limits.call_queue,
            limits.call_queue_timeout_ms
        ),
        (8, 0, 50)
    );
    let quotas = &config.components[0].rate_limits;
    let (tool, caller_tool) = quotas.for_tool("count");
    assert_eq!(
        tool.map(|q| q.to_string()).as_deref(),
        Some("1/min burst 1")
    );
    assert_eq!(
        caller_tool.map(|q| q.to_string()).as_deref(),
        Some("5/s burst 5"),
        "a key the tool's table leaves out is the component's"
    );
    assert_eq!(quotas.for_tool("case").0, None);

    let defaults = f.ok(MINIMAL);
    assert_eq!(defaults.rate_limits, RateLimitsConfig::default());
    assert_eq!(defaults.rate_limits.max_calls_in_flight, 256);

    let e = f.invalid(&format!(
        "[rate_limits]\ncaller_requests = \"100 per second\"\n{MINIMAL}"
    ));
    e.assert(
        "rate_limits.caller_requests",
        2,
        &["invalid rate", "100/s burst 20"],
    );
    let e = f.invalid(&format!(
        "{MINIMAL}[components.text.rate_limits]\ntool = \"0/s\"\n"
    ));
    e.assert(
        "components.text.rate_limits.tool",
        4,
        &["invalid rate `0/s`"],
    );
    let e = f.invalid(&format!("[rate_limits]\ncaller_fuel = \"lots\"\n{MINIMAL}"));
    e.assert("rate_limits.caller_fuel", 2, &["invalid fuel budget"]);
    let e = f.invalid(&format!(
        "[rate_limits]\nmax_calls_in_flight = 0\n{MINIMAL}"
    ));
    e.assert(
        "rate_limits.max_calls_in_flight",
        2,
        &["between 1 and 100000 calls"],
    );
}

#[test]
fn the_audit_table_is_read_and_checked() {
    let f = Fixture::new();
    let config = f.ok(&format!(
        "[audit]\nsink = \"file\"\npath = \"logs/audit.jsonl\"\nmax_file_bytes = 4096\n\
         max_files = 3\nqueue_records = 50\nrequired = true\n{MINIMAL}\
         [components.text.audit]\nlog_arguments = true\nredact = [\"secret\"]\n"
    ));
    let audit = config.audit.expect("audit");
    assert_eq!(
        audit.sink,
        AuditSink::File {
            path: f.root().join("logs/audit.jsonl"),
            max_file_bytes: 4096,
            max_files: 3,
        }
    );
    assert_eq!((audit.queue_records, audit.required), (50, true));
    let text = &config.components[0].audit;
    assert!(text.log_arguments && text.redact.contains("secret"));
    assert_eq!(f.ok(MINIMAL).audit, None);
    assert_eq!(
        f.ok(&format!("[audit]\nsink = \"stdout\"\n{MINIMAL}"))
            .audit
            .map(|audit| (audit.sink, audit.queue_records, audit.required)),
        Some((AuditSink::Stdout, 10_000, false))
    );

    let e = f.invalid(&format!("[audit]\nsink = \"file\"\n{MINIMAL}"));
    e.assert("audit", 1, &["needs a `path`"]);
    let e = f.invalid(&format!(
        "[audit]\nsink = \"stdout\"\npath = \"a.jsonl\"\n{MINIMAL}"
    ));
    e.assert("audit.path", 3, &["stdout has none"]);
    let e = f.invalid(&format!(
        "[audit]\nsink = \"file\"\npath = \"data\"\n{MINIMAL}"
    ));
    e.assert("audit.path", 3, &["is a directory"]);
    let e = f.invalid(&format!("[audit]\nsink = \"syslog\"\n{MINIMAL}"));
    e.assert("audit.sink", 2, &["`file`", "`stdout`"]);
}

#[test]
fn http_limits_are_read_with_safe_defaults() {
    let f = Fixture::new();
    let config = f.ok(&format!(
        "[http]\nheader_read_timeout_ms = 2000\nbody_read_timeout_ms = 5000\n\
         request_timeout_ms = 60000\nmax_connections = 10\nmax_requests_per_connection = 5\n\
         max_concurrent_streams = 8\nkeep_alive = false\nmax_header_bytes = 16384\n\
         max_headers = 50\nmax_unsent_bytes_per_connection = 1048576\n\
         max_unsent_bytes = 104857600\nsend_timeout_ms = 5000\n\
         allowed_hosts = [\"MCP.Example.com\", \"mcp.example.com\", \"[::1]\"]\n{MINIMAL}"
    ));
    let http = &config.http;
    assert_eq!(
        (
            http.header_read_timeout_ms,
            http.body_read_timeout_ms,
            http.request_timeout_ms,
            http.max_connections,
            http.max_requests_per_connection,
            http.max_concurrent_streams,
            http.keep_alive,
            http.max_header_bytes,
            http.max_headers,
        ),
        (2000, 5000, 60_000, 10, 5, 8, false, 16384, 50)
    );
    assert_eq!(
        (
            http.max_unsent_bytes_per_connection,
            http.max_unsent_bytes,
            http.send_timeout_ms
        ),
        (1 << 20, 100 << 20, 5000)
    );
    assert_eq!(http.allowed_hosts, ["mcp.example.com", "::1"]);
    assert_eq!(f.ok(MINIMAL).http, HttpConfig::default());

    let loopback: std::net::SocketAddr = "127.0.0.1:8080".parse().expect("addr");
    let everywhere: std::net::SocketAddr = "0.0.0.0:8080".parse().expect("addr");
    let open = HttpConfig::default();
    assert!(open.is_host_allowed("localhost:8080", loopback));
    assert!(open.is_host_allowed("10.0.0.5", loopback));
    assert!(!open.is_host_allowed("evil.example", loopback));
    assert!(open.is_host_allowed("warden.internal", everywhere));
    assert!(!http.is_host_allowed("other.example", everywhere));
    assert!(http.is_host_allowed("MCP.example.com:443", everywhere));
    assert!(!open.is_host_allowed("bad host", everywhere));

    let e = f.invalid(&format!(
        "[http]\nallowed_hosts = [\"https://x.example\"]\n{MINIMAL}"
    ));
    e.assert("http.allowed_hosts[0]", 2, &["without scheme or port"]);
    let e = f.invalid(&format!("[http]\nmax_concurrent_streams = 0\n{MINIMAL}"));
    e.assert("http.max_concurrent_streams", 2, &["got 0"]);
    let e = f.invalid(&format!(
        "[http]\nmax_unsent_bytes_per_connection = 1000\n{MINIMAL}"
    ));
    e.assert(
        "http.max_unsent_bytes_per_connection",
        2,
        &["65536 (64 KiB)", "got 1000"],
    );
    let e = f.invalid(&format!("[http]\nsend_timeout_ms = 10\n{MINIMAL}"));
    e.assert("http.send_timeout_ms", 2, &["got 10"]);
    let e = f.invalid(&format!("[http]\nmax_header_bytes = 1024\n{MINIMAL}"));
    e.assert("http.max_header_bytes", 2, &["8192 (8 KiB)", "got 1024"]);
    let e = f.invalid(&format!("[http]\nheader_read_timeout_ms = 0\n{MINIMAL}"));
    e.assert(
        "http.header_read_timeout_ms",
        2,
        &["between 100 and 300000 milliseconds"],
    );
}

#[test]
fn the_tls_table_names_existing_files_and_a_client_ca_authenticates_callers() {
    let f = Fixture::new();
    for name in ["server.crt", "server.key", "clients.crt"] {
        fs::write(f.root().join(name), "pem").expect("write");
    }
    let config = f.ok(&format!(
        "[server]\nlisten = \"0.0.0.0:8443\"\n\
         [tls]\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\nclient_ca_file = \"clients.crt\"\n\
         {MINIMAL}[components.text.access]\ncallers = [\"ci-bot\"]\n"
    ));
    let tls = config.tls.expect("tls");
    assert_eq!(tls.cert_file, f.canonical("server.crt"));
    assert_eq!(tls.client_ca_file, Some(f.canonical("clients.crt")));
    assert!(config.auth.client_certificates && config.auth.is_enabled());

    // TLS alone does not say who calls: serving beyond loopback still needs
    // API keys or client certificates.
    let e = f.invalid(&format!(
        "[server]\nlisten = \"0.0.0.0:8443\"\n\
         [tls]\ncert_file = \"server.crt\"\nkey_file = \"server.key\"\n{MINIMAL}"
    ));
    e.assert("server.listen", 2, &["tls.client_ca_file"]);
    let e = f.invalid(&format!(
        "[tls]\ncert_file = \"server.crt\"\nkey_file = \"missing.key\"\n{MINIMAL}"
    ));
    e.assert("tls.key_file", 3, &["does not exist"]);
    let e = f.invalid(&format!("[tls]\ncert_file = \"server.crt\"\n{MINIMAL}"));
    e.assert("tls", 1, &["missing field `key_file`"]);
}

const ED25519_JWKS: &str = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

#[test]
fn the_jwt_table_is_read_with_its_defaults() {
    let f = Fixture::new();
    fs::write(f.root().join("jwks.json"), ED25519_JWKS).expect("write jwks");
    let config = f.ok(&format!(
        r#"
[server]
listen = "0.0.0.0:8080"

[auth.jwt]
resource = "HTTPS://MCP.Example.com:443/mcp"
issuer = "https://issuer.example.com/"
jwks_file = "jwks.json"
required_scopes = ["mcp"]

{MINIMAL}
[components.text.access]
scopes = ["tools:text"]
[components.text.access.tools.count]
scopes = ["tools:count"]
"#
    ));
    let jwt = config.auth.jwt.as_ref().expect("[auth.jwt]");
    assert!(config.auth.is_enabled(), "tokens count as authentication");
    assert_eq!(jwt.resource.text, "https://mcp.example.com/mcp");
    assert_eq!(jwt.resource.origin(), "https://mcp.example.com");
    assert_eq!(jwt.audience, "https://mcp.example.com/mcp");
    assert_eq!(jwt.authorization_servers, ["https://issuer.example.com/"]);
    assert_eq!(
        jwt.algorithms,
        [
            JwtAlgorithm::Rs256,
            JwtAlgorithm::Es256,
            JwtAlgorithm::EdDsa
        ]
        .into()
    );
    assert_eq!(jwt.leeway_secs, DEFAULT_JWT_LEEWAY_SECS);
    assert_eq!(
        (
            jwt.caller_claim.as_str(),
            jwt.roles_claim.as_str(),
            jwt.scopes_claim.as_str()
        ),
        ("sub", "roles", "scope")
    );
    let supported: Vec<&str> = jwt.scopes_supported.iter().map(String::as_str).collect();
    assert_eq!(supported, ["mcp", "tools:count", "tools:text"]);
    assert!(
        matches!(&jwt.jwks, JwksSource::File { path, .. } if *path == f.canonical("jwks.json"))
    );

    let fetched = f.ok(&format!(
        r#"
[auth.jwt]
resource = "https://mcp.example.com/mcp"
audience = "api://warden"
issuer = "https://issuer.example.com/"
authorization_servers = ["https://login.example.com"]
jwks_url = "https://issuer.example.com/.well-known/jwks.json"
jwks_refresh_secs = 60
algorithms = ["HS256", "ES256"]
scopes_supported = ["mcp"]
{MINIMAL}"#
    ));
    let jwt = fetched.auth.jwt.expect("[auth.jwt]");
    assert_eq!(jwt.audience, "api://warden");
    assert_eq!(jwt.authorization_servers, ["https://login.example.com"]);
    assert_eq!(
        jwt.algorithms,
        [JwtAlgorithm::Es256, JwtAlgorithm::Hs256].into()
    );
    assert!(matches!(
        jwt.jwks,
        JwksSource::Url { refresh_secs: 60, timeout_ms: DEFAULT_JWKS_TIMEOUT_MS, ref url, .. }
            if url.host == "issuer.example.com" && url.port == 443 && url.path == "/.well-known/jwks.json"
    ));
}

#[test]
fn bad_jwt_tables_are_refused_with_their_key() {
    let f = Fixture::new();
    fs::write(f.root().join("jwks.json"), ED25519_JWKS).expect("write jwks");
    fs::write(f.root().join("empty.json"), r#"{"keys":[]}"#).expect("write jwks");
    let table = |body: &str| format!("[auth.jwt]\n{body}\n{MINIMAL}");
    let base = "resource = \"https://mcp.example.com/mcp\"\nissuer = \"https://i.example.com\"";
    let cases: [(String, &str, &[&str]); 10] = [
        (
            table("issuer = \"x\"\njwks_file = \"jwks.json\""),
            "auth.jwt.resource",
            &["`resource` is required", "canonical URI"],
        ),
        (
            table(base),
            "auth.jwt.jwks_url",
            &["`jwks_url` is required"],
        ),
        (
            table(&format!(
                "{base}\njwks_file = \"jwks.json\"\njwks_url = \"https://i.example.com/k\""
            )),
            "auth.jwt.jwks_file",
            &["either `jwks_file` or `jwks_url`"],
        ),
        (
            table(&format!("{base}\njwks_url = \"http://i.example.com/keys\"")),
            "auth.jwt.jwks_url",
            &["over https", "localhost"],
        ),
        (
            table(&format!("{base}\njwks_file = \"empty.json\"")),
            "auth.jwt.jwks_file",
            &["empty.json", "no signature verification key"],
        ),
        (
            table(&format!(
                "{base}\njwks_file = \"jwks.json\"\nalgorithms = [\"RS512\"]"
            )),
            "auth.jwt.algorithms",
            &[
                "unsupported algorithm `RS512`",
                "RS256, ES256, EdDSA, HS256",
            ],
        ),
        (
            table(&format!(
                "{base}\njwks_file = \"jwks.json\"\nalgorithms = []"
            )),
            "auth.jwt.algorithms",
            &["no algorithm"],
        ),
        (
            table(&format!(
                "{base}\njwks_file = \"jwks.json\"\nleeway_secs = 3600"
            )),
            "auth.jwt.leeway_secs",
            &["between 0 and 600 seconds"],
        ),
        (
            table(&format!(
                "{base}\njwks_file = \"jwks.json\"\nrequired_scopes = [\"a b\"]"
            )),
            "auth.jwt.required_scopes",
            &["invalid scope `a b`"],
        ),
        (
            table(&format!(
                "{base}\njwks_file = \"jwks.json\"\njwks_ca_file = \"jwks.json\""
            )),
            "auth.jwt.jwks_ca_file",
            &["is for fetching `jwks_url`"],
        ),
    ];
    for (text, key, fragments) in cases {
        let e = f.invalid(&text);
        assert!(e.key.starts_with(key), "{text}\n{e:?}");
        for fragment in fragments {
            assert!(e.message.contains(fragment), "{text}\n{e:?}");
        }
    }
    // Scopes in access rules need tokens to carry them.
    let e = f.invalid(&format!(
        "[[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\n{MINIMAL}\
         [components.text.access]\nscopes = [\"tools\"]\n",
        hash("a-key-0123456789abcdef0123456789ab")
    ));
    e.assert("components.text.access", 6, &["no [auth.jwt]"]);
}

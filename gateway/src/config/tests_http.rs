//! Tests of `capabilities.http`: allow entries, injected headers and their
//! secret references, trust anchors, limits, and every refusal with its
//! key and line (and never a secret's value).

use std::fs;

use super::tests::{Fixture, minimal_with};
use super::*;
use warden_sandbox::{HostPattern, HttpLimits, HttpScheme};

fn http_grant(config: &Config) -> &warden_sandbox::HttpGrant {
    &config.components[0].capabilities.http
}

#[test]
fn urls_tables_headers_and_limits_are_read() {
    let f = Fixture::new();
    fs::write(f.root().join("token"), "tok-123\n").expect("write token");
    let config = f.ok(&minimal_with(
        r#"[components.text.capabilities.http]
allow = [
  "https://api.github.com",
  { url = "https://*.example.com/v1/", methods = ["get", "POST"] },
  { url = "http://127.0.0.1:8089", headers = { Authorization = "Bearer ${file:token}", "X-Plain" = "a $${literal}" } },
  { url = "https://db.internal", private = true },
]
max_requests_per_call = 3
max_response_bytes = 1024
connect_timeout_ms = 250
"#,
    ));
    let grant = http_grant(&config);
    assert_eq!(grant.allow.len(), 4);
    assert_eq!(
        grant.allow[1].target.host,
        HostPattern::AnySubdomainOf("example.com".to_owned())
    );
    assert_eq!(
        grant.allow[1].methods,
        Some(vec!["GET".to_owned(), "POST".to_owned()])
    );
    let headers = &grant.allow[2].headers;
    assert_eq!(headers[0].name, "authorization");
    assert_eq!(headers[0].value.expose(), "Bearer tok-123");
    assert_eq!(headers[1].value.expose(), "a ${literal}");
    assert!(grant.allow[3].private);
    assert_eq!(grant.allow[2].target.scheme, HttpScheme::Http);
    assert_eq!(grant.limits.max_requests_per_call, 3);
    assert_eq!(grant.limits.max_response_bytes, 1024);
    assert_eq!(grant.limits.connect_timeout_ms, 250);
    assert_eq!(
        grant.limits.first_byte_timeout_ms,
        HttpLimits::DEFAULT.first_byte_timeout_ms
    );
    let printed = format!("{config:?}");
    assert!(!printed.contains("tok-123"), "a secret printed: {printed}");
}

#[test]
fn env_values_take_the_same_references() {
    let f = Fixture::new();
    fs::write(f.root().join("db-password"), "hunter2").expect("write secret");
    let config = f.ok(&minimal_with(
        "[components.text.capabilities.env]\nDB_PASSWORD = \"${file:db-password}\"\nSEARCH = \"${env:PATH}\"\n",
    ));
    let env = &config.components[0].capabilities.env;
    assert_eq!(env[0], ("DB_PASSWORD".to_owned(), "hunter2".to_owned()));
    assert_eq!(
        env[1].1,
        std::env::var("PATH").expect("PATH is set"),
        "env references read Warden's environment"
    );
}

#[test]
fn bad_allow_entries_name_the_key_and_the_reason() {
    let f = Fixture::new();
    for (entry, words) in [
        ("\"ftp://a.com\"", &["`ftp://a.com`", "https://"][..]),
        ("\"https://api.*.com\"", &["wildcard"]),
        ("\"https://a.com:70000\"", &["`70000`", "port"]),
        ("\"https://a.com/x?y=1\"", &["query"]),
        ("\"https://user@a.com\"", &["user information"]),
        ("\"https://a.com/v1/../admin\"", &["`/v1/../admin`"]),
        ("\"https://*.com\"", &["two labels"]),
        (
            "{ url = \"https://a.com\", method = [\"GET\"] }",
            &["unknown field `method`"],
        ),
        (
            "{ url = \"https://a.com\", methods = [\"CONNECT\"] }",
            &["CONNECT"],
        ),
        (
            "{ url = \"https://a.com\", methods = [\"trace\"] }",
            &["TRACE"],
        ),
        (
            "{ url = \"https://a.com\", methods = [\"G ET\"] }",
            &["not an HTTP method"],
        ),
        ("{ url = \"https://a.com\", methods = [] }", &["is empty"]),
        (
            "{ url = \"https://*.a.com\", private = true }",
            &["wildcard"],
        ),
        (
            "{ url = \"https://a.com\", headers = { Host = \"x\" } }",
            &["`Host`", "host sets it"],
        ),
        (
            "{ url = \"http://a.com\", ca_file = \"data/notes.md\" }",
            &["https://"],
        ),
        (
            "{ url = \"https://a.com\", ca_file = \"data/notes.md\" }",
            &["no PEM certificate"],
        ),
        ("42", &["a URL string"]),
    ] {
        let e = f.invalid(&minimal_with(&format!(
            "[components.text.capabilities.http]\nallow = [\n  {entry},\n]\n"
        )));
        assert_eq!(e.line, 5, "{entry}: {e:?}");
        assert!(
            e.key.starts_with("components.text.capabilities.http.allow"),
            "{entry}: {e:?}"
        );
        for word in words {
            assert!(e.message.contains(word), "{entry}: {e:?} should say {word}");
        }
    }
    let e = f.invalid(&minimal_with(
        "[components.text.capabilities.http]\nallow = [\"https://a.com\", \"https://A.com/\"]\n",
    ));
    e.assert(
        "components.text.capabilities.http.allow[1]",
        4,
        &["allow[0]"],
    );
    let e = f.invalid(&minimal_with(
        "[components.text.capabilities.http]\nallows = [\"https://a.com\"]\n",
    ));
    e.assert(
        "components.text.capabilities.http.allows",
        4,
        &["unknown field `allows`"],
    );
    let e = f.invalid(&minimal_with(
        "[components.text.capabilities.http]\nmax_requests_per_call = 0\n",
    ));
    e.assert(
        "components.text.capabilities.http.max_requests_per_call",
        4,
        &["between 1 and 10000"],
    );
}

#[test]
fn secrets_that_are_missing_or_exposed_are_refused_without_their_value() {
    let f = Fixture::new();
    let unset = "WARDEN_TEST_UNSET_TOKEN_VARIABLE";
    let e = f.invalid(&minimal_with(&format!(
        "[components.text.capabilities.http]\nallow = [\n  {{ url = \"https://api.github.com\", headers = {{ Authorization = \"Bearer ${{env:{unset}}}\" }} }},\n]\n"
    )));
    e.assert(
        "components.text.capabilities.http.allow[0].headers.Authorization",
        5,
        &[unset, "not set"],
    );
    let e = f.invalid(&minimal_with(&format!(
        "[components.text.capabilities.env]\nTOKEN = \"${{env:{unset}}}\"\n"
    )));
    e.assert("components.text.capabilities.env.TOKEN", 4, &[unset]);

    fs::write(f.root().join("token"), "tok-456").expect("write token");
    let plain = "[components.text.capabilities.http]\nallow = [\n  { url = \"http://api.example.com\", headers = { Authorization = \"${file:token}\" } },\n]\n";
    let e = f.invalid(&minimal_with(plain));
    e.assert(
        "components.text.capabilities.http.allow[0].url",
        5,
        &["allow_plaintext_secrets"],
    );
    assert!(!e.message.contains("tok-456"), "{e:?}");
    let allowed = plain.replace("allow = [", "allow_plaintext_secrets = true\nallow = [");
    assert_eq!(
        http_grant(&f.ok(&minimal_with(&allowed))).allow[0].headers[0]
            .value
            .expose(),
        "tok-456"
    );
    let loopback = plain.replace("api.example.com", "localhost:9000");
    assert_eq!(http_grant(&f.ok(&minimal_with(&loopback))).allow.len(), 1);

    fs::write(f.root().join("broken"), "line one\nline two").expect("write");
    let e = f.invalid(&minimal_with(
        "[components.text.capabilities.http]\nallow = [{ url = \"https://a.com\", headers = { X-Key = \"${file:broken}\" } }]\n",
    ));
    e.assert(
        "components.text.capabilities.http.allow[0].headers.X-Key",
        4,
        &["line break"],
    );
    assert!(!e.message.contains("line one"), "{e:?}");
}

#[test]
fn a_ca_file_is_trusted_for_its_entry() {
    let f = Fixture::new();
    let ca =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    fs::write(f.root().join("ca.pem"), ca.cert.pem()).expect("write ca.pem");
    let config = f.ok(&minimal_with(
        "[components.text.capabilities.http]\nallow = [{ url = \"https://localhost:8443\", ca_file = \"ca.pem\", private = true }]\n",
    ));
    let allow = &http_grant(&config).allow[0];
    assert_eq!(allow.trust_anchors.len(), 1);
    assert!(allow.target.is_loopback());
}

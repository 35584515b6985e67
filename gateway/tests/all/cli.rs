//! The `warden` subcommands besides `serve`: `tools`, `call`, `inspect`,
//! `version` and the documented exit codes.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use super::support::{config_on_disk, warden};

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `warden call TOOL --args ARGS --config <test config>`, plus `extra`.
fn call(tool: &str, args: &str, extra: &[&str]) -> Output {
    let (_data, _config_dir, config) = config_on_disk();
    let mut command: Vec<&OsStr> = vec![
        "call".as_ref(),
        tool.as_ref(),
        "--args".as_ref(),
        args.as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ];
    command.extend(extra.iter().map(OsStr::new));
    warden(&command)
}

#[test]
fn call_prints_the_result_and_the_resources_used() {
    let output = call("text.count", r#"{"text": "one two three"}"#, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["isError"], json!(false));
    assert_eq!(result["structuredContent"]["words"], json!(3));
    let report = stderr(&output);
    assert!(
        report.contains("resources: ") && report.contains("peak memory"),
        "{report}"
    );

    let output = call("text.count", r#"{"text": "a b"}"#, &["--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let document = stdout_json(&output);
    assert_eq!(document["result"]["structuredContent"]["words"], json!(2));
    assert!(document["usage"]["peak_memory_bytes"].as_u64() > Some(0));
    assert!(document["usage"]["duration_ms"].as_f64() > Some(0.0));
}

#[test]
fn call_enforces_the_configured_policy_and_exits_4_on_a_tool_error() {
    // The test config gives misbehave a 500 ms limit.
    let output = call("misbehave.loop", "{}", &[]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["_meta"]["warden/reason"], json!("timeout"));
    assert!(
        result["content"][0]["text"]
            .as_str()
            .is_some_and(|text| text.contains("500 ms"))
    );

    let output = call("text.count", r#"{"text": 5}"#, &[]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert_eq!(
        stdout_json(&output)["_meta"]["warden/reason"],
        json!("invalid_arguments")
    );
}

#[test]
fn call_refuses_bad_arguments_and_unknown_tools_with_exit_1() {
    for (tool, args, expected) in [
        ("text.count", "[1]", "must be a JSON object"),
        ("text.count", "{not json", "not valid JSON"),
        ("no.such.tool", "{}", "Unknown tool: no.such.tool"),
    ] {
        let output = call(tool, args, &[]);
        assert_eq!(output.status.code(), Some(1), "{tool} {args}");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn tools_lists_schemas_and_policies() {
    let (_data, _config_dir, config) = config_on_disk();
    let output = warden(&[
        "tools".as_ref(),
        "--json".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let tools = stdout_json(&output);
    let count = tools
        .as_array()
        .and_then(|tools| tools.iter().find(|tool| tool["name"] == "text.count"))
        .expect("text.count listed");
    assert_eq!(count["component"], json!("text"));
    assert_eq!(count["inputSchema"]["type"], json!("object"));
    assert_eq!(count["policy"]["limits"]["timeout_ms"], json!(5000));
    let misbehave = tools
        .as_array()
        .and_then(|tools| tools.iter().find(|tool| tool["name"] == "misbehave.loop"))
        .expect("misbehave.loop listed");
    assert_eq!(misbehave["policy"]["limits"]["timeout_ms"], json!(500));
    assert_eq!(
        misbehave["policy"]["capabilities"]["dirs"][0]["guest"],
        json!("/data")
    );

    let output = warden(&["tools".as_ref(), "--config".as_ref(), config.as_os_str()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "component text",
        "tool text.count",
        "input schema: {",
        "limits: timeout 500 ms",
    ] {
        assert!(
            text.contains(expected),
            "`{expected}` missing from:\n{text}"
        );
    }
}

#[test]
fn tools_shows_each_access_rule() {
    let (_data, config_dir, config) = config_on_disk();
    std::fs::write(
        config_dir.path().join("jwks.json"),
        r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
    )
    .expect("write jwks");
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str(
        r#"
[auth.jwt]
resource = "https://mcp.example.com/mcp"
issuer = "https://issuer.example.com"
jwks_file = "jwks.json"

[components.files.access]
roles = ["reader"]
scopes = ["files:read"]
[components.files.access.tools."files.write"]
callers = []
"#,
    );
    std::fs::write(&config, text).expect("write config");
    let output = warden(&["tools".as_ref(), "--config".as_ref(), config.as_os_str()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "callers [], roles [reader], scopes [files:read] (components.files.access)",
        r#"nobody over HTTP (components.files.access.tools."files.write")"#,
        "every caller",
    ] {
        assert!(
            listing.contains(expected),
            "`{expected}` missing from:\n{listing}"
        );
    }
    let output = warden(&[
        "tools".as_ref(),
        "--json".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let tools = stdout_json(&output);
    let read = tools
        .as_array()
        .and_then(|tools| tools.iter().find(|tool| tool["name"] == "files.read"))
        .expect("files.read listed");
    assert_eq!(read["access"]["scopes"], json!(["files:read"]));
    assert_eq!(read["access"]["roles"], json!(["reader"]));
}

#[test]
fn inspect_shows_a_component_without_a_config() {
    let output = warden(&[
        "inspect".as_ref(),
        warden_tool_artifacts::JSON.as_ref(),
        "--json".as_ref(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout_json(&output);
    let names: Vec<&str> = listing["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(names, ["json.query", "json.format"]);

    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"\0asm but not really").expect("write");
    let output = warden(&["inspect".as_ref(), bogus.as_os_str()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("bogus.wasm"),
        "{}",
        stderr(&output)
    );
    // A file that is not wasm at all is named so, in one line.
    std::fs::write(&bogus, b"#!/bin/sh\necho not wasm\n").expect("write");
    let output = warden(&["inspect".as_ref(), bogus.as_os_str()]);
    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    assert!(
        said.contains("not a WebAssembly component (bad magic number)"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    let output = warden(&[
        "inspect".as_ref(),
        Path::new("/no/such/file.wasm").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("/no/such/file.wasm"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn version_and_help_say_what_this_build_speaks() {
    let output = warden(&["version".as_ref()]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with(&format!("warden {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(
        text.contains("2025-11-25") && text.contains("warden:tool@0.1.1"),
        "{text}"
    );

    let output = warden(&["--help".as_ref()]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("inspect"),
        "{help}"
    );

    let output = warden(&["serve".as_ref(), "--no-such-flag".as_ref()]);
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn probe_checks_a_running_server() {
    let server = super::support::TestServer::start().await;
    let probe = |path: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["probe", &path])
            .output()
            .await
            .expect("run warden probe")
    };
    let ready = probe(format!("http://{}/readyz", server.addr)).await;
    assert_eq!(ready.status.code(), Some(0), "{}", stderr(&ready));

    let missing = probe(format!("http://{}/nope", server.addr)).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("404"), "{}", stderr(&missing));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let refused = probe(format!("http://127.0.0.1:{port}/readyz")).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("cannot connect"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_restart_with_an_unchanged_catalog_compiles_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ncache_dir = \"cache\"\n\n[components.text]\npath = \"{}\"\n\n[components.json]\npath = \"{}\"\n",
            warden_tool_artifacts::TEXT,
            warden_tool_artifacts::JSON
        ),
    )
    .expect("write config");
    let check = || {
        let output = warden(&["check".as_ref(), "--config".as_ref(), config.as_os_str()]);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = check();
    assert!(
        first.contains("component text (4 tools, 1 resource)") && !first.contains("cached"),
        "{first}"
    );
    let second = check();
    for component in [
        "component text (4 tools, 1 resource, cached)",
        "component json (2 tools, cached)",
    ] {
        assert!(second.contains(component), "{second}");
    }
}

#[test]
fn check_and_call_name_tools_as_clients_see_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[components.misbehave]\npath = \"{}\"\ntool_prefix = \"bad.\"\nlimits = {{ timeout_ms = 200 }}\n",
            warden_tool_artifacts::MISBEHAVE
        ),
    )
    .expect("write config");
    let output = warden(&["check".as_ref(), "--config".as_ref(), config.as_os_str()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("  tool bad.misbehave.loop: "), "{listing}");
    assert!(!listing.contains("  tool misbehave.loop: "), "{listing}");

    let output = warden(&[
        "call".as_ref(),
        "bad.misbehave.loop".as_ref(),
        "--args".as_ref(),
        "{}".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    let text = stdout_json(&output)["content"][0]["text"].clone();
    assert_eq!(
        text,
        json!("tool `bad.misbehave.loop` exceeded its 200 ms time limit")
    );
}

#[test]
fn a_component_that_fails_to_load_is_named_with_its_line_in_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bogus.wasm"), b"MZ\x90\0 not wasm").expect("write");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[components.text]\npath = \"{}\"\n\n[components.bogus]\npath = \"bogus.wasm\"\n",
            warden_tool_artifacts::TEXT
        ),
    )
    .expect("write config");
    let output = warden(&["check".as_ref(), "--config".as_ref(), config.as_os_str()]);
    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    assert!(
        said.contains(&format!(
            "{}:5: component `bogus`: cannot compile",
            config.display()
        )),
        "{said}"
    );
    assert!(said.contains("(bad magic number)"), "{said}");
}

#[test]
fn new_session_key_prints_keys_that_check_accepts() {
    let key = || {
        let output = warden(&["new-session-key".as_ref()]);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    };
    let (first, second) = (key(), key());
    assert_ne!(first, second);
    let parsed = warden_gateway::config::SessionKey::parse(&first).expect("a valid key");
    assert_eq!(parsed.to_base64(), first);

    let (_data, _config_dir, config) = config_on_disk();
    let check_with = |value: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["check".as_ref(), "--config".as_ref(), config.as_os_str()])
            .env(warden_gateway::config::SESSION_KEY_VAR, value)
            .output()
            .expect("run warden")
    };
    assert!(check_with(&first).status.success());
    let secret_but_short = "dG9vLXNob3J0LWEtc2VjcmV0";
    let refused = check_with(secret_but_short);
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(&refused);
    assert!(
        message.contains("environment variable WARDEN_SESSION_KEY: invalid session key"),
        "{message}"
    );
    assert!(!message.contains(secret_but_short), "{message}");
}

#[test]
fn tools_and_check_show_http_grants_without_secret_values() {
    const SECRET: &str = "cli-secret-5d41402abc4b2a76";
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("warden.toml");
    std::fs::write(
        &config,
        format!(
            "[components.misbehave]\npath = \"{}\"\n\
             [components.misbehave.capabilities.http]\nmax_requests_per_call = 3\nallow = [\n  \
             \"https://*.example.com/v1/\",\n  \
             {{ url = \"https://api.github.com\", methods = [\"GET\"], headers = {{ Authorization = \"Bearer ${{env:WARDEN_TEST_CLI_SECRET}}\" }} }},\n]\n",
            warden_tool_artifacts::MISBEHAVE
        ),
    )
    .expect("write config");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .env("WARDEN_TEST_CLI_SECRET", SECRET)
            .output()
            .expect("run warden")
    };
    let listed = run(&["tools", "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let tools = stdout_json(&listed);
    let http = &tools[0]["policy"]["capabilities"]["http"];
    assert_eq!(http["allow"][0]["url"], json!("https://*.example.com/v1/"));
    assert_eq!(http["allow"][1]["methods"], json!(["GET"]));
    assert_eq!(http["allow"][1]["headers"], json!(["authorization"]));
    assert_eq!(http["limits"]["max_requests_per_call"], json!(3));
    let checked = run(&["check"]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    let text = String::from_utf8_lossy(&checked.stdout);
    assert!(
        text.contains("http: https://api.github.com/ [GET] adds headers: authorization"),
        "{text}"
    );
    for output in [&listed, &checked] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(SECRET), "{all}");
    }
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["check", "--config"])
        .arg(&config)
        .env_remove("WARDEN_TEST_CLI_SECRET")
        .output()
        .expect("run warden");
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("warden.toml:7:")
            && stderr(&missing).contains("headers.Authorization")
            && stderr(&missing).contains("`WARDEN_TEST_CLI_SECRET` is not set"),
        "{}",
        stderr(&missing)
    );
}

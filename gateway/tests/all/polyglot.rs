//! Tools written in Python and JavaScript (`tools/python`, `tools/js`),
//! built by `tools/build-polyglot`, served by the real `warden` binary and
//! called by the official MCP Python SDK client
//! (`tests/python/polyglot_client.py`): the example tools answer with valid
//! structured content, and every limit holds against an interpreter in wasm.

use std::path::Path;

use super::examples::warden_check_succeeds;
use super::python_sdk::run_python_script;
use super::support::{TestServer, polyglot_components, python_venv, repo_root};

/// The example components, and each misbehaving one twice: under a time
/// limit, and (`fuel.` tools) under a fuel budget that ends an endless loop
/// long before its time limit.
fn polyglot_config(components: &Path, data: &Path) -> String {
    let component = |file: &str| components.join(file).display().to_string();
    let data = data.display();
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
cache_dir = "{cache}"

[components.stats]
path = "{stats}"

[components.markdown]
path = "{markdown}"

[components.pymisbehave]
path = "{pymisbehave}"
[components.pymisbehave.limits]
timeout_ms = 1000
max_memory_bytes = 50331648
max_log_messages = 20
[components.pymisbehave.capabilities]
dirs = [{{ host = "{data}", guest = "/data", mode = "ro" }}]

[components.pymisbehave_fuel]
path = "{pymisbehave}"
tool_prefix = "fuel."
[components.pymisbehave_fuel.limits]
timeout_ms = 60000
fuel = 200000000

[components.jsmisbehave]
path = "{jsmisbehave}"
[components.jsmisbehave.limits]
timeout_ms = 1000
max_memory_bytes = 50331648
max_log_messages = 20

[components.jsmisbehave_fuel]
path = "{jsmisbehave}"
tool_prefix = "fuel."
[components.jsmisbehave_fuel.limits]
timeout_ms = 60000
fuel = 200000000
"#,
        cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        stats = component("python-stats.wasm"),
        markdown = component("js-markdown.wasm"),
        pymisbehave = component("python-misbehave.wasm"),
        jsmisbehave = component("js-misbehave.wasm"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn python_and_javascript_tools_answer_and_every_limit_holds_against_them() {
    let (components, python) = tokio::join!(
        polyglot_components(),
        python_venv("mcp-python-venv", "tests/python/requirements.txt")
    );
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("notes.txt"), "granted\n").expect("write data");
    let server =
        TestServer::spawn_with_config(&polyglot_config(&components, data.path()), &[]).await;
    let url = server.url();
    let stdout = run_python_script(&python, "polyglot_client.py", &[url.as_ref()]).await;
    println!("{stdout}");
    for needle in [
        "ok: the example tools answer",
        "ok: fuel.pymisbehave.spin ended as out_of_fuel",
        "ok: jsmisbehave.hog ended as memory_limit",
        "ok: pymisbehave.read inside the granted dir",
    ] {
        assert!(stdout.contains(needle), "{needle}:\n{stdout}");
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn warden_check_accepts_the_polyglot_example_config() {
    let components = polyglot_components().await;
    let example = std::fs::read_to_string(repo_root().join("examples/polyglot.toml"))
        .expect("read examples/polyglot.toml");
    // The components are wherever this test run's target directory is.
    let config = example
        .replace(
            "../target/components/",
            &format!("{}/", components.display()),
        )
        .replace(
            "../target/warden-cache",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("polyglot.toml");
    std::fs::write(&path, config).expect("write config");
    let stdout = warden_check_succeeds(&path);
    for tool in [
        "tool stats.describe",
        "tool stats.compare",
        "tool markdown.render",
        "tool markdown.outline",
    ] {
        assert!(stdout.contains(tool), "{tool}:\n{stdout}");
    }
}

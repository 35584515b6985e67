//! The bundled configuration works with the real binary: `warden check`
//! loads and compiles every component it names.

use std::path::Path;
use std::process::Output;

use super::support::warden;

fn warden_check(config: &Path) -> Output {
    warden(&["check".as_ref(), "--config".as_ref(), config.as_os_str()])
}

/// `warden check` of `config`, which must succeed; its stdout.
pub fn warden_check_succeeds(config: &Path) -> String {
    let output = warden_check(config);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "warden check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn warden_check_accepts_the_bundled_config() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/warden.toml");
    let stdout = warden_check_succeeds(&config);
    for expected in [
        "component text",
        "component json",
        "component files",
        "component web",
        "tool text.count",
        "tool files.read",
        "tool web.fetch",
        "dir: ",
        "http: https://api.github.com/repos/",
        "http limits: 16 requests per call",
    ] {
        assert!(
            stdout.contains(expected),
            "`{expected}` missing from:\n{stdout}"
        );
    }
}

#[test]
fn warden_check_reports_a_bad_config_with_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("broken.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[components.text]\npath = \"{}\"\n[components.text.limits]\ntimeout_ms = 0\n",
            warden_tool_artifacts::TEXT
        ),
    )
    .expect("write");
    let output = warden_check(&config);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.toml:7:") && stderr.contains("components.text.limits.timeout_ms"),
        "{stderr}"
    );
}

#[test]
fn warden_check_names_a_component_that_is_not_wasm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"definitely not wasm").expect("write");
    let config = dir.path().join("warden.toml");
    std::fs::write(&config, "[components.bogus]\npath = \"bogus.wasm\"\n").expect("write");
    let output = warden_check(&config);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("component `bogus`"), "{stderr}");
}

//! Builds the example tool components for `wasm32-wasip2` and generates a
//! constant with the path of each, in the manner of wasmtime's
//! `crates/test-programs/artifacts/build.rs`.
//!
//! A nested `cargo build --release --target wasm32-wasip2` (the same cargo,
//! with the outer build's flags and wrappers scrubbed from its environment)
//! writes into `<T>/tools` (or `$WARDEN_TOOLS_TARGET_DIR`, which builds
//! into several target directories can share), where `<T>` is
//! `$CARGO_TARGET_DIR` or the workspace's `target/`. Each component is then
//! copied to `<T>/components/<name>.wasm`, a stable path configuration files
//! can name.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const TARGET: &str = "wasm32-wasip2";

/// Short name, package and doc line of each component, in `ALL` order.
const COMPONENTS: &[(&str, &str, &str)] = &[
    (
        "text",
        "text-tool",
        "`text.*`: count, change case, find and replace.",
    ),
    ("json", "json-tool", "`json.*`: jq queries and formatting."),
    (
        "files",
        "files-tool",
        "`files.*`: list, read, search and write preopened files.",
    ),
    (
        "web",
        "web-tool",
        "`web.*`: fetch pages and call a JSON API through the gateway.",
    ),
    (
        "misbehave",
        "misbehave-tool",
        "`misbehave.*`: deliberate breaches, for tests only.",
    ),
    (
        "conformance",
        "conformance-tool",
        "`test_*`: the fixtures the official MCP conformance suite calls, for tests only.",
    ),
    (
        "legacy",
        "legacy-tool",
        "`legacy.echo`: a component of `warden:tool@0.1.0`, for the compatibility tests.",
    ),
];

/// Crates whose sources end up in the components, relative to the workspace.
const SOURCES: &[&str] = &[
    "tools/sdk",
    "tools/text",
    "tools/json",
    "tools/files",
    "tools/web",
    "tools/misbehave",
    "tools/conformance",
    "tools/legacy",
];

/// Why the build script failed.
enum Failure {
    /// Cargo shows just this line.
    Message(String),
    /// Cargo shows this line, then the script's stderr (the nested build's
    /// diagnostics).
    WithOutput(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Message(message)
    }
}

fn main() -> ExitCode {
    match build() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Message(message)) => {
            // `cargo::error` with a successful exit: one clean line.
            println!("cargo::error={message}");
            ExitCode::SUCCESS
        }
        Err(Failure::WithOutput(message)) => {
            // A failed exit makes Cargo print the captured stderr too.
            println!("cargo::error={message}");
            ExitCode::FAILURE
        }
    }
}

fn build() -> Result<(), Failure> {
    let manifest_dir = PathBuf::from(var("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir.join("../..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let out_dir = PathBuf::from(var("OUT_DIR")?);

    for source in SOURCES {
        let dir = workspace.join(source);
        println!("cargo::rerun-if-changed={}", dir.join("src").display());
        if dir.join("wit").is_dir() {
            println!("cargo::rerun-if-changed={}", dir.join("wit").display());
        }
        println!(
            "cargo::rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
    }
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("wit").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    println!(
        "cargo::rerun-if-changed={}",
        workspace.join("Cargo.toml").display()
    );
    println!("cargo::rerun-if-env-changed=CARGO_TARGET_DIR");
    println!("cargo::rerun-if-env-changed=WARDEN_TOOLS_TARGET_DIR");

    check_target_installed()?;

    let target_dir = match env::var_os("CARGO_TARGET_DIR") {
        // A relative target dir is taken relative to the workspace root.
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    // Builds of the workspace into other target directories (coverage's,
    // the fuzz crate's) can share one nested build: its flags are scrubbed
    // of theirs, so the components come out the same and are built once.
    let nested_dir = match env::var_os("WARDEN_TOOLS_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => target_dir.join("tools"),
    };
    let components_dir = target_dir.join("components");

    let mut cargo = nested_cargo();
    cargo
        .current_dir(&workspace)
        .args(["build", "--release", "--target", TARGET])
        .arg("--target-dir")
        .arg(&nested_dir);
    for (_, package, _) in COMPONENTS {
        cargo.args(["-p", package]);
    }
    let output = cargo
        .output()
        .map_err(|e| format!("cannot run `{cargo:?}`: {e}"))?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return Err(Failure::WithOutput(format!(
            "building the tool components for {TARGET} failed ({}): see its output below",
            output.status
        )));
    }

    fs::create_dir_all(&components_dir)
        .map_err(|e| format!("cannot create {}: {e}", components_dir.display()))?;
    let mut generated = String::new();
    let mut all = String::new();
    for (name, package, doc) in COMPONENTS {
        let built = nested_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", package.replace('-', "_")));
        let dest = components_dir.join(format!("{name}.wasm"));
        install(&built, &dest)?;
        let constant = name.to_uppercase();
        let path = dest.display().to_string();
        let _ = writeln!(
            generated,
            "/// {doc}\npub const {constant}: &str = {path:?};"
        );
        let _ = write!(all, "({name:?}, {constant}), ");
    }
    let _ = writeln!(
        generated,
        "/// Every component as (short name, path), in a fixed order.\n\
         pub const ALL: &[(&str, &str)] = &[{all}];"
    );
    let generated_path = out_dir.join("components.rs");
    fs::write(&generated_path, generated)
        .map_err(|e| format!("cannot write {}: {e}", generated_path.display()))?;
    Ok(())
}

/// Fails with the one-line fix when the standard library for the wasm target
/// is missing from the toolchain's sysroot.
fn check_target_installed() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| {
            format!(
                "cannot run `{} --print sysroot`: {e}",
                rustc.to_string_lossy()
            )
        })?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let installed = Path::new(&sysroot).join("lib/rustlib").join(TARGET);
    if output.status.success() && installed.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is not installed: run `rustup target add {TARGET}`"
        ))
    }
}

/// The outer build's cargo, with everything the outer build set for itself
/// (flags, wrappers such as clippy-driver, target, profile, jobserver, the
/// per-package variables of this build script) removed, so the nested build
/// is an ordinary release build for the wasm target.
fn nested_cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    const EXACT: &[&str] = &[
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_BOOTSTRAP",
        "RUSTC_LINKER",
        "RUSTDOC",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        "__CARGO_FIX_PLZ",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_PROFILE_",
        "CARGO_PKG_",
        "DEP_",
    ];
    for (key, _) in env::vars_os() {
        let Some(name) = key.to_str() else { continue };
        if EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) {
            command.env_remove(&key);
        }
    }
    command
}

fn var(name: &str) -> Result<OsString, String> {
    env::var_os(name).ok_or_else(|| format!("{name} is not set: run this through cargo"))
}

/// Copies `built` to `dest` through a temporary file and a rename, so a
/// process reading the old component never sees a half-written one.
fn install(built: &Path, dest: &Path) -> Result<(), String> {
    // Per process: two builds of different workspaces (the fuzz crate's and
    // the main one) may install the same component at once.
    let temp = dest.with_extension(format!("wasm.tmp.{}", std::process::id()));
    fs::copy(built, &temp)
        .and_then(|_| fs::rename(&temp, dest))
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), dest.display()))
}

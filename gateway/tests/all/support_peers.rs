//! The real peers the tests install: the pinned Python and npm packages.

use std::path::{Path, PathBuf};

use tokio::process::Command;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A virtualenv named `name` under Cargo's target directory with the pinned
/// `requirements` (a path from the repository root) installed; rebuilt when
/// they change.
pub async fn python_venv(name: &str, requirements: &str) -> PathBuf {
    let requirements = repo_root().join(requirements);
    let wanted = std::fs::read_to_string(&requirements).expect("read requirements");
    // Tests run in parallel: one of them builds a venv, the others wait.
    static BUILDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _building = BUILDING.lock().await;
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let marker = venv.join("installed-requirements.txt");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) && python.exists()
    {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let host_python = std::env::var("WARDEN_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(
        Command::new(&host_python).args(["-m", "venv"]).arg(&venv),
        "create the virtualenv",
    )
    .await;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "install the Python test requirements",
    )
    .await;
    std::fs::write(&marker, wanted).expect("write marker");
    python
}

/// A folder with the npm packages pinned by `package-lock.json` in the
/// repository folder `project` installed (`npm ci`, on first use and when
/// the lockfile changes), and that folder's scripts copied beside them so
/// their imports resolve. `WARDEN_TEST_NPM` names another npm.
pub async fn node_project(name: &str, project: &str) -> PathBuf {
    let source = repo_root().join(project);
    let lockfile =
        std::fs::read_to_string(source.join("package-lock.json")).expect("read lockfile");
    static INSTALLING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _installing = INSTALLING.lock().await;
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let marker = folder.join("installed-package-lock.json");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(lockfile.as_str()) {
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).expect("create the npm folder");
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), folder.join(file)).expect("copy the npm manifest");
        }
        let npm = std::env::var("WARDEN_TEST_NPM").unwrap_or_else(|_| "npm".to_owned());
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&folder),
            "install the npm test packages",
        )
        .await;
        std::fs::write(&marker, &lockfile).expect("write marker");
    }
    for entry in std::fs::read_dir(&source).expect("read the npm project") {
        let path = entry.expect("npm project entry").path();
        if path.extension().is_some_and(|ext| ext == "mjs") {
            let file_name = path.file_name().expect("script name");
            std::fs::copy(&path, folder.join(file_name)).expect("copy the script");
        }
    }
    folder
}

/// The folder holding the Python and JavaScript components
/// (`python-stats.wasm`, `js-markdown.wasm`, `python-misbehave.wasm`,
/// `js-misbehave.wasm`), built by `tools/build-polyglot --test` into this
/// target directory on first use in the test process, which also runs the
/// kits' and examples' unit tests. `WARDEN_TEST_PYTHON` and
/// `WARDEN_TEST_NPM` name another python3 or npm.
pub async fn polyglot_components() -> PathBuf {
    static BUILT: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    BUILT
        .get_or_init(|| async {
            let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .expect("the target directory")
                .to_path_buf();
            let mut build = Command::new("bash");
            build
                .arg(repo_root().join("tools/build-polyglot"))
                .arg("--test")
                .env("CARGO_TARGET_DIR", &target);
            if let Ok(python) = std::env::var("WARDEN_TEST_PYTHON") {
                build.env("WARDEN_PYTHON", python);
            }
            if let Ok(npm) = std::env::var("WARDEN_TEST_NPM") {
                build.env("WARDEN_NPM", npm);
            }
            run(&mut build, "build the Python and JavaScript components").await;
            target.join("components")
        })
        .await
        .clone()
}

pub async fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .await
        .unwrap_or_else(|error| panic!("cannot {what}: {error}"));
    assert!(
        output.status.success(),
        "cannot {what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

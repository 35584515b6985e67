//! The deployment examples: `examples/kubernetes` (and the optional Redis in
//! its `redis` folder) validated offline against a pinned Kubernetes version
//! (strict, warnings fail) and cross-checked; the
//! dashboard and alert rules in `examples/observability` checked against the
//! metrics Warden exports.

use tokio::process::Command;

use super::support::{python_venv, repo_root};

/// The Kubernetes version the manifests are validated against.
const KUBERNETES_VERSION: &str = "1.34.0";

#[tokio::test(flavor = "multi_thread")]
async fn kubernetes_manifests_validate_strictly_and_agree_with_each_other() {
    let python = python_venv("kubernetes-venv", "tests/kubernetes/requirements.txt").await;
    let bin = python.parent().expect("venv bin folder");
    let folder = repo_root().join("examples/kubernetes");
    let yaml_in = |folder: &std::path::Path| {
        let mut manifests: Vec<_> = std::fs::read_dir(folder)
            .unwrap_or_else(|error| panic!("read {}: {error}", folder.display()))
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        manifests.sort();
        manifests
    };
    let mut manifests = yaml_in(&folder);
    assert!(manifests.len() >= 7, "{manifests:?}");
    let redis = yaml_in(&folder.join("redis"));
    assert!(redis.len() >= 4, "{redis:?}");
    manifests.extend(redis);

    let output = Command::new(bin.join("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&manifests)
        .output()
        .await
        .expect("run kubernetes-validate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(
        !report.contains("WARN") && !report.contains("ERROR"),
        "{report}"
    );
    assert_eq!(
        report.matches(" passed for resource ").count(),
        manifests.len(),
        "{report}"
    );

    let output = Command::new(&python)
        .arg(repo_root().join("tests/kubernetes/check_manifests.py"))
        .arg(&folder)
        .output()
        .await
        .expect("run check_manifests.py");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_and_alerts_use_only_exported_metrics() {
    let python = python_venv("kubernetes-venv", "tests/kubernetes/requirements.txt").await;
    let output = Command::new(&python)
        .arg(repo_root().join("tests/observability/check_observability.py"))
        .arg(repo_root())
        .output()
        .await
        .expect("run check_observability.py");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let referenced: Vec<&str> = report
        .lines()
        .filter_map(|line| line.strip_prefix("metric: "))
        .collect();
    assert!(referenced.len() >= 10, "{report}");
    let exported = warden_gateway::telemetry::metrics::ALL;
    for name in referenced {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| exported.contains(base))
            .unwrap_or(name);
        assert!(
            exported.contains(&base),
            "{name} is not a metric Warden exports"
        );
    }
}

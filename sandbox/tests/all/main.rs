//! The sandbox against real tool components built from `tools/`.

use std::sync::{Arc, Mutex};

use warden_sandbox::{
    CallError, CallEvents, Capabilities, DirGrant, DirMode, InstanceAllocation, Limits, LogLevel,
    NoEvents, Policy, Sandbox, SandboxConfig, ToolComponent,
};

mod client;
mod containment;
mod outbound;
mod served;
mod served_listings;

fn sandbox(fuel_metering: bool) -> Sandbox {
    Sandbox::new(SandboxConfig {
        pool_instances: 16,
        max_memory_bytes: 64 << 20,
        fuel_metering,
        ..SandboxConfig::default()
    })
    .expect("engine")
}

async fn load(sandbox: &Sandbox, name: &str, path: &str, policy: Policy) -> ToolComponent {
    sandbox
        .load(name, path.as_ref(), policy)
        .await
        .unwrap_or_else(|error| panic!("loading {name}: {error}"))
}

async fn text(sandbox: &Sandbox) -> ToolComponent {
    load(
        sandbox,
        "text",
        warden_tool_artifacts::TEXT,
        Policy::default(),
    )
    .await
}

async fn misbehave(sandbox: &Sandbox, policy: Policy) -> ToolComponent {
    load(
        sandbox,
        "misbehave",
        warden_tool_artifacts::MISBEHAVE,
        policy,
    )
    .await
}

fn limits(adjust: impl FnOnce(&mut Limits)) -> Policy {
    let mut policy = Policy::default();
    adjust(&mut policy.limits);
    policy
}

async fn call_json(
    component: &ToolComponent,
    tool: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, CallError> {
    let output = component
        .call(tool, &args.to_string(), Arc::new(NoEvents))
        .await?;
    assert!(
        !output.result.is_error,
        "{tool} reported an error: {:?}",
        output.result.content
    );
    let structured = output
        .result
        .structured_content
        .expect("structured content");
    Ok(serde_json::from_str(&structured).expect("structured content is JSON"))
}

#[tokio::test(flavor = "multi_thread")]
async fn text_tools_list_and_run() {
    let sandbox = sandbox(false);
    let text = text(&sandbox).await;
    let names: Vec<&str> = text.tools().iter().map(|tool| tool.name.as_str()).collect();
    for expected in ["text.count", "text.case", "text.replace", "text.find"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let counts = call_json(
        &text,
        "text.count",
        serde_json::json!({"text": "one two\nthree"}),
    )
    .await
    .expect("call");
    assert_eq!(counts["words"], 3);
    assert_eq!(counts["lines"], 2);
    let replaced = call_json(
        &text,
        "text.replace",
        serde_json::json!({"text": "a1b22c333", "pattern": "[0-9]+", "replacement": "#"}),
    )
    .await
    .expect("call");
    assert_eq!(replaced["text"], "a#b#c#");
    assert_eq!(sandbox.pool_stats().in_use, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_call_gets_a_fresh_instance() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;
    // A call that panics leaves nothing broken behind for the next one.
    let panicked = misbehave
        .call(
            "misbehave.panic",
            r#"{"message":"first"}"#,
            Arc::new(NoEvents),
        )
        .await;
    assert!(
        matches!(panicked, Err(CallError::Trap { .. })),
        "{panicked:?}"
    );
    let echoed = call_json(
        &misbehave,
        "misbehave.echo",
        serde_json::json!({"value": [1, 2]}),
    )
    .await
    .expect("call after a trap");
    assert_eq!(echoed["value"], serde_json::json!([1, 2]));
}

/// A call's writes to the instance's memory (here a counter in its data
/// section) never reach the next call, whether the pool slot's pages are
/// kept resident and restored in place, released, or not pooled at all.
#[tokio::test(flavor = "multi_thread")]
async fn memory_a_call_wrote_is_restored_for_the_next() {
    for config in [
        SandboxConfig::default(),
        SandboxConfig {
            keep_resident_bytes: 0,
            ..SandboxConfig::default()
        },
        SandboxConfig {
            allocation: InstanceAllocation::OnDemand,
            ..SandboxConfig::default()
        },
    ] {
        let sandbox = Sandbox::new(config.clone()).expect("engine");
        let misbehave = misbehave(&sandbox, Policy::default()).await;
        for _ in 0..3 {
            let remembered = call_json(&misbehave, "misbehave.remember", serde_json::json!({}))
                .await
                .expect("remember");
            assert_eq!(
                remembered["calls_before"],
                // REMEMBER_START in tools/misbehave: the initial image's value.
                serde_json::json!(41),
                "{config:?}"
            );
        }
        let usage = misbehave.instantiate().await.expect("instantiate");
        assert!(
            usage.instantiation > std::time::Duration::ZERO,
            "{config:?}"
        );
        assert_eq!(sandbox.pool_stats().in_use, 0, "{config:?}");
    }
}

#[derive(Default)]
struct Recorded {
    logs: Mutex<Vec<(LogLevel, String)>>,
    progress: Mutex<Vec<f64>>,
}

impl CallEvents for Recorded {
    fn log(&self, _tool: &str, level: LogLevel, message: &str) {
        self.logs
            .lock()
            .expect("lock")
            .push((level, message.to_owned()));
    }
    fn progress(&self, _tool: &str, done: f64, _total: Option<f64>, _message: Option<&str>) {
        self.progress.lock().expect("lock").push(done);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_and_progress_reach_the_observer() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;
    let recorded = Arc::new(Recorded::default());
    let output = misbehave
        .call("misbehave.progress", r#"{"steps":3}"#, recorded.clone())
        .await
        .expect("call");
    assert!(!output.result.is_error);
    assert_eq!(
        *recorded.progress.lock().expect("lock"),
        vec![1.0, 2.0, 3.0]
    );
    assert_eq!(recorded.logs.lock().expect("lock").len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_components_are_cached() {
    let cache = tempfile::tempdir().expect("tempdir");
    let config = SandboxConfig {
        cache_dir: Some(cache.path().to_owned()),
        ..SandboxConfig::default()
    };
    let first = Sandbox::new(config.clone()).expect("engine");
    let compiled = text(&first).await;
    assert!(!compiled.loaded_from_cache());
    let second = Sandbox::new(config).expect("engine");
    let cached = text(&second).await;
    assert!(cached.loaded_from_cache());
    let counts = call_json(&cached, "text.count", serde_json::json!({"text": "a b"}))
        .await
        .expect("cached component runs");
    assert_eq!(counts["words"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_is_not_a_component_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bogus.wasm");
    std::fs::write(&path, b"\0asm not really").expect("write");
    let error = sandbox(false)
        .load("bogus", &path, Policy::default())
        .await
        .err()
        .expect("must fail");
    let message = error.to_string();
    assert!(message.contains("component `bogus`"), "{message}");
    let missing = sandbox(false)
        .load("gone", "/nonexistent/x.wasm".as_ref(), Policy::default())
        .await
        .err()
        .expect("must fail");
    assert!(missing.to_string().contains("cannot read"), "{missing}");
}

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hello.txt"), "hello from the host\n").expect("write");
    dir
}

fn with_dir(host: &std::path::Path, mode: DirMode) -> Policy {
    Policy {
        limits: Limits::default(),
        capabilities: Capabilities {
            dirs: vec![DirGrant {
                host: host.to_owned(),
                guest: "/data".to_owned(),
                mode,
            }],
            ..Capabilities::default()
        },
    }
}

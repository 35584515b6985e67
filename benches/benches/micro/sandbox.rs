//! `sandbox/instantiate/<configuration>` and
//! `sandbox/instantiate+call/<configuration>`: the `text` component under
//! pooling or on-demand allocation, with fuel metered or not, and pooling
//! without pages kept resident between calls.

use std::cell::OnceCell;
use std::path::Path;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion};
use tokio::runtime::Runtime;
use warden_sandbox::{
    CallEvents, DEFAULT_KEEP_RESIDENT_BYTES, InstanceAllocation, NoEvents, Policy, Sandbox,
    SandboxConfig, ToolComponent,
};

/// Fuel per call when it is metered: far more than `text.count` burns, so
/// it is counted and never runs out.
const FUEL_BUDGET: u64 = 1_000_000_000;

const ARGUMENTS: &str = r#"{"text":"the quick brown fox"}"#;

/// Name, allocation, fuel metering, bytes kept resident per pool slot. The
/// names are keys of the recorded figures (`benches/compare`): keep them
/// stable.
const CONFIGURATIONS: [(&str, InstanceAllocation, bool, u64); 5] = [
    (
        "pooling",
        InstanceAllocation::Pooling,
        false,
        DEFAULT_KEEP_RESIDENT_BYTES,
    ),
    (
        "pooling+fuel",
        InstanceAllocation::Pooling,
        true,
        DEFAULT_KEEP_RESIDENT_BYTES,
    ),
    (
        "pooling-no-keep-resident",
        InstanceAllocation::Pooling,
        false,
        0,
    ),
    ("on-demand", InstanceAllocation::OnDemand, false, 0),
    ("on-demand+fuel", InstanceAllocation::OnDemand, true, 0),
];

/// `text` loaded into an engine of its own.
struct Loaded {
    text: ToolComponent,
    _sandbox: Sandbox,
}

pub fn benches(criterion: &mut Criterion, runtime: &Runtime, cache: &Path) {
    let events: Arc<dyn CallEvents> = Arc::new(NoEvents);
    let mut group = criterion.benchmark_group("sandbox");
    for (label, allocation, fuel, keep_resident) in CONFIGURATIONS {
        // Loaded on first use, and dropped before the next configuration's
        // engine is built: one pool's address space reserved at a time.
        let loaded = OnceCell::new();
        let text = || {
            &loaded
                .get_or_init(|| load(runtime, cache, allocation, fuel, keep_resident))
                .text
        };
        group.bench_function(BenchmarkId::new("instantiate", label), |b| {
            let text = text();
            b.to_async(runtime)
                .iter(|| async move { text.instantiate().await.expect("instantiate") });
        });
        group.bench_function(BenchmarkId::new("instantiate+call", label), |b| {
            let text = text();
            b.to_async(runtime).iter(|| {
                let events = Arc::clone(&events);
                async move {
                    text.call("text.count", ARGUMENTS, events)
                        .await
                        .expect("call")
                }
            });
        });
    }
    group.finish();
}

fn load(
    runtime: &Runtime,
    cache: &Path,
    allocation: InstanceAllocation,
    fuel: bool,
    keep_resident_bytes: u64,
) -> Loaded {
    let sandbox = Sandbox::new(SandboxConfig {
        allocation,
        fuel_metering: fuel,
        keep_resident_bytes,
        cache_dir: Some(cache.to_owned()),
        ..SandboxConfig::default()
    })
    .expect("engine");
    let mut policy = Policy::default();
    if fuel {
        policy.limits.fuel = Some(FUEL_BUDGET);
    }
    let text = runtime
        .block_on(sandbox.load("text", warden_tool_artifacts::TEXT.as_ref(), policy))
        .expect("load text");
    let output = runtime
        .block_on(text.call("text.count", ARGUMENTS, Arc::new(NoEvents)))
        .expect("call");
    assert!(!output.result.is_error, "text.count failed");
    assert_eq!(
        output.usage.fuel_consumed.is_some(),
        fuel,
        "fuel is metered exactly when the configuration says so"
    );
    Loaded {
        text,
        _sandbox: sandbox,
    }
}

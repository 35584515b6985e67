//! Loading a component once and running each call in a fresh instance.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Engine;
use wasmtime::component::{HasSelf, InstancePre, Linker};

use crate::bindings;
use crate::cache::{self, CacheOutcome};
use crate::engine::{Sandbox, Ticker};
use crate::error::{CallError, LoadError};
use crate::events::{CallEvents, NoEvents};
use crate::exports::Exports;
use crate::host::CallState;
use crate::instance::{Subject, acquire_within};
use crate::name_lookup::{self, NetworkGrant};
use crate::outbound::{self, OutboundGrant, OutboundUsage};
use crate::policy::{Limits, Policy};
use crate::pool::{PoolShare, PoolSlot};
use crate::served::{PromptInfo, ResourceInfo, ResourceTemplateInfo};
use crate::tool::{CallResult, ToolInfo};

/// A loaded component: compiled, linked, what it serves listed and
/// checked. Cheap to share behind an `Arc`; every [`call`](Self::call) gets
/// a fresh instance.
pub struct ToolComponent {
    pub(crate) name: String,
    pub(crate) served: Served,
    pub(crate) policy: Policy,
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<CallState>,
    pub(crate) exports: Exports,
    pub(crate) fuel_metering: bool,
    /// What the guest may reach over TCP, and the names it may look up.
    pub(crate) network: Arc<NetworkGrant>,
    /// What the guest may reach over HTTP.
    pub(crate) http: Arc<OutboundGrant>,
    /// This component's claim on the sandbox's instance pool.
    pool_share: PoolShare,
    concurrency: Arc<Semaphore>,
    cache: CacheOutcome,
    /// Keeps the epoch ticker running while this component can run calls.
    _ticker: Arc<Ticker>,
}

/// Everything a component listed at load.
#[derive(Debug, Clone, Default)]
pub(crate) struct Served {
    pub tools: Vec<ToolInfo>,
    pub resources: Vec<ResourceInfo>,
    pub templates: Vec<ResourceTemplateInfo>,
    pub prompts: Vec<PromptInfo>,
}

/// A completed call: what the tool returned and what it used.
#[derive(Debug, Clone)]
pub struct CallOutput {
    /// The tool's result (which may itself report a tool error).
    pub result: CallResult,
    /// Resources the call consumed.
    pub usage: CallUsage,
}

/// Fuel injected into a running instance at a time (a few milliseconds of
/// guest code): bounds how far a call's reported consumption can lag.
pub const FUEL_SLICE: u64 = 10_000_000;

/// Resources one call consumed, and what it printed.
#[derive(Debug, Clone, Default)]
pub struct CallUsage {
    /// Wall-clock time from instantiation to result.
    pub duration: Duration,
    /// Of that, the time to create the instance.
    pub instantiation: Duration,
    /// Fuel consumed, when fuel is metered.
    pub fuel_consumed: Option<u64>,
    /// Largest linear memory the instance reached, in bytes.
    pub peak_memory_bytes: u64,
    /// Captured stdout, truncated at `max_output_bytes`.
    pub stdout: String,
    /// Captured stderr, truncated at `max_output_bytes`.
    pub stderr: String,
    /// Bytes of stdout and stderr dropped by truncation.
    pub dropped_output_bytes: u64,
    /// The outbound HTTP requests the call sent and was refused.
    pub outbound: OutboundUsage,
}

impl Sandbox {
    /// Loads the component at `path` under `policy`: compiles it (or loads
    /// the cached artifact), links WASI and the host imports, finds which
    /// interfaces it exports, lists what it serves in a throwaway instance
    /// and checks it.
    pub async fn load(
        &self,
        name: &str,
        path: &Path,
        policy: Policy,
    ) -> Result<ToolComponent, LoadError> {
        let header = read_header(path).map_err(|source| LoadError::Read {
            component: name.to_owned(),
            path: path.to_owned(),
            source,
        })?;
        if let Some(reason) = preamble_problem(&header) {
            return Err(LoadError::Compile {
                component: name.to_owned(),
                path: path.to_owned(),
                reason: reason.to_owned(),
            });
        }
        let engine = self.engine.clone();
        let cache_dir = self.config.cache_dir.clone();
        let wasm = path.to_owned();
        let compiled = tokio::task::spawn_blocking(move || {
            cache::compile(&engine, &wasm, cache_dir.as_deref())
        })
        .await;
        let compile_error = |reason: String| LoadError::Compile {
            component: name.to_owned(),
            path: path.to_owned(),
            reason,
        };
        let (component, cache) = compiled
            .map_err(|join| compile_error(join.to_string()))?
            .map_err(|error| compile_error(format!("{error:#}")))?;

        let link_error = |error: wasmtime::Error| LoadError::Link {
            component: name.to_owned(),
            reason: format!("{error:#}"),
        };
        let network =
            NetworkGrant::resolve(&policy.capabilities.tcp_connect).map_err(|reason| {
                LoadError::Capability {
                    component: name.to_owned(),
                    reason,
                }
            })?;
        let network = Arc::new(network);
        let http = OutboundGrant::prepare(&policy.capabilities.http).map_err(|reason| {
            LoadError::Capability {
                component: name.to_owned(),
                reason,
            }
        })?;
        let mut linker = Linker::<CallState>::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_error)?;
        if outbound::imports_http(&component, &self.engine) {
            outbound::add_to_linker(&mut linker).map_err(link_error)?;
        }
        refuse_symlink_creation(&mut linker).map_err(link_error)?;
        name_lookup::answer_from_grant(&mut linker, name, Arc::clone(&network))
            .map_err(link_error)?;
        bindings::warden::tool::host::add_to_linker::<_, HasSelf<CallState>>(
            &mut linker,
            |state| state,
        )
        .map_err(link_error)?;
        let pre = linker.instantiate_pre(&component).map_err(link_error)?;
        let exports = Exports::find(&pre).map_err(|reason| LoadError::Link {
            component: name.to_owned(),
            reason,
        })?;

        let concurrency = Arc::new(Semaphore::new(policy.limits.max_concurrency.max(1) as usize));
        let policy_min_pool_slots = policy.limits.min_pool_slots;
        let mut loaded = ToolComponent {
            name: name.to_owned(),
            served: Served::default(),
            policy,
            engine: self.engine.clone(),
            pre,
            exports,
            fuel_metering: self.config.fuel_metering,
            network,
            http: Arc::new(http),
            pool_share: self.pool_slots.share(policy_min_pool_slots),
            concurrency,
            cache,
            _ticker: Arc::clone(&self.ticker),
        };
        loaded.served = loaded.list_served().await?;
        Ok(loaded)
    }
}

impl ToolComponent {
    /// The component's name, as configured.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tools the component declared at load.
    pub fn tools(&self) -> &[ToolInfo] {
        &self.served.tools
    }

    /// The resources at fixed URIs the component listed at load.
    pub fn resources(&self) -> &[ResourceInfo] {
        &self.served.resources
    }

    /// The resource templates the component listed at load.
    pub fn resource_templates(&self) -> &[ResourceTemplateInfo] {
        &self.served.templates
    }

    /// The prompts the component listed at load.
    pub fn prompts(&self) -> &[PromptInfo] {
        &self.served.prompts
    }

    /// Whether the component completes prompt arguments and template
    /// variables: it exports `completion` and serves a prompt or template
    /// to complete.
    pub fn completes(&self) -> bool {
        self.exports.completion.is_some()
            && !(self.served.prompts.is_empty() && self.served.templates.is_empty())
    }

    /// The `warden:tool` interfaces the component exports, e.g.
    /// `["tool", "resources"]`.
    pub fn exported_interfaces(&self) -> Vec<&'static str> {
        self.exports.names()
    }

    /// The policy the component runs under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether the compiled artifact came from the cache.
    pub fn loaded_from_cache(&self) -> bool {
        self.cache == CacheOutcome::Hit
    }

    /// Calls that are running now (concurrency slots taken).
    pub fn in_flight(&self) -> u32 {
        let free = self.concurrency.available_permits();
        (self.policy.limits.max_concurrency.max(1) as usize).saturating_sub(free) as u32
    }

    /// Runs tool `tool` with `arguments` (a JSON object as text, already
    /// validated against the tool's input schema) in a fresh instance.
    pub async fn call(
        &self,
        tool: &str,
        arguments: &str,
        events: Arc<dyn CallEvents>,
    ) -> Result<CallOutput, CallError> {
        self.call_within(tool, arguments, events, self.policy.limits.timeout_ms)
            .await
    }

    /// As [`call`](Self::call), with a wall-clock budget of `timeout_ms`
    /// instead of the policy's (a long call the embedder allows); every
    /// other limit is the policy's.
    pub async fn call_within(
        &self,
        tool: &str,
        arguments: &str,
        events: Arc<dyn CallEvents>,
        timeout_ms: u64,
    ) -> Result<CallOutput, CallError> {
        let (Some(info), Some(indices)) = (
            self.served.tools.iter().find(|info| info.name == tool),
            self.exports.tool.clone(),
        ) else {
            return Err(CallError::UnknownTool {
                subject: Subject::new("tool", tool).to_string(),
            });
        };
        let subject = Subject::new("tool", info.name.as_str());
        let _slots = self.acquire_slots(&subject).await?;
        let limits = Limits {
            timeout_ms,
            ..self.policy.limits.clone()
        };
        let (output, usage) = self
            .run(&limits, &subject, events, |store, instance| {
                let tool = Arc::clone(&subject.name);
                let arguments = arguments.to_owned();
                Box::pin(async move {
                    let guest = indices.load(&mut *store, &instance)?;
                    guest.call_call_tool(store, &tool, &arguments).await
                })
            })
            .await?;
        let result = CallResult::from(output);
        self.check_output(&subject, result.payload_bytes())?;
        Ok(CallOutput { result, usage })
    }

    /// Refuses a result of `actual_bytes` over the component's
    /// `max_output_bytes`.
    pub(crate) fn check_output(
        &self,
        subject: &Subject,
        actual_bytes: u64,
    ) -> Result<(), CallError> {
        let limit_bytes = self.policy.limits.max_output_bytes;
        if actual_bytes > limit_bytes {
            return Err(CallError::OutputTooLarge {
                subject: subject.to_string(),
                limit_bytes,
                actual_bytes,
            });
        }
        Ok(())
    }

    /// Creates an instance exactly as a call does (slots, store, WASI
    /// context, limits) and drops it without running any guest code: what
    /// every call pays before its tool starts.
    pub async fn instantiate(&self) -> Result<CallUsage, CallError> {
        let subject = Subject::new("instantiation of", self.name.as_str());
        let _slots = self.acquire_slots(&subject).await?;
        let ((), usage) = self
            .run(&self.policy.limits, &subject, Arc::new(NoEvents), |_, _| {
                Box::pin(async { Ok(()) })
            })
            .await?;
        Ok(usage)
    }

    /// Takes a concurrency slot of this component, then an instance-pool
    /// slot, each within the queue timeout.
    pub(crate) async fn acquire_slots(
        &self,
        subject: &Subject,
    ) -> Result<(OwnedSemaphorePermit, PoolSlot), CallError> {
        let wait = Duration::from_millis(self.policy.limits.queue_timeout_ms);
        let busy = |detail: String| CallError::Busy {
            subject: subject.to_string(),
            detail,
        };
        let concurrency = acquire_within(&self.concurrency, wait)
            .await
            .ok_or_else(|| {
                busy(format!(
                    "all {} concurrent call slots stayed taken for {} ms",
                    self.policy.limits.max_concurrency, self.policy.limits.queue_timeout_ms
                ))
            })?;
        let pool = self.pool_share.acquire(wait).await.ok_or_else(|| {
            busy(format!(
                "no instance-pool slot came free for it within {} ms (the pool is full, \
                 or what is free is kept for other components' min_pool_slots)",
                self.policy.limits.queue_timeout_ms
            ))
        })?;
        Ok((concurrency, pool))
    }
}

/// The interface whose `symlink-at` wasmtime-wasi links.
const WASI_FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Replaces WASI's `symlink-at` with a refusal (`not-permitted`). The
/// sandbox never follows a link out of a granted directory, but a link a
/// guest planted there (`x -> ../../..`) would be followed by host
/// processes and by components whose grant includes the parent; a guest
/// cannot create symbolic links at all.
fn refuse_symlink_creation(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::bindings::filesystem::types::{Descriptor, ErrorCode};
    linker.allow_shadowing(true);
    let defined = linker
        .instance(WASI_FILESYSTEM_TYPES)
        .and_then(|mut types| {
            types.func_wrap(
                "[method]descriptor.symlink-at",
                |_, (_, _, _): (Resource<Descriptor>, String, String)| {
                    Ok((Err::<(), ErrorCode>(ErrorCode::NotPermitted),))
                },
            )
        });
    linker.allow_shadowing(false);
    defined
}

/// What is wrong with a file's first eight bytes, when they are not a
/// component's preamble: said in one line, before wasmtime's parser gives
/// a longer and vaguer account.
/// The first 8 bytes of the file at `path` (fewer if it is shorter): what
/// [`preamble_problem`] reads.
fn read_header(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut header = Vec::with_capacity(8);
    std::fs::File::open(path)?
        .take(8)
        .read_to_end(&mut header)?;
    Ok(header)
}

fn preamble_problem(wasm: &[u8]) -> Option<&'static str> {
    const MAGIC: &[u8; 4] = b"\0asm";
    // Version 0x0d, layer 1: the component model's binary format.
    const COMPONENT: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
    const CORE_MODULE: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
    if wasm.len() < 8 {
        return Some("not a WebAssembly component (the file is shorter than a wasm header)");
    }
    if &wasm[..4] != MAGIC {
        return Some("not a WebAssembly component (bad magic number)");
    }
    match &wasm[4..8] {
        version if version == COMPONENT => None,
        version if version == CORE_MODULE => Some(
            "a core WebAssembly module, not a component (build for wasm32-wasip2, or wrap it with `wasm-tools component new`)",
        ),
        _ => Some("not a WebAssembly component (unknown binary version or layer)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_component_is_named_in_one_line() {
        assert_eq!(
            preamble_problem(b"\x7fELF\x02\x01\x01\0\0\0"),
            Some("not a WebAssembly component (bad magic number)")
        );
        assert!(preamble_problem(b"\0asm").is_some_and(|problem| problem.contains("shorter")));
        assert!(
            preamble_problem(b"\0asm\x01\0\0\0").is_some_and(|problem| problem.contains("core"))
        );
        assert_eq!(preamble_problem(b"\0asm\x0d\0\x01\0rest"), None);
    }
}

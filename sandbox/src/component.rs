//! Loading a component once and running each call in a fresh instance.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::bindings::{self, ToolComponentPre};
use crate::cache::{self, CacheOutcome};
use crate::client::{CallClock, Suspended};
use crate::engine::{EPOCH_TICK, Sandbox, Ticker};
use crate::error::{CallError, LoadError};
use crate::events::{CallEvents, NoEvents};
use crate::host::{CallState, ClientRequestLimits, LogLimitExceeded, MessageBytesExceeded};
use crate::limiter::CallLimiter;
use crate::name_lookup::{self, NetworkGrant};
use crate::outbound::{self, CallOutbound, OutboundGrant, OutboundUsage, RequestLimitExceeded};
use crate::output::CapturedOutput;
use crate::policy::{DirMode, Limits, Policy};
use crate::pool::{PoolShare, PoolSlot};
use crate::tool::{CallResult, ToolInfo};

/// A loaded component: compiled, linked, its tools listed and checked.
/// Cheap to share behind an `Arc`; every [`call`](Self::call) gets a fresh
/// instance.
pub struct ToolComponent {
    name: String,
    tools: Vec<ToolInfo>,
    policy: Policy,
    engine: Engine,
    pre: ToolComponentPre<CallState>,
    fuel_metering: bool,
    /// What the guest may reach over TCP, and the names it may look up.
    network: Arc<NetworkGrant>,
    /// What the guest may reach over HTTP.
    http: Arc<OutboundGrant>,
    /// This component's claim on the sandbox's instance pool.
    pool_share: PoolShare,
    concurrency: Arc<Semaphore>,
    cache: CacheOutcome,
    /// Keeps the epoch ticker running while this component can run calls.
    _ticker: Arc<Ticker>,
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
    /// the cached artifact), links WASI and the host imports, lists its tools
    /// in a throwaway instance and checks them.
    pub async fn load(
        &self,
        name: &str,
        path: &Path,
        policy: Policy,
    ) -> Result<ToolComponent, LoadError> {
        let wasm = std::fs::read(path).map_err(|source| LoadError::Read {
            component: name.to_owned(),
            path: path.to_owned(),
            source,
        })?;
        if let Some(reason) = preamble_problem(&wasm) {
            return Err(LoadError::Compile {
                component: name.to_owned(),
                path: path.to_owned(),
                reason: reason.to_owned(),
            });
        }
        let engine = self.engine.clone();
        let cache_dir = self.config.cache_dir.clone();
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
        bindings::ToolComponent::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)
            .map_err(link_error)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(link_error)?;
        let pre = ToolComponentPre::new(instance_pre).map_err(link_error)?;

        let concurrency = Arc::new(Semaphore::new(policy.limits.max_concurrency.max(1) as usize));
        let policy_min_pool_slots = policy.limits.min_pool_slots;
        let mut loaded = ToolComponent {
            name: name.to_owned(),
            tools: Vec::new(),
            policy,
            engine: self.engine.clone(),
            pre,
            fuel_metering: self.config.fuel_metering,
            network,
            http: Arc::new(http),
            pool_share: self.pool_slots.share(policy_min_pool_slots),
            concurrency,
            cache,
            _ticker: Arc::clone(&self.ticker),
        };
        loaded.tools = loaded.list_tools().await?;
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
        &self.tools
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
        let Some(info) = self.tools.iter().find(|info| info.name == tool) else {
            return Err(CallError::UnknownTool {
                tool: tool.to_owned(),
            });
        };
        let tool: Arc<str> = Arc::from(info.name.as_str());
        let _slots = self.acquire_slots(&tool).await?;
        let (output, usage) = self
            .run(
                &self.policy.limits,
                Arc::clone(&tool),
                events,
                |store, instance| {
                    let tool = Arc::clone(&tool);
                    let arguments = arguments.to_owned();
                    Box::pin(async move {
                        instance
                            .warden_tool_tool()
                            .call_call_tool(store, &tool, &arguments)
                            .await
                    })
                },
            )
            .await?;
        let result = CallResult::from(output);
        let limit_bytes = self.policy.limits.max_output_bytes;
        let actual_bytes = result.payload_bytes();
        if actual_bytes > limit_bytes {
            return Err(CallError::OutputTooLarge {
                tool: tool.to_string(),
                limit_bytes,
                actual_bytes,
            });
        }
        Ok(CallOutput { result, usage })
    }

    /// Creates an instance exactly as a call does (slots, store, WASI
    /// context, limits) and drops it without running any guest code: what
    /// every call pays before its tool starts.
    pub async fn instantiate(&self) -> Result<CallUsage, CallError> {
        let label: Arc<str> = Arc::from(format!("{}/instantiate", self.name));
        let _slots = self.acquire_slots(&label).await?;
        let ((), usage) = self
            .run(&self.policy.limits, label, Arc::new(NoEvents), |_, _| {
                Box::pin(async { Ok(()) })
            })
            .await?;
        Ok(usage)
    }

    async fn list_tools(&self) -> Result<Vec<ToolInfo>, LoadError> {
        let label: Arc<str> = Arc::from(format!("{}/list-tools", self.name));
        let list_error = |reason: String| LoadError::ListTools {
            component: self.name.clone(),
            reason,
        };
        let _slots = self
            .acquire_slots(&label)
            .await
            .map_err(|error| list_error(error.to_string()))?;
        // Loading has its own budget: tight per-call limits must not keep a
        // component with many tools from loading.
        let budget = self.policy.limits.for_loading();
        let (declared, _) = self
            .run(
                &budget,
                Arc::clone(&label),
                Arc::new(NoEvents),
                |store, instance| {
                    Box::pin(
                        async move { instance.warden_tool_tool().call_list_tools(store).await },
                    )
                },
            )
            .await
            .map_err(|error| list_error(error.to_string()))?;
        crate::tool::check_declared(
            &self.name,
            declared.into_iter().map(ToolInfo::from).collect(),
        )
    }

    /// Takes a concurrency slot of this component, then an instance-pool
    /// slot, each within the queue timeout.
    async fn acquire_slots(
        &self,
        tool: &str,
    ) -> Result<(OwnedSemaphorePermit, PoolSlot), CallError> {
        let wait = Duration::from_millis(self.policy.limits.queue_timeout_ms);
        let busy = |detail: String| CallError::Busy {
            tool: tool.to_owned(),
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

    /// Creates a store and instance under the policy, runs `body` on it and
    /// classifies any failure. The store is dropped before returning.
    async fn run<R>(
        &self,
        limits: &Limits,
        tool: Arc<str>,
        events: Arc<dyn CallEvents>,
        body: impl for<'a> FnOnce(
            &'a mut Store<CallState>,
            bindings::ToolComponent,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>,
        >,
    ) -> Result<(R, CallUsage), CallError> {
        let stdout = CapturedOutput::new(limits.max_output_bytes);
        let stderr = CapturedOutput::new(limits.max_output_bytes);
        let wasi = self
            .wasi_context(&tool, &stdout, &stderr)
            .map_err(|message| CallError::Host {
                tool: tool.to_string(),
                message,
            })?;
        let timeout = Duration::from_millis(limits.timeout_ms);
        let started = Instant::now();
        let clock = Arc::new(CallClock::new(started, timeout));
        let mut store = Store::new(
            &self.engine,
            CallState {
                wasi,
                table: ResourceTable::new(),
                limiter: CallLimiter::new(limits.max_memory_bytes),
                tool: Arc::clone(&tool),
                events: Arc::clone(&events),
                max_log_messages: limits.max_log_messages,
                log_messages: 0,
                log_limit_hit: false,
                max_message_bytes: limits.max_output_bytes,
                message_bytes: 0,
                message_bytes_hit: false,
                last_progress: None,
                clock: Arc::clone(&clock),
                client: ClientRequestLimits {
                    max_requests: limits.max_client_requests,
                    max_request_bytes: limits.max_output_bytes,
                    timeout: Duration::from_millis(limits.client_request_timeout_ms),
                },
                client_requests: 0,
                suspended: false,
                http: wasmtime_wasi_http::WasiHttpCtx::new(),
                outbound: CallOutbound::new(
                    Arc::clone(&self.http),
                    Arc::clone(&events),
                    Arc::clone(&tool),
                ),
            },
        );
        store.limiter(|state| &mut state.limiter);
        let fuel_budget = if self.fuel_metering {
            let budget = limits.fuel.unwrap_or(u64::MAX);
            // Compiled code keeps its fuel count in a register and writes it
            // back only at calls and when the injected fuel runs out; epoch
            // interruptions do not write it. Injecting the budget in slices
            // makes the store's count (what a failed call reports too)
            // accurate to one slice, and yields to the runtime between them.
            store
                .set_fuel(budget)
                .and_then(|()| store.fuel_async_yield_interval(Some(FUEL_SLICE)))
                .map_err(|error| CallError::Host {
                    tool: tool.to_string(),
                    message: format!("{error:#}"),
                })?;
            Some(budget)
        } else {
            None
        };
        store.set_epoch_deadline(1);
        let epoch_clock = Arc::clone(&clock);
        store.epoch_deadline_callback(move |_| {
            // The guest runs wasm here, so the clock is running.
            if epoch_clock
                .deadline()
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });

        let pre = self.pre.clone();
        let mut instantiation = Duration::ZERO;
        let outcome = {
            let store = &mut store;
            let instantiation = &mut instantiation;
            let running = async move {
                let instance = pre.instantiate_async(&mut *store).await?;
                *instantiation = started.elapsed();
                body(store, instance).await
            };
            // Epochs stop a guest running wasm; this outer timer also stops
            // one blocked inside a host call, where epochs cannot reach it.
            tokio::select! {
                outcome = running => Some(outcome),
                () = clock.expired(2 * EPOCH_TICK) => None,
            }
        };

        let (stdout_text, stdout_dropped) = stdout.contents();
        let (stderr_text, stderr_dropped) = stderr.contents();
        let usage = CallUsage {
            duration: started.elapsed(),
            instantiation,
            fuel_consumed: fuel_budget
                .and_then(|budget| Some(budget.saturating_sub(store.get_fuel().ok()?))),
            peak_memory_bytes: store.data().limiter.peak_memory_bytes(),
            stdout: stdout_text,
            stderr: stderr_text,
            dropped_output_bytes: stdout_dropped + stderr_dropped,
            outbound: store.data().outbound.usage(),
        };
        events.finished(&tool, &usage);
        match outcome {
            Some(Ok(value)) => Ok((value, usage)),
            Some(Err(error)) => Err(classify(limits, &tool, error, store.data(), &usage)),
            None => Err(CallError::Timeout {
                tool: tool.to_string(),
                limit_ms: limits.timeout_ms,
            }),
        }
    }
}

/// Turns a failed call under `limits` into the specific error a client
/// should see.
fn classify(
    limits: &Limits,
    tool: &str,
    error: wasmtime::Error,
    state: &CallState,
    usage: &CallUsage,
) -> CallError {
    let tool = tool.to_owned();
    if state.log_limit_hit || error.is::<LogLimitExceeded>() {
        return CallError::LogLimitExceeded {
            tool,
            limit: limits.max_log_messages,
        };
    }
    if state.message_bytes_hit || error.is::<MessageBytesExceeded>() {
        return CallError::MessageBytesExceeded {
            tool,
            limit_bytes: limits.max_output_bytes,
        };
    }
    if state.outbound.limit_hit || error.is::<RequestLimitExceeded>() {
        return CallError::HttpRequestLimit {
            tool,
            limit: state.outbound.max_requests_per_call(),
        };
    }
    if state.suspended || error.is::<Suspended>() {
        return CallError::AwaitingClient { tool };
    }
    if state.limiter.memory_refused() {
        // A refused grow is what the guest saw, not necessarily why it
        // stopped: a panic after it is reported as the panic.
        return match panic_message(&usage.stderr) {
            Some(panic) => CallError::Trap {
                tool,
                message: format!(
                    "{panic} (after a memory.grow past its limit of {} bytes was refused)",
                    limits.max_memory_bytes
                ),
            },
            None => CallError::MemoryLimit {
                tool,
                limit_bytes: limits.max_memory_bytes,
            },
        };
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return CallError::Exited {
            tool,
            status: exit.0,
        };
    }
    // The wasm backtrace wasmtime attaches is for whoever debugs the tool,
    // not for the client: at debug level only.
    tracing::debug!(tool = %tool, error = ?error, "call failed");
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallError::OutOfFuel {
            tool,
            limit: limits.fuel.unwrap_or(u64::MAX),
        },
        Some(Trap::Interrupt) => CallError::Timeout {
            tool,
            limit_ms: limits.timeout_ms,
        },
        Some(Trap::StackOverflow) => CallError::StackOverflow { tool },
        Some(trap) => CallError::Trap {
            tool,
            message: panic_message(&usage.stderr).unwrap_or_else(|| trap.to_string()),
        },
        None => CallError::Trap {
            tool,
            message: panic_message(&usage.stderr).unwrap_or_else(|| error.root_cause().to_string()),
        },
    }
}

impl ToolComponent {
    /// A WASI context granting exactly what the policy lists.
    fn wasi_context(
        &self,
        tool: &Arc<str>,
        stdout: &CapturedOutput,
        stderr: &CapturedOutput,
    ) -> Result<WasiCtx, String> {
        let capabilities = &self.policy.capabilities;
        let mut builder = WasiCtxBuilder::new();
        builder.stdout(stdout.clone()).stderr(stderr.clone());
        for (key, value) in &capabilities.env {
            builder.env(key, value);
        }
        for dir in &capabilities.dirs {
            let perms = match dir.mode {
                DirMode::ReadOnly => FsPerms::ReadOnly,
                DirMode::ReadWrite => FsPerms::ReadWrite,
            };
            builder
                .preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|error| {
                    format!("cannot open directory {}: {error:#}", dir.host.display())
                })?;
        }
        if !self.network.is_empty() {
            let network = Arc::clone(&self.network);
            let tool = Arc::clone(tool);
            // Names are answered by `name_lookup` from the grant; WASI's own
            // lookup, which asks the host's resolver, stays off.
            builder
                .allow_tcp(true)
                .allow_ip_name_lookup(false)
                .socket_addr_check(move |addr, use_| {
                    let permitted = match use_ {
                        SocketAddrUse::TcpConnect => network.addresses.contains(&addr),
                        // Connecting binds implicitly to the wildcard address.
                        SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                        _ => false,
                    };
                    if !permitted {
                        tracing::warn!(tool = %tool, %addr, ?use_, "denied a socket address the policy does not list");
                    }
                    Box::pin(async move { permitted })
                });
        }
        Ok(builder.build())
    }
}

async fn acquire_within(
    semaphore: &Arc<Semaphore>,
    wait: Duration,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(semaphore).try_acquire_owned() {
        return Some(permit);
    }
    tokio::time::timeout(wait, Arc::clone(semaphore).acquire_owned())
        .await
        .ok()?
        .ok()
}

/// The message of a Rust guest's panic, from what its panic hook printed:
/// `thread '…' panicked at src/lib.rs:1:2:\n<message>\nnote: …`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at ")?;
    let after = &stderr[start..];
    let mut lines = after.lines();
    let location = lines
        .next()?
        .trim_start_matches("panicked at ")
        .trim_end_matches(':');
    let message: Vec<&str> = lines
        .take_while(|line| !line.starts_with("note: "))
        .collect();
    let message = message.join("\n");
    let message = message.trim();
    Some(if message.is_empty() {
        format!("panicked at {location}")
    } else {
        format!("panicked at {location}: {message}")
    })
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

    #[test]
    fn extracts_a_rust_panic_message() {
        let stderr = "thread '<unnamed>' panicked at src/lib.rs:12:5:\nthe tool gave up\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:12:5: the tool gave up")
        );
        assert_eq!(panic_message("nothing here"), None);
    }
}

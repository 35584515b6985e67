//! The process-wide wasm engine: pooling allocator, epoch ticker, instance
//! slots and the compiled-artifact cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::SandboxError;
use crate::pool::PoolSlots;

/// How often the epoch advances. A running guest checks its deadline and
/// yields to other tasks once per tick, so this bounds both timeout
/// precision and how long one busy tool can hold a worker thread.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Core instances, memories and tables one component may use, and (times
/// the pool's instances) the pool's totals. Measured: a Rust `wasm32-wasip2`
/// component instantiates 3 core modules, a JavaScript one from
/// componentize-js 4, a Python one from componentize-py 14 (CPython, libc
/// and the runtime are linked as separate shared libraries, and a package
/// with native code adds its own); all three fit within 2 memories and 8
/// tables. Core instances are only counted by the pool (their metadata is
/// allocated as each instance needs it), so a high cap costs the Rust tools
/// nothing; memories and tables are slots reserved up front, one size for
/// all (wasmtime's pool has no per-component slot size), so those caps stay
/// at what the toolchains use.
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;
const MEMORIES_PER_COMPONENT: u32 = 2;
const TABLES_PER_COMPONENT: u32 = 8;

/// Stack for the guest's wasm frames; must stay below the fiber stack.
const MAX_WASM_STACK_BYTES: usize = 512 << 10;
const ASYNC_STACK_BYTES: usize = 2 << 20;

/// Default [`SandboxConfig::keep_resident_bytes`]: what an interpreter's
/// call dirties (a Python call about 1 to 2 MiB: with 1 MiB kept,
/// `stats.describe` took 1.03 ms, with 2 MiB 0.80 ms). A Rust tool's call
/// dirties far less, and only dirtied pages are kept, so it costs them
/// nothing.
pub const DEFAULT_KEEP_RESIDENT_BYTES: u64 = 2 << 20;

/// Where instances get their memories, tables and stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstanceAllocation {
    /// Slots reserved once when the engine is built and reset for reuse
    /// after each call: the fast path.
    #[default]
    Pooling,
    /// Fresh mappings for every instance, returned to the kernel when the
    /// call ends: nothing reserved or kept resident between calls, at the
    /// price of system calls and page faults on every instantiation.
    OnDemand,
}

/// How the engine is built. Fixed for the life of a [`Sandbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Instances that may exist at once, across all components. Each takes
    /// a slot of the pooling allocator, including a virtual reservation of
    /// about 4 GiB per memory (address space, not resident memory).
    pub pool_instances: u32,
    /// The largest linear memory any component may use, in bytes: the size
    /// of a pool memory slot's usable part.
    pub max_memory_bytes: u64,
    /// Count fuel in compiled code. Needed when any policy sets a fuel
    /// budget; costs some speed for every component.
    pub fuel_metering: bool,
    /// Where compiled components are cached between runs; `None` compiles
    /// every time.
    pub cache_dir: Option<PathBuf>,
    /// Pooling (the default) or on-demand allocation.
    pub allocation: InstanceAllocation,
    /// Of each pool slot's linear memory, the bytes that stay resident
    /// between calls: the pages a call dirtied there are reset in place
    /// instead of being handed back to the kernel and faulted in again by
    /// the next call. Costs up to this much resident memory per slot that
    /// has been used; beyond it, memory is released as usual.
    pub keep_resident_bytes: u64,
}

impl Default for SandboxConfig {
    /// 64 pooled instances, 64 MiB memories, no fuel metering, no cache,
    /// [`DEFAULT_KEEP_RESIDENT_BYTES`] kept resident per slot.
    fn default() -> Self {
        Self {
            pool_instances: 64,
            max_memory_bytes: 64 << 20,
            fuel_metering: false,
            cache_dir: None,
            allocation: InstanceAllocation::Pooling,
            keep_resident_bytes: DEFAULT_KEEP_RESIDENT_BYTES,
        }
    }
}

/// Instance-pool usage at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Slots in the pool.
    pub capacity: u32,
    /// Slots taken by running calls.
    pub in_use: u32,
}

/// Owns the engine and everything shared by all components.
pub struct Sandbox {
    pub(crate) engine: Engine,
    /// What the engine was built from.
    pub(crate) config: SandboxConfig,
    pub(crate) pool_slots: Arc<PoolSlots>,
    pool_capacity: u32,
    /// Shared with every loaded component: a component outliving its
    /// `Sandbox` (a call still running on a catalog that was swapped out)
    /// keeps the ticker, and with it its deadlines, alive.
    pub(crate) ticker: Arc<Ticker>,
}

impl Sandbox {
    /// Builds the engine and starts the epoch ticker thread.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        let pool_instances = config.pool_instances.max(1);
        let keep_resident = usize::try_from(config.keep_resident_bytes).unwrap_or(usize::MAX);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(pool_instances)
            .total_core_instances(pool_instances.saturating_mul(CORE_INSTANCES_PER_COMPONENT))
            .total_memories(pool_instances.saturating_mul(MEMORIES_PER_COMPONENT))
            .total_tables(pool_instances.saturating_mul(TABLES_PER_COMPONENT))
            .total_stacks(pool_instances)
            .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
            .max_memories_per_component(MEMORIES_PER_COMPONENT)
            .max_tables_per_component(TABLES_PER_COMPONENT)
            .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(keep_resident)
            .table_keep_resident(keep_resident)
            // Where the kernel can say which pages a call dirtied (Linux
            // 6.7 and later), only those are reset.
            .pagemap_scan(Enabled::Auto);
        let allocation = match config.allocation {
            InstanceAllocation::Pooling => InstanceAllocationStrategy::Pooling(pool),
            InstanceAllocation::OnDemand => InstanceAllocationStrategy::OnDemand,
        };

        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(config.fuel_metering)
            .max_wasm_stack(MAX_WASM_STACK_BYTES)
            .async_stack_size(ASYNC_STACK_BYTES)
            .memory_init_cow(true)
            .allocation_strategy(allocation);
        let engine = Engine::new(&wasm).map_err(SandboxError::Engine)?;

        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir).map_err(|source| SandboxError::CacheDir {
                path: dir.clone(),
                source,
            })?;
        }
        let ticker = Ticker::start(engine.clone()).map_err(SandboxError::Ticker)?;
        Ok(Self {
            engine,
            config,
            pool_slots: PoolSlots::new(pool_instances),
            pool_capacity: pool_instances,
            ticker: Arc::new(ticker),
        })
    }

    /// The settings this sandbox was built from.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// How many instance slots exist and how many are taken now.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            capacity: self.pool_capacity,
            in_use: self.pool_slots.in_use(),
        }
    }

    /// The artifact cache directory, if any.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.config.cache_dir.as_deref()
    }
}

/// An OS thread that advances the engine's epoch every [`EPOCH_TICK`]. A
/// tokio task would stall whenever the runtime's workers are all busy
/// running guests, which is exactly when the deadline matters.
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("warden-epoch".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread only sleeps and increments; it cannot panic.
            let _ = thread.join();
        }
    }
}

//! One run: a fresh store and instance under a component's limits and
//! capabilities, the guest's work on it, and a specific error for every way
//! it can fail.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::{Instance, ResourceTable};
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::client::{CallClock, Suspended};
use crate::component::{CallUsage, FUEL_SLICE, ToolComponent};
use crate::engine::EPOCH_TICK;
use crate::error::CallError;
use crate::events::CallEvents;
use crate::host::{CallState, ClientRequestLimits, LogLimitExceeded, MessageBytesExceeded};
use crate::limiter::CallLimiter;
use crate::outbound::{CallOutbound, RequestLimitExceeded};
use crate::output::CapturedOutput;
use crate::policy::{DirMode, Limits};

/// What a run is for, as errors name it: ``tool `text.count` ``,
/// ``resource `file:///data/a.txt` ``, ``prompt `review` ``.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `tool`, `resource`, `prompt`, `completion for`, … .
    pub kind: &'static str,
    /// The tool's or prompt's name, the resource's URI; what the run's
    /// events are reported under.
    pub name: Arc<str>,
}

impl Subject {
    /// A run of `kind` for `name`.
    pub fn new(kind: &'static str, name: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`", self.kind, self.name)
    }
}

/// The guest's work in one run, given the store and the fresh instance.
pub(crate) type RunBody<'a, R> =
    std::pin::Pin<Box<dyn std::future::Future<Output = wasmtime::Result<R>> + Send + 'a>>;

impl ToolComponent {
    /// Creates a store and instance under the policy, runs `body` on it and
    /// classifies any failure. The store is dropped before returning.
    pub(crate) async fn run<R>(
        &self,
        limits: &Limits,
        subject: &Subject,
        events: Arc<dyn CallEvents>,
        body: impl for<'a> FnOnce(&'a mut Store<CallState>, Instance) -> RunBody<'a, R>,
    ) -> Result<(R, CallUsage), CallError> {
        let tool = &subject.name;
        let stdout = CapturedOutput::new(limits.max_output_bytes);
        let stderr = CapturedOutput::new(limits.max_output_bytes);
        let wasi = self
            .wasi_context(tool, &stdout, &stderr)
            .map_err(|message| CallError::Host {
                subject: subject.to_string(),
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
                tool: Arc::clone(tool),
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
                    Arc::clone(tool),
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
                    subject: subject.to_string(),
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
        events.finished(tool, &usage);
        match outcome {
            Some(Ok(value)) => Ok((value, usage)),
            Some(Err(error)) => Err(classify(limits, subject, error, store.data(), &usage)),
            None => Err(CallError::Timeout {
                subject: subject.to_string(),
                limit_ms: limits.timeout_ms,
            }),
        }
    }
}

/// Turns a failed call under `limits` into the specific error a client
/// should see.
fn classify(
    limits: &Limits,
    subject: &Subject,
    error: wasmtime::Error,
    state: &CallState,
    usage: &CallUsage,
) -> CallError {
    let subject = subject.to_string();
    if state.log_limit_hit || error.is::<LogLimitExceeded>() {
        return CallError::LogLimitExceeded {
            subject,
            limit: limits.max_log_messages,
        };
    }
    if state.message_bytes_hit || error.is::<MessageBytesExceeded>() {
        return CallError::MessageBytesExceeded {
            subject,
            limit_bytes: limits.max_output_bytes,
        };
    }
    if state.outbound.limit_hit || error.is::<RequestLimitExceeded>() {
        return CallError::HttpRequestLimit {
            subject,
            limit: state.outbound.max_requests_per_call(),
        };
    }
    if state.suspended || error.is::<Suspended>() {
        return CallError::AwaitingClient { subject };
    }
    if state.limiter.memory_refused() {
        // A refused grow is what the guest saw, not necessarily why it
        // stopped: a panic after it is reported as the panic.
        return match panic_message(&usage.stderr) {
            Some(panic) => CallError::Trap {
                subject,
                message: format!(
                    "{panic} (after a memory.grow past its limit of {} bytes was refused)",
                    limits.max_memory_bytes
                ),
            },
            None => CallError::MemoryLimit {
                subject,
                limit_bytes: limits.max_memory_bytes,
            },
        };
    }
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return CallError::Exited {
            subject,
            status: exit.0,
        };
    }
    // The wasm backtrace wasmtime attaches is for whoever debugs the subject,
    // not for the client: at debug level only.
    tracing::debug!(subject = %subject, error = ?error, "call failed");
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallError::OutOfFuel {
            subject,
            limit: limits.fuel.unwrap_or(u64::MAX),
        },
        Some(Trap::Interrupt) => CallError::Timeout {
            subject,
            limit_ms: limits.timeout_ms,
        },
        Some(Trap::StackOverflow) => CallError::StackOverflow { subject },
        Some(trap) => CallError::Trap {
            subject,
            message: panic_message(&usage.stderr).unwrap_or_else(|| trap.to_string()),
        },
        None => CallError::Trap {
            subject,
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

pub(crate) async fn acquire_within(
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

#[cfg(test)]
mod tests {
    use super::*;

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

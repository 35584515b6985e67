//! Per-call store state and the host side of the `warden:tool/host` imports.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::warden::tool::{host, types};
use crate::events::{CallEvents, LogLevel};
use crate::limiter::CallLimiter;

/// Everything one call's `Store` owns. Dropped with the store at the end of
/// the call, so nothing carries over to the next.
pub(crate) struct CallState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) tool: Arc<str>,
    pub(crate) events: Arc<dyn CallEvents>,
    pub(crate) max_log_messages: u32,
    pub(crate) log_messages: u32,
    pub(crate) log_limit_hit: bool,
    pub(crate) last_progress: Option<f64>,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Raised from the `log` import when a call logs past its limit; recognised
/// by the call path and reported as `log_limit_exceeded`.
#[derive(Debug, thiserror::Error)]
#[error("log message limit exceeded")]
pub(crate) struct LogLimitExceeded;

impl types::Host for CallState {}

impl host::Host for CallState {
    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        if self.log_messages >= self.max_log_messages {
            self.log_limit_hit = true;
            return Err(LogLimitExceeded.into());
        }
        self.log_messages += 1;
        self.events.log(&self.tool, level.into(), &message);
        Ok(())
    }

    fn progress(
        &mut self,
        done: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        // Progress must increase strictly; anything else (including NaN) is
        // dropped rather than forwarded.
        let increases = done.is_finite() && self.last_progress.is_none_or(|last| done > last);
        if increases {
            self.last_progress = Some(done);
            let total = total.filter(|total| total.is_finite());
            self.events
                .progress(&self.tool, done, total, message.as_deref());
        }
        Ok(())
    }
}

impl From<types::LogLevel> for LogLevel {
    fn from(level: types::LogLevel) -> Self {
        match level {
            types::LogLevel::Debug => Self::Debug,
            types::LogLevel::Info => Self::Info,
            types::LogLevel::Notice => Self::Notice,
            types::LogLevel::Warning => Self::Warning,
            types::LogLevel::Error => Self::Error,
            types::LogLevel::Critical => Self::Critical,
            types::LogLevel::Alert => Self::Alert,
            types::LogLevel::Emergency => Self::Emergency,
        }
    }
}

//! Per-call store state and the host side of the `warden:tool/host` imports.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::warden::tool::{host, types};
use crate::client::{
    CallClock, ClientReply, ClientRequest, ClientRequestError, ClientRequestKind, Suspended,
};
use crate::events::{CallEvents, LogLevel};
use crate::limiter::CallLimiter;
use crate::outbound::CallOutbound;

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
    /// Bytes of log and progress message text the call may send: what the
    /// gateway may have to hold for a client that reads slowly.
    pub(crate) max_message_bytes: u64,
    pub(crate) message_bytes: u64,
    pub(crate) message_bytes_hit: bool,
    pub(crate) last_progress: Option<f64>,
    pub(crate) clock: Arc<CallClock>,
    pub(crate) client: ClientRequestLimits,
    pub(crate) client_requests: u32,
    /// Set when the embedder suspended the call to wait for a later one.
    pub(crate) suspended: bool,
    pub(crate) http: WasiHttpCtx,
    /// The call's outbound HTTP: its grant, count and record.
    pub(crate) outbound: CallOutbound,
}

/// Bounds on one call's requests to the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientRequestLimits {
    pub(crate) max_requests: u32,
    pub(crate) max_request_bytes: u64,
    pub(crate) timeout: Duration,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// Raised from the `log` import when a call logs past its limit; recognised
/// by the call path and reported as `log_limit_exceeded`.
#[derive(Debug, thiserror::Error)]
#[error("log message limit exceeded")]
pub(crate) struct LogLimitExceeded;

/// Raised from the `log` and `progress` imports when a call's message text
/// passes its budget; reported as `log_limit_exceeded`.
#[derive(Debug, thiserror::Error)]
#[error("log and progress message bytes exceeded")]
pub(crate) struct MessageBytesExceeded;

impl types::Host for CallState {}

impl CallState {
    /// Counts `text` against the call's message budget; fails the call
    /// past it.
    fn spend_message_bytes(&mut self, text: &str) -> wasmtime::Result<()> {
        let spent = self.message_bytes.saturating_add(text.len() as u64);
        if spent > self.max_message_bytes {
            self.message_bytes_hit = true;
            return Err(MessageBytesExceeded.into());
        }
        self.message_bytes = spent;
        Ok(())
    }

    /// Sends a tool's requests to the client through the embedder, all at
    /// once, within the call's bounds, with the call's clock stopped while
    /// they wait.
    async fn send_to_client(
        &mut self,
        requests: Vec<types::ClientRequest>,
    ) -> wasmtime::Result<Vec<Result<String, types::ClientError>>> {
        let mut replies: Vec<Option<ClientReply>> = Vec::with_capacity(requests.len());
        let mut asked = Vec::new();
        for request in requests {
            let refusal = if self.client_requests >= self.client.max_requests {
                Some(format!(
                    "a call may make at most {} requests to the client",
                    self.client.max_requests
                ))
            } else if request.params.len() as u64 > self.client.max_request_bytes {
                Some(format!(
                    "the request is {} bytes, more than the limit of {} bytes",
                    request.params.len(),
                    self.client.max_request_bytes
                ))
            } else {
                None
            };
            if let Some(reason) = refusal {
                replies.push(Some(ClientReply::Failed(ClientRequestError::Invalid(
                    reason,
                ))));
                continue;
            }
            self.client_requests += 1;
            let request = ClientRequest {
                kind: request.kind.into(),
                params: request.params,
                key: request.key,
                optional: request.optional,
            };
            let timeout = self.client.timeout;
            let reply = self.events.client_request(&self.tool, request);
            asked.push((replies.len(), async move {
                tokio::time::timeout(timeout, reply)
                    .await
                    .unwrap_or_else(|_| {
                        ClientReply::Failed(ClientRequestError::Unavailable(format!(
                            "the client did not answer within {} ms",
                            timeout.as_millis()
                        )))
                    })
            }));
            replies.push(None);
        }
        let answered = {
            let _paused = self.clock.pause();
            futures::future::join_all(
                asked
                    .into_iter()
                    .map(|(index, reply)| async move { (index, reply.await) }),
            )
            .await
        };
        for (index, reply) in answered {
            replies[index] = Some(reply);
        }
        let mut results = Vec::with_capacity(replies.len());
        for reply in replies.into_iter().flatten() {
            match reply {
                ClientReply::Answered(answer) => results.push(Ok(answer)),
                ClientReply::Failed(error) => results.push(Err(error.into())),
                ClientReply::Suspend => {
                    self.suspended = true;
                    return Err(Suspended.into());
                }
            }
        }
        Ok(results)
    }
}

impl From<types::ClientRequestKind> for ClientRequestKind {
    fn from(kind: types::ClientRequestKind) -> Self {
        match kind {
            types::ClientRequestKind::Sample => Self::Sample,
            types::ClientRequestKind::Elicit => Self::Elicit,
            types::ClientRequestKind::ListRoots => Self::ListRoots,
        }
    }
}

impl From<ClientRequestError> for types::ClientError {
    fn from(error: ClientRequestError) -> Self {
        match error {
            ClientRequestError::Unsupported(reason) => Self::Unsupported(reason),
            ClientRequestError::Invalid(reason) => Self::Invalid(reason),
            ClientRequestError::Refused(reason) => Self::Refused(reason),
            ClientRequestError::Unavailable(reason) => Self::Unavailable(reason),
        }
    }
}

impl host::Host for CallState {
    fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
        if self.log_messages >= self.max_log_messages {
            self.log_limit_hit = true;
            return Err(LogLimitExceeded.into());
        }
        self.spend_message_bytes(&message)?;
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
        if let Some(message) = &message {
            self.spend_message_bytes(message)?;
        }
        let increases = done.is_finite() && self.last_progress.is_none_or(|last| done > last);
        if increases {
            self.last_progress = Some(done);
            let total = total.filter(|total| total.is_finite());
            self.events
                .progress(&self.tool, done, total, message.as_deref());
        }
        Ok(())
    }

    async fn ask_client(
        &mut self,
        requests: Vec<types::ClientRequest>,
    ) -> wasmtime::Result<Vec<Result<String, types::ClientError>>> {
        self.send_to_client(requests).await
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

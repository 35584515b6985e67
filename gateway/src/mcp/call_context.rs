//! What every request that runs a component carries: who makes it, under
//! which revision, and what bounds, cancels and records it besides the
//! component's own policy.

use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::client_requests::ClientAsker;
use super::error::{ErrorKind, McpError};
use super::notify::RequestNotifier;
use super::revision::Revision;
use crate::audit::{AuditLog, AuditSlot};
use crate::auth::Caller;
use crate::lifecycle::Lifecycle;
use crate::limits::{Limits, Refused};
use crate::outcome::{Reason, Rejection};
use crate::telemetry::metrics;

/// Who makes a call, under which revision, and what bounds and records it
/// besides the tool's own policy.
pub struct CallContext<'a> {
    /// The caller, for access rules and quotas.
    pub caller: &'a Caller,
    /// The session's revision.
    pub revision: Revision,
    /// Cancels the call when a drain deadline passes.
    pub lifecycle: &'a Lifecycle,
    /// The per-caller fuel budgets; `None` where none apply (`warden call`).
    pub limits: Option<Arc<Limits>>,
    /// Where the call's record goes, if anywhere.
    pub audit: Option<&'a AuditLog>,
    /// The JSON-RPC request id, for the audit record.
    pub request_id: Value,
    /// The session's log tag, for the audit record.
    pub session: Option<&'a str>,
    /// Where the tool's log messages and progress go while it runs; `None`:
    /// nowhere.
    pub notifier: Option<Arc<RequestNotifier>>,
    /// Cancelled when the client cancels the request; `None`: it cannot.
    pub cancelled: Option<CancellationToken>,
    /// Where the tool's requests to the client go; `None`: there is no
    /// client to ask (`warden call`).
    pub client: Option<Arc<ClientAsker>>,
    /// A wall-clock budget replacing the component's `timeout_ms` (a call
    /// run as a task); `None`: the component's.
    pub time_limit_ms: Option<u64>,
}

/// A quota that refuses a request now: what it is, for the message, and how
/// long until it would allow one.
pub struct QuotaRefusal {
    /// E.g. `5/s burst 5 per caller` or `fuel budget … per caller`.
    pub quota: String,
    /// At least a millisecond.
    pub wait: std::time::Duration,
}

impl CallContext<'_> {
    /// Takes one request of the caller from `rates`, then checks the
    /// caller's fuel budget: `Ok(Some(refusal))` (counted in the rejection
    /// metric) for the first that does not allow it now, `Ok(None)` to go
    /// ahead, `Err` when the shared store that keeps them does not answer
    /// and `[cluster] on_unavailable = "reject"`.
    pub async fn check_quotas(
        &self,
        rates: &crate::limits::ToolRates,
    ) -> Result<Option<QuotaRefusal>, McpError> {
        let caller = self.caller.name();
        let limits = self.limits.as_deref();
        let shared = limits.and_then(Limits::shared).map(AsRef::as_ref);
        let (refused, which) = match rates.check(caller, shared).await {
            Err(refused) => (refused, Rejection::ToolRate),
            Ok(()) => match limits {
                Some(limits) => match limits.check_fuel(caller).await {
                    Err(refused) => (refused, Rejection::CallerFuel),
                    Ok(()) => return Ok(None),
                },
                None => return Ok(None),
            },
        };
        match refused {
            Refused::Limited(limited) => {
                metrics::record_rejection(which);
                Ok(Some(QuotaRefusal {
                    quota: limited.quota,
                    wait: limited.wait.max(std::time::Duration::from_millis(1)),
                }))
            }
            Refused::Unavailable(error) => {
                metrics::record_rejection(Rejection::SharedStoreUnavailable);
                Err(McpError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "the quotas of this call are kept in the shared store, which is \
                         unavailable ({error}); retry later"
                    ),
                )
                .with_retry_after(std::time::Duration::from_secs(1))
                .with_reason(Reason::SharedStoreUnavailable))
            }
        }
    }

    /// The place of the request's audit record, taken before anything runs
    /// (a request that ran always has room for its record); `None` without
    /// an audit log. A full log that must not drop records refuses the
    /// request.
    pub fn reserve_audit(&self) -> Result<Option<AuditSlot>, McpError> {
        match self.audit.map(AuditLog::reserve).transpose() {
            Ok(slot) => Ok(slot.flatten()),
            Err(unavailable) => {
                metrics::record_rejection(Rejection::AuditUnavailable);
                Err(McpError::call_ended(
                    Reason::AuditUnavailable,
                    unavailable.to_string(),
                ))
            }
        }
    }
}

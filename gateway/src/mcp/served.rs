//! `resources/read`, `prompts/get` and `completion/complete` run a fresh
//! instance of a component, exactly like a tool call: under its limits and
//! capabilities, held to the caller's quotas, cancelled with the request or
//! a drain, logged, measured (by method and component) and audited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::Instrument as _;
use warden_sandbox::{CallError, CallEvents, CallUsage, ToolComponent};

use super::error::{ErrorKind, McpError};
use super::observer::CallObserver;
use super::tools::CallContext;
use crate::audit::{AuditRecord, PendingRecord, record};
use crate::config::ToolAuditConfig;
use crate::limits::ToolRates;
use crate::outcome::{Outcome, Reason};
use crate::telemetry::metrics;

/// What a served request is about, for its log line, metrics and audit
/// record.
pub struct Subject {
    /// `resources/read`, `prompts/get` or `completion/complete`.
    pub method: &'static str,
    /// The resource's URI (or the template completed), as the client named it.
    pub resource: Option<String>,
    /// The prompt's name, as the client named it.
    pub prompt: Option<String>,
    /// The request's arguments (a prompt's, a completion's), for the
    /// digest; `null` for a read.
    pub arguments: Value,
}

impl Subject {
    fn label(&self) -> &str {
        self.resource
            .as_deref()
            .or(self.prompt.as_deref())
            .unwrap_or_default()
    }
}

/// Where a served request runs and what bounds it.
pub struct Target<'a> {
    /// The component that answers it.
    pub component: &'a Arc<ToolComponent>,
    /// The quotas it takes from.
    pub rates: &'a ToolRates,
    /// What its audit record may show.
    pub audit: &'a ToolAuditConfig,
}

/// How a served request ended, for its records.
pub struct Ended {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, when not plainly `ok`.
    pub reason: Option<Reason>,
}

impl Ended {
    /// Ended with `outcome` for `reason`.
    pub fn new(outcome: Outcome, reason: Option<Reason>) -> Self {
        Self { outcome, reason }
    }
}

/// Runs a served request: `target` is the refusal (and its reason) when
/// nothing answers it for this caller or it is refused before anything
/// runs, `run` starts the component's work with the run's observer, and
/// `finish` turns its output into the result and how it ended.
pub async fn serve<T, F>(
    context: &CallContext<'_>,
    subject: Subject,
    target: Result<Target<'_>, McpError>,
    run: impl FnOnce(Arc<ToolComponent>, Arc<dyn CallEvents>) -> F,
    finish: impl FnOnce(T) -> (Result<Value, McpError>, Ended),
) -> Result<Value, McpError>
where
    F: Future<Output = Result<warden_sandbox::RunOutput<T>, CallError>>,
{
    let span = tracing::info_span!(
        "served",
        method = subject.method,
        target = %subject.label(),
        outcome = tracing::field::Empty,
        reason = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let slot = context.reserve_audit()?;
        let pending =
            slot.map(|slot| pending_record(slot, context, &subject, target.as_ref().ok()));
        let component = target
            .as_ref()
            .ok()
            .map(|target| Arc::clone(target.component));
        let (reply, ended, usage) = match target {
            Err(error) => {
                let ended = Ended::new(Outcome::Rejected, error.reason);
                (Err(error), ended, None)
            }
            Ok(target) => run_target(context, &subject, target, run, finish).await,
        };
        let duration = started.elapsed();
        log(
            &subject,
            component.as_deref(),
            &ended,
            usage.as_ref(),
            duration,
        );
        if let Some(pending) = pending {
            pending.finish(|record| {
                record.bytes_out = match &reply {
                    Ok(result) => serde_json::to_vec(result).map_or(0, |bytes| bytes.len()),
                    Err(error) => {
                        serde_json::to_vec(&error.to_message(None)).map_or(0, |b| b.len())
                    }
                };
                record.outcome = ended.outcome;
                record.reason = ended.reason;
                record.fuel = usage.as_ref().and_then(|usage| usage.fuel_consumed);
                record.peak_memory_bytes = usage.as_ref().map(|usage| usage.peak_memory_bytes);
                record.outbound = usage
                    .as_ref()
                    .and_then(|usage| record::outbound_summary(&usage.outbound));
            });
        }
        reply
    }
    .instrument(span)
    .await
}

type Run = (Result<Value, McpError>, Ended, Option<CallUsage>);

/// What a component's refusal means: the arguments or URI it does not
/// accept (invalid params), or its own failure (an internal error), each
/// with reason `component_error`.
pub fn declined(invalid: bool, message: String) -> (Result<Value, McpError>, Ended) {
    let (kind, outcome) = if invalid {
        (ErrorKind::InvalidParams, Outcome::Rejected)
    } else {
        (ErrorKind::Internal, Outcome::ToolError)
    };
    (
        Err(McpError::new(kind, message).with_reason(Reason::ComponentError)),
        Ended::new(outcome, Some(Reason::ComponentError)),
    )
}

async fn run_target<T, F>(
    context: &CallContext<'_>,
    subject: &Subject,
    target: Target<'_>,
    run: impl FnOnce(Arc<ToolComponent>, Arc<dyn CallEvents>) -> F,
    finish: impl FnOnce(T) -> (Result<Value, McpError>, Ended),
) -> Run
where
    F: Future<Output = Result<warden_sandbox::RunOutput<T>, CallError>>,
{
    if let Err((refusal, reason)) = check_quotas(subject, target.rates, context).await {
        return (
            Err(refusal),
            Ended::new(Outcome::Rejected, Some(reason)),
            None,
        );
    }
    let observer = CallObserver::new(subject.label().to_owned(), target.component, context);
    let running = run(
        Arc::clone(target.component),
        Arc::clone(&observer) as Arc<dyn CallEvents>,
    );
    let outcome = tokio::select! {
        outcome = running => outcome,
        () = client_cancelled(context) => {
            let error = McpError::call_ended(
                Reason::ClientCancelled,
                format!("the client cancelled its {} request", subject.method),
            );
            let ended = Ended::new(Outcome::Cancelled, Some(Reason::ClientCancelled));
            return (Err(error), ended, observer.take_usage());
        }
        () = context.lifecycle.calls_cancelled() => {
            context.lifecycle.record_cancelled_call();
            let error = McpError::call_ended(
                Reason::Shutdown,
                format!(
                    "Warden is shutting down and cancelled this {} request when its drain \
                     deadline passed; retry it",
                    subject.method
                ),
            );
            let ended = Ended::new(Outcome::Cancelled, Some(Reason::Shutdown));
            return (Err(error), ended, observer.take_usage());
        }
    };
    match outcome {
        Ok(output) => {
            let (reply, ended) = finish(output.value);
            (reply, ended, Some(output.usage))
        }
        // A 2026-07-28 retry round suspended the run at a request to the
        // client: the answer is the round's `InputRequiredResult`.
        Err(CallError::AwaitingClient { .. })
            if let Some(reply) = context
                .client
                .as_ref()
                .and_then(|client| client.input_required()) =>
        {
            let reason = reply.is_err().then_some(Reason::MissingClientCapability);
            let ended = Ended::new(Outcome::InputRequired, reason);
            (reply, ended, observer.take_usage())
        }
        Err(error) => {
            let reason = Reason::Sandbox(error.reason());
            let kind = match error {
                CallError::Busy { .. } => ErrorKind::Overloaded,
                _ => ErrorKind::Internal,
            };
            let mcp_error = McpError::new(kind, error.to_string()).with_reason(reason);
            let ended = Ended::new(Outcome::Failed, Some(reason));
            (Err(mcp_error), ended, observer.take_usage())
        }
    }
}

async fn client_cancelled(context: &CallContext<'_>) {
    match &context.cancelled {
        Some(cancelled) => cancelled.cancelled().await,
        None => std::future::pending().await,
    }
}

/// The refusal of a request a quota does not allow now, with the reason
/// to record.
async fn check_quotas(
    subject: &Subject,
    rates: &ToolRates,
    context: &CallContext<'_>,
) -> Result<(), (McpError, Reason)> {
    let refusal = match context.check_quotas(rates).await {
        Ok(None) => return Ok(()),
        Ok(Some(refusal)) => refusal,
        Err(unavailable) => return Err((unavailable, Reason::SharedStoreUnavailable)),
    };
    Err((
        McpError::new(
            ErrorKind::RateLimited,
            format!(
                "{} of `{}` is rate limited ({}); retry in {} ms",
                subject.method,
                subject.label(),
                refusal.quota,
                refusal.wait.as_millis()
            ),
        )
        .with_retry_after(refusal.wait)
        .with_reason(Reason::RateLimited),
        Reason::RateLimited,
    ))
}

fn pending_record(
    slot: crate::audit::AuditSlot,
    context: &CallContext<'_>,
    subject: &Subject,
    target: Option<&Target<'_>>,
) -> PendingRecord {
    let (digest, bytes_in) = record::digest(&subject.arguments);
    let record = AuditRecord {
        time: String::new(),
        request_id: context.request_id.clone(),
        session: context.session.map(str::to_owned),
        caller: context.caller.name().to_owned(),
        method: subject.method,
        tool: None,
        resource: subject.resource.clone(),
        prompt: subject.prompt.clone(),
        arguments_sha256: digest,
        // Only for something the caller may use: a hidden one is unknown.
        arguments: target
            .filter(|target| target.audit.log_arguments && !subject.arguments.is_null())
            .map(|target| record::redact(&subject.arguments, &target.audit.redact)),
        outcome: Outcome::Cancelled,
        reason: None,
        fuel: None,
        peak_memory_bytes: None,
        duration_ms: 0.0,
        bytes_in,
        bytes_out: 0,
        outbound: None,
    };
    PendingRecord::new(slot, record)
}

/// The request's log line and metrics.
fn log(
    subject: &Subject,
    component: Option<&ToolComponent>,
    ended: &Ended,
    usage: Option<&CallUsage>,
    duration: Duration,
) {
    let component = component.map_or("", ToolComponent::name);
    metrics::record_served(
        subject.method,
        component,
        ended.outcome,
        ended.reason,
        duration,
    );
    let span = tracing::Span::current();
    span.record("outcome", ended.outcome.as_str());
    if let Some(reason) = ended.reason {
        span.record("reason", reason.as_str());
    }
    if ended.outcome == Outcome::Failed {
        span.record("otel.status_code", "error");
    }
    tracing::info!(
        method = subject.method,
        target = %subject.label(),
        component,
        outcome = ended.outcome.as_str(),
        reason = ended.reason.map(Reason::as_str),
        duration_ms = %format_args!("{:.3}", duration.as_secs_f64() * 1000.0),
        fuel = usage.and_then(|usage| usage.fuel_consumed),
        "served request"
    );
}

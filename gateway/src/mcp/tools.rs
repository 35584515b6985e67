//! `tools/list` and `tools/call`.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};
use tracing::Instrument as _;
use warden_sandbox::{CallError, CallEvents, CallOutput, CallResult, CallUsage};

pub use super::call_context::CallContext;
use super::error::McpError;
use super::observer::CallObserver;
use super::tool_output;
use crate::audit::{AuditRecord, PendingRecord, record};
use crate::auth::Caller;
use crate::catalog::{Catalog, Tool};
use crate::outcome::{Outcome, REASON_META_KEY, Reason};
use crate::telemetry::metrics;

pub use super::schema::schema_violations;

/// Key under `_meta` of a rate-limited call's result holding the delay to
/// wait before retrying, in milliseconds.
pub const RETRY_AFTER_META_KEY: &str = "warden/retryAfterMs";

/// One page of `tools/list`: the first, or the one `cursor` names.
pub fn list(
    catalog: &Catalog,
    caller: &Caller,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Value, McpError> {
    let tools = catalog.tools();
    let visible = |tool: &Tool| tool.allows(caller);
    super::paging::visible_page(
        "tools",
        tools,
        visible,
        |tool| &tool.listing,
        cursor,
        page_size,
    )
}

/// The parts of `tools/call` params Warden uses.
#[derive(Debug)]
pub struct CallParams {
    /// The tool's name.
    pub name: String,
    /// The arguments object.
    pub arguments: Value,
}

impl CallParams {
    /// Takes `name` and `arguments` (an object, `{}` when absent) out of
    /// a call's params.
    pub fn parse(mut params: Map<String, Value>) -> Result<Self, McpError> {
        let name = match params.remove("name") {
            Some(Value::String(name)) => name,
            Some(_) => return Err(McpError::invalid_params("`name` must be a string")),
            None => return Err(McpError::invalid_params("`name` is required")),
        };
        let arguments = match params.remove("arguments") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(arguments @ Value::Object(_)) => arguments,
            Some(_) => return Err(McpError::invalid_params("`arguments` must be an object")),
        };
        Ok(Self { name, arguments })
    }
}

/// A call, with the tool its caller may use by the name it gives: the
/// call's access decision, made once.
pub struct ToolCall {
    /// The tool; `None` when there is none by that name for this caller.
    pub tool: Option<Arc<Tool>>,
    /// What the client sent.
    pub params: CallParams,
}

impl ToolCall {
    /// The call of `params` by `caller` against `catalog`.
    pub fn resolve(catalog: &Catalog, caller: &Caller, params: CallParams) -> Self {
        Self {
            tool: visible_tool(catalog, caller, &params.name),
            params,
        }
    }
}

/// The tool `name` names for `caller`: a tool the caller may not use is
/// answered exactly as a missing one.
pub fn visible_tool(catalog: &Catalog, caller: &Caller, name: &str) -> Option<Arc<Tool>> {
    catalog
        .get(name)
        .filter(|tool| tool.allows(caller))
        .map(Arc::clone)
}

/// Runs a `tools/call` to completion and builds its result. A shutdown that
/// cancels calls stops this one too, with a JSON-RPC error: the tool never
/// produced a result, so none is made up.
pub async fn call(context: &CallContext<'_>, call: ToolCall) -> Result<Value, McpError> {
    call_with_usage(context, call)
        .await
        .map(|(result, _)| result)
}

/// [`call`], also returning what the call consumed when an instance ran.
/// The call runs in a `tool_call` span that ends with its outcome; its log
/// line, metrics and audit record are made here, once, however it ended.
pub async fn call_with_usage(
    context: &CallContext<'_>,
    call: ToolCall,
) -> Result<(Value, Option<CallUsage>), McpError> {
    let ToolCall { tool, params } = call;
    let span = tracing::info_span!(
        "tool_call",
        tool = %params.name,
        outcome = tracing::field::Empty,
        reason = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    async {
        let started = Instant::now();
        // The record's place is taken before the call runs: a call that ran
        // always has room for its record.
        let slot = context.reserve_audit()?;
        // Digest and arguments are the audit record's: only computed for one.
        let pending = slot.map(|slot| {
            let (digest, bytes_in) = record::digest(&params.arguments);
            let record = AuditRecord {
                time: String::new(),
                request_id: context.request_id.clone(),
                session: context.session.map(str::to_owned),
                caller: context.caller.name().to_owned(),
                method: "tools/call",
                tool: Some(params.name.clone()),
                resource: None,
                prompt: None,
                arguments_sha256: digest,
                arguments: None,
                outcome: Outcome::Cancelled,
                reason: None,
                fuel: None,
                peak_memory_bytes: None,
                duration_ms: 0.0,
                bytes_in,
                bytes_out: 0,
                outbound: None,
            };
            let logged = tool
                .as_ref()
                .filter(|tool| tool.audit.log_arguments)
                .map(|tool| record::redact(&params.arguments, &tool.audit.redact));
            (PendingRecord::new(slot, record), logged)
        });
        // Should the request go away before the call ends, the call still
        // counts, as its audit record does.
        let mut unfinished = Unfinished {
            tool: tool.clone(),
            started,
        };
        let (reply, ended) = run_call(tool.as_ref(), context, params).await;
        unfinished.tool = None;
        let duration = started.elapsed();
        if let Some(tool) = &ended.tool {
            log_call(tool, &ended, duration);
        }
        if let Some((pending, logged_arguments)) = pending {
            pending.finish(|record| {
                record.bytes_out = match &reply {
                    Ok((result, _)) => serde_json::to_vec(result).map_or(0, |bytes| bytes.len()),
                    Err(error) => {
                        serde_json::to_vec(&error.to_message(None)).map_or(0, |b| b.len())
                    }
                };
                // Only for a tool the caller may use: a hidden one is unknown.
                record.arguments = logged_arguments.filter(|_| ended.tool.is_some());
                record.outcome = ended.outcome;
                record.reason = ended.reason;
                record.fuel = ended.usage.as_ref().and_then(|usage| usage.fuel_consumed);
                record.peak_memory_bytes =
                    ended.usage.as_ref().map(|usage| usage.peak_memory_bytes);
                record.outbound = ended
                    .usage
                    .as_ref()
                    .and_then(|usage| record::outbound_summary(&usage.outbound));
            });
        }
        reply.map(|(result, usage)| (result, usage.or(ended.usage)))
    }
    .instrument(span)
    .await
}

/// A call whose future was dropped before it ended (the request went
/// away: a closed connection, a request timeout, a drain's deadline): it
/// is logged and counted as `cancelled`, reason `abandoned`, the outcome
/// its audit record gets.
struct Unfinished {
    /// `None` once the call has ended, or for a tool this caller cannot see.
    tool: Option<Arc<Tool>>,
    started: Instant,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(tool) = self.tool.take() {
            let ended = Ended::new(&tool, Outcome::Cancelled, Some(Reason::Abandoned));
            log_call(&tool, &ended, self.started.elapsed());
        }
    }
}

/// How a call ended, for its log line, metrics and audit record.
struct Ended {
    /// `None` for a tool that does not exist (for this caller).
    tool: Option<Arc<Tool>>,
    outcome: Outcome,
    reason: Option<Reason>,
    /// What the instance consumed, when one ran (a failed one too).
    usage: Option<CallUsage>,
}

impl Ended {
    fn new(tool: &Arc<Tool>, outcome: Outcome, reason: Option<Reason>) -> Self {
        Self {
            tool: Some(Arc::clone(tool)),
            outcome,
            reason,
            usage: None,
        }
    }
}

type CallReply = Result<(Value, Option<CallUsage>), McpError>;

async fn run_call(
    tool: Option<&Arc<Tool>>,
    context: &CallContext<'_>,
    params: CallParams,
) -> (CallReply, Ended) {
    let (revision, lifecycle) = (context.revision, context.lifecycle);
    let Some(tool) = tool else {
        let unknown = Ended {
            tool: None,
            outcome: Outcome::Rejected,
            reason: Some(Reason::UnknownTool),
            usage: None,
        };
        let error = McpError::invalid_params(format!("Unknown tool: {}", params.name));
        return (Err(error), unknown);
    };
    match check_quotas(tool, context).await {
        Ok(None) => {}
        Ok(Some(refusal)) => {
            let ended = Ended::new(tool, Outcome::Rejected, Some(Reason::RateLimited));
            return (Ok((refusal, None)), ended);
        }
        Err(unavailable) => {
            let ended = Ended::new(
                tool,
                Outcome::Rejected,
                Some(Reason::SharedStoreUnavailable),
            );
            return (Err(unavailable), ended);
        }
    }
    let violations = schema_violations(&tool.input_validator, &params.arguments);
    if !violations.is_empty() {
        let ended = Ended::new(tool, Outcome::Rejected, Some(Reason::InvalidArguments));
        let message = format!(
            "arguments for tool `{}` do not match its input schema: {}",
            params.name,
            violations.join("; ")
        );
        if revision.schema_errors_are_tool_errors() {
            return (
                Ok((error_result(&message, Reason::InvalidArguments), None)),
                ended,
            );
        }
        let error = McpError::invalid_params(message).with_data(json!({ "errors": violations }));
        return (Err(error), ended);
    }
    let arguments = params.arguments.to_string();
    let observer = CallObserver::new(tool.name.clone(), &tool.component, context);
    let events = Arc::clone(&observer) as Arc<dyn CallEvents>;
    let running = async {
        match context.time_limit_ms {
            Some(limit) => {
                tool.component
                    .call_within(&tool.info.name, &arguments, events, limit)
                    .await
            }
            None => {
                tool.component
                    .call(&tool.info.name, &arguments, events)
                    .await
            }
        }
    };
    // Dropping the running call drops its Store: the instance stops and its
    // pool slot and concurrency permit are returned.
    let client_cancelled = async {
        match &context.cancelled {
            Some(cancelled) => cancelled.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        // The sandbox names the tool as its component declares it; clients
        // know it by its served name (with the component's prefix).
        outcome = running => outcome.map_err(|error| error.for_tool(&tool.name)),
        () = client_cancelled => {
            let error = McpError::call_ended(
                Reason::ClientCancelled,
                format!("the client cancelled the call to tool `{}`", params.name),
            );
            return (
                Err(error),
                Ended::new(tool, Outcome::Cancelled, Some(Reason::ClientCancelled)),
            );
        }
        () = lifecycle.calls_cancelled() => {
            lifecycle.record_cancelled_call();
            let error = McpError::call_ended(
                Reason::Shutdown,
                format!(
                    "Warden is shutting down and cancelled the call to tool `{}` when its drain deadline passed; retry the call",
                    params.name
                ),
            );
            return (Err(error), Ended::new(tool, Outcome::Cancelled, Some(Reason::Shutdown)));
        }
    };
    let usage = observer.take_usage();
    match outcome {
        Ok(CallOutput { result, usage }) => {
            let (value, outcome, reason) = finish(tool, result, &usage);
            let mut ended = Ended::new(tool, outcome, reason);
            ended.usage = Some(usage.clone());
            (Ok((value, Some(usage))), ended)
        }
        Err(error @ CallError::AwaitingClient { .. }) => {
            let input_required = context
                .client
                .as_ref()
                .and_then(|client| client.input_required());
            let reason = match &input_required {
                Some(Err(_)) => Some(Reason::MissingClientCapability),
                _ => None,
            };
            let mut ended = Ended::new(tool, Outcome::InputRequired, reason);
            ended.usage = usage;
            match input_required {
                Some(reply) => (reply.map(|result| (result, None)), ended),
                // Only a retry round suspends; without one this is a bug
                // reported as the failure it is.
                None => (Ok((call_error_result(&error), None)), ended),
            }
        }
        Err(error) => {
            let mut ended =
                Ended::new(tool, Outcome::Failed, Some(Reason::Sandbox(error.reason())));
            ended.usage = usage;
            (Ok((call_error_result(&error), None)), ended)
        }
    }
}

/// The tool error for a call a quota refuses, or `None` to go ahead;
/// `Err` when the quotas cannot be checked.
async fn check_quotas(tool: &Tool, context: &CallContext<'_>) -> Result<Option<Value>, McpError> {
    let Some(refusal) = context.check_quotas(&tool.rates).await? else {
        return Ok(None);
    };
    let wait_ms = u64::try_from(refusal.wait.as_millis()).unwrap_or(u64::MAX);
    let message = format!(
        "tool `{}` is rate limited ({}); retry in {wait_ms} ms",
        tool.name, refusal.quota
    );
    let mut result = error_result(&message, Reason::RateLimited);
    result["_meta"][RETRY_AFTER_META_KEY] = json!(wait_ms);
    Ok(Some(result))
}

/// Turns a completed call into a result, holding the tool to its output
/// schema; with the outcome and reason to record.
fn finish(tool: &Tool, result: CallResult, usage: &CallUsage) -> (Value, Outcome, Option<Reason>) {
    if usage.dropped_output_bytes > 0 {
        tracing::warn!(tool = %tool.name, dropped_bytes = usage.dropped_output_bytes, "tool output to stdout/stderr truncated");
    }
    if !usage.stderr.is_empty() {
        tracing::debug!(tool = %tool.name, stderr = %usage.stderr, "tool stderr");
    }
    metrics::record_usage(&tool.metrics, usage);
    match tool_output::build_result(tool, result) {
        Ok(value) => {
            let outcome = if value["isError"] == Value::Bool(true) {
                Outcome::ToolError
            } else {
                Outcome::Ok
            };
            (value, outcome, None)
        }
        Err(refused) => (
            error_result(&refused.to_string(), refused.reason()),
            Outcome::Failed,
            Some(refused.reason()),
        ),
    }
}

/// A tool execution error (`isError: true`) with a stable reason in `_meta`.
pub fn error_result(message: &str, reason: Reason) -> Value {
    json!({
        "content": [{ "type": "text", "text": message }],
        "isError": true,
        "_meta": { REASON_META_KEY: reason.as_str() },
    })
}

fn call_error_result(error: &CallError) -> Value {
    error_result(&error.to_string(), Reason::Sandbox(error.reason()))
}

/// The per-call log line and metrics.
fn log_call(tool: &Tool, ended: &Ended, duration: std::time::Duration) {
    let (outcome, reason) = (ended.outcome, ended.reason);
    metrics::record_call(&tool.metrics, outcome, reason, duration);
    let span = tracing::Span::current();
    span.record("outcome", outcome.as_str());
    if let Some(reason) = reason {
        span.record("reason", reason.as_str());
    }
    if outcome == Outcome::Failed {
        // Trace viewers mark the span as an error.
        span.record("otel.status_code", "error");
    }
    tracing::info!(
        tool = %tool.name,
        component = %tool.component.name(),
        outcome = outcome.as_str(),
        reason = reason.map(Reason::as_str),
        duration_ms = %format_args!("{:.3}", duration.as_secs_f64() * 1000.0),
        fuel = ended.usage.as_ref().and_then(|usage| usage.fuel_consumed),
        "tool call"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_params_need_a_name_and_an_object() {
        let params =
            |value: Value| CallParams::parse(value.as_object().cloned().unwrap_or_default());
        assert!(params(json!({"name": "t"})).is_ok());
        assert!(params(json!({"name": "t", "arguments": {"a": 1}})).is_ok());
        assert!(params(json!({})).is_err());
        assert!(params(json!({"name": 1})).is_err());
        assert!(params(json!({"name": "t", "arguments": [1]})).is_err());
    }
}

//! What a run reports while it works (log messages, progress, requests to
//! the client, outbound requests) and what it consumed once it stops.

use std::sync::{Arc, Mutex};

use warden_sandbox::{
    CallEvents, CallUsage, ClientReplyFuture, ClientRequest, LogLevel, OutboundRefusal,
    OutboundRequest,
};

use super::call_context::CallContext;
use super::client_requests::ClientAsker;
use super::notify::RequestNotifier;
use crate::limits::Limits;
use crate::telemetry::outbound_metrics;

/// Keeps what a call's instance consumed once it stops (a failed call's
/// error does not carry it), and charges its fuel to the caller's budget.
/// Forwards its log messages and progress to the request's stream.
pub(crate) struct CallObserver {
    /// The served name (with any `tool_prefix`), as clients know the tool.
    tool: String,
    /// The component, as outbound metrics label it.
    component: Arc<warden_sandbox::ToolComponent>,
    notifier: Option<Arc<RequestNotifier>>,
    fuel: Option<(Arc<Limits>, String)>,
    usage: Mutex<Option<CallUsage>>,
    client: Option<Arc<ClientAsker>>,
}

impl CallEvents for CallObserver {
    fn log(&self, _tool: &str, level: LogLevel, message: &str) {
        if let Some(notifier) = &self.notifier {
            notifier.log(&self.tool, level, message);
        }
    }

    fn progress(&self, _tool: &str, done: f64, total: Option<f64>, message: Option<&str>) {
        if let Some(notifier) = &self.notifier {
            notifier.progress(done, total, message);
        }
    }

    fn finished(&self, _tool: &str, usage: &CallUsage) {
        if let Some((limits, caller)) = &self.fuel
            && let Some(fuel) = usage.fuel_consumed
        {
            limits.charge_fuel(caller, fuel);
        }
        *self
            .usage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(usage.clone());
    }

    fn outbound_finished(&self, _tool: &str, request: &OutboundRequest) {
        outbound_metrics::record_request(self.component.name(), request);
    }

    fn outbound_refused(&self, _tool: &str, refusal: &OutboundRefusal) {
        outbound_metrics::record_refusal(self.component.name(), refusal);
    }

    fn client_request(&self, tool: &str, request: ClientRequest) -> ClientReplyFuture {
        match &self.client {
            Some(client) => client.ask(request),
            None => warden_sandbox::NoEvents.client_request(tool, request),
        }
    }
}

impl CallObserver {
    /// An observer of a run reported as `label` (a tool's served name, a
    /// prompt's, a resource's URI), charging fuel to the context's caller.
    pub(crate) fn new(
        label: String,
        component: &Arc<warden_sandbox::ToolComponent>,
        context: &CallContext<'_>,
    ) -> Arc<Self> {
        Arc::new(Self {
            tool: label,
            component: Arc::clone(component),
            notifier: context.notifier.clone(),
            fuel: context
                .limits
                .clone()
                .filter(|limits| limits.has_fuel_budget())
                .map(|limits| (limits, context.caller.name().to_owned())),
            usage: Mutex::new(None),
            client: context.client.clone(),
        })
    }

    /// What the run consumed, once it stopped (a failed run too).
    pub(crate) fn take_usage(&self) -> Option<CallUsage> {
        self.usage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

//! Outbound HTTP for guests (`wasi:http/outgoing-handler`), linked only
//! into components that import it. wasmtime-wasi-http builds the request
//! from the guest's resources; this module decides whether it may go
//! (allow entries, the per-call count), and sends it itself: looked up,
//! checked against internal addresses, connected to the very address
//! checked, with the operator's headers added and the component's limits
//! applied. The guest sees wasi:http's error codes, never the headers.

mod address;
mod body;
mod grant;
mod request;
mod send;
mod usage;

use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime_wasi_http::p2::bindings::http::outgoing_handler::Host as _;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Method, Scheme};
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, WasiHttpView};

pub use grant::{
    AllowTarget, AllowUrlError, HostPattern, HttpAllow, HttpGrant, HttpLimits, HttpScheme,
    InjectedHeader, NEVER_SENT, RESERVED_HEADERS, Secret,
};
pub use request::{RequestHost, RequestTarget};
pub(crate) use send::OutboundGrant;
pub(crate) use usage::Tally;
pub use usage::{OutboundOutcome, OutboundRefusal, OutboundRequest, OutboundUsage, RefusalReason};

use crate::events::CallEvents;
use crate::host::CallState;
use send::{Dispatch, Sent};

/// The interface whose `handle` this module puts its checks in front of.
const WASI_OUTGOING_HANDLER: &str = "wasi:http/outgoing-handler@0.2.12";

/// Raised when a call sends more requests than its component's
/// `max_requests_per_call`; reported as its own call error.
#[derive(Debug, thiserror::Error)]
#[error("outbound HTTP request limit exceeded")]
pub(crate) struct RequestLimitExceeded;

/// Whether `component` imports any part of `wasi:http`.
pub(crate) fn imports_http(component: &Component, engine: &Engine) -> bool {
    component
        .component_type()
        .imports(engine)
        .any(|(name, _)| name.starts_with("wasi:http/"))
}

/// Links wasi:http's types and an outgoing handler that checks each
/// request against the call's grant before wasmtime-wasi-http builds it.
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    linker.allow_shadowing(true);
    let defined = define_handle(linker);
    linker.allow_shadowing(false);
    defined
}

fn define_handle(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    linker.instance(WASI_OUTGOING_HANDLER)?.func_wrap(
        "handle",
        |mut store,
         (request, options): (
            Resource<HostOutgoingRequest>,
            Option<Resource<RequestOptions>>,
        )| {
            let state = store.data_mut();
            if let Some(refused) = state.outbound.admit(&state.table, &request)? {
                state.table.delete(request)?;
                return Ok((Err(refused),));
            }
            let handled: Result<Resource<HostFutureIncomingResponse>, _> =
                state.http().handle(request, options);
            match handled {
                Ok(future) => Ok((Ok(future),)),
                Err(error) => Ok((Err(error.downcast()?),)),
            }
        },
    )
}

/// One call's side of outbound HTTP: its count of requests, its record
/// of them, and the request admitted and about to be sent.
pub(crate) struct CallOutbound {
    grant: Arc<OutboundGrant>,
    /// Made at the call's first request: most calls send none.
    tally: Option<Arc<Tally>>,
    events: Arc<dyn CallEvents>,
    tool: Arc<str>,
    requests: u32,
    admitted: Option<Dispatch>,
    pub(crate) limit_hit: bool,
}

impl CallOutbound {
    pub(crate) fn new(
        grant: Arc<OutboundGrant>,
        events: Arc<dyn CallEvents>,
        tool: Arc<str>,
    ) -> Self {
        Self {
            grant,
            tally: None,
            events,
            tool,
            requests: 0,
            admitted: None,
            limit_hit: false,
        }
    }

    pub(crate) fn usage(&self) -> OutboundUsage {
        self.tally
            .as_ref()
            .map(|tally| tally.snapshot())
            .unwrap_or_default()
    }

    fn tally(&mut self) -> &Arc<Tally> {
        let (events, tool) = (&self.events, &self.tool);
        self.tally
            .get_or_insert_with(|| Arc::new(Tally::new(Arc::clone(events), Arc::clone(tool))))
    }

    pub(crate) fn max_requests_per_call(&self) -> u32 {
        self.grant.limits.max_requests_per_call
    }

    /// Decides on the guest's request: `None` lets it through (and
    /// remembers the entry it matched for sending), `Some` is the error
    /// the guest gets, a trap ends the call.
    fn admit(
        &mut self,
        table: &ResourceTable,
        request: &Resource<HostOutgoingRequest>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.admitted = None;
        let request = table.get(request)?;
        let (scheme, written_scheme) = match &request.scheme {
            None | Some(Scheme::Https) => (Some(HttpScheme::Https), "https"),
            Some(Scheme::Http) => (Some(HttpScheme::Http), "http"),
            Some(Scheme::Other(other)) => (None, other.as_str()),
        };
        let authority = request.authority.as_deref().unwrap_or("");
        let path = request.path_with_query.as_deref().unwrap_or("/");
        let method = method_name(&request.method);
        let url = format!("{written_scheme}://{authority}{path}");
        // Refused requests count too: a tool looping on a denied URL
        // would otherwise write a warning per attempt for as long as its
        // call runs.
        if self.requests >= self.grant.limits.max_requests_per_call {
            self.tally().refused(&url, RefusalReason::PerCallLimit);
            self.limit_hit = true;
            return Err(RequestLimitExceeded.into());
        }
        self.requests += 1;
        let Some(scheme) = scheme else {
            self.tally().refused(&url, RefusalReason::NotAllowed);
            return Ok(Some(ErrorCode::HttpRequestDenied));
        };
        let Some(target) = RequestTarget::read(scheme, authority, path, &method) else {
            self.tally().refused(&url, RefusalReason::Malformed);
            return Ok(Some(ErrorCode::HttpRequestUriInvalid));
        };
        let entry = self
            .grant
            .entries
            .iter()
            .position(|entry| entry.allow.permits(&target));
        let Some(entry) = entry else {
            self.tally().refused(&url, RefusalReason::NotAllowed);
            return Ok(Some(ErrorCode::HttpRequestDenied));
        };
        self.admitted = Some(Dispatch {
            grant: Arc::clone(&self.grant),
            entry,
            scheme,
            host: target.host,
            port: target.port,
            url,
            tally: Arc::clone(self.tally()),
        });
        Ok(None)
    }
}

fn method_name(method: &Method) -> String {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other.as_str(),
    }
    .to_owned()
}

impl WasiHttpHooks for CallOutbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_done: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Result<Sent, Error>> + Send> {
        match self.admitted.take() {
            Some(dispatch) => Box::new(dispatch.send(request, options)),
            // Only `handle` sends, and only after admitting.
            None => Box::new(std::future::ready(Err(Error::HttpRequestDenied))),
        }
    }
}

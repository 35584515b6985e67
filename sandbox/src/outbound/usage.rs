//! What a call did over HTTP: each request it sent and each it was
//! refused, kept for the call's usage and reported to the embedder as
//! each request ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::events::CallEvents;

/// Refusals kept per call; more are counted, not kept.
const MAX_REFUSALS_KEPT: usize = 32;
/// Characters of a refused URL kept: enough to recognise it, bounded
/// whatever the guest asked for.
const MAX_URL_CHARS: usize = 512;

/// A call's outbound HTTP requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboundUsage {
    /// Requests the host sent (or tried to), in the order asked.
    pub requests: Vec<OutboundRequest>,
    /// Requests the host refused, up to 32.
    pub refusals: Vec<OutboundRefusal>,
    /// Refusals past the 32 kept.
    pub refusals_dropped: u32,
}

/// One request the host let through.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    /// The allow entry that let it through, as a URL
    /// (`https://*.example.com/v1/`): a label of bounded variety.
    pub grant: Arc<str>,
    /// The host asked for.
    pub host: String,
    /// The method.
    pub method: String,
    /// How it ended.
    pub outcome: OutboundOutcome,
    /// From the request handed over to the response's head.
    pub latency: Option<Duration>,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes the guest read.
    pub bytes_received: u64,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundOutcome {
    /// Still on its way (the call ended first).
    Pending,
    /// The server answered with this status.
    Status(u16),
    /// No answer: why (`connection refused`, `TLS certificate error`, …).
    Failed(String),
}

/// One request the host refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRefusal {
    /// What the guest asked for, cut at 512 characters.
    pub url: String,
    /// Why.
    pub reason: RefusalReason,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalReason {
    /// No allow entry matches its scheme, host, port, path and method.
    NotAllowed,
    /// The host resolved only to internal addresses the entry does not
    /// allow; the detail names them.
    InternalAddress(String),
    /// The URL cannot be read (user information, a bad port, dot segments).
    Malformed,
    /// The call had already sent as many requests as it may.
    PerCallLimit,
}

impl RefusalReason {
    /// A stable code: `not_allowed`, `internal_address`, `malformed`,
    /// `per_call_limit`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAllowed => "not_allowed",
            Self::InternalAddress(_) => "internal_address",
            Self::Malformed => "malformed",
            Self::PerCallLimit => "per_call_limit",
        }
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAllowed => f.write_str("no allow entry of the policy matches it"),
            Self::InternalAddress(detail) => write!(f, "{detail}"),
            Self::Malformed => f.write_str("the URL is malformed"),
            Self::PerCallLimit => f.write_str("the call sent as many requests as it may"),
        }
    }
}

/// The running record of one call's requests, shared with the tasks that
/// send them.
pub(crate) struct Tally {
    recorded: Mutex<Recorded>,
    events: Arc<dyn CallEvents>,
    tool: Arc<str>,
}

/// Requests in the order started; `None` for one withdrawn (refused after
/// it started: it counts as a refusal only).
#[derive(Default)]
struct Recorded {
    requests: Vec<Option<OutboundRequest>>,
    refusals: Vec<OutboundRefusal>,
    refusals_dropped: u32,
}

impl Tally {
    pub(crate) fn new(events: Arc<dyn CallEvents>, tool: Arc<str>) -> Self {
        Self {
            recorded: Mutex::new(Recorded::default()),
            events,
            tool,
        }
    }

    /// What the call did so far.
    pub(crate) fn snapshot(&self) -> OutboundUsage {
        let recorded = self.lock();
        OutboundUsage {
            requests: recorded.requests.iter().flatten().cloned().collect(),
            refusals: recorded.refusals.clone(),
            refusals_dropped: recorded.refusals_dropped,
        }
    }

    pub(crate) fn refused(&self, url: &str, reason: RefusalReason) {
        let url: String = url.chars().take(MAX_URL_CHARS).collect();
        tracing::warn!(
            tool = %self.tool,
            url = %url.escape_debug(),
            reason = reason.code(),
            detail = %reason,
            "refused an outbound HTTP request"
        );
        let refusal = OutboundRefusal { url, reason };
        self.events.outbound_refused(&self.tool, &refusal);
        let mut recorded = self.lock();
        if recorded.refusals.len() < MAX_REFUSALS_KEPT {
            recorded.refusals.push(refusal);
        } else {
            recorded.refusals_dropped = recorded.refusals_dropped.saturating_add(1);
        }
    }

    /// Starts the record of a request; the recorder reports it when
    /// dropped.
    pub(crate) fn start(
        self: &Arc<Self>,
        grant: Arc<str>,
        host: String,
        method: String,
    ) -> Recorder {
        let mut recorded = self.lock();
        recorded.requests.push(Some(OutboundRequest {
            grant,
            host,
            method,
            outcome: OutboundOutcome::Pending,
            latency: None,
            bytes_sent: 0,
            bytes_received: 0,
        }));
        Recorder {
            tally: Arc::clone(self),
            index: recorded.requests.len() - 1,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // A panic while holding the lock leaves counters, nothing to undo.
        self.recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One request's entry in the tally. Reports the request to the embedder
/// when dropped: once its response body is done with, or it failed.
pub(crate) struct Recorder {
    tally: Arc<Tally>,
    index: usize,
}

impl Recorder {
    pub(crate) fn update(&self, change: impl FnOnce(&mut OutboundRequest)) {
        if let Some(Some(request)) = self.tally.lock().requests.get_mut(self.index) {
            change(request);
        }
    }

    /// Takes the request back out of the record: it was refused after it
    /// started (every address internal), and counts as that refusal alone.
    pub(crate) fn withdraw(&self) {
        if let Some(slot) = self.tally.lock().requests.get_mut(self.index) {
            *slot = None;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let request = self
            .tally
            .lock()
            .requests
            .get(self.index)
            .cloned()
            .flatten();
        if let Some(request) = request {
            self.tally
                .events
                .outbound_finished(&self.tally.tool, &request);
        }
    }
}

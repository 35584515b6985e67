//! Metrics of tools' outbound HTTP requests. The `grant` label is the
//! allow entry that let a request through (`https://*.example.com/v1/`),
//! not the host asked for: a wildcard entry would otherwise let a tool
//! mint a new series with every name it makes up.

use warden_sandbox::{OutboundOutcome, OutboundRefusal, OutboundRequest};

/// Outbound requests sent, by component, grant and status class (`2xx`
/// … `5xx`, `error` for no answer or a body cut off, `pending` when the
/// call ended first).
pub const OUTBOUND_REQUESTS: &str = "warden_outbound_requests_total";
/// Time from a request handed over to its response's head, by component
/// and grant.
pub const OUTBOUND_DURATION: &str = "warden_outbound_request_duration_seconds";
/// Body bytes of outbound requests, by component, grant and `direction`
/// (`sent`, `received`).
pub const OUTBOUND_BYTES: &str = "warden_outbound_bytes_total";
/// Outbound requests refused, by component and `reason` (`not_allowed`,
/// `internal_address`, `malformed`, `per_call_limit`).
pub const OUTBOUND_REFUSALS: &str = "warden_outbound_refusals_total";

pub(super) fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        OUTBOUND_REQUESTS,
        "outbound HTTP requests of tools by component, allow entry and status class"
    );
    describe_histogram!(
        OUTBOUND_DURATION,
        Unit::Seconds,
        "time from an outbound request handed over to its response's head"
    );
    describe_counter!(
        OUTBOUND_BYTES,
        Unit::Bytes,
        "body bytes of outbound HTTP requests, sent and received"
    );
    describe_counter!(
        OUTBOUND_REFUSALS,
        "outbound HTTP requests refused, by component and reason"
    );
}

/// Records one outbound request that ended.
pub fn record_request(component: &str, request: &OutboundRequest) {
    let status = match &request.outcome {
        OutboundOutcome::Status(status) => match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        },
        OutboundOutcome::Failed(_) => "error",
        OutboundOutcome::Pending => "pending",
    };
    let grant = request.grant.to_string();
    metrics::counter!(
        OUTBOUND_REQUESTS,
        "component" => component.to_owned(),
        "grant" => grant.clone(),
        "status" => status
    )
    .increment(1);
    if let Some(latency) = request.latency {
        metrics::histogram!(
            OUTBOUND_DURATION,
            "component" => component.to_owned(),
            "grant" => grant.clone()
        )
        .record(latency.as_secs_f64());
    }
    for (direction, bytes) in [
        ("sent", request.bytes_sent),
        ("received", request.bytes_received),
    ] {
        metrics::counter!(
            OUTBOUND_BYTES,
            "component" => component.to_owned(),
            "grant" => grant.clone(),
            "direction" => direction
        )
        .increment(bytes);
    }
}

/// Records one refused outbound request.
pub fn record_refusal(component: &str, refusal: &OutboundRefusal) {
    metrics::counter!(
        OUTBOUND_REFUSALS,
        "component" => component.to_owned(),
        "reason" => refusal.reason.code()
    )
    .increment(1);
}

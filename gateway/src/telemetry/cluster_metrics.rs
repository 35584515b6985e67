//! Metrics of the shared store (`[cluster]`): whether Redis answers, its
//! failed commands, and the decisions taken in this process alone because
//! it did not answer.

/// 1 while the last command to Redis was answered, else 0; absent without
/// `[cluster] redis_url`.
pub const STORE_UP: &str = "warden_cluster_store_up";
/// Commands to Redis that failed or timed out, by `command`.
pub const STORE_ERRORS: &str = "warden_cluster_store_errors_total";
/// Decisions taken in this process alone while Redis did not answer
/// (`on_unavailable = "local"`), by `what`: `requests`, `tool_rate`,
/// `fuel`, `revocation`.
pub const LOCAL_FALLBACKS: &str = "warden_cluster_local_fallbacks_total";

pub(super) fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_gauge!(
        STORE_UP,
        "whether the shared store (Redis) answers: one while it does, zero while it does not"
    );
    describe_counter!(
        STORE_ERRORS,
        "commands to the shared store that failed or timed out, by command"
    );
    describe_counter!(
        LOCAL_FALLBACKS,
        "quota and session decisions taken in this process alone while the shared store did not answer"
    );
}

/// Notes whether Redis answers.
pub fn record_store_answering(answering: bool) {
    metrics::gauge!(STORE_UP).set(if answering { 1.0 } else { 0.0 });
}

/// Counts one failed command.
pub fn record_store_error(command: &'static str) {
    metrics::counter!(STORE_ERRORS, "command" => command).increment(1);
}

/// Counts one decision taken locally.
pub fn record_local_fallback(what: &'static str) {
    metrics::counter!(LOCAL_FALLBACKS, "what" => what).increment(1);
}

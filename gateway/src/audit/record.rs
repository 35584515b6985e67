//! One audit record: who called which tool with what (as a digest, and the
//! arguments themselves only where the component allows), and how it went.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::outcome::{Outcome, Reason};

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// One `tools/call`, `resources/read`, `prompts/get` or
/// `completion/complete`, as the audit log keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    /// When the call ended, RFC 3339 in UTC.
    pub time: String,
    /// The JSON-RPC request id.
    pub request_id: Value,
    /// The session's log tag, if the call came in a session.
    pub session: Option<String>,
    /// The caller's name.
    pub caller: String,
    /// The method: `tools/call`, `resources/read`, `prompts/get` or
    /// `completion/complete`.
    pub method: &'static str,
    /// The tool, as the client named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The resource read (or the template completed), as the client named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The prompt got (or completed), as the client named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// SHA-256 (hex) of the arguments as compact JSON.
    pub arguments_sha256: String,
    /// The arguments, with configured keys redacted, when the component's
    /// `audit.log_arguments` allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// How the call ended.
    pub outcome: Outcome,
    /// Why, when not `ok`: the same reasons as `_meta["warden/reason"]`.
    pub reason: Option<Reason>,
    /// Fuel consumed, when metered.
    pub fuel: Option<u64>,
    /// Largest linear memory the instance reached.
    pub peak_memory_bytes: Option<u64>,
    /// From the call's start to its result, in milliseconds.
    pub duration_ms: f64,
    /// Size of the arguments (compact JSON).
    pub bytes_in: usize,
    /// Size of the result or error sent back (compact JSON).
    pub bytes_out: usize,
    /// The tool's outbound HTTP requests, when it made or tried any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound: Option<OutboundSummary>,
}

/// A call's outbound HTTP requests: the hosts it contacted and the URLs it
/// was refused.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutboundSummary {
    /// Each host contacted, in the order first contacted.
    pub hosts: Vec<HostContacted>,
    /// The requests refused (up to 32), with the reason.
    pub refused: Vec<RefusedRequest>,
    /// Refusals past those listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub refused_unlisted: u32,
}

/// One host a call's requests went to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HostContacted {
    /// The host asked for.
    pub host: String,
    /// The allow entry that let its requests through.
    pub grant: String,
    /// Requests sent to it.
    pub requests: u32,
    /// Of those, the ones that got no answer.
    pub failed: u32,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes received.
    pub bytes_received: u64,
}

/// One refused request.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefusedRequest {
    /// The URL as the tool asked for it (cut at 512 characters).
    pub url: String,
    /// `not_allowed`, `internal_address`, `malformed` or `per_call_limit`.
    pub reason: &'static str,
}

fn is_zero(count: &u32) -> bool {
    *count == 0
}

/// The summary of `usage`, or `None` when the call made no request.
pub fn outbound_summary(usage: &warden_sandbox::OutboundUsage) -> Option<OutboundSummary> {
    if usage.requests.is_empty() && usage.refusals.is_empty() {
        return None;
    }
    let mut hosts: Vec<HostContacted> = Vec::new();
    for request in &usage.requests {
        let index = match hosts
            .iter()
            .position(|host| host.host == request.host && *host.grant == *request.grant)
        {
            Some(index) => index,
            None => {
                hosts.push(HostContacted {
                    host: request.host.clone(),
                    grant: request.grant.to_string(),
                    requests: 0,
                    failed: 0,
                    bytes_sent: 0,
                    bytes_received: 0,
                });
                hosts.len() - 1
            }
        };
        let host = &mut hosts[index];
        host.requests += 1;
        if matches!(request.outcome, warden_sandbox::OutboundOutcome::Failed(_)) {
            host.failed += 1;
        }
        host.bytes_sent += request.bytes_sent;
        host.bytes_received += request.bytes_received;
    }
    Some(OutboundSummary {
        hosts,
        refused: usage
            .refusals
            .iter()
            .map(|refusal| RefusedRequest {
                url: refusal.url.clone(),
                reason: refusal.reason.code(),
            })
            .collect(),
        refused_unlisted: usage.refusals_dropped,
    })
}

/// The SHA-256 of `arguments` as compact JSON (serde_json writes object
/// keys in order, so equal arguments give equal digests), and that size.
pub fn digest(arguments: &Value) -> (String, usize) {
    // Serialising a tree of JSON values cannot fail.
    let bytes = serde_json::to_vec(arguments).unwrap_or_default();
    (hex::encode(Sha256::digest(&bytes)), bytes.len())
}

/// `arguments` with the value of every key in `keys`, at any depth,
/// replaced by [`REDACTED`].
pub fn redact(arguments: &Value, keys: &std::collections::BTreeSet<String>) -> Value {
    match arguments {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = if keys.contains(key) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(value, keys)
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|item| redact(item, keys)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redaction_reaches_every_depth_and_digests_ignore_key_order() {
        let keys = ["password".to_owned(), "token".to_owned()].into();
        let arguments = json!({
            "user": "ann",
            "password": "hunter2",
            "nested": [{ "token": { "value": "t" }, "keep": 1 }],
        });
        assert_eq!(
            redact(&arguments, &keys),
            json!({
                "user": "ann",
                "password": REDACTED,
                "nested": [{ "token": REDACTED, "keep": 1 }],
            })
        );
        let (first, size) = digest(&json!({"a": 1, "b": [true]}));
        let (second, _) = digest(&serde_json::from_str(r#"{"b":[true],"a":1}"#).expect("json"));
        assert_eq!(first, second);
        assert_eq!(size, r#"{"a":1,"b":[true]}"#.len());
        assert_eq!(first.len(), 64);
    }
}

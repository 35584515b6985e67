//! One audit record: who called which tool with what (as a digest, and the
//! arguments themselves only where the component allows), and how it went.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::outcome::{Outcome, Reason};

/// What replaces a redacted value.
pub const REDACTED: &str = "[redacted]";

/// One `tools/call`, as the audit log keeps it.
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
    /// The tool, as the client named it.
    pub tool: String,
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

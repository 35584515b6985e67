//! Server-sent events as Warden writes them: one JSON-RPC message per
//! event, in a single `data:` line (serde_json escapes every line break
//! inside strings), with an `id:` where the stream can be resumed.

use bytes::Bytes;

use super::replay::EventId;

/// The reconnection delay suggested to 2025-11-25 clients.
const RETRY_AFTER_MS: u64 = 1000;

/// An event with an id and no data, and the delay a client should wait
/// before reconnecting.
pub fn priming_event(id: &EventId) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {RETRY_AFTER_MS}\ndata:\n\n"))
}

/// One JSON-RPC message as an event without an id (streams that cannot be
/// resumed).
pub fn plain_event(message: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: message\ndata: {message}\n\n"))
}

/// One JSON-RPC message as an event. `serde_json` escapes newlines inside
/// strings, so the message is always one `data:` line.
pub fn message_event(id: &EventId, message: &serde_json::Value) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: message\ndata: {message}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_well_formed_sse() {
        let id = EventId::parse("0000000a-r1-0").expect("id");
        assert_eq!(
            &priming_event(&id)[..],
            b"id: 0000000a-r1-0\nretry: 1000\ndata:\n\n"
        );
        let id = EventId::parse("0000000a-g2-7").expect("id");
        let event = message_event(&id, &json!({"text": "two\nlines"}));
        assert_eq!(
            &event[..],
            b"id: 0000000a-g2-7\nevent: message\ndata: {\"text\":\"two\\nlines\"}\n\n"
        );
    }
}

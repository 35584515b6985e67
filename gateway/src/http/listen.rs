//! `subscriptions/listen` (2026-07-28): a POST whose answer is a lasting
//! event stream of the notifications the client opted in to. Warden honours
//! `toolsListChanged` (it serves no prompts or resources). The stream opens
//! with `notifications/subscriptions/acknowledged` naming what is honoured;
//! every message carries the subscription's id (the request's JSON-RPC id)
//! in `_meta`. A drain ends it with a result, so the client knows it was
//! closed on purpose; a client closing it just ends it.

use std::sync::Arc;

use bytes::Bytes;
use hyper::Response;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::Gateway;
use super::event_stream::{KEEPALIVE_INTERVAL, plain_event};
use super::response::{self, Body};
use crate::mcp::RpcError;
use crate::mcp::jsonrpc::{self, RequestId};

/// `_meta` key naming the subscription a message belongs to.
const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// Messages queued for a client that is not reading; past that the stream
/// is closed.
const QUEUED_EVENTS: usize = 32;

/// The notification types honoured, out of the `notifications` filter a
/// listen request names.
pub fn honoured(params: Option<&Map<String, Value>>) -> Result<Value, RpcError> {
    let filter = params
        .and_then(|params| params.get("notifications"))
        .and_then(Value::as_object)
        .ok_or_else(|| {
            RpcError::invalid_params("`subscriptions/listen` needs a `notifications` object")
        })?;
    let mut honoured = Map::new();
    if filter.get("toolsListChanged") == Some(&Value::Bool(true)) {
        honoured.insert("toolsListChanged".to_owned(), Value::Bool(true));
    }
    Ok(Value::Object(honoured))
}

/// Opens the stream of subscription `id`, honouring `honoured`.
pub fn open(gateway: &Arc<Gateway>, id: RequestId, honoured: Value) -> Response<Body> {
    let (sender, receiver) = mpsc::channel(QUEUED_EVENTS);
    tokio::spawn(feed(Arc::clone(gateway), id, honoured, sender));
    response::event_stream(receiver)
}

/// A notification of subscription `id`.
fn notification(id: &RequestId, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({ SUBSCRIPTION_ID_KEY: id.to_value() });
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

async fn feed(gateway: Arc<Gateway>, id: RequestId, honoured: Value, events: mpsc::Sender<Bytes>) {
    let tools = honoured.get("toolsListChanged") == Some(&Value::Bool(true));
    let mut tools_changed = gateway.mcp.subscribe_tools_changed();
    let drain_begun = gateway.mcp.lifecycle().drain_begun();
    let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.tick().await;
    let acknowledged = notification(
        &id,
        "notifications/subscriptions/acknowledged",
        json!({ "notifications": honoured }),
    );
    let mut next = Some(plain_event(&acknowledged));
    let reason = loop {
        if let Some(chunk) = next.take() {
            match events.try_send(chunk) {
                Ok(()) => {}
                Err(TrySendError::Closed(_)) => break "the client closed it",
                Err(TrySendError::Full(_)) => break "the client stopped reading",
            }
        }
        next = tokio::select! {
            () = drain_begun.cancelled() => {
                let ended = jsonrpc::result(&id, json!({
                    "resultType": "complete",
                    "_meta": { SUBSCRIPTION_ID_KEY: id.to_value() },
                }));
                let _ = events.try_send(plain_event(&ended));
                break "the server is draining";
            }
            () = events.closed() => break "the client closed it",
            changed = tools_changed.recv(), if tools => match changed {
                // A lagged receiver missed changes; one notification covers them.
                Ok(()) | Err(RecvError::Lagged(_)) => Some(plain_event(&notification(
                    &id,
                    "notifications/tools/list_changed",
                    json!({}),
                ))),
                Err(RecvError::Closed) => break "the server stopped",
            },
            _ = keepalive.tick() => Some(Bytes::from_static(b": keep-alive\n\n")),
        };
    };
    tracing::debug!(subscription = %id.to_value(), reason, "subscription stream closed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tool_list_changes_are_honoured() {
        let params = |filter: Value| json!({ "notifications": filter }).as_object().cloned();
        assert_eq!(
            honoured(
                params(json!({"toolsListChanged": true, "promptsListChanged": true})).as_ref()
            ),
            Ok(json!({"toolsListChanged": true}))
        );
        assert_eq!(
            honoured(params(json!({"resourceSubscriptions": ["file:///a"]})).as_ref()),
            Ok(json!({}))
        );
        assert!(honoured(None).is_err());
        assert!(honoured(params(json!([])).as_ref()).is_err());
    }
}

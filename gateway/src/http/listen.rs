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
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::event_stream::{KEEPALIVE_INTERVAL, plain_event};
use super::response::{self, Body};
use crate::app::Gateway;
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::stateless::{subscription_ended, subscription_notification};

/// Messages queued for a client that is not reading; past that the stream
/// is closed.
const QUEUED_EVENTS: usize = 32;

/// Opens the stream of subscription `id`, honouring `honoured`.
pub fn open(gateway: &Arc<Gateway>, id: RequestId, honoured: Value) -> Response<Body> {
    let (sender, receiver) = mpsc::channel(QUEUED_EVENTS);
    tokio::spawn(feed(Arc::clone(gateway), id, honoured, sender));
    response::event_stream(receiver)
}

async fn feed(gateway: Arc<Gateway>, id: RequestId, honoured: Value, events: mpsc::Sender<Bytes>) {
    let tools = honoured.get("toolsListChanged") == Some(&Value::Bool(true));
    let mut tools_changed = gateway.mcp.subscribe_tools_changed();
    let drain_begun = gateway.mcp.lifecycle().drain_begun();
    let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.tick().await;
    let acknowledged = subscription_notification(
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
                let _ = events.try_send(plain_event(&subscription_ended(&id)));
                break "the server is draining";
            }
            () = events.closed() => break "the client closed it",
            changed = tools_changed.recv(), if tools => match changed {
                // A lagged receiver missed changes; one notification covers them.
                Ok(()) | Err(RecvError::Lagged(_)) => Some(plain_event(&subscription_notification(
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

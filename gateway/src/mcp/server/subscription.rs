//! `subscriptions/listen` (2026-07-28): a request whose answer is a lasting
//! stream of the notifications the client opted in to. Warden honours
//! `toolsListChanged` (it serves no prompts or resources). The stream opens
//! with `notifications/subscriptions/acknowledged` naming what is honoured;
//! every message carries the subscription's id (the request's id) in
//! `_meta`. A drain ends it with a result, so the client knows it was
//! closed on purpose; a cancellation just ends it. Transports carry the
//! messages and add what their wire needs (keep-alives, the client going
//! away).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::context::Listed;
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::session::{OwnedCall, Session};
use crate::mcp::stateless::{subscription_ended, subscription_notification};

/// What a subscription has for its client next.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionEvent {
    /// A notification to send; more may follow.
    Notify(Value),
    /// The result that ends the subscription on purpose: send it, then
    /// close.
    End(Value),
    /// The subscription is over, nothing more to send (cancelled, or the
    /// server stopped).
    Closed(&'static str),
}

/// An open `subscriptions/listen`.
pub struct Subscription {
    id: RequestId,
    honoured: Value,
    tools_changed: broadcast::Receiver<()>,
    wants_tools: bool,
    drain_begun: CancellationToken,
    /// Cancelled by `notifications/cancelled` naming the subscription.
    call: OwnedCall,
    /// Its place among the connection's running requests, if listed.
    _listed: Option<Listed>,
}

impl Subscription {
    pub(super) fn new(
        id: RequestId,
        honoured: Value,
        session: Arc<Session>,
        listed: Option<Listed>,
        tools_changed: broadcast::Receiver<()>,
        drain_begun: CancellationToken,
    ) -> Self {
        let call = session.start_owned_call(&id.to_value());
        Self {
            wants_tools: honoured.get("toolsListChanged") == Some(&Value::Bool(true)),
            id,
            honoured,
            tools_changed,
            drain_begun,
            call,
            _listed: listed,
        }
    }

    /// The subscription's id: its request's.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// The first message: what is honoured.
    pub fn acknowledged(&self) -> Value {
        subscription_notification(
            &self.id,
            "notifications/subscriptions/acknowledged",
            json!({ "notifications": self.honoured }),
        )
    }

    /// The result that ends the subscription on purpose, for a transport
    /// that closes it (its client's input ended).
    pub fn ended(&self) -> Value {
        subscription_ended(&self.id)
    }

    /// Waits for what comes next.
    pub async fn next(&mut self) -> SubscriptionEvent {
        let cancelled = self.call.cancelled();
        tokio::select! {
            () = cancelled.cancelled() => SubscriptionEvent::Closed("the client cancelled it"),
            () = self.drain_begun.cancelled() => SubscriptionEvent::End(self.ended()),
            changed = self.tools_changed.recv(), if self.wants_tools => match changed {
                // A lagged receiver missed changes; one notification covers them.
                Ok(()) | Err(RecvError::Lagged(_)) => SubscriptionEvent::Notify(
                    subscription_notification(
                        &self.id,
                        "notifications/tools/list_changed",
                        json!({}),
                    ),
                ),
                Err(RecvError::Closed) => SubscriptionEvent::Closed("the server stopped"),
            },
        }
    }
}

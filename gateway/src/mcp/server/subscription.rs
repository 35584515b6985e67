//! `subscriptions/listen` (2026-07-28): a request whose answer is a lasting
//! stream of the notifications the client opted in to: list changes of
//! tools, prompts and resources, and updates of the resources it names
//! that its caller may read. The stream opens with
//! `notifications/subscriptions/acknowledged` naming what is honoured;
//! every message carries the subscription's id (the request's id) in
//! `_meta`. A drain ends it with a result, so the client knows it was
//! closed on purpose; a cancellation just ends it. Transports carry the
//! messages and add what their wire needs (keep-alives, the client going
//! away).

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::context::Listed;
use crate::auth::Caller;
use crate::mcp::jsonrpc::RequestId;
use crate::mcp::session::{OwnedCall, Session};
use crate::mcp::stateless::{subscription_ended, subscription_notification};
use crate::mcp::watch::{CatalogChange, Wants, WatchGuard};

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

/// What a subscription watches, and where changes come from.
pub struct Watching {
    /// Each reload's changes.
    pub changes: broadcast::Receiver<CatalogChange>,
    /// The resources watched, each held for as long as the subscription.
    pub resources: Vec<(String, WatchGuard)>,
    /// Whose subscription it is: updates go only for what it may read.
    pub caller: Arc<Caller>,
}

/// An open `subscriptions/listen`.
pub struct Subscription {
    id: RequestId,
    honoured: Value,
    watching: Watching,
    wants: Wants,
    /// Notifications of a change not yet handed out.
    queued: VecDeque<Value>,
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
        watching: Watching,
        drain_begun: CancellationToken,
    ) -> Self {
        let call = session.start_owned_call(&id.to_value());
        let wants = |key: &str| honoured.get(key) == Some(&Value::Bool(true));
        Self {
            wants: Wants {
                tools: wants("toolsListChanged"),
                prompts: wants("promptsListChanged"),
                resources: wants("resourcesListChanged"),
            },
            id,
            honoured,
            watching,
            queued: VecDeque::new(),
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
        loop {
            if let Some(queued) = self.queued.pop_front() {
                return SubscriptionEvent::Notify(queued);
            }
            let cancelled = self.call.cancelled();
            let change = tokio::select! {
                () = cancelled.cancelled() => {
                    return SubscriptionEvent::Closed("the client cancelled it");
                }
                () = self.drain_begun.cancelled() => return SubscriptionEvent::End(self.ended()),
                changed = self.watching.changes.recv() => match changed {
                    Ok(change) => change,
                    // A lagged receiver missed changes: every list it
                    // watches may have changed, and every resource.
                    Err(RecvError::Lagged(_)) => CatalogChange {
                        tools: true,
                        prompts: true,
                        resources: true,
                        updated: Arc::new(
                            self.watching.resources.iter().map(|(uri, _)| uri.clone()).collect(),
                        ),
                        catalog: None,
                    },
                    Err(RecvError::Closed) => {
                        return SubscriptionEvent::Closed("the server stopped");
                    }
                },
            };
            let watching = &self.watching;
            let notes = change.notifications(self.wants, |uri| {
                watching.resources.iter().any(|(watched, _)| watched == uri)
                    && (change.catalog.is_none() || change.allows(uri, &watching.caller))
            });
            for (method, params) in notes {
                self.queued
                    .push_back(subscription_notification(&self.id, method, params));
            }
        }
    }
}

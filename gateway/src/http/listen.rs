//! `subscriptions/listen` over HTTP (2026-07-28): the POST's answer is a
//! lasting event stream of what the server's [`Subscription`] has, with a
//! comment every [`KEEPALIVE_INTERVAL`]; a client closing the stream, or
//! not reading it, ends the subscription.

use std::sync::Arc;

use bytes::Bytes;
use hyper::Response;

use super::event_stream::KEEPALIVE_INTERVAL;
use super::response::{self, Body};
use super::sse::plain_event;
use super::unsent::{EventSender, NotQueued, Unsent, event_channel};
use crate::mcp::server::{Subscription, SubscriptionEvent};

/// Messages queued for a client that is not reading; past that the stream
/// is closed.
const QUEUED_EVENTS: usize = 32;

/// Opens the stream of `subscription` on the connection `unsent` counts
/// for.
pub fn open(subscription: Subscription, unsent: &Arc<Unsent>) -> Response<Body> {
    let (sender, receiver) = event_channel(QUEUED_EVENTS, unsent);
    tokio::spawn(feed(subscription, sender));
    response::event_stream(receiver)
}

async fn feed(mut subscription: Subscription, events: EventSender) {
    let mut keepalive = tokio::time::interval(KEEPALIVE_INTERVAL);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.tick().await;
    let mut next = Some(plain_event(&subscription.acknowledged()));
    let reason = loop {
        if let Some(chunk) = next.take() {
            match events.try_send(chunk) {
                Ok(()) => {}
                Err(NotQueued::Closed) => break "the client closed it",
                Err(NotQueued::Full) => break "the client stopped reading",
            }
        }
        next = tokio::select! {
            event = subscription.next() => match event {
                SubscriptionEvent::Notify(message) => Some(plain_event(&message)),
                SubscriptionEvent::End(message) => {
                    let _ = events.try_send(plain_event(&message));
                    break "the server is draining";
                }
                SubscriptionEvent::Closed(reason) => break reason,
            },
            () = events.closed() => break "the client closed it",
            _ = keepalive.tick() => Some(Bytes::from_static(b": keep-alive\n\n")),
        };
    };
    tracing::debug!(subscription = %subscription.id().to_value(), reason, "subscription stream closed");
}

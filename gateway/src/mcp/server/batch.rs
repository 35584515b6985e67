//! JSON-RPC batches, for sessions of revision 2025-03-26 (later revisions
//! removed them): every message of the array is handled as if it came
//! alone, requests concurrently, and the answers come back as one JSON
//! array in the batch's order, or nothing when no message needs an answer.

use std::sync::Arc;

use serde_json::Value;
use tokio::task::JoinSet;

use super::context::{Answer, Framing, Reply, RequestContext, Running, SessionRef};
use super::jobs::Origin;
use super::methods::{self, SessionRequest};
use super::{LocalState, McpServer};
use crate::mcp::error::McpError;
use crate::mcp::jsonrpc::{DecodeError, Message};
use crate::mcp::revision::Transport;
use crate::mcp::session::Session;

impl McpServer {
    /// A batch: refused outside a 2025-03-26 session, else run as
    /// [`Reply::Running`], each message a task of its own.
    pub(super) fn batch(
        self: &Arc<Self>,
        messages: Vec<Result<Message, DecodeError>>,
        context: &RequestContext<'_>,
    ) -> Reply {
        let session = match self.batch_session(context) {
            Ok(session) => session,
            Err(refusal) => return Reply::Answer(Answer::refusal(None, refusal)),
        };
        let mut running = JoinSet::new();
        for (index, message) in messages.into_iter().enumerate() {
            let (server, session) = (Arc::clone(self), Arc::clone(&session));
            let own = RequestContext::new(
                Arc::clone(&context.caller),
                context.transport,
                SessionRef::Held(Arc::clone(&session)),
                Framing::Session,
                context.admission,
            );
            let trace = context.trace.clone();
            running.spawn(async move {
                let own = RequestContext { trace, ..own };
                (index, server.one_of_batch(&session, message, &own).await)
            });
        }
        let answer = async move {
            let mut answers: Vec<(usize, Value)> = Vec::new();
            while let Some(joined) = running.join_next().await {
                match joined {
                    Ok((index, Some(answer))) => answers.push((index, answer)),
                    Ok((_, None)) => {}
                    // A task that panicked: its request goes unanswered
                    // rather than the whole batch.
                    Err(error) => tracing::error!(%error, "a batch message's task failed"),
                }
            }
            if answers.is_empty() {
                return None;
            }
            answers.sort_by_key(|(index, _)| *index);
            Some(Answer::batch(
                answers.into_iter().map(|(_, answer)| answer).collect(),
            ))
        };
        Reply::Running(Running {
            session,
            notifications: None,
            answer: Box::pin(answer),
        })
    }

    /// The session a batch runs in, or why it cannot.
    fn batch_session(&self, context: &RequestContext<'_>) -> Result<Arc<Session>, McpError> {
        let session = match (&context.framing, &context.session) {
            (Framing::Stateless, _) => {
                return Err(McpError::invalid_request(
                    "revision 2026-07-28 takes one JSON-RPC message per request, not a batch",
                ));
            }
            (_, SessionRef::Held(session)) => Arc::clone(session),
            (
                _,
                SessionRef::Named {
                    id,
                    protocol_version,
                },
            ) => self.open_session(
                id,
                protocol_version.as_deref(),
                &context.caller,
                LocalState::Needed,
            )?,
            // `initialize` cannot be batched, so a batch always belongs to
            // a session.
            (_, SessionRef::Absent) => {
                let how = match context.transport {
                    Transport::Http => "send the Mcp-Session-Id header; ",
                    Transport::Stdio => "send `initialize` first; ",
                };
                return Err(McpError::invalid_request(format!(
                    "a JSON-RPC batch is accepted only in a session of protocol revision \
                     2025-03-26 ({how}`initialize` cannot be batched)"
                )));
            }
        };
        if !session.revision.accepts_batches() {
            return Err(McpError::invalid_request(format!(
                "{} (this session speaks {})",
                DecodeError::Batch,
                session.revision.as_str()
            )));
        }
        Ok(session)
    }

    /// One message of a batch, handled as if it came alone; `None` when it
    /// gets no answer (notifications, responses, cancelled calls).
    async fn one_of_batch(
        self: &Arc<Self>,
        session: &Arc<Session>,
        message: Result<Message, DecodeError>,
        context: &RequestContext<'_>,
    ) -> Option<Value> {
        let (id, method, params) = match message {
            Err(error) => return Some(McpError::from(&error).to_message(error.id())),
            Ok(Message::Notification { method, params }) => {
                methods::notification(session, &method, params.as_ref());
                return None;
            }
            Ok(Message::Response { id, answer }) => {
                let routed = session.pending.answer(&id, answer);
                tracing::debug!(session = %session.log_tag, ?id, routed, "response from the client");
                return None;
            }
            Ok(Message::Request { id, method, .. }) if method == "initialize" => {
                let refused = McpError::invalid_request("`initialize` cannot be part of a batch");
                return Some(refused.to_message(Some(&id)));
            }
            Ok(Message::Request { id, method, params }) => (id, method, params),
        };
        let request = SessionRequest {
            session: Arc::clone(session),
            id,
            method,
            params,
            resolved: None,
        };
        let reply = self.request(request, context, Origin::Batch).await;
        match reply {
            Reply::Answer(answer) => Some(answer.message),
            Reply::Running(running) => running.answer.await.map(|answer| answer.message),
            // A batch's requests are a session's: they open nothing.
            Reply::Nothing | Reply::Opened { .. } | Reply::Subscription(_) => None,
        }
    }
}

//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout, for
//! clients that launch Warden as a local subprocess. One connection is one
//! session; all logging goes to stderr.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::app::Gateway;
use crate::auth::Caller;
use crate::lifecycle::{DrainOutcome, FLUSH_AFTER_CANCEL};
use crate::mcp::batch::{self, Admit};
use crate::mcp::jsonrpc::{self, DecodeError, Message, RequestId, code};
use crate::mcp::notify::Notifications;
use crate::mcp::revision::Transport;
use crate::mcp::session::Session;
use crate::mcp::stateless::{
    self, Envelope, honoured_subscriptions, subscription_ended, subscription_notification,
};

/// Responses waiting for the writer; bounded so a client that stops reading
/// slows Warden down instead of growing its memory.
const OUTBOX_CAPACITY: usize = 256;

/// The next notification of a request that may produce some; never, for
/// one that does not.
async fn next(notifications: &mut Option<Notifications>) -> Option<Value> {
    match notifications {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Serves one client on `input`/`output` until `input` ends or `shutdown`
/// resolves, then waits for the calls still running. After `shutdown` they
/// get `server.drain_timeout_secs` before they are cancelled. Returns how the
/// drain ended.
pub async fn serve<R, W>(
    gateway: Arc<Gateway>,
    input: R,
    output: W,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<DrainOutcome>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (outbox, inbox) = mpsc::channel::<Value>(OUTBOX_CAPACITY);
    let writer = tokio::spawn(write_lines(output, inbox));
    let mut lines = LineReader::new(input, gateway.settings.max_body_bytes);
    let mut session: Option<(String, Arc<Session>)> = None;
    let stateless_calls = StatelessCalls::default();
    // Ends the subscriptions when the client closes stdin.
    let input_closed = CancellationToken::new();
    let mut running = JoinSet::new();
    tokio::pin!(shutdown);
    let mut signalled = false;
    let mut tools_changed = gateway.mcp.subscribe_tools_changed();
    let mut watching_tools = true;

    loop {
        let line = tokio::select! {
            line = lines.next() => line?,
            () = &mut shutdown => {
                signalled = true;
                break;
            }
            changed = tools_changed.recv(), if watching_tools => {
                match changed {
                    // Missed notifications still mean "changed".
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if session.is_some() {
                            let changed = jsonrpc::notification("notifications/tools/list_changed");
                            send(&outbox, changed).await;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => watching_tools = false,
                }
                continue;
            }
        };
        let Some(line) = line else { break };
        let body = match line {
            Line::Complete(body) => body,
            Line::TooLong => {
                let message = format!(
                    "message exceeds the limit of {} bytes",
                    gateway.settings.max_body_bytes
                );
                send(
                    &outbox,
                    jsonrpc::error(None, code::INVALID_REQUEST, &message, None),
                )
                .await;
                continue;
            }
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let message = match jsonrpc::decode(&body, gateway.settings.max_json_depth) {
            Ok(message) => message,
            Err(DecodeError::Batch)
                if session
                    .as_ref()
                    .is_some_and(|(_, current)| current.revision.accepts_batches()) =>
            {
                let Some((_, current)) = session.clone() else {
                    continue;
                };
                let messages = match jsonrpc::decode_batch(&body, gateway.settings.max_json_depth) {
                    Ok(messages) => messages,
                    Err(error) => {
                        let refusal = jsonrpc::error(None, error.code(), &error.to_string(), None);
                        send(&outbox, refusal).await;
                        continue;
                    }
                };
                let (gateway, outbox) = (Arc::clone(&gateway), outbox.clone());
                running.spawn(async move {
                    let caller = Arc::new(Caller::local());
                    let answers =
                        batch::answer(&gateway, &current, &caller, messages, Admit::No).await;
                    if let Some(answers) = answers {
                        send(&outbox, answers).await;
                    }
                });
                continue;
            }
            Err(error) => {
                send(
                    &outbox,
                    jsonrpc::error(error.id(), error.code(), &error.to_string(), None),
                )
                .await;
                continue;
            }
        };
        match message {
            Message::Request { id, method, params } if method == "initialize" => {
                let reply = match gateway.mcp.initialize(
                    params.as_ref(),
                    &Caller::local(),
                    Transport::Stdio,
                ) {
                    Ok(initialized) => {
                        if let Some((previous, _)) = session.take() {
                            gateway.mcp.sessions().end(&previous);
                        }
                        session = Some((initialized.session_id, initialized.session));
                        jsonrpc::result(&id, initialized.result)
                    }
                    Err(error) => error.response(Some(&id)),
                };
                send(&outbox, reply).await;
            }
            Message::Request { id, method, params }
                if stateless::carries_envelope(params.as_ref()) =>
            {
                let reply = answer_stateless(
                    &gateway,
                    &outbox,
                    &mut running,
                    (&stateless_calls, &input_closed),
                    Request { id, method, params },
                );
                if let Some(reply) = reply {
                    send(&outbox, reply).await;
                }
            }
            Message::Request { id, method, params } => {
                let Some((_, current)) = session.clone() else {
                    let reply = jsonrpc::error(
                        Some(&id),
                        code::INVALID_REQUEST,
                        "send `initialize` first (or, in revision 2026-07-28, carry the \
                         protocol version and client capabilities in params._meta)",
                        None,
                    );
                    send(&outbox, reply).await;
                    continue;
                };
                let request = Request { id, method, params };
                spawn_request(&mut running, &gateway, &outbox, current, request, None);
            }
            Message::Notification { method, params } => {
                // A cancellation may name a 2026-07-28 request, which has no
                // session; before `initialize` nothing else could be meant.
                let request_id = params
                    .as_ref()
                    .and_then(|params| params.get("requestId"))
                    .map(Value::to_string);
                let stateless_request = request_id
                    .and_then(|request_id| lock(&stateless_calls).get(&request_id).cloned());
                if let Some(request_session) =
                    stateless_request.filter(|_| method == "notifications/cancelled")
                {
                    gateway
                        .mcp
                        .notification(&request_session, &method, params.as_ref());
                } else if let Some((_, current)) = &session {
                    gateway.mcp.notification(current, &method, params.as_ref());
                }
            }
            Message::Response { id, answer } => {
                if let Some((_, current)) = &session {
                    gateway.mcp.client_response(current, &id, answer);
                }
            }
        }
        // Reap finished calls so the set does not grow with the session.
        while running.try_join_next().is_some() {}
    }

    input_closed.cancel();
    // A client that closes stdin still gets its answers; a signal starts the
    // drain deadline.
    let lifecycle = gateway.mcp.lifecycle();
    let finished = async { while running.join_next().await.is_some() {} };
    let deadline = Duration::from_secs(gateway.settings.drain_timeout_secs);
    // A resolved `shutdown` must not be polled again.
    let signal_or_now = async {
        if !signalled {
            shutdown.await;
        }
    };
    lifecycle.drain(finished, signal_or_now, deadline).await;
    running.abort_all();
    if let Some((id, _)) = session {
        gateway.mcp.sessions().end(&id);
    }
    drop(outbox);
    // The answers already queued are written unless stdout is stuck.
    match tokio::time::timeout(FLUSH_AFTER_CANCEL, writer).await {
        Ok(written) => written.map_err(std::io::Error::other)??,
        Err(_) => lifecycle.record_forced_close(),
    }
    Ok(lifecycle.outcome())
}

/// One request read from stdin.
struct Request {
    id: RequestId,
    method: String,
    params: Option<Map<String, Value>>,
}

/// The 2026-07-28 requests running, each with the state its `_meta`
/// declared, by request id (its JSON text), so `notifications/cancelled`
/// can find them.
type StatelessCalls = Arc<Mutex<HashMap<String, Arc<Session>>>>;

fn lock(calls: &StatelessCalls) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
    calls
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes a 2026-07-28 request: answers `server/discover` and refusals at
/// once (returned), and runs the rest like a session's request, with the
/// state its envelope declares.
fn answer_stateless(
    gateway: &Arc<Gateway>,
    outbox: &mpsc::Sender<Value>,
    running: &mut JoinSet<()>,
    (stateless_calls, input_closed): (&StatelessCalls, &CancellationToken),
    request: Request,
) -> Option<Value> {
    let Request { id, method, params } = &request;
    let envelope = match Envelope::read(params.as_ref()) {
        Ok(envelope) => envelope,
        Err(error) => return Some(error.response(Some(id))),
    };
    let revision = match envelope.revision(Transport::Stdio) {
        Ok(revision) => revision,
        Err(error) => return Some(error.response(Some(id))),
    };
    if method == "server/discover" {
        return Some(jsonrpc::result(id, gateway.mcp.discover(Transport::Stdio)));
    }
    let request_session = Arc::new(Session::for_one_request(
        revision,
        envelope.client_capabilities,
        None,
        envelope.log_level,
    ));
    let honoured = if method == "subscriptions/listen" {
        match honoured_subscriptions(params.as_ref()) {
            Ok(honoured) => Some(honoured),
            Err(error) => return Some(error.response(Some(id))),
        }
    } else {
        None
    };
    let key = id.to_value().to_string();
    lock(stateless_calls).insert(key.clone(), Arc::clone(&request_session));
    let listed = (Arc::clone(stateless_calls), key);
    match honoured {
        Some(honoured) => {
            let subscription = Subscription {
                gateway: Arc::clone(gateway),
                outbox: outbox.clone(),
                session: request_session,
                id: request.id,
                honoured,
                input_closed: input_closed.clone(),
                listed,
            };
            running.spawn(subscription.run());
        }
        None => spawn_request(
            running,
            gateway,
            outbox,
            request_session,
            request,
            Some(listed),
        ),
    }
    None
}

/// A `subscriptions/listen` over stdio: its notifications are lines tagged
/// with its id, until the client cancels it (`notifications/cancelled`),
/// or it ends with its result when a drain begins or stdin closes.
struct Subscription {
    gateway: Arc<Gateway>,
    outbox: mpsc::Sender<Value>,
    session: Arc<Session>,
    id: RequestId,
    honoured: Value,
    input_closed: CancellationToken,
    listed: (StatelessCalls, String),
}

impl Subscription {
    async fn run(self) {
        let running = self.session.start_call(&self.id.to_value());
        let cancelled = running.cancelled();
        let tools = self.honoured.get("toolsListChanged") == Some(&Value::Bool(true));
        let mut tools_changed = self.gateway.mcp.subscribe_tools_changed();
        let drain_begun = self.gateway.mcp.lifecycle().drain_begun();
        let acknowledged = subscription_notification(
            &self.id,
            "notifications/subscriptions/acknowledged",
            serde_json::json!({ "notifications": self.honoured }),
        );
        send(&self.outbox, acknowledged).await;
        loop {
            tokio::select! {
                () = cancelled.cancelled() => break,
                () = drain_begun.cancelled() => {
                    send(&self.outbox, subscription_ended(&self.id)).await;
                    break;
                }
                () = self.input_closed.cancelled() => {
                    send(&self.outbox, subscription_ended(&self.id)).await;
                    break;
                }
                changed = tools_changed.recv(), if tools => match changed {
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        let changed = subscription_notification(
                            &self.id,
                            "notifications/tools/list_changed",
                            serde_json::json!({}),
                        );
                        send(&self.outbox, changed).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        drop(running);
        let (calls, key) = &self.listed;
        lock(calls).remove(key);
    }
}

/// Runs a request concurrently with the others: its notifications go out
/// as they come, then its answer (none for a call the client cancelled).
/// `listed` is its entry among the 2026-07-28 requests, removed when done.
fn spawn_request(
    running: &mut JoinSet<()>,
    gateway: &Arc<Gateway>,
    outbox: &mpsc::Sender<Value>,
    session: Arc<Session>,
    request: Request,
    listed: Option<(StatelessCalls, String)>,
) {
    let Request { id, method, params } = request;
    let (gateway, outbox) = (Arc::clone(gateway), outbox.clone());
    let span = tracing::info_span!(
        "mcp",
        rpc_id = %id.to_value(),
        method = %method,
        session = %session.log_tag,
    );
    running.spawn(
        async move {
            let caller = Caller::local();
            let (notifier, mut notifications) =
                match gateway.mcp.notifier_for(&session, &method, params.as_ref()) {
                    Some((notifier, receiver)) => (Some(notifier), Some(receiver)),
                    None => (None, None),
                };
            let respond =
                gateway
                    .mcp
                    .respond(&session, &caller, &id, &method, params.as_ref(), notifier);
            tokio::pin!(respond);
            let reply = loop {
                tokio::select! {
                    biased;
                    reply = &mut respond => break reply,
                    Some(notification) = next(&mut notifications) => {
                        send(&outbox, notification).await;
                    }
                }
            };
            while let Some(notification) = notifications.as_mut().and_then(Notifications::try_recv)
            {
                send(&outbox, notification).await;
            }
            if let Some((calls, key)) = listed {
                lock(&calls).remove(&key);
            }
            if let Some(reply) = reply {
                send(&outbox, reply).await;
            }
        }
        .instrument(span),
    );
}

async fn send(outbox: &mpsc::Sender<Value>, message: Value) {
    // The writer only stops when stdout is gone; nothing is left to tell.
    let _ = outbox.send(message).await;
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut output: W,
    mut inbox: mpsc::Receiver<Value>,
) -> std::io::Result<()> {
    while let Some(message) = inbox.recv().await {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        output.write_all(&line).await?;
        output.flush().await?;
    }
    Ok(())
}

enum Line {
    Complete(Vec<u8>),
    TooLong,
}

/// Reads newline-terminated lines of at most `max_bytes`, skipping the rest
/// of an over-long line without buffering it.
struct LineReader<R> {
    input: R,
    max_bytes: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    fn new(input: R, max_bytes: usize) -> Self {
        Self { input, max_bytes }
    }

    async fn next(&mut self) -> std::io::Result<Option<Line>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let available = self.input.fill_buf().await?;
            if available.is_empty() {
                return Ok(match (line.is_empty() && !too_long, too_long) {
                    (true, _) => None,
                    (false, true) => Some(Line::TooLong),
                    (false, false) => Some(Line::Complete(line)),
                });
            }
            let (chunk, done) = match available.iter().position(|&byte| byte == b'\n') {
                Some(end) => (&available[..end], Some(end + 1)),
                None => (available, None),
            };
            if !too_long {
                if line.len() + chunk.len() > self.max_bytes {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let consumed = done.unwrap_or(available.len());
            self.input.consume(consumed);
            if done.is_some() {
                return Ok(Some(if too_long {
                    Line::TooLong
                } else {
                    Line::Complete(line)
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8], max_bytes: usize) -> Vec<Option<Vec<u8>>> {
        let mut reader = LineReader::new(input, max_bytes);
        let mut lines = Vec::new();
        while let Some(line) = reader.next().await.expect("read") {
            lines.push(match line {
                Line::Complete(bytes) => Some(bytes),
                Line::TooLong => None,
            });
        }
        lines
    }

    #[tokio::test]
    async fn splits_lines_and_refuses_long_ones_without_losing_the_next() {
        let lines = read_all(b"one\n0123456789\ntwo\nlast", 5).await;
        assert_eq!(
            lines,
            vec![
                Some(b"one".to_vec()),
                None,
                Some(b"two".to_vec()),
                Some(b"last".to_vec())
            ]
        );
        assert!(read_all(b"", 5).await.is_empty());
    }
}

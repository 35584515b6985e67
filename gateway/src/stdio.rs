//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout, for
//! clients that launch Warden as a local subprocess. One connection is one
//! session; all logging goes to stderr. Each line goes to the MCP server;
//! this module only frames lines, carries the server's replies, and runs
//! what keeps running (calls, subscriptions) beside the reading.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::Gateway;
use crate::auth::Caller;
use crate::lifecycle::{DrainOutcome, FLUSH_AFTER_CANCEL};
use crate::mcp::McpError;
use crate::mcp::jsonrpc;
use crate::mcp::notify::Notifications;
use crate::mcp::revision::Transport;
use crate::mcp::server::{
    Admission, Framing, InFlight, Incoming, Reply, RequestContext, Running, SessionRef,
    Subscription, SubscriptionEvent,
};
use crate::mcp::session::Session;

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
    let cluster_sync = crate::app::spawn_cluster_sync(&gateway);
    let mut lines = LineReader::new(input, gateway.settings.max_body_bytes);
    let mut session: Option<(String, Arc<Session>)> = None;
    let caller = Arc::new(Caller::local());
    let in_flight = Arc::new(InFlight::default());
    // Ends the subscriptions when the client closes stdin.
    let input_closed = CancellationToken::new();
    let mut running = JoinSet::new();
    tokio::pin!(shutdown);
    let mut signalled = false;
    let mut changes = gateway.mcp.subscribe_changes();
    let mut watching = true;

    loop {
        let line = tokio::select! {
            line = lines.next() => line?,
            () = &mut shutdown => {
                signalled = true;
                break;
            }
            changed = changes.recv(), if watching => {
                match changed {
                    Ok(change) => {
                        if let Some((_, session)) = &session {
                            for message in session.change_messages(&change) {
                                send(&outbox, message).await;
                            }
                        }
                    }
                    // Missed notifications still mean the tools changed.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if session.is_some() {
                            let changed = jsonrpc::notification("notifications/tools/list_changed");
                            send(&outbox, changed).await;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => watching = false,
                }
                continue;
            }
        };
        let Some(line) = line else { break };
        let body = match line {
            Line::Complete(body) => body,
            Line::TooLong => {
                let refusal = McpError::invalid_request(format!(
                    "message exceeds the limit of {} bytes",
                    gateway.settings.max_body_bytes
                ));
                send(&outbox, refusal.to_message(None)).await;
                continue;
            }
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut context = RequestContext::new(
            Arc::clone(&caller),
            Transport::Stdio,
            match &session {
                Some((_, current)) => SessionRef::Held(Arc::clone(current)),
                None => SessionRef::Absent,
            },
            Framing::PerMessage,
            Admission::Uncapped,
        );
        context.in_flight = Some(&in_flight);
        let incoming = Incoming::decode(&body, gateway.settings.max_json_depth);
        match gateway.mcp.handle(incoming, &context).await {
            Reply::Nothing => {}
            Reply::Answer(answer) => send(&outbox, answer.message).await,
            Reply::Opened {
                answer,
                session_id,
                session: opened,
            } => {
                // A second `initialize` starts the connection's session anew.
                if let Some((previous, _)) = session.replace((session_id, opened)) {
                    gateway.mcp.sessions().end(&previous);
                }
                send(&outbox, answer.message).await;
            }
            Reply::Running(request) => {
                running.spawn(forward(request, outbox.clone()));
            }
            Reply::Subscription(subscription) => {
                running.spawn(listen(subscription, outbox.clone(), input_closed.clone()));
            }
        }
        // Reap finished calls so the set does not grow with the session.
        while running.try_join_next().is_some() {}
    }

    input_closed.cancel();
    // A client that closes stdin still gets its answers; a signal starts the
    // drain deadline.
    let lifecycle = gateway.mcp.lifecycle();
    // Tasks are not waited for: no other client can reach this process
    // to read them, so they end with it.
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
    crate::app::stop_cluster_sync(&gateway, cluster_sync).await;
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

/// Carries a running request: its notifications as they come, then its
/// answer (none for a call the client cancelled).
async fn forward(request: Running, outbox: mpsc::Sender<Value>) {
    let Running {
        mut notifications,
        mut answer,
        ..
    } = request;
    let reply = loop {
        tokio::select! {
            biased;
            reply = &mut answer => break reply,
            Some(notification) = next(&mut notifications) => {
                send(&outbox, notification).await;
            }
        }
    };
    while let Some(notification) = notifications.as_mut().and_then(Notifications::try_recv) {
        send(&outbox, notification).await;
    }
    if let Some(reply) = reply {
        send(&outbox, reply.message).await;
    }
}

/// Carries a `subscriptions/listen`: its notifications are lines tagged
/// with its id, until the client cancels it, or it ends with its result
/// when a drain begins or stdin closes.
async fn listen(
    mut subscription: Subscription,
    outbox: mpsc::Sender<Value>,
    input_closed: CancellationToken,
) {
    send(&outbox, subscription.acknowledged()).await;
    loop {
        tokio::select! {
            event = subscription.next() => match event {
                SubscriptionEvent::Notify(message) => send(&outbox, message).await,
                SubscriptionEvent::End(message) => {
                    send(&outbox, message).await;
                    break;
                }
                SubscriptionEvent::Closed(_) => break,
            },
            () = input_closed.cancelled() => {
                send(&outbox, subscription.ended()).await;
                break;
            }
        }
    }
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

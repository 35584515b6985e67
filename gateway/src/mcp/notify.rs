//! What a request produces while it runs: a tool's log messages
//! (`notifications/message`, at or above the session's logging level) and
//! its progress (`notifications/progress`, when the request carried a
//! `progressToken`). They belong to the request's own stream: events of an
//! SSE response over HTTP, lines before the response over stdio.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc::{self, error::TrySendError};
use warden_sandbox::LogLevel;

/// Notifications one request may have waiting; beyond it (a client that
/// reads slower than the tool reports) further log messages are dropped,
/// counted in the log, and progress reports replace each other: the
/// newest is what a client wants to see.
pub const QUEUED_NOTIFICATIONS: usize = 256;

/// The level below which tool log messages are not sent, until the client
/// sets one with `logging/setLevel`.
pub const DEFAULT_LOG_LEVEL: LogLevel = LogLevel::Info;

/// Sends one request's notifications to its stream.
#[derive(Debug)]
pub struct RequestNotifier {
    sender: mpsc::Sender<Value>,
    progress_token: Option<Value>,
    /// Progress notifications carry `message` from 2025-03-26 on.
    progress_messages: bool,
    /// `None` sends no log messages.
    min_level: Option<LogLevel>,
    dropped: AtomicU64,
    latest_progress: Arc<ProgressSlot>,
}

/// The newest progress report that found the queue full. While one waits
/// here, newer reports replace it rather than queue behind older ones, so
/// progress reaches the client in order and its last value is never lost.
///
/// A report waits here only while the queue is full, so the reader is never
/// asleep on an empty queue meanwhile: it finds the report once it has read
/// the queue, or when the notifier is gone.
#[derive(Debug, Default)]
struct ProgressSlot {
    waiting: Mutex<Option<Value>>,
}

impl ProgressSlot {
    fn lock(&self) -> MutexGuard<'_, Option<Value>> {
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn take(&self) -> Option<Value> {
        self.lock().take()
    }
}

/// The receiving end of one request's notifications, in the order they
/// were made, with the newest progress report last.
#[derive(Debug)]
pub struct Notifications {
    receiver: mpsc::Receiver<Value>,
    latest_progress: Arc<ProgressSlot>,
}

impl Notifications {
    /// The next notification; `None` once the request's notifier is gone
    /// and everything it sent has been received.
    pub async fn recv(&mut self) -> Option<Value> {
        if let Some(notification) = self.try_recv() {
            return Some(notification);
        }
        let received = self.receiver.recv().await;
        received.or_else(|| self.latest_progress.take())
    }

    /// The next notification already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Value> {
        // The queue first: a progress report waits in the slot only while
        // the queue was full, so everything queued is older.
        self.receiver
            .try_recv()
            .ok()
            .or_else(|| self.latest_progress.take())
    }
}

impl RequestNotifier {
    /// A notifier and the receiving end of its stream. Progress is sent only
    /// with a `progress_token`; log messages from `min_level` up, none
    /// without one.
    pub fn channel(
        progress_token: Option<Value>,
        min_level: Option<LogLevel>,
    ) -> (Self, Notifications) {
        let (sender, receiver) = mpsc::channel(QUEUED_NOTIFICATIONS);
        let latest_progress = Arc::new(ProgressSlot::default());
        let notifier = Self {
            sender,
            progress_token,
            progress_messages: true,
            min_level,
            dropped: AtomicU64::new(0),
            latest_progress: Arc::clone(&latest_progress),
        };
        let notifications = Notifications {
            receiver,
            latest_progress,
        };
        (notifier, notifications)
    }

    /// The same, sending progress without its `message` (2024-11-05).
    #[must_use]
    pub fn without_progress_messages(mut self) -> Self {
        self.progress_messages = false;
        self
    }

    /// The request's stream itself, for messages that must not be dropped
    /// (requests to the client wait for room instead).
    pub fn stream(&self) -> mpsc::Sender<Value> {
        self.sender.clone()
    }

    /// A tool's log message, from the tool called `tool` (its served name).
    pub fn log(&self, tool: &str, level: LogLevel, message: &str) {
        if self.min_level.is_none_or(|min_level| level < min_level) {
            return;
        }
        self.send(json!({
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": { "level": level.as_str(), "logger": tool, "data": message },
        }));
    }

    /// A tool's progress report.
    pub fn progress(&self, done: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.progress_token else {
            return;
        };
        let mut params = Map::new();
        params.insert("progressToken".to_owned(), token.clone());
        params.insert("progress".to_owned(), json!(done));
        if let Some(total) = total {
            params.insert("total".to_owned(), json!(total));
        }
        if let Some(message) = message.filter(|_| self.progress_messages) {
            params.insert("message".to_owned(), json!(message));
        }
        let notification = json!({
            "jsonrpc": "2.0",
            "method": "notifications/progress",
            "params": params,
        });
        let mut waiting = self.latest_progress.lock();
        if waiting.is_some() {
            *waiting = Some(notification);
            return;
        }
        match self.sender.try_send(notification) {
            Ok(()) | Err(TrySendError::Closed(_)) => {}
            Err(TrySendError::Full(notification)) => *waiting = Some(notification),
        }
    }

    fn send(&self, notification: Value) {
        if self.sender.try_send(notification).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 {
                tracing::warn!(
                    "a request's log messages come faster than its client reads them; dropping them"
                );
            }
        }
    }
}

/// The `progressToken` of a request's `params._meta`: a string or an
/// integer, as MCP allows; anything else is ignored.
pub fn progress_token(params: Option<&Map<String, Value>>) -> Option<Value> {
    let token = params?.get("_meta")?.get("progressToken")?;
    match token {
        Value::String(_) => Some(token.clone()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some(token.clone()),
        _ => None,
    }
}

/// The level `logging/setLevel` names.
pub fn parse_level(name: &str) -> Option<LogLevel> {
    [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ]
    .into_iter()
    .find(|level| level.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_below_the_level_and_progress_without_a_token_are_not_sent() {
        let (notifier, mut receiver) = RequestNotifier::channel(None, Some(LogLevel::Warning));
        notifier.log("text.count", LogLevel::Info, "quiet");
        notifier.progress(1.0, Some(2.0), None);
        notifier.log("text.count", LogLevel::Error, "loud");
        let sent = receiver.try_recv().expect("the error");
        assert_eq!(sent["method"], "notifications/message");
        assert_eq!(
            sent["params"],
            json!({"level": "error", "logger": "text.count", "data": "loud"})
        );
        assert!(receiver.try_recv().is_none());
    }

    #[test]
    fn progress_carries_the_token_and_a_full_queue_keeps_the_newest() {
        let (notifier, mut receiver) =
            RequestNotifier::channel(Some(json!("tok-1")), Some(LogLevel::Info));
        let reports = QUEUED_NOTIFICATIONS + 10;
        for step in 0..reports {
            #[allow(clippy::cast_precision_loss)]
            notifier.progress(step as f64, None, Some("working"));
        }
        let first = receiver.try_recv().expect("progress");
        assert_eq!(
            first["params"],
            json!({"progressToken": "tok-1", "progress": 0.0, "message": "working"})
        );
        let mut received = vec![first];
        while let Some(notification) = receiver.try_recv() {
            received.push(notification);
        }
        // The queue's worth in order, then the newest report.
        assert_eq!(received.len(), QUEUED_NOTIFICATIONS + 1);
        let progress: Vec<f64> = received
            .iter()
            .filter_map(|sent| sent["params"]["progress"].as_f64())
            .collect();
        assert!(progress.windows(2).all(|pair| pair[0] < pair[1]));
        #[allow(clippy::cast_precision_loss)]
        let newest = (reports - 1) as f64;
        assert_eq!(progress.last(), Some(&newest));
    }

    #[test]
    fn logs_beyond_the_queue_are_dropped_and_counted() {
        let (notifier, mut receiver) = RequestNotifier::channel(None, Some(LogLevel::Info));
        for _ in 0..QUEUED_NOTIFICATIONS + 3 {
            notifier.log("t", LogLevel::Info, "line");
        }
        assert_eq!(notifier.dropped.load(Ordering::Relaxed), 3);
        let mut received = 0;
        while receiver.try_recv().is_some() {
            received += 1;
        }
        assert_eq!(received, QUEUED_NOTIFICATIONS);
    }

    #[tokio::test]
    async fn a_progress_report_that_waited_is_received_after_the_queue_and_before_the_end() {
        let (notifier, mut receiver) = RequestNotifier::channel(Some(json!(1)), None);
        for step in 0..=QUEUED_NOTIFICATIONS {
            #[allow(clippy::cast_precision_loss)]
            notifier.progress(step as f64, None, None);
        }
        drop(notifier);
        let mut last = None;
        let mut count = 0;
        while let Some(notification) = receiver.recv().await {
            last = notification["params"]["progress"].as_f64();
            count += 1;
        }
        assert_eq!(count, QUEUED_NOTIFICATIONS + 1);
        #[allow(clippy::cast_precision_loss)]
        let newest = QUEUED_NOTIFICATIONS as f64;
        assert_eq!(last, Some(newest));
    }

    #[test]
    fn progress_messages_can_be_left_out() {
        let (notifier, mut receiver) =
            RequestNotifier::channel(Some(json!(3)), Some(LogLevel::Info));
        let notifier = notifier.without_progress_messages();
        notifier.progress(1.0, Some(2.0), Some("half"));
        assert_eq!(
            receiver.try_recv().expect("progress")["params"],
            json!({"progressToken": 3, "progress": 1.0, "total": 2.0})
        );
    }

    #[test]
    fn tokens_and_levels_are_read_as_mcp_defines_them() {
        let params = |meta: Value| json!({ "_meta": meta }).as_object().cloned();
        assert_eq!(
            progress_token(params(json!({"progressToken": 7})).as_ref()),
            Some(json!(7))
        );
        assert_eq!(
            progress_token(params(json!({"progressToken": "a"})).as_ref()),
            Some(json!("a"))
        );
        assert_eq!(
            progress_token(params(json!({"progressToken": 1.5})).as_ref()),
            None
        );
        assert_eq!(progress_token(None), None);
        assert_eq!(parse_level("warning"), Some(LogLevel::Warning));
        assert_eq!(parse_level("WARNING"), None);
    }
}

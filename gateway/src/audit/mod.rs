//! The audit log: one JSON line per `tools/call`, written by a thread of its
//! own so a call never waits on the disk.
//!
//! A call reserves its record's place in a bounded queue before it runs, so
//! a call that ran always has room for its record. When the queue is full
//! the record is dropped and counted, unless the log is `required`: then the
//! call is refused before it runs (fail closed). A sink that cannot be
//! written is retried every second, records waiting meanwhile; that shows in
//! the log and metrics, and fills the queue.

pub mod record;
mod writer;

use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::{AuditConfig, AuditSink};
use crate::outcome::{Outcome, Reason};
use crate::telemetry::metrics;
pub use record::AuditRecord;
use writer::Sink;

/// How long a sink that failed is left alone before the next try.
const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long a shutdown waits for the writer to drain the queue.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

enum Message {
    Line(Vec<u8>),
    Stop,
}

/// Why the audit log could not start.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file or its folder could not be opened for writing.
    #[error("cannot open the audit log {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
}

/// A `required` audit log has no room for a record: the call is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the audit log is full or stopped, and records are required; the call was not run")]
pub struct AuditUnavailable;

/// The audit log and its writer thread.
pub struct AuditLog {
    sender: mpsc::Sender<Message>,
    required: bool,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// A record's reserved place in the queue.
pub struct AuditSlot(mpsc::OwnedPermit<Message>);

impl AuditSlot {
    /// Queues `record` in the place reserved for it.
    pub fn write(self, record: &AuditRecord) {
        // Serialising plain data cannot fail.
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        self.0.send(Message::Line(line));
    }
}

/// A call's record in the making. [`finish`](Self::finish) writes it with
/// how the call ended; a call dropped before that (its request timed out,
/// or the server cancelled it) is written as `cancelled`, reason
/// `abandoned`, when the record is dropped.
pub struct PendingRecord {
    slot: Option<AuditSlot>,
    record: AuditRecord,
    started: std::time::Instant,
}

impl PendingRecord {
    /// `record` to be completed, in the place `slot` reserved.
    pub fn new(slot: AuditSlot, record: AuditRecord) -> Self {
        Self {
            slot: Some(slot),
            record,
            started: std::time::Instant::now(),
        }
    }

    /// Completes the record with `update` and writes it.
    pub fn finish(mut self, update: impl FnOnce(&mut AuditRecord)) {
        update(&mut self.record);
        self.write();
    }

    fn write(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.record.time = now_rfc3339();
            self.record.duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
            slot.write(&self.record);
        }
    }
}

impl Drop for PendingRecord {
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.record.outcome = Outcome::Cancelled;
            self.record.reason = Some(Reason::Abandoned);
            self.write();
        }
    }
}

/// The time now, as records carry it.
fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

impl AuditLog {
    /// Opens the sink and starts the writer.
    pub fn start(config: &AuditConfig) -> Result<Self, AuditError> {
        let sink = Sink::open(&config.sink).map_err(|source| AuditError::Open {
            path: match &config.sink {
                AuditSink::File { path, .. } => path.display().to_string(),
                AuditSink::Stdout => "stdout".to_owned(),
            },
            source,
        })?;
        let (sender, receiver) = mpsc::channel(config.queue_records as usize);
        let writer = std::thread::Builder::new()
            .name("warden-audit".to_owned())
            .spawn(move || write_all(receiver, sink))
            .map_err(|source| AuditError::Open {
                path: "writer thread".to_owned(),
                source,
            })?;
        Ok(Self {
            sender,
            required: config.required,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// A place for one call's record. `Ok(None)` when the queue is full and
    /// records are not required: the call runs, its record is dropped.
    pub fn reserve(&self) -> Result<Option<AuditSlot>, AuditUnavailable> {
        match self.sender.clone().try_reserve_owned() {
            Ok(permit) => Ok(Some(AuditSlot(permit))),
            Err(_) => {
                metrics::record_audit("dropped");
                if self.required {
                    tracing::error!(
                        "audit log full or stopped: call refused (records are required)"
                    );
                    Err(AuditUnavailable)
                } else {
                    tracing::warn!("audit log full or stopped: a call's record was dropped");
                    Ok(None)
                }
            }
        }
    }

    /// Writes the records queued so far and stops the writer, waiting at
    /// most a few seconds for a sink that is failing. Later calls find the
    /// log stopped.
    pub async fn shutdown(&self) {
        let Some(writer) = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
        else {
            return;
        };
        let stopped = async {
            // Queued after every record already queued.
            let _ = self.sender.send(Message::Stop).await;
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, stopped).await.is_err() {
            let waiting = self.sender.max_capacity() - self.sender.capacity();
            tracing::error!(waiting, "audit log not drained at exit: records lost");
        }
    }
}

/// The writer thread: writes lines as they come, flushing whenever the queue
/// runs empty, retrying a failing sink until it works.
fn write_all(mut receiver: mpsc::Receiver<Message>, mut sink: Sink) {
    let failing = AtomicBool::new(false);
    while let Some(message) = receiver.blocking_recv() {
        let Message::Line(line) = message else {
            break;
        };
        loop {
            let written = sink.write_line(&line).and_then(|()| {
                if receiver.is_empty() {
                    sink.flush()
                } else {
                    Ok(())
                }
            });
            match written {
                Ok(()) => {
                    if failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("audit log writable again");
                    }
                    metrics::record_audit("written");
                    break;
                }
                Err(error) => {
                    metrics::record_audit_write_error();
                    if !failing.swap(true, Ordering::Relaxed) {
                        tracing::error!(%error, "cannot write the audit log; retrying every second, records wait");
                    }
                    std::thread::sleep(RETRY_INTERVAL);
                }
            }
        }
    }
    if let Err(error) = sink.flush() {
        tracing::error!(%error, "cannot flush the audit log at exit");
    }
}

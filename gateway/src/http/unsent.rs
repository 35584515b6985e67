//! Bytes of responses that Warden has produced but their connection has not
//! yet taken: whole bodies not yet written, and events queued on a stream.
//! A client that does not read must not make the gateway hold more and
//! more, so each connection and all of them together are held to a cap
//! (`[http] max_unsent_bytes_per_connection`, `max_unsent_bytes`):
//!
//! - a streamed event that finds its connection over a cap is not queued:
//!   its stream is let go (it stays in the session's replay log, so the
//!   client can resume it) after its writer has waited for room as long as
//!   the send timeout allows;
//! - a whole answer is always taken (a result is never dropped), but a
//!   connection over its cap, or holding anything while all connections
//!   together are over theirs, gets 503 for new requests until it reads;
//! - a connection that holds unsent bytes and takes none of them for the
//!   send timeout is closed, which frees them.
//!
//! Beyond these counts, hyper holds what it is writing: a bounded write
//! buffer per HTTP/1 connection (about 400 KiB), and per HTTP/2 stream the
//! piece it has taken and what the stream's send buffer holds within the
//! client's window. Whole bodies are handed to it in pieces of
//! [`CHUNK_BYTES`] so that a large result waits here, counted, rather than
//! there.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::limits::held_bytes::HeldBytes;

/// The largest piece of a whole body handed to hyper at once: hyper's
/// HTTP/2 streams take one piece before they wait for the client's window.
pub const CHUNK_BYTES: usize = 16 << 10;

/// How often a writer waiting for room looks at the total again: room
/// there is made by other connections, which do not wake it.
const TOTAL_ROOM_POLL: Duration = Duration::from_millis(50);

/// The unsent bytes of one connection.
#[derive(Debug)]
pub struct Unsent {
    bytes: AtomicUsize,
    cap: usize,
    total: Arc<HeldBytes>,
    /// Pieces the connection has taken: how a stalled client is told from
    /// a slow one.
    taken: AtomicU64,
    released: Notify,
}

/// Why a connection takes no new request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Overloaded {
    /// This connection holds its cap.
    #[error(
        "this connection has {held} bytes of responses it has not read (the limit is {cap}); read them before sending more requests"
    )]
    Connection {
        /// Bytes it holds.
        held: usize,
        /// Its cap.
        cap: usize,
    },
    /// All connections together hold the total cap, this one some of it.
    #[error(
        "the server holds as many unread response bytes as it may ({cap}), {held} of them for this connection; read them before sending more requests"
    )]
    Total {
        /// Bytes this connection holds.
        held: usize,
        /// The total cap.
        cap: usize,
    },
}

impl Unsent {
    /// A new connection's count: at most `cap`, within `total`.
    pub fn new(cap: usize, total: &Arc<HeldBytes>) -> Arc<Self> {
        Arc::new(Self {
            bytes: AtomicUsize::new(0),
            cap,
            total: Arc::clone(total),
            taken: AtomicU64::new(0),
            released: Notify::new(),
        })
    }

    /// Bytes this connection has not taken yet.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// How many pieces it has taken so far.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// Whether a streamed event may be queued: the connection and all
    /// connections together are under their caps. An event larger than a
    /// cap still goes when there is room, so each cap is exceeded by one
    /// event at most.
    pub fn has_room(&self) -> bool {
        self.bytes() < self.cap && !self.total.is_over()
    }

    /// Whether the connection may start another request.
    pub fn admit(&self) -> Result<(), Overloaded> {
        let held = self.bytes();
        if held >= self.cap {
            return Err(Overloaded::Connection {
                held,
                cap: self.cap,
            });
        }
        if held > 0 && self.total.is_over() {
            return Err(Overloaded::Total {
                held,
                cap: self.total.cap(),
            });
        }
        Ok(())
    }

    /// Counts `bytes` as held until the returned charge is released.
    pub fn charge(self: &Arc<Self>, bytes: usize) -> Charge {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.total.add(bytes);
        Charge {
            unsent: Arc::clone(self),
            bytes,
        }
    }

    /// Waits until [`has_room`](Self::has_room).
    pub async fn room(&self) {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.has_room() {
                return;
            }
            tokio::select! {
                () = released => {}
                () = tokio::time::sleep(TOTAL_ROOM_POLL), if self.bytes() < self.cap => {}
            }
        }
    }

    fn release(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.total.remove(bytes);
        self.released.notify_waiters();
    }
}

/// Bytes counted as held by a connection; released as the connection
/// takes them, the rest when dropped (the response was abandoned).
#[derive(Debug)]
pub struct Charge {
    unsent: Arc<Unsent>,
    bytes: usize,
}

impl Charge {
    /// The connection took `bytes` of the charge.
    pub fn taken(&mut self, bytes: usize) {
        let bytes = bytes.min(self.bytes);
        self.bytes -= bytes;
        self.unsent.taken.fetch_add(1, Ordering::Relaxed);
        self.unsent.release(bytes);
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.unsent.release(self.bytes);
    }
}

/// One queued event and its charge.
#[derive(Debug)]
pub struct Chunk {
    bytes: Bytes,
    charge: Charge,
}

impl Chunk {
    /// The event's bytes, as the connection takes them.
    pub fn take(mut self) -> Bytes {
        self.charge.taken(self.bytes.len());
        std::mem::take(&mut self.bytes)
    }
}

/// Why an event was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// The client closed the stream.
    Closed,
    /// The client has not read what is queued: the channel or the
    /// connection is full.
    Full,
}

/// The sending end of an event stream: events go to the connection when it
/// has room.
#[derive(Debug, Clone)]
pub struct EventSender {
    events: mpsc::Sender<Chunk>,
    unsent: Arc<Unsent>,
}

/// A stream of at most `capacity` queued events to the connection that
/// `unsent` counts for.
pub fn event_channel(
    capacity: usize,
    unsent: &Arc<Unsent>,
) -> (EventSender, mpsc::Receiver<Chunk>) {
    let (events, receiver) = mpsc::channel(capacity.max(1));
    let sender = EventSender {
        events,
        unsent: Arc::clone(unsent),
    };
    (sender, receiver)
}

impl EventSender {
    /// Queues `event` if the channel and the connection have room.
    pub fn try_send(&self, event: Bytes) -> Result<(), NotQueued> {
        if self.events.is_closed() {
            return Err(NotQueued::Closed);
        }
        if !self.unsent.has_room() {
            return Err(NotQueued::Full);
        }
        self.push(event)
    }

    /// Queues `event` if the channel has room, whatever the connection
    /// holds: for events already counted elsewhere (a replay of the log).
    pub fn push(&self, event: Bytes) -> Result<(), NotQueued> {
        let chunk = Chunk {
            charge: self.unsent.charge(event.len()),
            bytes: event,
        };
        self.events.try_send(chunk).map_err(|error| match error {
            TrySendError::Closed(_) => NotQueued::Closed,
            TrySendError::Full(_) => NotQueued::Full,
        })
    }

    /// Waits until an event would be queued: a place in the channel and
    /// room on the connection.
    pub async fn room(&self) {
        if let Ok(place) = self.events.reserve().await {
            drop(place);
        }
        self.unsent.room().await;
    }

    /// Resolves when the client has closed the stream.
    pub async fn closed(&self) {
        self.events.closed().await;
    }

    /// Whether the client has closed the stream.
    pub fn is_closed(&self) -> bool {
        self.events.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_count_on_the_connection_and_the_total_until_taken() {
        let total = HeldBytes::new(100);
        let first = Unsent::new(60, &total);
        let second = Unsent::new(60, &total);
        let mut whole = first.charge(70);
        assert_eq!((first.bytes(), total.bytes()), (70, 70));
        assert!(!first.has_room(), "over its own cap");
        assert_eq!(
            first.admit(),
            Err(Overloaded::Connection { held: 70, cap: 60 })
        );
        assert!(second.has_room());
        let other = second.charge(40);
        assert!(!second.has_room(), "the total is over its cap");
        assert_eq!(
            second.admit(),
            Err(Overloaded::Total { held: 40, cap: 100 })
        );
        let idle = Unsent::new(60, &total);
        assert_eq!(idle.admit(), Ok(()), "a connection holding nothing may ask");
        whole.taken(30);
        assert_eq!((first.bytes(), total.bytes(), first.taken()), (40, 80, 1));
        assert!(first.has_room());
        drop(whole);
        drop(other);
        assert_eq!((first.bytes(), second.bytes(), total.bytes()), (0, 0, 0));
    }

    #[tokio::test]
    async fn events_are_refused_past_the_cap_and_wait_for_room() {
        let total = HeldBytes::new(1 << 20);
        let unsent = Unsent::new(10, &total);
        let (sender, mut receiver) = event_channel(8, &unsent);
        assert_eq!(sender.try_send(Bytes::from_static(b"0123456789ab")), Ok(()));
        assert_eq!(
            sender.try_send(Bytes::from_static(b"x")),
            Err(NotQueued::Full),
            "the first event filled the connection's cap"
        );
        let waiting = tokio::spawn({
            let sender = sender.clone();
            async move { sender.room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        let chunk = receiver.recv().await.expect("queued");
        assert_eq!(&chunk.take()[..], b"0123456789ab");
        assert_eq!(unsent.taken(), 1);
        waiting.await.expect("room once the event was taken");
        assert_eq!(unsent.bytes(), 0);
        drop(receiver);
        assert_eq!(
            sender.try_send(Bytes::from_static(b"x")),
            Err(NotQueued::Closed)
        );
    }
}

//! The process-wide cap on tool calls in flight, with a bounded queue: a
//! call waits at most the queue timeout for a place, and when the queue is
//! full it is refused at once. Nothing waits without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a call was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Overloaded {
    /// As many calls are waiting as the queue holds.
    #[error(
        "the server is overloaded: {in_flight} calls are running and {waiting} waiting; retry later"
    )]
    QueueFull {
        /// The cap on calls in flight.
        in_flight: u32,
        /// The queue's size.
        waiting: u32,
    },
    /// No place came free within the queue timeout.
    #[error("the server is overloaded: no place for the call came free within {0} ms; retry later")]
    TimedOut(u64),
}

/// Admits tool calls up to a cap.
pub struct Admission {
    places: Arc<Semaphore>,
    capacity: u32,
    waiting: AtomicU32,
    queue: u32,
    timeout: Duration,
}

/// Takes one place in the queue until dropped.
struct Queued<'a>(&'a AtomicU32);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Admission {
    /// `capacity` calls at once, `queue` more waiting up to `timeout`.
    pub fn new(capacity: u32, queue: u32, timeout: Duration) -> Self {
        Self {
            places: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            waiting: AtomicU32::new(0),
            queue,
            timeout,
        }
    }

    /// A place for one call, held until the permit is dropped.
    pub async fn admit(&self) -> Result<OwnedSemaphorePermit, Overloaded> {
        if let Ok(place) = Arc::clone(&self.places).try_acquire_owned() {
            return Ok(place);
        }
        let full = Overloaded::QueueFull {
            in_flight: self.capacity,
            waiting: self.queue,
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(full);
        }
        let _queued = Queued(&self.waiting);
        match tokio::time::timeout(self.timeout, Arc::clone(&self.places).acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            // The semaphore is never closed; treat it like a timeout anyway.
            Ok(Err(_)) | Err(_) => Err(Overloaded::TimedOut(
                u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            )),
        }
    }

    /// Calls running now under the cap.
    pub fn in_flight(&self) -> u32 {
        self.capacity
            .saturating_sub(u32::try_from(self.places.available_permits()).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn queues_boundedly_then_refuses() {
        let admission = Admission::new(1, 1, Duration::from_millis(100));
        let first = admission.admit().await.expect("a free place");
        assert_eq!(admission.in_flight(), 1);

        let waiting = admission.admit();
        tokio::pin!(waiting);
        // The second call waits in the queue...
        assert!(
            tokio::time::timeout(Duration::from_millis(10), &mut waiting)
                .await
                .is_err()
        );
        // ...so a third finds the queue full and is refused at once.
        assert!(matches!(
            admission.admit().await,
            Err(Overloaded::QueueFull { .. })
        ));
        drop(first);
        let second = waiting.await.expect("the freed place");
        assert_eq!(
            admission.admit().await.err(),
            Some(Overloaded::TimedOut(100))
        );
        drop(second);
        assert_eq!(admission.in_flight(), 0);
        assert!(admission.admit().await.is_ok());
    }
}

//! A count of bytes that many owners hold at once (the events kept for
//! resumption by every session, the responses not yet read on every
//! connection), and the most they may hold together. Owners add what they
//! keep and take it back when they let it go; what to do at the cap is
//! theirs to decide, since only they know what may be dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes held together, and their cap.
#[derive(Debug)]
pub struct HeldBytes {
    bytes: AtomicUsize,
    cap: usize,
}

impl HeldBytes {
    /// Nothing held yet, at most `cap` wanted.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            bytes: AtomicUsize::new(0),
            cap,
        })
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The most that should be held.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Whether the holders hold their cap or more.
    pub fn is_over(&self) -> bool {
        self.bytes() >= self.cap
    }

    /// An owner holds `bytes` more.
    pub fn add(&self, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// An owner let `bytes` go; never more than it added.
    pub fn remove(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

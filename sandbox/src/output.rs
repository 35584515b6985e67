//! Bounded capture of a guest's stdout and stderr.
//!
//! wasmtime-wasi's `MemoryOutputPipe` reports an error to the guest once it
//! is full, and Rust's `print!` panics on that error. A tool that prints too
//! much should lose the excess, not crash, so this sink accepts every write
//! and keeps only the first `capacity` bytes.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    dropped_bytes: u64,
}

/// A clonable handle on one bounded capture buffer.
#[derive(Clone)]
pub(crate) struct CapturedOutput {
    capacity: usize,
    inner: Arc<Mutex<Captured>>,
}

impl CapturedOutput {
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned buffer only means a writer panicked mid-append; the bytes
        // are still a valid prefix, so keep using them.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, bytes: &[u8]) {
        let mut captured = self.lock();
        let room = self.capacity.saturating_sub(captured.kept.len());
        let kept = room.min(bytes.len());
        captured.kept.extend_from_slice(&bytes[..kept]);
        captured.dropped_bytes += (bytes.len() - kept) as u64;
    }

    /// The captured text (lossily decoded) and how many bytes were dropped.
    pub(crate) fn contents(&self) -> (String, u64) {
        let captured = self.lock();
        (
            String::from_utf8_lossy(&captured.kept).into_owned(),
            captured.dropped_bytes,
        )
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// The most bytes offered to the guest per write; any amount is accepted.
const WRITE_BUDGET: usize = 64 * 1024;

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_prefix_and_counts_the_rest() {
        let mut out = CapturedOutput::new(5);
        out.write(Bytes::from_static(b"abc")).expect("write");
        out.write(Bytes::from_static(b"defgh")).expect("write");
        assert_eq!(out.check_write().expect("check"), WRITE_BUDGET);
        assert_eq!(out.contents(), ("abcde".to_owned(), 3));
    }
}

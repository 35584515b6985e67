//! Standard error for log lines, written in batches when lines come fast. A
//! busy server logs a line per call; writing each in place cost a system
//! call on a Tokio worker under stderr's lock. The first
//! [`DIRECT_LINES_PER_INTERVAL`] lines of each [`FLUSH_INTERVAL`] are written
//! at once, as before; the lines after them are appended to a buffer (a
//! short lock and a copy), which a thread of their own writes out every
//! [`FLUSH_INTERVAL`]. So a quiet server's lines, and bursts of a few (start-up,
//! a reload), appear as they happen, and a busy one's within that interval, in
//! a few large writes. No line is dropped: a buffer that grows past
//! [`FLUSH_AT_BYTES`] is written out by the request that filled it, which
//! then waits for the write as every request did before. On a terminal
//! every line is written at once.

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// Longest time a line waits in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

/// A buffer this large is written out at once, by the thread that grew it.
pub const FLUSH_AT_BYTES: usize = 256 * 1024;

/// Lines written at once within one [`FLUSH_INTERVAL`] before the next ones
/// are buffered: a burst of a few lines (start-up, a reload) appears at
/// once, a stream of them (a line per call under load) is batched.
pub const DIRECT_LINES_PER_INTERVAL: u32 = 16;

/// Where log lines go: a [`MakeWriter`] for the `fmt` layer.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// Stops the flushing thread and writes out what is buffered; dropped last.
#[must_use = "dropping it stops writing the buffered log lines out"]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Stderr; held while a batch is taken and written, so batches keep
    /// their order.
    output: Mutex<Box<dyn Write + Send>>,
    stopping: Mutex<bool>,
    stop: Condvar,
}

struct Pending {
    /// Whether lines are buffered: not on a terminal, and not once the
    /// guard has stopped (lines logged after that are written at once).
    batched: bool,
    /// Lines not written yet.
    bytes: Vec<u8>,
    /// When the current interval of direct writes began.
    interval_start: Instant,
    /// Lines written at once since `interval_start`.
    direct_lines: u32,
}

impl Pending {
    /// Whether the next line may be written at once: nothing is buffered
    /// (it would overtake those lines) and this interval's direct lines
    /// are not used up. Counts the line if so.
    fn may_write_at_once(&mut self) -> bool {
        if !self.bytes.is_empty() {
            return false;
        }
        let now = Instant::now();
        if now.saturating_duration_since(self.interval_start) >= FLUSH_INTERVAL {
            self.interval_start = now;
            self.direct_lines = 0;
        }
        if self.direct_lines >= DIRECT_LINES_PER_INTERVAL {
            return false;
        }
        self.direct_lines += 1;
        true
    }
}

/// A writer of log lines to stderr and the guard that flushes it; batched
/// unless stderr is a terminal.
pub fn stderr() -> (LogWriter, FlushGuard) {
    let batched = !io::stderr().is_terminal();
    let shared = Arc::new(Shared::new(batched, Box::new(io::stderr())));
    let thread = if batched {
        let flusher = Arc::clone(&shared);
        // Without the thread lines are still written, once the buffer fills
        // and at shutdown; a process that cannot start one more thread has
        // bigger problems, which the next line it logs may tell.
        std::thread::Builder::new()
            .name("warden-log".into())
            .spawn(move || flusher.flush_every(FLUSH_INTERVAL))
            .ok()
    } else {
        None
    };
    (
        LogWriter {
            shared: Arc::clone(&shared),
        },
        FlushGuard { shared, thread },
    )
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every holder leaves the data whole (bytes appended or taken).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn new(batched: bool, output: Box<dyn Write + Send>) -> Self {
        Self {
            pending: Mutex::new(Pending {
                batched,
                bytes: Vec::new(),
                interval_start: Instant::now(),
                direct_lines: 0,
            }),
            output: Mutex::new(output),
            stopping: Mutex::new(false),
            stop: Condvar::new(),
        }
    }

    fn flush_every(&self, interval: Duration) {
        let mut stopping = lock(&self.stopping);
        while !*stopping {
            stopping = self
                .stop
                .wait_timeout(stopping, interval)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            self.flush();
        }
    }

    /// Writes out everything buffered so far.
    fn flush(&self) {
        let mut output = lock(&self.output);
        let batch = std::mem::take(&mut lock(&self.pending).bytes);
        if !batch.is_empty() {
            // Nowhere to report a failing stderr: the lines are lost, as
            // they would be when written one by one.
            let _ = output.write_all(&batch);
            let _ = output.flush();
        }
    }

    fn append(&self, line: &[u8]) {
        let full = {
            let mut pending = lock(&self.pending);
            if !pending.batched || pending.may_write_at_once() {
                drop(pending);
                let _ = lock(&self.output).write_all(line);
                return;
            }
            pending.bytes.extend_from_slice(line);
            pending.bytes.len() >= FLUSH_AT_BYTES
        };
        if full {
            self.flush();
        }
    }
}

impl FlushGuard {
    /// Stops the flushing thread and writes out the lines still buffered.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // Decided under the buffer's lock: a line is either in the buffer
        // before the last flush below, or written at once.
        lock(&self.shared.pending).batched = false;
        *lock(&self.shared.stopping) = true;
        self.shared.stop.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.shared.flush();
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One line (the `fmt` layer writes each event with one `write_all`).
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.shared.append(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test writer has written.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl Write for Written {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Written {
        fn bytes(&self) -> Vec<u8> {
            lock(&self.0).clone()
        }
    }

    /// A batching writer whose direct lines of this interval are used up,
    /// so the next ones are buffered.
    fn batched() -> (Shared, Written) {
        let written = Written::default();
        let shared = Shared::new(true, Box::new(written.clone()));
        let mut pending = lock(&shared.pending);
        pending.interval_start = Instant::now() + Duration::from_secs(3600);
        pending.direct_lines = DIRECT_LINES_PER_INTERVAL;
        drop(pending);
        (shared, written)
    }

    #[test]
    fn a_burst_is_written_at_once_and_a_stream_is_batched() {
        let written = Written::default();
        let shared = Shared::new(true, Box::new(written.clone()));
        // An interval that does not end while the test runs, however slowly.
        lock(&shared.pending).interval_start = Instant::now() + Duration::from_secs(3600);
        for _ in 0..DIRECT_LINES_PER_INTERVAL {
            shared.append(b"at once\n");
        }
        let direct = written.bytes();
        assert_eq!(
            direct.len(),
            b"at once\n".len() * DIRECT_LINES_PER_INTERVAL as usize
        );
        // Within the same interval, the next ones wait for the flush.
        shared.append(b"batched\n");
        assert_eq!(written.bytes(), direct);
        shared.flush();
        assert!(written.bytes().ends_with(b"at once\nbatched\n"));
    }

    #[test]
    fn buffered_lines_are_written_together_in_order() {
        let (shared, written) = batched();
        shared.append(b"one\n");
        shared.append(b"two\n");
        assert!(written.bytes().is_empty());
        shared.flush();
        assert_eq!(written.bytes(), b"one\ntwo\n");
        assert!(lock(&shared.pending).bytes.is_empty());
    }

    #[test]
    fn a_full_buffer_is_written_by_the_line_that_filled_it() {
        let (shared, written) = batched();
        let line = vec![b'x'; FLUSH_AT_BYTES / 2];
        shared.append(&line);
        assert!(written.bytes().is_empty());
        shared.append(&line);
        assert_eq!(written.bytes().len(), FLUSH_AT_BYTES);
    }

    #[test]
    fn the_thread_writes_within_the_interval_and_the_guard_writes_the_rest() {
        let written = Written::default();
        let shared = Arc::new(Shared::new(true, Box::new(written.clone())));
        lock(&shared.pending).direct_lines = DIRECT_LINES_PER_INTERVAL;
        let flusher = Arc::clone(&shared);
        let thread = std::thread::spawn(move || flusher.flush_every(FLUSH_INTERVAL));
        let guard = FlushGuard {
            shared: Arc::clone(&shared),
            thread: Some(thread),
        };
        shared.append(b"by the thread\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while written.bytes().is_empty() {
            assert!(Instant::now() < deadline, "not written by the thread");
            std::thread::sleep(FLUSH_INTERVAL / 4);
        }
        guard.finish();
        // After the guard, lines are written at once.
        shared.append(b"after\n");
        assert_eq!(written.bytes(), b"by the thread\nafter\n");
    }
}

//! Shutdown: readiness, the drain deadline, and cancelling the calls still
//! running when it passes. Shared by both transports and the probes.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long responses to cancelled calls get to reach their clients before
/// the remaining connections are closed regardless.
pub const FLUSH_AFTER_CANCEL: Duration = Duration::from_secs(2);

/// The process's shutdown state.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
    /// Cancelled when the drain begins: long-lived streams end on it, so
    /// they do not hold the drain open.
    drain_begun: CancellationToken,
    cancel_calls: CancellationToken,
    cancelled_calls: AtomicUsize,
    forced_close: AtomicBool,
}

impl Lifecycle {
    /// Marks the process as draining: `/readyz` fails from now on.
    pub fn begin_drain(&self) {
        if !self.draining.swap(true, Ordering::SeqCst) {
            tracing::info!("draining: not ready, no new connections");
        }
        self.drain_begun.cancel();
    }

    /// A token cancelled when the drain begins.
    pub fn drain_begun(&self) -> CancellationToken {
        self.drain_begun.clone()
    }

    /// Whether a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Stops every call still running; each answers with a shutdown error.
    pub fn cancel_calls(&self) {
        self.cancel_calls.cancel();
    }

    /// Resolves once [`Lifecycle::cancel_calls`] has been called.
    pub fn calls_cancelled(&self) -> impl Future<Output = ()> + Send + '_ {
        self.cancel_calls.cancelled()
    }

    /// Counts one call stopped by [`Lifecycle::cancel_calls`].
    pub fn record_cancelled_call(&self) {
        self.cancelled_calls.fetch_add(1, Ordering::SeqCst);
    }

    /// Records that connections were still open when the drain gave up on
    /// them.
    pub fn record_forced_close(&self) {
        self.forced_close.store(true, Ordering::SeqCst);
    }

    /// How the drain ended, so far.
    pub fn outcome(&self) -> DrainOutcome {
        DrainOutcome {
            cancelled_calls: self.cancelled_calls.load(Ordering::SeqCst),
            forced_close: self.forced_close.load(Ordering::SeqCst),
        }
    }

    /// Waits for `work` to finish. Once `signalled` resolves (at once for
    /// a drain that is already under way), `work` has `deadline` more; when
    /// that passes too, the calls still running are cancelled and `work`
    /// gets [`FLUSH_AFTER_CANCEL`] to send their answers.
    pub async fn drain(
        &self,
        work: impl Future<Output = ()>,
        signalled: impl Future<Output = ()>,
        deadline: Duration,
    ) {
        tokio::pin!(work);
        let deadline_passed = async {
            signalled.await;
            self.begin_drain();
            tokio::time::sleep(deadline).await;
        };
        tokio::select! {
            () = &mut work => return,
            () = deadline_passed => {}
        }
        tracing::warn!(
            deadline_secs = deadline.as_secs(),
            "drain deadline passed; cancelling the calls still running"
        );
        self.cancel_calls();
        if tokio::time::timeout(FLUSH_AFTER_CANCEL, work)
            .await
            .is_err()
        {
            tracing::warn!("connections still open after cancelling the calls; closing them");
            self.record_forced_close();
        }
    }
}

/// How a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainOutcome {
    /// Calls stopped at the deadline.
    pub cancelled_calls: usize,
    /// Whether connections were closed with requests still open.
    pub forced_close: bool,
}

impl DrainOutcome {
    /// Whether every request in flight finished on its own.
    pub fn is_clean(&self) -> bool {
        self.cancelled_calls == 0 && !self.forced_close
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_that_finishes_in_time_is_clean() {
        let lifecycle = Lifecycle::default();
        let work = tokio::time::sleep(Duration::from_secs(3));
        lifecycle
            .drain(work, async {}, Duration::from_secs(5))
            .await;
        assert!(lifecycle.is_draining());
        assert!(lifecycle.outcome().is_clean());
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_counts_from_the_signal_and_then_cancels() {
        let lifecycle = Lifecycle::default();
        let started = tokio::time::Instant::now();
        let work = async {
            lifecycle.calls_cancelled().await;
            lifecycle.record_cancelled_call();
        };
        let signal = tokio::time::sleep(Duration::from_secs(10));
        lifecycle.drain(work, signal, Duration::from_secs(5)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        let outcome = lifecycle.outcome();
        assert_eq!(outcome.cancelled_calls, 1);
        assert!(!outcome.forced_close);
        assert!(!outcome.is_clean());
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_ignores_cancellation_is_abandoned() {
        let lifecycle = Lifecycle::default();
        lifecycle
            .drain(std::future::pending(), async {}, Duration::ZERO)
            .await;
        assert!(lifecycle.outcome().forced_close);
    }
}

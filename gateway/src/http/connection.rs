//! One accepted connection: which HTTP version it speaks (HTTP/2 by ALPN
//! over TLS, or by its preface in plain text: "prior knowledge"), and
//! serving it under the `[http]` limits until it ends, its listener drains,
//! its request budget is spent or, in HTTP/2, it starts no request for as
//! long as HTTP/1 would wait for a request's headers. A connection whose
//! client takes none of its responses for the send timeout is closed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::unsent::Unsent;
use crate::config::{DEFAULT_MAX_HEADERS, HttpConfig};
use crate::telemetry::metrics;

/// The HTTP version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    /// HTTP/1.1 (and 1.0).
    Http1,
    /// HTTP/2.
    Http2,
}

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long to wait before looking again at a preface that has only
/// partly arrived.
const PREFACE_POLL: Duration = Duration::from_millis(5);

/// Receive window of each HTTP/2 stream: a request body larger than this
/// waits for Warden to read it, as TCP would make it wait.
pub(super) const H2_STREAM_WINDOW_BYTES: u32 = 1 << 20;

/// Receive window of a whole HTTP/2 connection, all its streams together.
pub(super) const H2_CONNECTION_WINDOW_BYTES: u32 = 4 << 20;

/// What hyper may buffer to send per HTTP/2 stream before it waits for the
/// client to read (beyond it, the bytes wait as counted [`Unsent`]).
const H2_SEND_BUFFER_BYTES: usize = 256 << 10;

/// Tells, without consuming anything, whether a plain-text peer opens with
/// the HTTP/2 preface. `None` when it sends neither that nor anything else
/// within `limit`, or closes: a client that stalls before its first request
/// is held no longer than one stalling in its headers.
pub(super) async fn sniff(stream: &TcpStream, limit: Duration) -> Option<Version> {
    let read = async {
        let mut seen = [0u8; H2_PREFACE.len()];
        loop {
            let read = stream.peek(&mut seen).await.ok()?;
            if read == 0 {
                return None;
            }
            if seen[..read] != H2_PREFACE[..read] {
                return Some(Version::Http1);
            }
            if read == H2_PREFACE.len() {
                return Some(Version::Http2);
            }
            // Part of the preface: peeking again at once would spin.
            tokio::time::sleep(PREFACE_POLL).await;
        }
    };
    tokio::time::timeout(limit, read).await.ok().flatten()
}

/// The version ALPN chose on a TLS connection: HTTP/2 when the client
/// offered `h2`, else HTTP/1.1.
pub(super) fn negotiated(alpn: Option<&[u8]>) -> Version {
    match alpn {
        Some(b"h2") => Version::Http2,
        _ => Version::Http1,
    }
}

/// The connection settings of both versions, from the `[http]` limits.
#[derive(Clone)]
pub(super) struct Builders {
    pub(super) http1: http1::Builder,
    pub(super) http2: http2::Builder<TokioExecutor>,
    /// How long an HTTP/2 connection may start no request.
    pub(super) idle: Duration,
    /// How long a connection may take none of its unsent bytes.
    pub(super) send_timeout: Duration,
}

impl Builders {
    pub(super) fn new(limits: &HttpConfig) -> Self {
        let header_wait = Duration::from_millis(limits.header_read_timeout_ms);
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(header_wait)
            .keep_alive(limits.keep_alive)
            .max_header_size(limits.max_header_bytes);
        // A custom count moves hyper's header array to the heap: only if asked.
        if limits.max_headers != DEFAULT_MAX_HEADERS {
            http1.max_headers(limits.max_headers);
        }
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_concurrent_streams)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            .initial_stream_window_size(H2_STREAM_WINDOW_BYTES)
            .initial_connection_window_size(H2_CONNECTION_WINDOW_BYTES)
            .max_send_buf_size(H2_SEND_BUFFER_BYTES)
            // A peer that stops answering pings is gone.
            .keep_alive_interval(header_wait)
            .keep_alive_timeout(header_wait);
        Self {
            http1,
            http2,
            idle: header_wait,
            send_timeout: Duration::from_millis(limits.send_timeout_ms),
        }
    }
}

/// What the requests of one connection report to it.
#[derive(Debug)]
pub(super) struct Activity {
    started: AtomicU32,
    budget_spent: Notify,
    /// Its responses not yet taken.
    pub(super) unsent: Arc<Unsent>,
}

impl Activity {
    pub(super) fn new(unsent: Arc<Unsent>) -> Self {
        Self {
            started: AtomicU32::new(0),
            budget_spent: Notify::new(),
            unsent,
        }
    }

    /// Counts a request; how many the connection has carried with it.
    pub(super) fn start_request(&self) -> u32 {
        self.started
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }

    /// Asks the connection to go away once its requests are answered.
    pub(super) fn spend_budget(&self) {
        self.budget_spent.notify_one();
    }

    fn started(&self) -> u32 {
        self.started.load(Ordering::Relaxed)
    }
}

/// The connections of one listener, and their drain.
#[derive(Default)]
pub(super) struct Connections {
    draining: CancellationToken,
    tracker: TaskTracker,
}

impl Connections {
    /// Runs a connection's task; it counts until it ends.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(task);
    }

    /// Cancelled when the listener drains: each connection finishes the
    /// requests it has and takes no more.
    pub(super) fn draining(&self) -> CancellationToken {
        self.draining.clone()
    }

    /// Connections open now.
    pub(super) fn count(&self) -> usize {
        self.tracker.len()
    }

    /// Tells every connection to finish and waits until all have.
    pub(super) async fn shutdown(self) {
        self.draining.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// When a connection is checked for a client that takes nothing.
pub(super) struct SendCheck {
    /// `http.send_timeout_ms`.
    pub(super) timeout: Duration,
}

/// Drives `connection` to its end, shutting it down gracefully (`shut_down`)
/// when the listener drains, when `activity` says its budget is spent, or,
/// with `idle`, when it starts no request for that long. It is closed at
/// once when it holds unsent bytes and takes none of them for a whole
/// check period (so between one and two send timeouts).
pub(super) async fn drive<C>(
    connection: C,
    shut_down: fn(Pin<&mut C>),
    draining: CancellationToken,
    activity: &Activity,
    (idle, sending): (Option<Duration>, SendCheck),
) -> Result<(), hyper::Error>
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(connection);
    let mut idle_check = idle.map(ticks);
    let mut send_check = ticks(sending.timeout);
    let mut started_at_last_check = activity.started();
    let mut taken_at_last_check = (activity.unsent.taken(), 0);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => return ended,
            _ = send_check.tick() => {
                let now = (activity.unsent.taken(), activity.unsent.bytes());
                let (taken_before, held_before) = taken_at_last_check;
                taken_at_last_check = now;
                if held_before > 0 && now.1 > 0 && now.0 == taken_before {
                    metrics::record_stalled_connection();
                    tracing::info!(
                        unsent_bytes = now.1,
                        send_timeout_ms = sending.timeout.as_millis(),
                        "connection closed: its client took none of its responses"
                    );
                    return Ok(());
                }
                continue;
            }
            () = draining.cancelled(), if !closing => closing = true,
            () = activity.budget_spent.notified(), if !closing => closing = true,
            _ = next_tick(&mut idle_check), if !closing => {
                let started = activity.started();
                closing = started == started_at_last_check;
                started_at_last_check = started;
                if !closing {
                    continue;
                }
            }
        }
        shut_down(connection.as_mut());
    }
}

/// Ticks every `every`, the first after one period.
fn ticks(every: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

async fn next_tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_preface_tells_http2_from_http1_and_silence_from_both() {
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        for (sent, expected) in [
            (H2_PREFACE, Some(Version::Http2)),
            (&b"POST /mcp HTTP/1.1\r\n"[..], Some(Version::Http1)),
            (&b"PRI * HTTP/1.1\r\n"[..], Some(Version::Http1)),
            (&b"PRI * HTTP/2"[..], None),
            (&b""[..], None),
        ] {
            let mut client = TcpStream::connect(address).await.expect("connect");
            let (server, _) = listener.accept().await.expect("accept");
            client.write_all(sent).await.expect("write");
            let version = sniff(&server, Duration::from_millis(200)).await;
            assert_eq!(version, expected, "{}", String::from_utf8_lossy(sent));
        }
        assert_eq!(negotiated(Some(b"h2")), Version::Http2);
        assert_eq!(negotiated(Some(b"http/1.1")), Version::Http1);
        assert_eq!(negotiated(None), Version::Http1);
    }
}

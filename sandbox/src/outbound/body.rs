//! Request and response bodies under the component's limits: counted into
//! the call's tally, cut off past their byte caps, and (the response) timed
//! out when the server stops sending.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use wasmtime_wasi_http::{Error, WasiBody};

use super::usage::{OutboundOutcome, Recorder};

/// The guest's request body, failing past `limit` bytes.
pub(crate) struct LimitedRequestBody {
    pub(crate) inner: WasiBody,
    pub(crate) limit: u64,
    pub(crate) sent: u64,
    pub(crate) recorder: std::sync::Arc<Recorder>,
    /// Set once the guest wrote past `limit`: hyper may then report the
    /// exchange as a closed connection, and this says what really ended it.
    pub(crate) exceeded: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Body for LimitedRequestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            let sent = self.sent.saturating_add(data.len() as u64);
            if sent > self.limit {
                self.exceeded
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                return Poll::Ready(Some(Err(Error::HttpRequestBodySize(Some(self.limit)))));
            }
            self.sent = sent;
            self.recorder.update(|request| request.bytes_sent = sent);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The server's response body as the guest reads it.
pub(crate) struct LimitedResponseBody {
    pub(crate) inner: hyper::body::Incoming,
    pub(crate) limit: u64,
    pub(crate) received: u64,
    /// Longest wait for the next piece of the body.
    pub(crate) idle: Duration,
    pub(crate) idle_timer: Pin<Box<tokio::time::Sleep>>,
    pub(crate) recorder: std::sync::Arc<Recorder>,
    /// The component's in-flight slot, held while the body is being read.
    pub(crate) _slot: std::sync::Arc<OwnedSemaphorePermit>,
}

impl Body for LimitedResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                std::task::ready!(this.idle_timer.as_mut().poll(cx));
                this.fail("the server stopped sending the response body");
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(error))) => {
                this.fail(&format!("response body: {error}"));
                Poll::Ready(Some(Err(Error::from(error))))
            }
            Poll::Ready(Some(Ok(frame))) => {
                let deadline = tokio::time::Instant::now() + this.idle;
                this.idle_timer.as_mut().reset(deadline);
                if let Some(data) = frame.data_ref() {
                    let received = this.received.saturating_add(data.len() as u64);
                    if received > this.limit {
                        let limit = this.limit;
                        this.fail(&format!(
                            "the response body is larger than the limit of {limit} bytes"
                        ));
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(limit)))));
                    }
                    this.received = received;
                    this.recorder
                        .update(|request| request.bytes_received = received);
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl LimitedResponseBody {
    fn fail(&self, why: &str) {
        self.recorder
            .update(|request| request.outcome = OutboundOutcome::Failed(why.to_owned()));
    }
}

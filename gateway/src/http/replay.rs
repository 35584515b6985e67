//! The recent events of a session's streams, so that a client whose
//! connection broke can resume a stream where it left off (`GET` with
//! `Last-Event-ID`) and receive what it missed, then the rest live.
//!
//! An event id names its stream and its place in it: `<tag>-<kind><stream>-<seq>`
//! (kind `r` for a request's stream, `g` for the session's `GET` stream).
//! The tag is random for each life of the session's state in a process, so
//! an id from another replica, or from before this process forgot the
//! session, never matches a stream here: replaying another stream's events
//! is what MCP forbids. The log is bounded in events and bytes, and all
//! sessions' logs together in bytes (`stream_replay_total_bytes`): the
//! oldest go first (a log adding an event while all of them hold their cap
//! drops its own oldest), and resuming from a point whose successors are
//! gone is refused rather than replayed with a gap.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::unsent::{Chunk, EventSender, Unsent, event_channel};
use crate::limits::held_bytes::HeldBytes;

/// Events a resumed connection may have queued beyond the replayed ones
/// before it counts as not reading.
const LIVE_QUEUE: usize = 256;

/// How much a session keeps for resumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayBounds {
    /// Most events kept; 0 keeps none (streams cannot be resumed).
    pub max_events: usize,
    /// Most bytes of events kept.
    pub max_bytes: usize,
}

/// A place in a stream, as written in an event's `id:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId {
    tag: u32,
    /// What the stream is for.
    pub kind: StreamKind,
    /// The stream, numbered in the session from 0.
    pub stream: u64,
    /// The event's place in its stream, from 0.
    pub seq: u64,
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            StreamKind::Request => 'r',
            StreamKind::Standalone => 'g',
        };
        write!(f, "{:08x}-{kind}{}-{}", self.tag, self.stream, self.seq)
    }
}

impl EventId {
    /// Reads an id this server wrote; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let tag = parts.next().filter(|tag| tag.len() == 8)?;
        let tag = u32::from_str_radix(tag, 16).ok()?;
        let stream = parts.next()?;
        let (kind, stream) = if let Some(stream) = stream.strip_prefix('r') {
            (StreamKind::Request, stream)
        } else {
            (StreamKind::Standalone, stream.strip_prefix('g')?)
        };
        let stream = stream.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self {
            tag,
            kind,
            stream,
            seq,
        })
    }
}

/// What a stream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// The answer to one request: it ends with the response.
    Request,
    /// The session's `GET` stream.
    Standalone,
}

/// Why a stream cannot be resumed from an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// Not an id of this session's state in this process.
    #[error(
        "was not sent by this replica for this session (or the session was idle and forgotten here)"
    )]
    Unknown,
    /// Events after it were dropped to keep the log in bounds.
    #[error("is too old: the events after it are no longer kept")]
    Evicted,
    /// This server keeps no events (`stream_replay_events = 0`).
    #[error("is not kept: this server keeps no events (stream_replay_events = 0)")]
    NotKept,
}

/// A resumed stream: what it missed, then the rest.
#[derive(Debug)]
pub struct Resumed {
    /// Yields the missed events, then new ones. A request's stream ends
    /// with its response; a standalone stream continues through
    /// [`feed`](Self::feed).
    pub events: mpsc::Receiver<Chunk>,
    /// For a standalone stream, the sender a new feed writes to.
    pub feed: Option<EventSender>,
}

#[derive(Debug)]
struct Stored {
    stream: u64,
    seq: u64,
    payload: Bytes,
}

#[derive(Debug)]
struct StreamRecord {
    kind: StreamKind,
    next_seq: u64,
    /// The highest `seq` dropped from the log, if any.
    evicted_through: Option<u64>,
    finished: bool,
    /// The connection a request stream's events go to, while there is one.
    live: Option<EventSender>,
}

/// The events of one session's streams in this process.
#[derive(Debug)]
pub struct ReplayLog {
    bounds: ReplayBounds,
    tag: u32,
    next_stream: u64,
    events: VecDeque<Stored>,
    bytes: usize,
    /// What every session's log holds together.
    all_logs: Arc<HeldBytes>,
    streams: HashMap<u64, StreamRecord>,
}

impl ReplayLog {
    /// An empty log whose ids carry `tag`, one of those `all_logs` counts.
    pub fn new(bounds: ReplayBounds, tag: u32, all_logs: Arc<HeldBytes>) -> Self {
        Self {
            bounds,
            tag,
            next_stream: 0,
            events: VecDeque::new(),
            bytes: 0,
            all_logs,
            streams: HashMap::new(),
        }
    }

    /// Bytes of events kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Events kept.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is kept.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether streams can be resumed at all.
    pub fn resumable(&self) -> bool {
        self.bounds.max_events > 0
    }

    /// Opens a stream; a request stream's events go to `live` as well as
    /// into the log.
    pub fn open(&mut self, kind: StreamKind, live: Option<EventSender>) -> u64 {
        let stream = self.next_stream;
        self.next_stream += 1;
        self.streams.insert(
            stream,
            StreamRecord {
                kind,
                next_seq: 0,
                evicted_through: None,
                finished: false,
                live,
            },
        );
        self.forget_spent_streams();
        stream
    }

    /// Adds the next event of `stream`, made by `make` from its id, and
    /// sends it to the stream's connection if it has one. Returns the event.
    /// A connection that is gone or not reading is let go; the event stays
    /// in the log for a resumption.
    pub fn record(&mut self, stream: u64, make: impl FnOnce(EventId) -> Bytes) -> Bytes {
        let tag = self.tag;
        let Some(record) = self.streams.get_mut(&stream) else {
            // Forgotten streams are finished ones: nothing more is written.
            return Bytes::new();
        };
        let seq = record.next_seq;
        record.next_seq += 1;
        let payload = make(EventId {
            tag,
            kind: record.kind,
            stream,
            seq,
        });
        if let Some(live) = &record.live
            && live.try_send(payload.clone()).is_err()
        {
            record.live = None;
        }
        if self.resumable() {
            self.bytes += payload.len();
            self.all_logs.add(payload.len());
            self.events.push_back(Stored {
                stream,
                seq,
                payload: payload.clone(),
            });
            self.evict();
        }
        payload
    }

    /// Whether `stream` still has a connection to write to.
    pub fn is_connected(&self, stream: u64) -> bool {
        self.streams
            .get(&stream)
            .is_some_and(|record| record.live.as_ref().is_some_and(|live| !live.is_closed()))
    }

    /// Ends `stream`: its connection closes once it has what was sent.
    pub fn finish(&mut self, stream: u64) {
        if let Some(record) = self.streams.get_mut(&stream) {
            record.finished = true;
            record.live = None;
        }
        self.forget_spent_streams();
    }

    /// Resumes the stream `after` names: a receiver of its events after
    /// that one, then of new ones while the stream runs, on the connection
    /// `unsent` counts for.
    pub fn resume(&mut self, after: EventId, unsent: &Arc<Unsent>) -> Result<Resumed, ResumeError> {
        if after.tag != self.tag {
            return Err(ResumeError::Unknown);
        }
        if !self.resumable() {
            // Replaying nothing would hide the gap.
            return Err(ResumeError::NotKept);
        }
        let record = self
            .streams
            .get(&after.stream)
            .filter(|record| record.kind == after.kind && after.seq < record.next_seq)
            .ok_or(ResumeError::Unknown)?;
        if record
            .evicted_through
            .is_some_and(|evicted| evicted > after.seq)
        {
            return Err(ResumeError::Evicted);
        }
        let missed: Vec<Bytes> = self
            .events
            .iter()
            .filter(|event| event.stream == after.stream && event.seq > after.seq)
            .map(|event| event.payload.clone())
            .collect();
        let (sender, events) = event_channel(missed.len() + LIVE_QUEUE, unsent);
        for payload in missed {
            // The channel has room for every missed event, and the log's
            // bounds are what the connection is asked to take at once.
            let _ = sender.push(payload);
        }
        let mut feed = None;
        if let Some(record) = self.streams.get_mut(&after.stream) {
            match record.kind {
                StreamKind::Request if !record.finished => record.live = Some(sender),
                StreamKind::Request => {}
                StreamKind::Standalone => feed = Some(sender),
            }
        }
        Ok(Resumed { events, feed })
    }

    /// Drops the oldest events until the log is within its bounds, and
    /// all logs together within theirs or this one is empty.
    fn evict(&mut self) {
        while self.events.len() > self.bounds.max_events
            || self.bytes > self.bounds.max_bytes
            || self.all_logs.bytes() > self.all_logs.cap()
        {
            let Some(oldest) = self.events.pop_front() else {
                break;
            };
            self.bytes -= oldest.payload.len();
            self.all_logs.remove(oldest.payload.len());
            if let Some(record) = self.streams.get_mut(&oldest.stream) {
                record.evicted_through = Some(oldest.seq);
            }
        }
        self.forget_spent_streams();
    }

    /// Forgets finished streams with no events left, so the map stays as
    /// small as the log.
    fn forget_spent_streams(&mut self) {
        if self.streams.len() <= self.events.len() + 1 {
            return;
        }
        let mut with_events: Vec<u64> = self.events.iter().map(|event| event.stream).collect();
        with_events.sort_unstable();
        with_events.dedup();
        self.streams
            .retain(|stream, record| !record.finished || with_events.binary_search(stream).is_ok());
    }
}

impl Drop for ReplayLog {
    fn drop(&mut self) {
        self.all_logs.remove(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: u32 = 0xabcd_0123;

    fn log(max_events: usize, max_bytes: usize) -> ReplayLog {
        ReplayLog::new(
            ReplayBounds {
                max_events,
                max_bytes,
            },
            TAG,
            HeldBytes::new(usize::MAX),
        )
    }

    fn connection() -> Arc<Unsent> {
        Unsent::new(usize::MAX, &HeldBytes::new(usize::MAX))
    }

    fn channel(capacity: usize) -> (EventSender, mpsc::Receiver<Chunk>) {
        event_channel(capacity, &connection())
    }

    fn event(id: EventId) -> Bytes {
        Bytes::from(format!("id: {id}\n\n"))
    }

    fn id_of(event: &Bytes) -> EventId {
        let text = String::from_utf8_lossy(event);
        EventId::parse(text.trim_start_matches("id: ").trim()).expect("an id")
    }

    fn at(kind: StreamKind, stream: u64, seq: u64) -> EventId {
        EventId {
            tag: TAG,
            kind,
            stream,
            seq,
        }
    }

    fn drain(receiver: &mut mpsc::Receiver<Chunk>) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(chunk) = receiver.try_recv() {
            seen.push(String::from_utf8_lossy(&chunk.take()).into_owned());
        }
        seen
    }

    #[test]
    fn ids_round_trip_and_strangers_are_refused() {
        let id = at(StreamKind::Request, 4, 17);
        assert_eq!(id.to_string(), "abcd0123-r4-17");
        assert_eq!(EventId::parse("abcd0123-r4-17"), Some(id));
        let standalone = at(StreamKind::Standalone, 0, 2);
        assert_eq!(EventId::parse(&standalone.to_string()), Some(standalone));
        for bad in [
            "",
            "7",
            "abcd0123-r4",
            "abcd0123-r4-17-1",
            "abcd012-r4-1",
            "zzzz0123-r1-1",
            "abcd0123-4-1",
            "abcd0123-x4-1",
            "abcd0123-r-1",
        ] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_broken_request_stream_resumes_with_what_it_missed_then_live() {
        let mut log = log(100, 1 << 20);
        let (first, mut first_connection) = channel(8);
        let stream = log.open(StreamKind::Request, Some(first));
        let prime = log.record(stream, event);
        let one = log.record(stream, event);
        assert_eq!(drain(&mut first_connection).len(), 2);
        // The connection breaks; the stream goes on into the log.
        drop(first_connection);
        log.record(stream, event);
        assert!(!log.is_connected(stream));
        log.record(stream, event);

        let mut resumed = log.resume(id_of(&one), &connection()).expect("resumable");
        assert!(resumed.feed.is_none());
        assert_eq!(
            drain(&mut resumed.events),
            ["id: abcd0123-r0-2\n\n", "id: abcd0123-r0-3\n\n"]
        );
        assert!(log.is_connected(stream));
        log.record(stream, event);
        log.finish(stream);
        assert_eq!(drain(&mut resumed.events), ["id: abcd0123-r0-4\n\n"]);
        assert!(matches!(
            resumed.events.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));

        // A finished stream still replays what is kept, and then ends.
        let mut again = log.resume(id_of(&prime), &connection()).expect("kept");
        assert_eq!(drain(&mut again.events).len(), 4);
        assert!(matches!(
            again.events.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn another_tag_kind_or_stream_never_replays() {
        let mut log = log(100, 1 << 20);
        let stream = log.open(StreamKind::Request, None);
        log.record(stream, event);
        log.record(stream, event);
        let foreign = EventId {
            tag: 1,
            ..at(StreamKind::Request, stream, 0)
        };
        assert_eq!(
            log.resume(foreign, &connection()).err(),
            Some(ResumeError::Unknown)
        );
        for unknown in [
            at(StreamKind::Request, 9, 0),
            at(StreamKind::Standalone, stream, 0),
            at(StreamKind::Request, stream, 5),
        ] {
            assert_eq!(
                log.resume(unknown, &connection()).err(),
                Some(ResumeError::Unknown),
                "{unknown}"
            );
        }
    }

    #[test]
    fn the_log_keeps_its_bounds_and_refuses_a_gap() {
        let mut log = log(3, 1 << 20);
        let stream = log.open(StreamKind::Request, None);
        for _ in 0..5 {
            log.record(stream, event);
        }
        assert_eq!(log.events.len(), 3);
        let start = at(StreamKind::Request, stream, 0);
        assert_eq!(
            log.resume(start, &connection()).err(),
            Some(ResumeError::Evicted)
        );
        let mut resumed = log
            .resume(at(StreamKind::Request, stream, 1), &connection())
            .expect("seq 2.. are kept");
        assert_eq!(drain(&mut resumed.events).len(), 3);

        let mut small = self::log(100, 40);
        let stream = small.open(StreamKind::Request, None);
        for _ in 0..10 {
            small.record(stream, event);
        }
        assert!(small.bytes <= 40, "{}", small.bytes);
    }

    #[test]
    fn logs_together_stay_within_their_total() {
        let all_logs = HeldBytes::new(100);
        let bounds = ReplayBounds {
            max_events: 100,
            max_bytes: 1 << 20,
        };
        let mut first = ReplayLog::new(bounds, TAG, Arc::clone(&all_logs));
        let mut second = ReplayLog::new(bounds, TAG + 1, Arc::clone(&all_logs));
        let one = first.open(StreamKind::Request, None);
        let two = second.open(StreamKind::Request, None);
        for _ in 0..5 {
            first.record(one, event);
        }
        assert_eq!(all_logs.bytes(), first.bytes());
        for _ in 0..20 {
            second.record(two, event);
            assert!(all_logs.bytes() <= 100, "{}", all_logs.bytes());
        }
        // The log that adds pays: the first keeps what it had.
        assert_eq!(first.len(), 5);
        assert!(second.len() < 20);
        assert_eq!(
            second
                .resume(
                    EventId {
                        tag: TAG + 1,
                        ..at(StreamKind::Request, two, 0)
                    },
                    &connection()
                )
                .err(),
            Some(ResumeError::Evicted)
        );
        drop(second);
        assert_eq!(all_logs.bytes(), first.bytes());
        drop(first);
        assert_eq!(all_logs.bytes(), 0);
    }

    #[test]
    fn finished_streams_without_events_are_forgotten() {
        let mut log = log(2, 1 << 20);
        for _ in 0..50 {
            let stream = log.open(StreamKind::Request, None);
            log.record(stream, event);
            log.finish(stream);
        }
        assert!(log.streams.len() <= 3, "{}", log.streams.len());
    }

    #[test]
    fn a_standalone_stream_hands_its_sender_to_a_new_feed() {
        let mut log = log(10, 1 << 20);
        let stream = log.open(StreamKind::Standalone, None);
        log.record(stream, event);
        log.record(stream, event);
        log.finish(stream);
        let mut resumed = log
            .resume(at(StreamKind::Standalone, stream, 0), &connection())
            .expect("resumable");
        assert_eq!(drain(&mut resumed.events), ["id: abcd0123-g0-1\n\n"]);
        assert!(resumed.feed.is_some());
    }

    #[test]
    fn a_log_without_room_keeps_nothing() {
        let mut log = log(0, 1 << 20);
        assert!(!log.resumable());
        let (sender, mut live) = channel(4);
        let stream = log.open(StreamKind::Request, Some(sender));
        let first = log.record(stream, event);
        log.record(stream, event);
        assert_eq!(drain(&mut live).len(), 2);
        assert!(log.events.is_empty());
        // Found by fuzzing: resuming replayed nothing, hiding the gap.
        assert_eq!(
            log.resume(id_of(&first), &connection()).err(),
            Some(ResumeError::NotKept)
        );
    }
}

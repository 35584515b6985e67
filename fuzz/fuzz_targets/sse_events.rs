//! The event-stream writer: a session's replay log and the events it
//! frames, driven by a sequence of operations the input spells (open a
//! request or `GET` stream with or without a live connection, write a
//! message or a priming event, finish a stream, resume from any id, read or
//! drop a connection), against a model of what was written.
//!
//! Fails when an event is not one well-formed SSE event whose `id:` names
//! its stream and place and whose `data:` line is the message written; when
//! a resumption replays anything but the contiguous rest of its own stream
//! (a gap, another stream's event, or an event twice); when a live
//! connection receives its stream's events out of order; when the log
//! exceeds its bounds or miscounts its bytes in the shared total; when an
//! id never issued resumes; or when the bytes counted on a connection are
//! not all given back once its events are taken or dropped.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokio::sync::mpsc;
use warden_gateway::http::replay::{EventId, ReplayBounds, ReplayLog, ResumeError, StreamKind};
use warden_gateway::http::sse::{message_event, priming_event};
use warden_gateway::http::unsent::{Chunk, EventSender, Unsent, event_channel};
use warden_gateway::limits::held_bytes::HeldBytes;

const TAG: u32 = 0x5eed_0001;

/// Reads the input as a sequence of small numbers and byte strings.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn bytes(&mut self) -> &[u8] {
        let len = usize::from(self.byte().unwrap_or(0)).min(self.0.len());
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        taken
    }
}

/// What the model knows of one stream.
struct Written {
    kind: StreamKind,
    /// Every event written, by `seq`.
    events: Vec<bytes::Bytes>,
}

/// One SSE event's fields: `(id, data)`; panics unless well formed.
fn fields(event: &[u8]) -> (Option<String>, Option<String>) {
    let text = std::str::from_utf8(event).expect("events are UTF-8");
    let body = text
        .strip_suffix("\n\n")
        .expect("an event ends with a blank line");
    assert!(!body.contains("\n\n"), "one event, not several: {text:?}");
    assert!(!body.contains('\r'), "no carriage return: {text:?}");
    let (mut id, mut data) = (None, None);
    for line in body.split('\n') {
        let (name, value) = line
            .split_once(": ")
            .unwrap_or((line.trim_end_matches(':'), ""));
        match name {
            "id" => {
                assert!(id.is_none(), "two ids: {text:?}");
                id = Some(value.to_owned());
            }
            "data" => {
                assert!(data.is_none(), "two data lines: {text:?}");
                data = Some(value.to_owned());
            }
            "event" => assert_eq!(value, "message"),
            "retry" => assert_eq!(value, "1000"),
            other => panic!("unknown field {other:?} in {text:?}"),
        }
    }
    (id, data)
}

fn id_of(stream: u64, kind: StreamKind, seq: u64) -> EventId {
    let kind = match kind {
        StreamKind::Request => 'r',
        StreamKind::Standalone => 'g',
    };
    EventId::parse(&format!("{TAG:08x}-{kind}{stream}-{seq}")).expect("a well-formed id")
}

fn drain(receiver: &mut mpsc::Receiver<Chunk>, most: usize) -> Vec<bytes::Bytes> {
    let mut taken = Vec::new();
    while taken.len() < most {
        match receiver.try_recv() {
            Ok(chunk) => taken.push(chunk.take()),
            Err(_) => break,
        }
    }
    taken
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let bounds = ReplayBounds {
        max_events: usize::from(input.byte().unwrap_or(0) % 20),
        max_bytes: 64 + usize::from(input.byte().unwrap_or(0)) * 16,
    };
    let all_logs = HeldBytes::new(256 + usize::from(input.byte().unwrap_or(0)) * 32);
    let connection_cap = 1 + usize::from(input.byte().unwrap_or(0)) * 8;
    let total = HeldBytes::new(usize::MAX);
    let unsent = Unsent::new(connection_cap, &total);
    let mut log = ReplayLog::new(bounds, TAG, Arc::clone(&all_logs));
    let mut written: HashMap<u64, Written> = HashMap::new();
    // Live connections: their receiver, their stream and the next event
    // they must receive.
    let mut connections: Vec<(mpsc::Receiver<Chunk>, u64, u64)> = Vec::new();
    let mut senders: Vec<EventSender> = Vec::new();

    while let Some(op) = input.byte() {
        let stream_pick = u64::from(input.byte().unwrap_or(0) % 8);
        match op % 8 {
            0 | 1 => {
                let kind = if op % 8 == 0 {
                    StreamKind::Request
                } else {
                    StreamKind::Standalone
                };
                let mut receiver = None;
                let live = if input.byte().unwrap_or(0) % 2 == 0 {
                    let capacity = usize::from(input.byte().unwrap_or(0) % 8);
                    let (sender, events) = event_channel(capacity, &unsent);
                    receiver = Some(events);
                    senders.push(sender.clone());
                    Some(sender)
                } else {
                    None
                };
                let stream = log.open(kind, live);
                if let Some(events) = receiver {
                    connections.push((events, stream, 0));
                }
                written.insert(
                    stream,
                    Written {
                        kind,
                        events: Vec::new(),
                    },
                );
            }
            2 | 3 => {
                let Some(record) = written.get_mut(&stream_pick) else {
                    continue;
                };
                let text = input.bytes();
                let message: Option<Value> = if op % 8 == 2 {
                    Some(serde_json::from_slice(text).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(text).into_owned())
                    }))
                } else {
                    None
                };
                let payload = log.record(stream_pick, |id| match &message {
                    Some(message) => message_event(&id, message),
                    None => priming_event(&id),
                });
                if payload.is_empty() {
                    // A forgotten (finished and spent) stream takes nothing.
                    continue;
                }
                let seq = record.events.len() as u64;
                let (id, data) = fields(&payload);
                let expected = id_of(stream_pick, record.kind, seq);
                assert_eq!(id.as_deref().and_then(EventId::parse), Some(expected));
                match &message {
                    Some(message) => {
                        let data = data.expect("a message event has data");
                        let parsed: Value = serde_json::from_str(&data).expect("data is JSON");
                        assert_eq!(&parsed, message);
                    }
                    None => assert_eq!(data.as_deref(), Some("")),
                }
                record.events.push(payload);
            }
            4 => log.finish(stream_pick),
            5 => {
                let seq = u64::from(input.byte().unwrap_or(0) % 16);
                let kind = written
                    .get(&stream_pick)
                    .map_or(StreamKind::Request, |record| record.kind);
                let after = id_of(stream_pick, kind, seq);
                let issued = written
                    .get(&stream_pick)
                    .is_some_and(|record| (seq as usize) < record.events.len());
                match log.resume(after, &unsent) {
                    Ok(mut resumed) => {
                        assert!(issued, "{after} was never issued but resumed");
                        let record = &written[&stream_pick];
                        let replayed = drain(&mut resumed.events, usize::MAX);
                        // Exactly the rest of the stream written so far.
                        let rest = &record.events[seq as usize + 1..];
                        assert_eq!(replayed, rest, "resuming after {after}");
                        connections.push((resumed.events, stream_pick, record.events.len() as u64));
                        if let Some(feed) = resumed.feed {
                            senders.push(feed);
                        }
                    }
                    Err(ResumeError::NotKept) => assert!(!log.resumable()),
                    Err(ResumeError::Unknown | ResumeError::Evicted) => {}
                }
            }
            6 => {
                let Some((receiver, stream, next)) = connections.get_mut(usize::from(op / 8) % 8)
                else {
                    continue;
                };
                // A connection gets its stream's events in order, without
                // a gap, until it is let go.
                for event in drain(receiver, stream_pick as usize + 1) {
                    let (id, _) = fields(&event);
                    let id = id.as_deref().and_then(EventId::parse).expect("an id");
                    assert_eq!((id.stream, id.seq), (*stream, *next));
                    *next += 1;
                }
            }
            _ => {
                let index = usize::from(op / 8) % 8;
                if index < connections.len() {
                    drop(connections.swap_remove(index));
                }
            }
        }
        if log.resumable() {
            assert!(log.len() <= bounds.max_events, "{} events kept", log.len());
            assert!(
                log.bytes() <= bounds.max_bytes,
                "{} bytes kept",
                log.bytes()
            );
        } else {
            assert!(log.is_empty());
        }
        assert_eq!(all_logs.bytes(), log.bytes(), "the total counts this log");
    }
    drop(log);
    assert_eq!(all_logs.bytes(), 0, "a dropped log gives its bytes back");
    drop(connections);
    drop(senders);
    assert_eq!(unsent.bytes(), 0, "dropped events give their bytes back");
    assert_eq!(total.bytes(), 0);
});

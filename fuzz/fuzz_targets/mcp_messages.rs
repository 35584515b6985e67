//! The MCP server below every transport: a frame (one message, a
//! 2025-03-26 batch, or bytes that are neither) goes to
//! `McpServer::handle` in one of the contexts a transport gives it.
//!
//! The first byte picks the context:
//! - 0: HTTP, in a 2025-03-26 session (batches allowed);
//! - 1: HTTP, in a 2025-11-25 session;
//! - 2: HTTP, revision 2026-07-28 (no session, an envelope per request);
//! - 3: HTTP, no session named;
//! - otherwise: stdio, its connection's session held, 2026-07-28 requests
//!   told by their envelope.
//!
//! A crash is a panic, a reply that does not settle within 10 s, an answer
//! that is not JSON-RPC 2.0, or a refusal whose status-bearing error is not
//! the one its message carries.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden_gateway::auth::Caller;
use warden_gateway::mcp::revision::Transport;
use warden_gateway::mcp::server::{
    Admission, Answer, Framing, InFlight, Incoming, Reply, RequestContext, SessionRef,
};
use warden_gateway::mcp::session::Session;

/// The nesting limit the server applies by default.
const MAX_DEPTH: usize = 64;

/// A session of `revision`, opened once: its id and state.
fn open(revision: &'static str) -> (String, Arc<Session>) {
    let gateway = warden_fuzz::gateway();
    let initialize = format!(
        r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{revision}","capabilities":{{}},"clientInfo":{{"name":"fuzz","version":"1"}}}}}}"#
    );
    let context = RequestContext::new(
        Arc::new(Caller::anonymous()),
        Transport::Http,
        SessionRef::Absent,
        Framing::Session,
        Admission::Capped,
    );
    let reply = warden_fuzz::runtime().block_on(
        gateway
            .mcp
            .handle(Incoming::decode(initialize.as_bytes(), MAX_DEPTH), &context),
    );
    match reply {
        Reply::Opened {
            session_id,
            session,
            ..
        } => (session_id, session),
        other => panic!("initialize of {revision} opens a session: {other:?}"),
    }
}

fn batch_session() -> &'static (String, Arc<Session>) {
    static SESSION: OnceLock<(String, Arc<Session>)> = OnceLock::new();
    SESSION.get_or_init(|| open("2025-03-26"))
}

fn current_session() -> &'static (String, Arc<Session>) {
    static SESSION: OnceLock<(String, Arc<Session>)> = OnceLock::new();
    SESSION.get_or_init(|| open("2025-11-25"))
}

fuzz_target!(
    init: {
        // Loading the components takes seconds: before the first input.
        batch_session();
        current_session();
    },
    |input: &[u8]| run(input)
);

fn run(input: &[u8]) {
    let Some((&selector, frame)) = input.split_first() else {
        return;
    };
    let named = |(id, _): &(String, Arc<Session>)| SessionRef::Named {
        id: id.clone(),
        protocol_version: None,
    };
    let (transport, session, framing) = match selector {
        0 => (Transport::Http, named(batch_session()), Framing::Session),
        1 => (Transport::Http, named(current_session()), Framing::Session),
        2 => (Transport::Http, SessionRef::Absent, Framing::Stateless),
        3 => (Transport::Http, SessionRef::Absent, Framing::Session),
        _ => (
            Transport::Stdio,
            SessionRef::Held(Arc::clone(&current_session().1)),
            Framing::PerMessage,
        ),
    };
    let admission = match transport {
        Transport::Http => Admission::Capped,
        Transport::Stdio => Admission::Uncapped,
    };
    let in_flight = Arc::new(InFlight::default());
    let mut context = RequestContext::new(
        Arc::new(Caller::anonymous()),
        transport,
        session,
        framing,
        admission,
    );
    context.in_flight = Some(&in_flight);
    let gateway = warden_fuzz::gateway();
    let settled = warden_fuzz::runtime().block_on(async {
        let reply = gateway
            .mcp
            .handle(Incoming::decode(frame, MAX_DEPTH), &context)
            .await;
        match reply {
            Reply::Answer(answer) | Reply::Opened { answer, .. } => Some(answer),
            Reply::Running(running) => {
                tokio::time::timeout(Duration::from_secs(10), running.answer)
                    .await
                    .expect("a running request settles within 10 s")
            }
            Reply::Nothing | Reply::Subscription(_) => None,
        }
    });
    if let Some(answer) = settled {
        check(&answer);
    }
}

/// Every answer is JSON-RPC 2.0; a refusal's error is the message's.
fn check(answer: &Answer) {
    match &answer.message {
        Value::Array(answers) => {
            assert!(!answers.is_empty(), "an empty batch answer is sent as none");
            answers.iter().for_each(check_one);
        }
        message => check_one(message),
    }
    if let Some(refusal) = &answer.refusal {
        assert_eq!(
            answer.message["error"]["code"].as_i64(),
            Some(refusal.code()),
            "{}",
            answer.message
        );
    }
}

fn check_one(message: &Value) {
    assert_eq!(message["jsonrpc"], "2.0", "{message}");
    let has_result = message.get("result").is_some();
    let has_error = message.get("error").is_some();
    assert!(has_result != has_error, "{message}");
    if has_error {
        assert!(message["error"]["code"].is_i64(), "{message}");
        assert!(message["error"]["message"].is_string(), "{message}");
    }
}

//! The server driven directly, without a socket: each method, each
//! revision's shape, and the error of each bad input, as every transport
//! gets them.

mod calls;
mod handshake;
mod stateless;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::mcp::jsonrpc::code;
use crate::mcp::stateless::{CLIENT_CAPABILITIES_KEY, PROTOCOL_VERSION_KEY};

/// A server of the `text` and `misbehave` components, one tool a page, at
/// most one call running over HTTP and none waiting.
async fn server() -> Arc<McpServer> {
    let cache = std::env::temp_dir().join("warden-server-tests-cache");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
page_size = 1
cache_dir = "{cache}"

[rate_limits]
max_calls_in_flight = 1
call_queue = 0

[components.text]
path = "{text}"

[components.misbehave]
path = "{misbehave}"
"#,
        cache = cache.display(),
        text = warden_tool_artifacts::TEXT,
        misbehave = warden_tool_artifacts::MISBEHAVE,
    );
    let config = crate::config::parse(&text, Path::new("/server-tests/warden.toml"))
        .expect("the test config is valid");
    let gateway = crate::app::build(&config)
        .await
        .expect("the gateway builds");
    Arc::clone(&gateway.mcp)
}

fn context(transport: Transport, session: SessionRef) -> RequestContext<'static> {
    let framing = match transport {
        Transport::Http => Framing::Session,
        Transport::Stdio => Framing::PerMessage,
    };
    let admission = match transport {
        Transport::Http => Admission::Capped,
        Transport::Stdio => Admission::Uncapped,
    };
    RequestContext::new(
        Arc::new(Caller::local()),
        transport,
        session,
        framing,
        admission,
    )
}

fn stateless_http() -> RequestContext<'static> {
    RequestContext {
        framing: Framing::Stateless,
        ..context(Transport::Http, SessionRef::Absent)
    }
}

fn message(value: Value) -> Incoming {
    Incoming::decode(value.to_string().as_bytes(), 64)
}

fn request(id: u64, method: &str, params: Value) -> Incoming {
    message(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
}

fn envelope(mut params: Value) -> Value {
    params["_meta"] = json!({
        PROTOCOL_VERSION_KEY: "2026-07-28",
        CLIENT_CAPABILITIES_KEY: {},
    });
    params
}

/// The answer a reply comes to, a running one awaited; `None` for none.
async fn settle(reply: Reply) -> Option<Answer> {
    match reply {
        Reply::Answer(answer) | Reply::Opened { answer, .. } => Some(answer),
        Reply::Running(running) => running.answer.await,
        Reply::Nothing | Reply::Subscription(_) => None,
    }
}

/// Opens a session of `revision` (over stdio for 2024-11-05, whose HTTP
/// transport Warden does not serve, else over HTTP); its id.
async fn initialize(server: &Arc<McpServer>, revision: &str) -> String {
    let transport = if revision == "2024-11-05" {
        Transport::Stdio
    } else {
        Transport::Http
    };
    let reply = server
        .handle(
            request(0, "initialize", json!({"protocolVersion": revision})),
            &context(transport, SessionRef::Absent),
        )
        .await;
    let Reply::Opened {
        answer, session_id, ..
    } = reply
    else {
        panic!("initialize opens a session: {reply:?}");
    };
    assert_eq!(answer.message["result"]["protocolVersion"], revision);
    session_id
}

fn named(id: &str) -> SessionRef {
    SessionRef::Named {
        id: id.to_owned(),
        protocol_version: None,
    }
}

fn error_code(answer: &Answer) -> Option<i64> {
    answer.message["error"]["code"].as_i64()
}

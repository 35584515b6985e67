//! Asking the client for something while a tool runs: a completion from its
//! model ([`sample`]) or input from its user ([`elicit`]).
//!
//! Each request goes through Warden to the MCP client that made the call, if
//! that client declared the capability (`sampling`, `elicitation`); the tool
//! waits for the answer without its time limit running. Warden may also run
//! the call again from the start with the answers already at hand (clients
//! of the stateless protocol revision answer by re-sending the call), so a
//! tool should ask the same questions in the same order for the same
//! arguments.

use std::fmt;

use serde_json::{Value, json};

/// Why a request to the client has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The client cannot take this kind of request (it did not declare the
    /// capability, or its protocol revision lacks it).
    Unsupported(String),
    /// The request is not one Warden can send.
    Invalid(String),
    /// The client answered with an error.
    Refused(String),
    /// No answer came (timeout, client gone, transport without a way back).
    Unavailable(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(reason) => write!(f, "the client cannot answer this: {reason}"),
            Self::Invalid(reason) => write!(f, "the request to the client is invalid: {reason}"),
            Self::Refused(reason) => write!(f, "the client refused the request: {reason}"),
            Self::Unavailable(reason) => write!(f, "the client did not answer: {reason}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Asks the client's model for a completion. `request` is the params of MCP
/// `sampling/createMessage` (`messages`, `maxTokens`, optionally
/// `systemPrompt`, `modelPreferences`, `temperature`, …); the answer is the
/// client's `CreateMessageResult` (`role`, `content`, `model`,
/// `stopReason`).
pub fn sample(request: &Value) -> Result<Value, ClientError> {
    ask(Kind::Sample, request)
}

/// Asks the client's model to answer `prompt` in at most `max_tokens`
/// tokens, and returns the text of its answer.
pub fn sample_text(prompt: &str, max_tokens: u32) -> Result<String, ClientError> {
    let answer = sample(&json!({
        "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
        "maxTokens": max_tokens,
    }))?;
    let content = answer.get("content");
    // 2025-11-25 allows a list of content blocks; earlier revisions one.
    let first = match content {
        Some(Value::Array(blocks)) => blocks.first(),
        other => other,
    };
    first
        .and_then(|block| block.get("text"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ClientError::Refused("the client's answer has no text content".to_owned()))
}

/// Asks the user, through the client, for input. `request` is the params of
/// MCP `elicitation/create` (`message`, `requestedSchema`); the answer is
/// the client's `ElicitResult` (`action`: `accept`, `decline` or `cancel`;
/// `content` when accepted).
pub fn elicit(request: &Value) -> Result<Value, ClientError> {
    ask(Kind::Elicit, request)
}

/// What the user did with a form.
#[derive(Debug, Clone, PartialEq)]
pub enum Elicited {
    /// Filled it in: the values, by field.
    Accepted(serde_json::Map<String, Value>),
    /// Said no.
    Declined,
    /// Dismissed it without choosing.
    Cancelled,
}

/// Shows the user a form: `message` and a flat object schema of the fields
/// wanted (`requestedSchema`).
pub fn elicit_form(message: &str, requested_schema: &Value) -> Result<Elicited, ClientError> {
    let answer = elicit(&json!({ "message": message, "requestedSchema": requested_schema }))?;
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => Ok(Elicited::Accepted(
            answer
                .get("content")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        )),
        Some("decline") => Ok(Elicited::Declined),
        Some("cancel") => Ok(Elicited::Cancelled),
        _ => Err(ClientError::Refused(
            "the client's answer has no valid `action`".to_owned(),
        )),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Sample,
    Elicit,
}

#[cfg(target_arch = "wasm32")]
fn ask(kind: Kind, request: &Value) -> Result<Value, ClientError> {
    use crate::bindings::warden::tool::{host, types};
    let request = request.to_string();
    let answer = match kind {
        Kind::Sample => host::sample(&request),
        Kind::Elicit => host::elicit(&request),
    }
    .map_err(|error| match error {
        types::ClientError::Unsupported(reason) => ClientError::Unsupported(reason),
        types::ClientError::Invalid(reason) => ClientError::Invalid(reason),
        types::ClientError::Refused(reason) => ClientError::Refused(reason),
        types::ClientError::Unavailable(reason) => ClientError::Unavailable(reason),
    })?;
    serde_json::from_str(&answer)
        .map_err(|error| ClientError::Refused(format!("the answer is not JSON: {error}")))
}

#[cfg(not(target_arch = "wasm32"))]
fn ask(kind: Kind, request: &Value) -> Result<Value, ClientError> {
    let _ = (kind, request);
    Err(ClientError::Unavailable(
        "there is no host to ask outside wasm32".to_owned(),
    ))
}

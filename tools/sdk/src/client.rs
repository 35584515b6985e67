//! Asking the client for something while a tool runs: a completion from its
//! model ([`sample`]), input from its user ([`elicit`]), its roots
//! ([`list_roots`]), or several of these at once ([`ask`]).
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

/// One request to the client, for [`ask`].
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    kind: Kind,
    params: Value,
    key: Option<String>,
    optional: bool,
}

impl Request {
    /// A model completion: the params of `sampling/createMessage`.
    pub fn sample(params: Value) -> Self {
        Self::new(Kind::Sample, params)
    }

    /// Input from the user: the params of `elicitation/create`.
    pub fn elicit(params: Value) -> Self {
        Self::new(Kind::Elicit, params)
    }

    /// The client's roots (`roots/list`).
    pub fn list_roots() -> Self {
        Self::new(Kind::ListRoots, json!({}))
    }

    fn new(kind: Kind, params: Value) -> Self {
        Self {
            kind,
            params,
            key: None,
            optional: false,
        }
    }

    /// Marks the request as one the tool can do without: when the client
    /// did not declare the capability it needs, the answer is
    /// [`ClientError::Unsupported`] in every revision. A required request
    /// (the default) ends a call of the stateless revision instead, with an
    /// error telling the client which capability the call needs.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// Names the request (unique within the call): clients of the
    /// stateless revision see the name as the key of the request in the
    /// call's `inputRequests`. Unnamed requests are called `<kind>-<n>`.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// Sends `requests` to the client at once and waits for every answer, one
/// per request, in order.
pub fn ask(requests: &[Request]) -> Vec<Result<Value, ClientError>> {
    send(requests)
}

/// Sends one request and waits for its answer.
fn ask_one(request: Request) -> Result<Value, ClientError> {
    send(std::slice::from_ref(&request))
        .pop()
        .unwrap_or_else(|| {
            Err(ClientError::Unavailable(
                "the host gave no answer".to_owned(),
            ))
        })
}

/// Asks the client's model for a completion. `request` is the params of MCP
/// `sampling/createMessage` (`messages`, `maxTokens`, optionally
/// `systemPrompt`, `modelPreferences`, `temperature`, …); the answer is the
/// client's `CreateMessageResult` (`role`, `content`, `model`,
/// `stopReason`).
pub fn sample(request: &Value) -> Result<Value, ClientError> {
    ask_one(Request::sample(request.clone()))
}

/// Asks the client for its roots; the answer is its `ListRootsResult`
/// (`roots`: a list of `uri` and optional `name`).
pub fn list_roots() -> Result<Value, ClientError> {
    ask_one(Request::list_roots())
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
    ask_one(Request::elicit(request.clone()))
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sample,
    Elicit,
    ListRoots,
}

#[cfg(target_arch = "wasm32")]
fn send(requests: &[Request]) -> Vec<Result<Value, ClientError>> {
    use crate::bindings::warden::tool::{host, types};
    let requests: Vec<types::ClientRequest> = requests
        .iter()
        .map(|request| types::ClientRequest {
            kind: match request.kind {
                Kind::Sample => types::ClientRequestKind::Sample,
                Kind::Elicit => types::ClientRequestKind::Elicit,
                Kind::ListRoots => types::ClientRequestKind::ListRoots,
            },
            params: request.params.to_string(),
            key: request.key.clone(),
            optional: request.optional,
        })
        .collect();
    host::ask_client(&requests)
        .into_iter()
        .map(|answer| {
            let answer = answer.map_err(|error| match error {
                types::ClientError::Unsupported(reason) => ClientError::Unsupported(reason),
                types::ClientError::Invalid(reason) => ClientError::Invalid(reason),
                types::ClientError::Refused(reason) => ClientError::Refused(reason),
                types::ClientError::Unavailable(reason) => ClientError::Unavailable(reason),
            })?;
            serde_json::from_str(&answer)
                .map_err(|error| ClientError::Refused(format!("the answer is not JSON: {error}")))
        })
        .collect()
}

#[cfg(not(target_arch = "wasm32"))]
fn send(requests: &[Request]) -> Vec<Result<Value, ClientError>> {
    requests
        .iter()
        .map(|_| {
            Err(ClientError::Unavailable(
                "there is no host to ask outside wasm32".to_owned(),
            ))
        })
        .collect()
}

//! A tool's requests to the client that called it (its `ask-client`):
//! `sampling/createMessage`, `elicitation/create` and `roots/list`.
//!
//! Handshake revisions carry them as server-to-client requests on the
//! call's own stream (SSE events over HTTP, lines over stdio); the client's
//! response comes back as a JSON-RPC response and is routed by id to the
//! waiting tool.
//!
//! Revision 2026-07-28 has no server-to-client requests: the call ends with
//! an `InputRequiredResult` naming what it needs (or, when the client did
//! not declare a capability the tool needs, a -32021 error naming it), and
//! the client re-sends
//! the call with `inputResponses` and the `requestState` it got. A call
//! runs in a fresh instance each time, so the retry runs the tool from the
//! start and hands it the answers collected so far as it asks again; the
//! state that carries them is sealed (AEAD, the session key) and bound to
//! the caller, the tool, the arguments and an expiry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use warden_sandbox::{
    ClientReply, ClientReplyFuture, ClientRequest, ClientRequestError, ClientRequestKind,
};

use super::RpcError;
use super::jsonrpc::code;
use super::revision::Revision;
use super::session::pending::PendingRequests;
use super::session::token::{Sealed, SessionSealer};

/// How long a `requestState` stays valid: time for a person to answer.
pub const REQUEST_STATE_TTL_SECS: u64 = 3600;

/// Longest key a tool may give a request.
pub const MAX_KEY_CHARS: usize = 128;

/// Where one call's requests to its client go.
pub struct ClientAsker {
    revision: Revision,
    capabilities: Value,
    route: Route,
}

/// How a request reaches the client and its answer comes back.
pub enum Route {
    /// On the call's stream; the response is routed back through the
    /// session's pending requests.
    Live {
        /// The call's stream.
        stream: mpsc::Sender<Value>,
        /// Where the client's response is matched to the request.
        pending: Arc<PendingRequests>,
    },
    /// With a retried call (2026-07-28).
    Retry(Arc<RetryRound>),
    /// Not at all, for the reason given.
    Unreachable(&'static str),
}

impl ClientAsker {
    /// Requests of a client speaking `revision` that declared
    /// `capabilities`, sent by `route`.
    pub fn new(revision: Revision, capabilities: Value, route: Route) -> Self {
        Self {
            revision,
            capabilities,
            route,
        }
    }

    /// Sends the tool's request and resolves to the client's answer.
    pub fn ask(&self, request: ClientRequest) -> ClientReplyFuture {
        let checked = check(
            request.kind,
            self.revision,
            &self.capabilities,
            &request.params,
        );
        match (&self.route, checked) {
            (Route::Retry(round), checked) => ready(round.ask(&request, checked)),
            (_, Err(refusal)) => ready(ClientReply::Failed(refusal.error)),
            (Route::Live { stream, pending }, Ok((method, params))) => Box::pin(ask_live(
                stream.clone(),
                Arc::clone(pending),
                method,
                params,
            )),
            (Route::Unreachable(reason), Ok(_)) => ready(ClientReply::Failed(
                ClientRequestError::Unavailable((*reason).to_owned()),
            )),
        }
    }
}

impl ClientAsker {
    /// The `InputRequiredResult` of a 2026-07-28 call that stopped at an
    /// unanswered request; `None` otherwise.
    pub fn input_required(&self) -> Option<Result<Value, RpcError>> {
        match &self.route {
            Route::Retry(round) => round.input_required(),
            Route::Live { .. } | Route::Unreachable(_) => None,
        }
    }
}

fn ready(reply: ClientReply) -> ClientReplyFuture {
    Box::pin(std::future::ready(reply))
}

async fn ask_live(
    stream: mpsc::Sender<Value>,
    pending: Arc<PendingRequests>,
    method: &'static str,
    params: Value,
) -> ClientReply {
    let mut waiting = pending.register();
    let request = json!({
        "jsonrpc": "2.0",
        "id": waiting.id.to_value(),
        "method": method,
        "params": params,
    });
    if stream.send(request).await.is_err() {
        return ClientReply::Failed(ClientRequestError::Unavailable(
            "the call's stream to the client has closed".to_owned(),
        ));
    }
    match waiting.answer().await {
        Some(Ok(result)) => ClientReply::Answered(result.to_string()),
        Some(Err(error)) => {
            ClientReply::Failed(ClientRequestError::Refused(describe_error(&error)))
        }
        None => ClientReply::Failed(ClientRequestError::Unavailable(
            "the session ended before the client answered".to_owned(),
        )),
    }
}

/// A client's JSON-RPC error object as one line: its message and code.
fn describe_error(error: &Value) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    match error.get("code").and_then(Value::as_i64) {
        Some(code) => format!("{message} (code {code})"),
        None => message.to_owned(),
    }
}

/// Why a request cannot go to the client.
#[derive(Debug, Clone, PartialEq)]
struct Refusal {
    error: ClientRequestError,
    /// The capability the client would have to declare, when that is why.
    missing: Option<&'static str>,
}

impl Refusal {
    fn invalid(reason: &str) -> Self {
        Self {
            error: ClientRequestError::Invalid(reason.to_owned()),
            missing: None,
        }
    }

    fn unsupported(reason: String) -> Self {
        Self {
            error: ClientRequestError::Unsupported(reason),
            missing: None,
        }
    }

    fn undeclared(capability: &'static str) -> Self {
        Self {
            error: ClientRequestError::Unsupported(format!(
                "the client did not declare the `{capability}` capability"
            )),
            missing: Some(capability),
        }
    }
}

/// The method and params of a tool's request, once it is one this client
/// can take.
fn check(
    kind: ClientRequestKind,
    revision: Revision,
    capabilities: &Value,
    request: &str,
) -> Result<(&'static str, Value), Refusal> {
    let mut params: Map<String, Value> = serde_json::from_str(request).map_err(|error| {
        Refusal::invalid(&format!("the request must be a JSON object: {error}"))
    })?;
    let declared = |name: &'static str| {
        capabilities
            .get(name)
            .and_then(Value::as_object)
            .ok_or(Refusal::undeclared(name))
    };
    match kind {
        ClientRequestKind::Sample => {
            let sampling = declared("sampling")?;
            if params
                .get("messages")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                return Err(Refusal::invalid("`messages` must be a non-empty array"));
            }
            if params
                .get("maxTokens")
                .and_then(Value::as_u64)
                .is_none_or(|tokens| tokens == 0)
            {
                return Err(Refusal::invalid("`maxTokens` must be a positive integer"));
            }
            let uses_tools = params.contains_key("tools") || params.contains_key("toolChoice");
            if uses_tools && !sampling.contains_key("tools") {
                return Err(Refusal::unsupported(
                    "the client did not declare `sampling.tools`, so a request may not offer it tools"
                        .to_owned(),
                ));
            }
            Ok(("sampling/createMessage", Value::Object(params)))
        }
        ClientRequestKind::Elicit => {
            if !revision.has_elicitation() {
                return Err(Refusal::unsupported(format!(
                    "elicitation needs protocol revision 2025-06-18 or later; this client speaks {}",
                    revision.as_str()
                )));
            }
            let elicitation = declared("elicitation")?;
            if !params.get("message").is_some_and(Value::is_string) {
                return Err(Refusal::invalid("`message` must be a string"));
            }
            let mode = params
                .get("mode")
                .map(|mode| mode.as_str().unwrap_or_default().to_owned());
            match mode.as_deref() {
                None | Some("form") => {
                    // An empty `elicitation` object declares form mode.
                    let form = elicitation.contains_key("form") || !elicitation.contains_key("url");
                    if !form {
                        return Err(Refusal::unsupported(
                            "the client declared only URL-mode elicitation".to_owned(),
                        ));
                    }
                    if !params.get("requestedSchema").is_some_and(Value::is_object) {
                        return Err(Refusal::invalid(
                            "`requestedSchema` must be an object schema",
                        ));
                    }
                    // Modes came with 2025-11-25; earlier clients know only forms.
                    if revision < Revision::V2025_11_25 {
                        params.remove("mode");
                    }
                }
                Some("url") => {
                    if revision < Revision::V2025_11_25 || !elicitation.contains_key("url") {
                        return Err(Refusal::unsupported(
                            "the client did not declare URL-mode elicitation".to_owned(),
                        ));
                    }
                    if !params.get("url").is_some_and(Value::is_string)
                        || !params.get("elicitationId").is_some_and(Value::is_string)
                    {
                        return Err(Refusal::invalid(
                            "URL-mode elicitation needs `url` and `elicitationId` strings",
                        ));
                    }
                }
                Some(_) => return Err(Refusal::invalid("`mode` must be \"form\" or \"url\"")),
            }
            Ok(("elicitation/create", Value::Object(params)))
        }
        ClientRequestKind::ListRoots => {
            declared("roots")?;
            Ok(("roots/list", Value::Object(params)))
        }
    }
}

/// What a 2026-07-28 call's answers are bound to: a `requestState` made for
/// one caller, tool and set of arguments opens for no other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The caller's name.
    pub caller: String,
    /// The tool's name.
    pub tool: String,
    /// SHA-256 (hex) of the arguments' JSON text.
    pub arguments: String,
}

impl Binding {
    /// The binding of `caller` calling `tool` with `arguments`.
    pub fn new(caller: &str, tool: &str, arguments: &Value) -> Self {
        Self {
            caller: caller.to_owned(),
            tool: tool.to_owned(),
            arguments: digest(&arguments.to_string()),
        }
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The sealed contents of a `requestState`.
#[derive(Serialize, Deserialize)]
struct RequestState {
    #[serde(flatten)]
    binding: Binding,
    /// Unix time (seconds) after which the state is refused.
    exp: u64,
    /// Every answer so far, by request key.
    answers: BTreeMap<String, Answer>,
    /// The request the last round asked: its key and digest.
    asked: BTreeMap<String, String>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Answer {
    /// Digest of the request it answers: a tool that asks something else
    /// under the same key on a retry is asked anew. `None` for an answer
    /// the client gave before it was asked, which fits any request under
    /// its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    /// The client's result.
    a: Value,
}

/// One run of a 2026-07-28 call: the answers it starts with, and the first
/// request it finds unanswered.
pub struct RetryRound {
    binding: Binding,
    sealer: Arc<SessionSealer>,
    answers: HashMap<String, Answer>,
    progress: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    /// Requests the tool made so far in this run.
    made: u32,
    /// Their keys.
    keys: std::collections::HashSet<String>,
    /// The unanswered ones that suspended the call.
    unanswered: Vec<Unanswered>,
    /// Capabilities the tool needs that the client did not declare.
    missing: BTreeMap<&'static str, ()>,
}

struct Unanswered {
    key: String,
    digest: String,
    method: &'static str,
    params: Value,
}

impl RetryRound {
    /// The round of a call with `binding`, continuing from `request_state`
    /// and `input_responses` when the client re-sends the call.
    pub fn start(
        binding: Binding,
        sealer: Arc<SessionSealer>,
        request_state: Option<&Value>,
        input_responses: Option<&Value>,
    ) -> Result<Self, RpcError> {
        let responses = match input_responses {
            None | Some(Value::Null) => None,
            Some(Value::Object(responses)) => Some(responses),
            Some(_) => {
                return Err(RpcError::invalid_params(
                    "`inputResponses` must be an object",
                ));
            }
        };
        let mut answers = HashMap::new();
        let mut asked = BTreeMap::new();
        match request_state {
            None | Some(Value::Null) => {}
            Some(Value::String(token)) => {
                let state = open_state(&sealer, token)?;
                if state.binding != binding {
                    return Err(RpcError::invalid_params(
                        "`requestState` belongs to another call (another caller, tool or arguments)",
                    ));
                }
                if state.exp < unix_now() {
                    return Err(RpcError::invalid_params(
                        "`requestState` has expired; call the tool again without it",
                    ));
                }
                answers.extend(state.answers);
                asked = state.asked;
            }
            Some(_) => return Err(RpcError::invalid_params("`requestState` must be a string")),
        }
        // Every response is the client's answer under its key: to what the
        // last round asked (bound to that request), or given unasked (it
        // fits whatever the tool asks under that key). Keys the tool never
        // asks are ignored, as MCP wants.
        for (key, response) in responses.into_iter().flatten() {
            if !response.is_object() {
                return Err(RpcError::invalid_params(format!(
                    "`inputResponses.{key}` must be an object (the client's result)"
                )));
            }
            answers.insert(
                key.clone(),
                Answer {
                    d: asked.get(key).cloned(),
                    a: response.clone(),
                },
            );
        }
        Ok(Self {
            binding,
            sealer,
            answers,
            progress: Mutex::default(),
        })
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The answer collected for the tool's request, or a suspension that
    /// ends this run with the request unanswered.
    fn ask(
        &self,
        request: &ClientRequest,
        checked: Result<(&'static str, Value), Refusal>,
    ) -> ClientReply {
        let mut progress = self.progress();
        progress.made += 1;
        let key = match &request.key {
            Some(key) if key.is_empty() || key.chars().count() > MAX_KEY_CHARS => {
                return ClientReply::Failed(ClientRequestError::Invalid(format!(
                    "a request key must be 1 to {MAX_KEY_CHARS} characters"
                )));
            }
            Some(key) => key.clone(),
            None => format!("{}-{}", request.kind.as_str(), progress.made),
        };
        if !progress.keys.insert(key.clone()) {
            return ClientReply::Failed(ClientRequestError::Invalid(format!(
                "the key `{key}` names an earlier request of this call"
            )));
        }
        let (method, params) = match checked {
            Ok(checked) => checked,
            Err(Refusal {
                missing: Some(capability),
                ..
            }) if !request.optional => {
                // 2026-07-28 answers a call that needs an undeclared
                // capability with -32021.
                progress.missing.insert(capability, ());
                return ClientReply::Suspend;
            }
            Err(refusal) => return ClientReply::Failed(refusal.error),
        };
        let request_digest = digest(&format!("{method} {params}"));
        if let Some(answer) = self
            .answers
            .get(&key)
            .filter(|answer| answer.d.as_ref().is_none_or(|d| *d == request_digest))
        {
            return ClientReply::Answered(answer.a.to_string());
        }
        progress.unanswered.push(Unanswered {
            key,
            digest: request_digest,
            method,
            params,
        });
        ClientReply::Suspend
    }

    /// How a run that stopped at requests it could not have answered ends:
    /// an `InputRequiredResult`, or -32021 for capabilities the client did
    /// not declare; `None` when it did not stop so.
    pub fn input_required(&self) -> Option<Result<Value, RpcError>> {
        let mut progress = self.progress();
        if !progress.missing.is_empty() {
            let names: Vec<&str> = progress.missing.keys().copied().collect();
            let required: Map<String, Value> = names
                .iter()
                .map(|name| ((*name).to_owned(), json!({})))
                .collect();
            return Some(Err(RpcError::new(
                code::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!(
                    "the tool needs the client capability `{}`, which the request's clientCapabilities do not declare",
                    names.join("`, `")
                ),
            )
            .with_data(json!({ "requiredCapabilities": required }))));
        }
        let unanswered = std::mem::take(&mut progress.unanswered);
        drop(progress);
        if unanswered.is_empty() {
            return None;
        }
        let state = RequestState {
            binding: self.binding.clone(),
            exp: unix_now().saturating_add(REQUEST_STATE_TTL_SECS),
            answers: self
                .answers
                .iter()
                .map(|(key, answer)| (key.clone(), answer.clone()))
                .collect(),
            asked: unanswered
                .iter()
                .map(|request| (request.key.clone(), request.digest.clone()))
                .collect(),
        };
        // Serialising a tree of JSON values cannot fail.
        let plaintext = serde_json::to_vec(&state).unwrap_or_default();
        let sealed = self
            .sealer
            .seal_bytes(Sealed::RequestState, &plaintext)
            .map_err(|error| {
                RpcError::new(
                    code::INTERNAL_ERROR,
                    format!("cannot carry the answers collected so far: {error}"),
                )
            });
        let input_requests: Map<String, Value> = unanswered
            .into_iter()
            .map(|request| {
                let asked = json!({ "method": request.method, "params": request.params });
                (request.key, asked)
            })
            .collect();
        Some(sealed.map(|request_state| {
            json!({
                "resultType": "input_required",
                "inputRequests": input_requests,
                "requestState": request_state,
            })
        }))
    }
}

fn open_state(sealer: &SessionSealer, token: &str) -> Result<RequestState, RpcError> {
    let plaintext = sealer
        .open_bytes(Sealed::RequestState, token)
        .map_err(|error| {
            RpcError::invalid_params(format!(
                "`requestState` is not one this server issued ({error})"
            ))
        })?;
    serde_json::from_slice(&plaintext).map_err(|_| {
        RpcError::invalid_params("`requestState` is not one this server issued (unreadable)")
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests;

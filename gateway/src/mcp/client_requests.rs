//! A tool's requests to the client that called it: `sampling/createMessage`
//! (the tool's `sample`) and `elicitation/create` (its `elicit`).
//!
//! Handshake revisions carry them as server-to-client requests on the
//! call's own stream (SSE events over HTTP, lines over stdio); the client's
//! response comes back as a JSON-RPC response and is routed by id to the
//! waiting tool.
//!
//! Revision 2026-07-28 has no server-to-client requests: the call ends with
//! an `InputRequiredResult` naming what it needs, and the client re-sends
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
use warden_sandbox::{ClientReply, ClientReplyFuture, ClientRequestError, ClientRequestKind};

use super::RpcError;
use super::revision::Revision;
use super::session::pending::PendingRequests;
use super::session::token::{Sealed, SessionSealer};

/// How long a `requestState` stays valid: time for a person to answer.
pub const REQUEST_STATE_TTL_SECS: u64 = 3600;

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

    /// Sends the tool's request (`request`: the params as JSON text) and
    /// resolves to the client's answer.
    pub fn ask(&self, kind: ClientRequestKind, request: &str) -> ClientReplyFuture {
        let (method, params) = match check(kind, self.revision, &self.capabilities, request) {
            Ok(checked) => checked,
            Err(error) => return ready(ClientReply::Failed(error)),
        };
        match &self.route {
            Route::Live { stream, pending } => Box::pin(ask_live(
                stream.clone(),
                Arc::clone(pending),
                method,
                params,
            )),
            Route::Retry(round) => ready(round.ask(kind, method, params)),
            Route::Unreachable(reason) => ready(ClientReply::Failed(
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

/// The method and params of a tool's request, once it is one this client
/// can take.
fn check(
    kind: ClientRequestKind,
    revision: Revision,
    capabilities: &Value,
    request: &str,
) -> Result<(&'static str, Value), ClientRequestError> {
    let invalid = |reason: &str| ClientRequestError::Invalid(reason.to_owned());
    let mut params: Map<String, Value> = serde_json::from_str(request)
        .map_err(|error| invalid(&format!("the request must be a JSON object: {error}")))?;
    match kind {
        ClientRequestKind::Sample => {
            let sampling = capabilities
                .get("sampling")
                .filter(|value| value.is_object());
            let Some(sampling) = sampling else {
                return Err(ClientRequestError::Unsupported(
                    "the client did not declare the `sampling` capability".to_owned(),
                ));
            };
            if params
                .get("messages")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                return Err(invalid("`messages` must be a non-empty array"));
            }
            if params
                .get("maxTokens")
                .and_then(Value::as_u64)
                .is_none_or(|tokens| tokens == 0)
            {
                return Err(invalid("`maxTokens` must be a positive integer"));
            }
            let uses_tools = params.contains_key("tools") || params.contains_key("toolChoice");
            if uses_tools && sampling.get("tools").is_none() {
                return Err(ClientRequestError::Unsupported(
                    "the client did not declare `sampling.tools`, so a request may not offer it tools"
                        .to_owned(),
                ));
            }
            Ok(("sampling/createMessage", Value::Object(params)))
        }
        ClientRequestKind::Elicit => {
            if !revision.has_elicitation() {
                return Err(ClientRequestError::Unsupported(format!(
                    "elicitation needs protocol revision 2025-06-18 or later; this client speaks {}",
                    revision.as_str()
                )));
            }
            let elicitation = capabilities
                .get("elicitation")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    ClientRequestError::Unsupported(
                        "the client did not declare the `elicitation` capability".to_owned(),
                    )
                })?;
            if !params.get("message").is_some_and(Value::is_string) {
                return Err(invalid("`message` must be a string"));
            }
            let mode = params
                .get("mode")
                .map(|mode| mode.as_str().unwrap_or_default().to_owned());
            match mode.as_deref() {
                None | Some("form") => {
                    // An empty `elicitation` object declares form mode.
                    let form = elicitation.contains_key("form") || !elicitation.contains_key("url");
                    if !form {
                        return Err(ClientRequestError::Unsupported(
                            "the client declared only URL-mode elicitation".to_owned(),
                        ));
                    }
                    if !params.get("requestedSchema").is_some_and(Value::is_object) {
                        return Err(invalid("`requestedSchema` must be an object schema"));
                    }
                    // Modes came with 2025-11-25; earlier clients know only forms.
                    if revision < Revision::V2025_11_25 {
                        params.remove("mode");
                    }
                }
                Some("url") => {
                    if revision < Revision::V2025_11_25 || !elicitation.contains_key("url") {
                        return Err(ClientRequestError::Unsupported(
                            "the client did not declare URL-mode elicitation".to_owned(),
                        ));
                    }
                    if !params.get("url").is_some_and(Value::is_string)
                        || !params.get("elicitationId").is_some_and(Value::is_string)
                    {
                        return Err(invalid(
                            "URL-mode elicitation needs `url` and `elicitationId` strings",
                        ));
                    }
                }
                Some(_) => return Err(invalid("`mode` must be \"form\" or \"url\"")),
            }
            Ok(("elicitation/create", Value::Object(params)))
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
    /// under the same key on a retry is asked anew.
    d: String,
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
    /// The unanswered one that suspended the call.
    unanswered: Option<Unanswered>,
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
                for (key, request_digest) in state.asked {
                    // Keys the last round did not ask are ignored, as MCP asks.
                    if let Some(response) = responses.and_then(|responses| responses.get(&key)) {
                        answers.insert(
                            key,
                            Answer {
                                d: request_digest,
                                a: response.clone(),
                            },
                        );
                    }
                }
            }
            Some(_) => return Err(RpcError::invalid_params("`requestState` must be a string")),
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

    /// The answer collected for the tool's next request, or a suspension
    /// that ends this run with the request unanswered.
    fn ask(&self, kind: ClientRequestKind, method: &'static str, params: Value) -> ClientReply {
        let mut progress = self.progress();
        progress.made += 1;
        let key = format!("{}-{}", kind.as_str(), progress.made);
        let request_digest = digest(&format!("{method} {params}"));
        if let Some(answer) = self
            .answers
            .get(&key)
            .filter(|answer| answer.d == request_digest)
        {
            return ClientReply::Answered(answer.a.to_string());
        }
        progress.unanswered = Some(Unanswered {
            key,
            digest: request_digest,
            method,
            params,
        });
        ClientReply::Suspend
    }

    /// The `InputRequiredResult` for a run that stopped at an unanswered
    /// request; `None` when it did not.
    pub fn input_required(&self) -> Option<Result<Value, RpcError>> {
        let unanswered = self.progress().unanswered.take()?;
        let state = RequestState {
            binding: self.binding.clone(),
            exp: unix_now().saturating_add(REQUEST_STATE_TTL_SECS),
            answers: self
                .answers
                .iter()
                .map(|(key, answer)| (key.clone(), answer.clone()))
                .collect(),
            asked: BTreeMap::from([(unanswered.key.clone(), unanswered.digest)]),
        };
        // Serialising a tree of JSON values cannot fail.
        let plaintext = serde_json::to_vec(&state).unwrap_or_default();
        let sealed = self
            .sealer
            .seal_bytes(Sealed::RequestState, &plaintext)
            .map_err(|error| {
                RpcError::new(
                    super::jsonrpc::code::INTERNAL_ERROR,
                    format!("cannot carry the answers collected so far: {error}"),
                )
            });
        Some(sealed.map(|request_state| {
            json!({
                "resultType": "input_required",
                "inputRequests": {
                    unanswered.key: { "method": unanswered.method, "params": unanswered.params },
                },
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

//! Revision 2026-07-28's answers to a tool's requests: the rounds of
//! `InputRequiredResult` and retried calls, and the sealed `requestState`
//! that carries what a call collected from one round to the next.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use warden_sandbox::{ClientReply, ClientRequest, ClientRequestError};

use super::check::Refusal;
use crate::mcp::error::{ErrorKind, McpError};
use crate::mcp::session::token::{Sealed, SessionSealer};

/// How long a `requestState` stays valid: time for a person to answer.
pub const REQUEST_STATE_TTL_SECS: u64 = 3600;

/// Longest key a tool may give a request.
pub const MAX_KEY_CHARS: usize = 128;

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
    keys: HashSet<String>,
    /// The unanswered ones that suspended the call.
    unanswered: Vec<Unanswered>,
    /// Capabilities the tool needs that the client did not declare.
    missing: BTreeSet<&'static str>,
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
    ) -> Result<Self, McpError> {
        let responses = match input_responses {
            None | Some(Value::Null) => None,
            Some(Value::Object(responses)) => Some(responses),
            Some(_) => {
                return Err(McpError::invalid_params(
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
                    return Err(McpError::invalid_params(
                        "`requestState` belongs to another call (another caller, tool or arguments)",
                    ));
                }
                if state.exp < unix_now() {
                    return Err(McpError::invalid_params(
                        "`requestState` has expired; call the tool again without it",
                    ));
                }
                answers.extend(state.answers);
                asked = state.asked;
            }
            Some(_) => return Err(McpError::invalid_params("`requestState` must be a string")),
        }
        // Every response is the client's answer under its key: to what the
        // last round asked (bound to that request), or given unasked (it
        // fits whatever the tool asks under that key). Keys the tool never
        // asks are ignored, as MCP wants.
        for (key, response) in responses.into_iter().flatten() {
            if !response.is_object() {
                return Err(McpError::invalid_params(format!(
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
    pub(super) fn ask(
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
                progress.missing.insert(capability);
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
    pub fn input_required(&self) -> Option<Result<Value, McpError>> {
        let mut progress = self.progress();
        if !progress.missing.is_empty() {
            let names: Vec<&str> = progress.missing.iter().copied().collect();
            let required: Map<String, Value> = names
                .iter()
                .map(|name| ((*name).to_owned(), json!({})))
                .collect();
            return Some(Err(McpError::new(
                ErrorKind::MissingClientCapability,
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
                McpError::new(
                    ErrorKind::Internal,
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

fn open_state(sealer: &SessionSealer, token: &str) -> Result<RequestState, McpError> {
    let plaintext = sealer
        .open_bytes(Sealed::RequestState, token)
        .map_err(|error| {
            McpError::invalid_params(format!(
                "`requestState` is not one this server issued ({error})"
            ))
        })?;
    serde_json::from_slice(&plaintext).map_err(|_| {
        McpError::invalid_params("`requestState` is not one this server issued (unreadable)")
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

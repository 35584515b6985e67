//! `misbehave.ask`: requests to the client exactly as a test writes them,
//! valid or not, so the gateway's handling of each can be checked.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_tool::ToolError;
use warden_tool::client::{self, ClientError, Request};
use warden_tool::schemars::{self, JsonSchema};

/// One request to the client.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AskKind {
    /// `sample`: a model completion.
    Sample,
    /// `elicit`: input from the user.
    Elicit,
    /// `list-roots`: the client's roots.
    Roots,
}

/// One request of `misbehave.ask`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Question {
    /// Which import to call.
    pub kind: AskKind,
    /// Its params, sent as given (any JSON, valid or not); `{}` when absent.
    #[serde(default)]
    pub request: Value,
    /// Its name, if the test gives one.
    #[serde(default)]
    pub key: Option<String>,
    /// Whether the tool can do without the answer.
    #[serde(default)]
    pub optional: bool,
}

/// Arguments of `misbehave.ask`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AskArgs {
    /// The requests, made one after another.
    pub questions: Vec<Question>,
    /// Whether the first request the client cannot answer fails the tool
    /// (true) or is recorded in the answers and the next one asked.
    #[serde(default)]
    pub stop_on_error: bool,
    /// Whether to send every request at once (one `ask-client`) instead of
    /// one after another.
    #[serde(default)]
    pub together: bool,
}

/// What `misbehave.ask` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Answers {
    /// One entry per request: `{"answer": …}` or `{"error": kind, "reason": …}`.
    pub answers: Vec<Value>,
}

fn request(question: Question) -> Request {
    let params = if question.request.is_null() {
        serde_json::json!({})
    } else {
        question.request
    };
    let request = match question.kind {
        AskKind::Sample => Request::sample(params),
        AskKind::Elicit => Request::elicit(params),
        AskKind::Roots => Request::list_roots(),
    };
    let request = match question.key {
        Some(key) => request.key(key),
        None => request,
    };
    if question.optional {
        request.optional()
    } else {
        request
    }
}

pub fn ask(args: AskArgs) -> Result<Answers, ToolError> {
    let requests: Vec<Request> = args.questions.into_iter().map(request).collect();
    let replies = if args.together {
        client::ask(&requests)
    } else {
        requests
            .into_iter()
            .flat_map(|request| client::ask(&[request]))
            .collect()
    };
    let mut answers = Vec::new();
    for reply in replies {
        match reply {
            Ok(answer) => answers.push(serde_json::json!({ "answer": answer })),
            Err(error) if args.stop_on_error => return Err(error.into()),
            Err(error) => {
                let (kind, reason) = match &error {
                    ClientError::Unsupported(reason) => ("unsupported", reason),
                    ClientError::Invalid(reason) => ("invalid", reason),
                    ClientError::Refused(reason) => ("refused", reason),
                    ClientError::Unavailable(reason) => ("unavailable", reason),
                };
                answers.push(serde_json::json!({ "error": kind, "reason": reason }));
            }
        }
    }
    Ok(Answers { answers })
}

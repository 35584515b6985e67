//! `misbehave.ask`: requests to the client exactly as a test writes them,
//! valid or not, so the gateway's handling of each can be checked.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_tool::ToolError;
use warden_tool::client::{self, ClientError};
use warden_tool::schemars::{self, JsonSchema};

/// One request to the client.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AskKind {
    /// `sample`: a model completion.
    Sample,
    /// `elicit`: input from the user.
    Elicit,
}

/// One request of `misbehave.ask`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Question {
    /// Which import to call.
    pub kind: AskKind,
    /// Its params, sent as given (any JSON, valid or not).
    pub request: Value,
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
}

/// What `misbehave.ask` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Answers {
    /// One entry per request: `{"answer": …}` or `{"error": kind, "reason": …}`.
    pub answers: Vec<Value>,
}

pub fn ask(args: AskArgs) -> Result<Answers, ToolError> {
    let mut answers = Vec::new();
    for question in args.questions {
        let reply = match question.kind {
            AskKind::Sample => client::sample(&question.request),
            AskKind::Elicit => client::elicit(&question.request),
        };
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

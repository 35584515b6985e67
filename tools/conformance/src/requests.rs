//! Tools that ask the client something while they run: a completion from
//! its model (`sampling/createMessage`), input from its user
//! (`elicitation/create`) or its roots (`roots/list`).
//!
//! Over the handshake revisions Warden sends each request to the client as
//! the call runs; clients of revision 2026-07-28 get them back as an
//! `InputRequiredResult` and answer by calling again, which runs the tool
//! again from the start with the answers at hand. Either way the tool just
//! asks, in the same order for the same arguments.

use serde::Deserialize;
use serde_json::{Value, json};
use warden_tool::client::{self, ClientError, Request};
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{Content, NoArgs, ToolError};

/// Arguments of `test_sampling`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SamplingArgs {
    /// The prompt to send to the client's model.
    pub prompt: String,
}

/// Arguments of `test_elicitation`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ElicitationArgs {
    /// The message to show the user.
    pub message: String,
}

/// The most tokens the suite's fixtures let the model use.
const MAX_TOKENS: u32 = 100;

pub fn sampling(args: SamplingArgs) -> Result<Vec<Content>, ToolError> {
    let answer = client::sample_text(&args.prompt, MAX_TOKENS)?;
    Ok(vec![Content::text(format!("LLM response: {answer}"))])
}

pub fn elicitation(args: ElicitationArgs) -> Result<Vec<Content>, ToolError> {
    let answer = client::elicit(&json!({
        "message": args.message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "username": { "type": "string", "description": "User's response" },
                "email": { "type": "string", "description": "User's email address" },
            },
            "required": ["username", "email"],
        },
    }))?;
    Ok(vec![Content::text(format!(
        "User response: {}",
        describe(&answer)
    ))])
}

/// SEP-1034: a default for every primitive type a form field may have.
pub fn sep1034_defaults(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let answer = client::elicit(&json!({
        "message": "Please review and update the form fields with defaults",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "name": { "type": "string", "description": "User name", "default": "John Doe" },
                "age": { "type": "integer", "description": "User age", "default": 30 },
                "score": { "type": "number", "description": "User score", "default": 95.5 },
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": {
                    "type": "boolean",
                    "description": "Verification status",
                    "default": true,
                },
            },
            "required": [],
        },
    }))?;
    Ok(vec![Content::text(format!(
        "Elicitation completed: {}",
        describe(&answer)
    ))])
}

/// SEP-1330: each of the five ways a form field offers a choice.
pub fn sep1330_enums(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let answer = client::elicit(&json!({
        "message": "Please select options from the enum fields",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string",
                    "description": "Select one option",
                    "enum": ["option1", "option2", "option3"],
                },
                "titledSingle": {
                    "type": "string",
                    "description": "Select one option with titles",
                    "oneOf": [
                        { "const": "value1", "title": "First Option" },
                        { "const": "value2", "title": "Second Option" },
                        { "const": "value3", "title": "Third Option" },
                    ],
                },
                "legacyEnum": {
                    "type": "string",
                    "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "description": "Select multiple options",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": { "type": "string", "enum": ["option1", "option2", "option3"] },
                },
                "titledMulti": {
                    "type": "array",
                    "description": "Select multiple options with titles",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {
                        "anyOf": [
                            { "const": "value1", "title": "First Choice" },
                            { "const": "value2", "title": "Second Choice" },
                            { "const": "value3", "title": "Third Choice" },
                        ],
                    },
                },
            },
            "required": [],
        },
    }))?;
    Ok(vec![Content::text(format!(
        "Elicitation completed: {}",
        describe(&answer)
    ))])
}

pub fn input_required_elicitation(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let asked = ask_field_as(
        Some("user_name"),
        false,
        "What is your name?",
        "name",
        "string",
    )?;
    let text = match asked {
        Some(name) => format!("Hello, {}!", plain(&name)),
        None => "Hello, whoever you are!".to_owned(),
    };
    Ok(vec![Content::text(text)])
}

pub fn input_required_sampling(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let answer = client::sample_text("What is the capital of France?", MAX_TOKENS)?;
    Ok(vec![Content::text(format!("The model answered: {answer}"))])
}

pub fn input_required_request_state(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    // The answer can only reach this second run through the requestState
    // the gateway sealed in the first: getting here is the state check.
    let confirmed = ask_field("Please confirm", "ok", "boolean")?;
    Ok(vec![Content::text(format!(
        "state-ok: confirmed={}",
        confirmed.as_ref().and_then(Value::as_bool).unwrap_or(false)
    ))])
}

/// Asks the user, the model and the client's roots at once: one round
/// carries all three requests.
pub fn input_required_multiple_inputs(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let mut answers = client::ask(&[
        field_request("What is your name?", "name", "string"),
        Request::sample(json!({
            "messages": [{"role": "user", "content": {"type": "text", "text": "Generate a greeting"}}],
            "maxTokens": 50,
        })),
        Request::list_roots(),
    ])
    .into_iter();
    let mut next = || {
        answers
            .next()
            .unwrap_or_else(|| Err(ClientError::Unavailable("no answer".to_owned())))
    };
    let name = field_value(&next()?, "name")?;
    let greeting = next()?;
    let roots = next()?;
    let name = name.as_ref().map_or_else(|| "stranger".to_owned(), plain);
    let greeting = greeting
        .get("content")
        .and_then(|content| content.get("text"))
        .and_then(Value::as_str)
        .unwrap_or("Hello");
    let root_count = roots
        .get("roots")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok(vec![Content::text(format!(
        "{greeting} ({name}; {root_count} roots)"
    ))])
}

/// Asks the client for its roots and lists them.
pub fn input_required_list_roots(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let roots = client::list_roots()?;
    let uris: Vec<&str> = roots
        .get("roots")
        .and_then(Value::as_array)
        .map(|roots| {
            roots
                .iter()
                .filter_map(|root| root.get("uri").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    Ok(vec![Content::text(format!("roots: {}", uris.join(", ")))])
}

pub fn input_required_multi_round(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let name = ask_field("Step 1: What is your name?", "name", "string")?;
    let color = ask_field("Step 2: What is your favorite color?", "color", "string")?;
    let name = name.as_ref().map_or_else(|| "Someone".to_owned(), plain);
    let color = color.as_ref().map_or_else(|| "no colour".to_owned(), plain);
    Ok(vec![Content::text(format!("{name} likes {color}."))])
}

pub fn input_required_tampered_state(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    // Integrity is the gateway's: it seals the requestState and must refuse
    // one that was altered before this second run ever starts.
    let confirmed = ask_field("Please confirm", "ok", "boolean")?;
    Ok(vec![Content::text(format!(
        "confirmed={}",
        confirmed.as_ref().and_then(Value::as_bool).unwrap_or(false)
    ))])
}

/// Asks the user and the model, skipping whichever the client did not
/// declare it can answer: the gateway must not ask it anyway.
pub fn input_required_capabilities(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let user = match ask_field_as(None, true, "What is your name?", "name", "string") {
        Ok(name) => name.as_ref().map_or_else(|| "declined".to_owned(), plain),
        Err(AskError::Client(ClientError::Unsupported(_))) => "not asked".to_owned(),
        Err(other) => return Err(other.into()),
    };
    let asked = Request::sample(json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": "Say hello."}}],
        "maxTokens": MAX_TOKENS,
    }))
    .optional();
    let answer = client::ask(&[asked])
        .pop()
        .unwrap_or_else(|| Err(ClientError::Unavailable("no answer".to_owned())));
    let model = match answer {
        Ok(answer) => answer
            .get("content")
            .and_then(|content| content.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Err(ClientError::Unsupported(_)) => "not asked".to_owned(),
        Err(other) => return Err(other.into()),
    };
    Ok(vec![Content::text(format!("user: {user}; model: {model}"))])
}

/// Asks the user while the call's response stream is open: what travels on
/// it must be the call's own messages, never a request of the server's.
pub fn streaming_elicitation(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let answer = ask_field("Please provide a value", "value", "string")?;
    Ok(vec![Content::text(format!(
        "value: {}",
        answer.as_ref().map_or_else(|| "none".to_owned(), plain)
    ))])
}

/// Cannot do its work without the client's model; what the client sees
/// when it did not declare `sampling` is the gateway's to decide.
pub fn missing_capability(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let answer = client::sample_text("Say hello.", MAX_TOKENS)?;
    Ok(vec![Content::text(format!("The model answered: {answer}"))])
}

/// `action=<action>, content=<content as JSON>`: how the suite's fixtures
/// report an `ElicitResult`.
fn describe(answer: &Value) -> String {
    let action = answer
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("none");
    let content = answer.get("content").cloned().unwrap_or_else(|| json!({}));
    format!("action={action}, content={content}")
}

/// A string as itself, any other value as JSON.
pub(crate) fn plain(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// Why [`ask_field`] has no value.
#[derive(Debug)]
pub(crate) enum AskError {
    /// The question could not be put, or got no answer.
    Client(ClientError),
    /// The user accepted without filling in the required field.
    Missing(&'static str),
}

impl From<AskError> for ToolError {
    fn from(error: AskError) -> Self {
        match error {
            AskError::Client(error) => error.into(),
            AskError::Missing(field) => {
                ToolError::new(format!("the accepted form has no `{field}`"))
            }
        }
    }
}

/// Asks the user for one required `field` of JSON type `kind`; `None` when
/// they declined or dismissed the form.
fn ask_field(message: &str, field: &'static str, kind: &str) -> Result<Option<Value>, AskError> {
    ask_field_as(None, false, message, field, kind)
}

/// The elicitation of [`ask_field`].
fn field_request(message: &str, field: &str, kind: &str) -> Request {
    Request::elicit(json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": { field: { "type": kind } },
            "required": [field],
        },
    }))
}

/// [`ask_field`] with the request named `key` and, when `optional`, an
/// `unsupported` answer rather than the end of the call where the client
/// cannot take it.
pub(crate) fn ask_field_as(
    key: Option<&str>,
    optional: bool,
    message: &str,
    field: &'static str,
    kind: &str,
) -> Result<Option<Value>, AskError> {
    let mut request = field_request(message, field, kind);
    if let Some(key) = key {
        request = request.key(key);
    }
    if optional {
        request = request.optional();
    }
    let answer = client::ask(&[request])
        .pop()
        .unwrap_or_else(|| Err(ClientError::Unavailable("no answer".to_owned())))
        .map_err(AskError::Client)?;
    field_value(&answer, field)
}

/// The `field` of an accepted `ElicitResult`; `None` when declined or
/// cancelled.
fn field_value(answer: &Value, field: &'static str) -> Result<Option<Value>, AskError> {
    match answer.get("action").and_then(Value::as_str) {
        Some("accept") => answer
            .get("content")
            .and_then(|content| content.get(field))
            .cloned()
            .map(Some)
            .ok_or(AskError::Missing(field)),
        Some("decline" | "cancel") => Ok(None),
        _ => Err(AskError::Client(ClientError::Refused(
            "the client's answer has no valid `action`".to_owned(),
        ))),
    }
}

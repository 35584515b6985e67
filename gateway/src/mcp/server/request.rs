//! A client's request, its params parsed once into what each method uses.
//! The values inside stay `serde_json::Value`, moved out of the message,
//! not copied.

use serde_json::{Map, Value};
use warden_sandbox::LogLevel;

use super::super::completion::CompleteParams;
use super::super::error::McpError;
use super::super::notify;
use super::super::prompts;
use super::super::tools::CallParams;

/// The params of `initialize`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializeParams {
    /// The revision the client asks for, as written.
    pub protocol_version: String,
    /// The client's declared capabilities (`{}` when absent).
    pub capabilities: Value,
    /// The client's `Implementation` (`null` when absent).
    pub client_info: Value,
}

/// The params of `tools/call`.
#[derive(Debug)]
pub struct CallToolParams {
    /// The tool and its arguments.
    pub call: CallParams,
    /// The token the client wants progress reported under, if any.
    pub progress_token: Option<Value>,
    /// 2026-07-28: the state of the retry round the client continues.
    pub request_state: Option<Value>,
    /// 2026-07-28: the client's answers to the round's requests.
    pub input_responses: Option<Value>,
    /// 2025-11-25: `task`, asking for the call to run as a task, with the
    /// ttl the client wants (ms), if it says.
    pub task: Option<Option<u64>>,
}

/// A request of a method Warden answers in a session, with its params
/// (`initialize`, which opens one, has [`InitializeParams`]).
#[derive(Debug)]
pub enum ClientRequest {
    /// `ping`.
    Ping,
    /// `logging/setLevel`.
    SetLogLevel(LogLevel),
    /// `tools/list`, from `cursor` when given.
    ListTools {
        /// The cursor of the page wanted.
        cursor: Option<String>,
    },
    /// `tools/call`.
    CallTool(Box<CallToolParams>),
    /// `resources/list`, from `cursor` when given.
    ListResources {
        /// The cursor of the page wanted.
        cursor: Option<String>,
    },
    /// `resources/templates/list`, from `cursor` when given.
    ListResourceTemplates {
        /// The cursor of the page wanted.
        cursor: Option<String>,
    },
    /// `resources/read` of `uri`.
    ReadResource {
        /// The resource.
        uri: String,
    },
    /// `resources/subscribe` to `uri`.
    Subscribe {
        /// The resource.
        uri: String,
    },
    /// `resources/unsubscribe` from `uri`.
    Unsubscribe {
        /// The resource.
        uri: String,
    },
    /// `prompts/list`, from `cursor` when given.
    ListPrompts {
        /// The cursor of the page wanted.
        cursor: Option<String>,
    },
    /// `prompts/get`.
    GetPrompt(Box<GetPromptParams>),
    /// `completion/complete`.
    Complete(Box<CompleteParams>),
    /// `tasks/get`, `tasks/result`, `tasks/cancel`, `tasks/update` or
    /// `tasks/list`.
    Task(TaskRequest),
}

/// A request about tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRequest {
    /// `tasks/get`: where the task is (2026-07-28: with its result).
    Get(String),
    /// `tasks/result` (2025-11-25): the result, once the task ended.
    Result(String),
    /// `tasks/cancel`.
    Cancel(String),
    /// `tasks/update` (2026-07-28): answers to the task's requests.
    Update(String),
    /// `tasks/list`, from the cursor when given.
    List(Option<String>),
}

/// The params of `prompts/get`.
#[derive(Debug)]
pub struct GetPromptParams {
    /// The prompt's name.
    pub name: String,
    /// Its arguments, all strings.
    pub arguments: Vec<(String, String)>,
    /// The token the client wants progress reported under, if any.
    pub progress_token: Option<Value>,
    /// 2026-07-28: the state of the retry round the client continues.
    pub request_state: Option<Value>,
    /// 2026-07-28: the client's answers to the round's requests.
    pub input_responses: Option<Value>,
}

impl ClientRequest {
    /// The request `method` names, with `params`; `Ok(None)` for a method
    /// Warden does not have, an error for params the method cannot use.
    pub fn parse(
        method: &str,
        params: Option<Map<String, Value>>,
    ) -> Result<Option<Self>, McpError> {
        Ok(Some(match method {
            "ping" => Self::Ping,
            "logging/setLevel" => Self::SetLogLevel(
                params
                    .as_ref()
                    .and_then(|params| params.get("level"))
                    .and_then(Value::as_str)
                    .and_then(notify::parse_level)
                    .ok_or_else(|| {
                        McpError::invalid_params(
                            "`level` must be one of debug, info, notice, warning, error, \
                             critical, alert, emergency",
                        )
                    })?,
            ),
            "tools/list" => Self::ListTools {
                cursor: cursor(params)?,
            },
            "tools/call" => Self::CallTool(Box::new(parse_call(params)?)),
            "resources/list" => Self::ListResources {
                cursor: cursor(params)?,
            },
            "resources/templates/list" => Self::ListResourceTemplates {
                cursor: cursor(params)?,
            },
            "resources/read" => Self::ReadResource { uri: uri(params)? },
            "resources/subscribe" => Self::Subscribe { uri: uri(params)? },
            "resources/unsubscribe" => Self::Unsubscribe { uri: uri(params)? },
            "prompts/list" => Self::ListPrompts {
                cursor: cursor(params)?,
            },
            "prompts/get" => Self::GetPrompt(Box::new(parse_get_prompt(params)?)),
            "completion/complete" => Self::Complete(Box::new(CompleteParams::parse(params)?)),
            "tasks/get" => Self::Task(TaskRequest::Get(task_id(params)?)),
            "tasks/result" => Self::Task(TaskRequest::Result(task_id(params)?)),
            "tasks/cancel" => Self::Task(TaskRequest::Cancel(task_id(params)?)),
            "tasks/update" => Self::Task(TaskRequest::Update(task_id(params)?)),
            "tasks/list" => Self::Task(TaskRequest::List(cursor(params)?)),
            _ => return Ok(None),
        }))
    }
}

impl InitializeParams {
    /// Reads `initialize`'s params.
    pub fn parse(params: Option<Map<String, Value>>) -> Result<Self, McpError> {
        parse_initialize(params)
    }
}

fn parse_initialize(params: Option<Map<String, Value>>) -> Result<InitializeParams, McpError> {
    let mut params = params.ok_or_else(|| McpError::invalid_params("`initialize` needs params"))?;
    let protocol_version = match params.remove("protocolVersion") {
        Some(Value::String(version)) => version,
        _ => {
            return Err(McpError::invalid_params(
                "`protocolVersion` must be a string",
            ));
        }
    };
    let capabilities = match params.remove("capabilities") {
        Some(capabilities @ Value::Object(_)) => capabilities,
        None => Value::Object(Map::new()),
        Some(_) => return Err(McpError::invalid_params("`capabilities` must be an object")),
    };
    let client_info = match params.remove("clientInfo") {
        Some(info @ Value::Object(_)) => info,
        None => Value::Null,
        Some(_) => return Err(McpError::invalid_params("`clientInfo` must be an object")),
    };
    Ok(InitializeParams {
        protocol_version,
        capabilities,
        client_info,
    })
}

fn parse_call(params: Option<Map<String, Value>>) -> Result<CallToolParams, McpError> {
    let progress_token = notify::progress_token(params.as_ref());
    let mut params = params.ok_or_else(|| McpError::invalid_params("`tools/call` needs params"))?;
    let request_state = params.remove("requestState");
    let input_responses = params.remove("inputResponses");
    let task = match params.remove("task") {
        None | Some(Value::Null) => None,
        Some(Value::Object(task)) => Some(match task.get("ttl") {
            None | Some(Value::Null) => None,
            Some(ttl) => Some(ttl.as_u64().ok_or_else(|| {
                McpError::invalid_params("`task.ttl` must be a whole number of milliseconds")
            })?),
        }),
        Some(_) => return Err(McpError::invalid_params("`task` must be an object")),
    };
    Ok(CallToolParams {
        call: CallParams::parse(params)?,
        progress_token,
        request_state,
        input_responses,
        task,
    })
}

/// A task request's `taskId`.
fn task_id(params: Option<Map<String, Value>>) -> Result<String, McpError> {
    match params.and_then(|mut params| params.remove("taskId")) {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= 256 => Ok(id),
        Some(_) => Err(McpError::invalid_params(
            "`taskId` must be a non-empty string of at most 256 bytes",
        )),
        None => Err(McpError::invalid_params("`taskId` is required")),
    }
}

/// A listing's `cursor`, if given.
fn cursor(params: Option<Map<String, Value>>) -> Result<Option<String>, McpError> {
    match params.and_then(|mut params| params.remove("cursor")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(cursor)) => Ok(Some(cursor)),
        Some(_) => Err(McpError::invalid_params("`cursor` must be a string")),
    }
}

/// A resource request's `uri`, checked: absolute, and not climbing out of
/// where it points.
fn uri(params: Option<Map<String, Value>>) -> Result<String, McpError> {
    match params.and_then(|mut params| params.remove("uri")) {
        Some(Value::String(uri)) => {
            super::super::resources::check_uri(&uri)?;
            Ok(uri)
        }
        Some(_) => Err(McpError::invalid_params("`uri` must be a string")),
        None => Err(McpError::invalid_params("`uri` is required")),
    }
}

fn parse_get_prompt(params: Option<Map<String, Value>>) -> Result<GetPromptParams, McpError> {
    let mut params =
        params.ok_or_else(|| McpError::invalid_params("`prompts/get` needs params"))?;
    let name = match params.remove("name") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(McpError::invalid_params("`name` must be a string")),
        None => return Err(McpError::invalid_params("`name` is required")),
    };
    let arguments = prompts::parse_arguments(params.remove("arguments"))?;
    let progress_token = notify::progress_token(Some(&params));
    Ok(GetPromptParams {
        name,
        arguments,
        progress_token,
        request_state: params.remove("requestState"),
        input_responses: params.remove("inputResponses"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(method: &str, params: Value) -> Result<Option<ClientRequest>, McpError> {
        ClientRequest::parse(method, params.as_object().cloned())
    }

    #[test]
    fn each_method_reads_its_params() {
        assert!(matches!(
            parse("ping", json!({})),
            Ok(Some(ClientRequest::Ping))
        ));
        assert!(matches!(
            parse("logging/setLevel", json!({"level": "warning"})),
            Ok(Some(ClientRequest::SetLogLevel(LogLevel::Warning)))
        ));
        assert!(matches!(
            parse("tools/list", json!({"cursor": "abc"})),
            Ok(Some(ClientRequest::ListTools { cursor: Some(ref c) })) if c == "abc"
        ));
        let Ok(Some(ClientRequest::CallTool(call))) = parse(
            "tools/call",
            json!({"name": "t", "arguments": {"a": 1}, "_meta": {"progressToken": 5},
                   "requestState": "s"}),
        ) else {
            panic!("a call");
        };
        assert_eq!(call.call.name, "t");
        assert_eq!(call.call.arguments, json!({"a": 1}));
        assert_eq!(call.progress_token, Some(json!(5)));
        assert_eq!(call.request_state, Some(json!("s")));
        let init = InitializeParams::parse(
            json!({"protocolVersion": "2025-06-18", "clientInfo": {"name": "c"}})
                .as_object()
                .cloned(),
        )
        .expect("an initialize");
        assert_eq!(init.capabilities, json!({}));
        assert_eq!(init.client_info, json!({"name": "c"}));
        assert!(matches!(
            parse("resources/list", json!({})),
            Ok(Some(ClientRequest::ListResources { cursor: None }))
        ));
        assert!(matches!(
            parse("resources/directory/read", json!({})),
            Ok(None)
        ));
        assert!(matches!(
            parse("prompts/get", json!({"name": "p", "arguments": {"a": "b"}})),
            Ok(Some(ClientRequest::GetPrompt(_)))
        ));
        assert!(parse("prompts/get", json!({"name": "p", "arguments": {"a": 1}})).is_err());
        assert!(parse("resources/read", json!({"uri": "file:///a/../b"})).is_err());
        assert!(parse("resources/read", json!({})).is_err());
    }

    #[test]
    fn params_a_method_cannot_use_are_invalid_params() {
        for (method, params, says) in [
            (
                "logging/setLevel",
                json!({"level": "loud"}),
                "`level` must be one of",
            ),
            (
                "tools/list",
                json!({"cursor": 3}),
                "`cursor` must be a string",
            ),
            ("tools/call", json!({}), "`name` is required"),
            ("tools/call", json!({"name": 1}), "`name` must be a string"),
            (
                "tools/call",
                json!({"name": "t", "arguments": [1]}),
                "`arguments` must be an object",
            ),
        ] {
            let error = parse(method, params).expect_err(method);
            assert_eq!(error.code(), -32602, "{method}");
            assert!(error.message.contains(says), "{method}: {}", error.message);
        }
        assert!(ClientRequest::parse("tools/call", None).is_err());
        for (params, says) in [
            (json!({}), "`protocolVersion` must be a string"),
            (
                json!({"protocolVersion": "x", "capabilities": 1}),
                "`capabilities`",
            ),
            (
                json!({"protocolVersion": "x", "clientInfo": "c"}),
                "`clientInfo`",
            ),
        ] {
            let error = InitializeParams::parse(params.as_object().cloned()).expect_err("refused");
            assert_eq!(error.code(), -32602);
            assert!(error.message.contains(says), "{}", error.message);
        }
        assert!(InitializeParams::parse(None).is_err());
    }
}

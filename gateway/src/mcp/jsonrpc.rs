//! JSON-RPC 2.0 framing: decoding one incoming message and encoding replies.

use serde_json::{Map, Value, json};

/// Standard JSON-RPC error codes used by MCP.
pub mod code {
    /// The body is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON is not a valid JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Invalid method parameters (including an unknown tool).
    pub const INVALID_PARAMS: i64 = -32602;
    /// The server failed.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// A resource URI names nothing (MCP, revisions before 2026-07-28).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// 2026-07-28: a routing header disagrees with the body (or is missing).
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a client capability its `_meta` does
    /// not declare.
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    /// 2026-07-28: the request's protocol version is not served here.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// A request id: a string or an integer (MCP forbids `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestId {
    /// A string id.
    String(String),
    /// A numeric id, kept as given.
    Number(serde_json::Number),
}

impl RequestId {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(text) => Some(Self::String(text.clone())),
            Value::Number(number) if number.is_i64() || number.is_u64() => {
                Some(Self::Number(number.clone()))
            }
            _ => None,
        }
    }

    /// The id as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Self::String(text) => Value::String(text.clone()),
            Self::Number(number) => Value::Number(number.clone()),
        }
    }
}

/// One decoded JSON-RPC message from a client.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request, which expects a response.
    Request {
        /// Its id.
        id: RequestId,
        /// The method name.
        method: String,
        /// The params object, if any.
        params: Option<Map<String, Value>>,
    },
    /// A notification, which expects none.
    Notification {
        /// The method name.
        method: String,
        /// The params object, if any.
        params: Option<Map<String, Value>>,
    },
    /// A response to a request the server sent.
    Response {
        /// The id it answers.
        id: RequestId,
        /// Its `result`, or its `error` object.
        answer: Result<Value, Value>,
    },
}

impl Message {
    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request { method, .. } | Self::Notification { method, .. } => Some(method),
            Self::Response { .. } => None,
        }
    }
}

/// Why a body is not one acceptable JSON-RPC message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or nested too deeply.
    #[error("{0}")]
    Parse(String),
    /// JSON, but a batch (an array of messages).
    #[error(
        "JSON-RPC batches are accepted only in sessions of protocol revision 2025-03-26; send one message per request"
    )]
    Batch,
    /// JSON, but not a valid JSON-RPC message. `id` is kept when it could be read.
    #[error("{message}")]
    Invalid {
        /// The request's id, if it had a valid one.
        id: Option<RequestId>,
        /// What is wrong.
        message: String,
    },
    /// A well-formed request whose `params` is not an object (an array,
    /// null, a scalar): no MCP method takes those, so it is answered as a
    /// method answers params it cannot use.
    #[error("{message}")]
    InvalidParams {
        /// The request's id.
        id: RequestId,
        /// What is wrong.
        message: String,
    },
}

impl DecodeError {
    /// The JSON-RPC error code for this failure.
    pub fn code(&self) -> i64 {
        match self {
            Self::Parse(_) => code::PARSE_ERROR,
            Self::Batch | Self::Invalid { .. } => code::INVALID_REQUEST,
            Self::InvalidParams { .. } => code::INVALID_PARAMS,
        }
    }

    /// The id to answer with, when known.
    pub fn id(&self) -> Option<&RequestId> {
        match self {
            Self::Invalid { id, .. } => id.as_ref(),
            Self::InvalidParams { id, .. } => Some(id),
            Self::Parse(_) | Self::Batch => None,
        }
    }
}

/// Decodes one JSON-RPC message, refusing nesting deeper than `max_depth`
/// before the parser ever recurses that far.
pub fn decode(body: &[u8], max_depth: usize) -> Result<Message, DecodeError> {
    decode_value(parse(body, max_depth)?)
}

/// The most messages one batch may hold.
pub const MAX_BATCH_MESSAGES: usize = 100;

/// Decodes a JSON-RPC batch (2025-03-26): each message, or why it is not
/// one. The batch itself must be a non-empty array of at most
/// [`MAX_BATCH_MESSAGES`].
pub fn decode_batch(
    body: &[u8],
    max_depth: usize,
) -> Result<Vec<Result<Message, DecodeError>>, DecodeError> {
    let Value::Array(items) = parse(body, max_depth)? else {
        return Err(DecodeError::Invalid {
            id: None,
            message: "a batch must be a JSON array".to_owned(),
        });
    };
    if items.is_empty() || items.len() > MAX_BATCH_MESSAGES {
        return Err(DecodeError::Invalid {
            id: None,
            message: format!(
                "a batch must hold 1 to {MAX_BATCH_MESSAGES} messages, not {}",
                items.len()
            ),
        });
    }
    Ok(items
        .into_iter()
        .map(|item| match item {
            Value::Array(_) => Err(DecodeError::Invalid {
                id: None,
                message: "a batch cannot hold another batch".to_owned(),
            }),
            item => decode_value(item),
        })
        .collect())
}

fn parse(body: &[u8], max_depth: usize) -> Result<Value, DecodeError> {
    let depth = nesting_depth(body);
    if depth > max_depth {
        return Err(DecodeError::Parse(format!(
            "JSON nesting depth {depth} exceeds the limit of {max_depth}"
        )));
    }
    super::strict_json::from_slice(body)
        .map_err(|error| DecodeError::Parse(format!("invalid JSON: {error}")))
}

fn decode_value(value: Value) -> Result<Message, DecodeError> {
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(DecodeError::Batch),
        _ => {
            return Err(DecodeError::Invalid {
                id: None,
                message: "a JSON-RPC message must be a JSON object".to_owned(),
            });
        }
    };
    let raw_id = object.remove("id");
    let id = raw_id.as_ref().and_then(RequestId::from_value);
    let invalid = |message: &str| DecodeError::Invalid {
        id: id.clone(),
        message: message.to_owned(),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("`jsonrpc` must be \"2.0\""));
    }
    if raw_id.is_some() && id.is_none() {
        return Err(invalid("`id` must be a string or an integer"));
    }
    // Judged once the message's kind is known: a request whose params are
    // not an object is well-formed JSON-RPC with params no method takes.
    let params = match object.remove("params") {
        None => Ok(None),
        Some(Value::Object(params)) => Ok(Some(params)),
        Some(other) => Err(other),
    };
    let object_params = |params: Result<Option<Map<String, Value>>, Value>| {
        params.map_err(|_| invalid("`params` must be an object"))
    };
    match (object.remove("method"), id.clone()) {
        (Some(Value::String(method)), Some(id)) => match params {
            Ok(params) => Ok(Message::Request { id, method, params }),
            Err(other) => Err(DecodeError::InvalidParams {
                message: format!(
                    "`params` of `{method}` must be an object, not {}",
                    value_kind(&other)
                ),
                id,
            }),
        },
        (Some(Value::String(method)), None) => Ok(Message::Notification {
            method,
            params: object_params(params)?,
        }),
        (Some(_), _) => Err(invalid("`method` must be a string")),
        (None, Some(id)) => match (object.remove("result"), object.remove("error")) {
            _ if params.is_err() => Err(invalid("`params` must be an object")),
            (Some(result), None) => Ok(Message::Response {
                id,
                answer: Ok(result),
            }),
            (None, Some(error @ Value::Object(_))) => Ok(Message::Response {
                id,
                answer: Err(error),
            }),
            (None, Some(_)) => Err(invalid("a JSON-RPC error must be an object")),
            (Some(_), Some(_)) => Err(invalid(
                "a JSON-RPC response carries `result` or `error`, not both",
            )),
            (None, None) => Err(invalid("a JSON-RPC request needs a `method`")),
        },
        (None, _) => Err(invalid("a JSON-RPC request needs a `method`")),
    }
}

/// What kind of JSON value `value` is, for error messages.
pub fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The deepest nesting of arrays and objects in `body`, ignoring brackets
/// inside strings. Cheap and non-recursive, so hostile input cannot blow the
/// stack before the limit is checked.
fn nesting_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A JSON object of `entries`, each value moved in. `json!` would copy
/// every nested [`Value`] it is given (it serialises them by reference),
/// which for a tool's result is a deep copy of the whole answer.
pub fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// A notification without params.
pub fn notification(method: &str) -> Value {
    json!({ "jsonrpc": "2.0", "method": method })
}

/// A success response.
pub fn result(id: &RequestId, result: Value) -> Value {
    object([
        ("jsonrpc", Value::from("2.0")),
        ("id", id.to_value()),
        ("result", result),
    ])
}

/// An error response; `id` is `null` when the request's id is unknown.
pub fn error(id: Option<&RequestId>, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    object([
        ("jsonrpc", Value::from("2.0")),
        ("id", id.map_or(Value::Null, RequestId::to_value)),
        ("error", error),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_requests_notifications_and_responses() {
        let request = decode(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, 8);
        assert!(matches!(request, Ok(Message::Request { ref method, .. }) if method == "ping"));
        let notification = decode(
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            8,
        );
        assert!(matches!(notification, Ok(Message::Notification { .. })));
        let response = decode(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#, 8);
        assert!(matches!(response, Ok(Message::Response { .. })));
    }

    #[test]
    fn rejects_malformed_messages_with_the_right_code() {
        let cases: [(&[u8], i64); 9] = [
            (b"{", code::PARSE_ERROR),
            (b"[]", code::INVALID_REQUEST),
            (b"42", code::INVALID_REQUEST),
            (br#"{"id":1,"method":"ping"}"#, code::INVALID_REQUEST),
            (
                br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
                code::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":7}"#,
                code::INVALID_REQUEST,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#,
                code::INVALID_PARAMS,
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"method":"x","params":null}"#,
                code::INVALID_PARAMS,
            ),
            (
                br#"{"jsonrpc":"2.0","method":"x","params":null}"#,
                code::INVALID_REQUEST,
            ),
        ];
        for (body, expected) in cases {
            let error = decode(body, 8).expect_err("must be rejected");
            assert_eq!(error.code(), expected, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn keeps_the_id_of_an_invalid_request() {
        let error =
            decode(br#"{"jsonrpc":"1.0","id":"x","method":"ping"}"#, 8).expect_err("invalid");
        assert_eq!(error.id(), Some(&RequestId::String("x".to_owned())));
    }

    #[test]
    fn limits_nesting_depth_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(matches!(
            decode(deep.as_bytes(), 64),
            Err(DecodeError::Parse(_))
        ));
        let brackets_in_string = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{{"s":"{}"}}}}"#,
            "[".repeat(100)
        );
        assert!(decode(brackets_in_string.as_bytes(), 4).is_ok());
        assert_eq!(nesting_depth(br#"{"a":"\"[","b":[[1]]}"#), 3);
    }
}

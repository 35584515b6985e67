//! The host's view of tools and their results, independent of wasmtime's
//! generated types.

/// One tool, as a component declared it at load.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    /// Unique tool name, `[A-Za-z0-9_.-]{1,128}`.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What the tool does.
    pub description: String,
    /// JSON Schema for the arguments (JSON text, root `"type": "object"`).
    pub input_schema: String,
    /// JSON Schema for the structured output (JSON text).
    pub output_schema: Option<String>,
    /// Behaviour hints.
    pub annotations: Annotations,
    /// `_meta` the component added (export `tool-meta`), a JSON object as
    /// text.
    pub meta: Option<String>,
}

/// Hints about how a tool behaves; `None` leaves the MCP default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Does not modify its environment.
    pub read_only: Option<bool>,
    /// May perform destructive updates.
    pub destructive: Option<bool>,
    /// Repeating a call with the same arguments has no additional effect.
    pub idempotent: Option<bool>,
    /// Interacts with an open world of external entities.
    pub open_world: Option<bool>,
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    /// Content items, in order.
    pub content: Vec<Content>,
    /// Structured output as JSON text.
    pub structured_content: Option<String>,
    /// The tool reports that it failed.
    pub is_error: bool,
}

impl CallResult {
    /// Bytes of payload the result carries, the measure `max_output_bytes` caps.
    pub fn payload_bytes(&self) -> u64 {
        let content: usize = self.content.iter().map(Content::payload_bytes).sum();
        let structured = self.structured_content.as_ref().map_or(0, String::len);
        (content + structured) as u64
    }
}

/// One content item of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// An image: raw bytes and their MIME type.
    Image {
        /// The image bytes.
        data: Vec<u8>,
        /// E.g. `image/png`.
        mime_type: String,
    },
    /// Audio: raw bytes and their MIME type.
    Audio {
        /// The audio bytes.
        data: Vec<u8>,
        /// E.g. `audio/wav`.
        mime_type: String,
    },
    /// An embedded resource.
    Resource {
        /// The resource's URI.
        uri: String,
        /// Its MIME type, if known.
        mime_type: Option<String>,
        /// Its contents.
        contents: ResourceContents,
    },
}

impl Content {
    pub(crate) fn payload_bytes(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Image { data, mime_type } | Self::Audio { data, mime_type } => {
                data.len() + mime_type.len()
            }
            Self::Resource {
                uri,
                mime_type,
                contents,
            } => {
                uri.len()
                    + mime_type.as_ref().map_or(0, String::len)
                    + match contents {
                        ResourceContents::Text(text) => text.len(),
                        ResourceContents::Blob(blob) => blob.len(),
                    }
            }
        }
    }
}

/// The contents of an embedded resource.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceContents {
    /// Text contents.
    Text(String),
    /// Binary contents.
    Blob(Vec<u8>),
}

use crate::bindings::warden::tool::types as wit;
use crate::error::LoadError;

/// Longest tool name MCP allows.
pub const MAX_TOOL_NAME_CHARS: usize = 128;

/// Whether `name` follows the MCP rule `[A-Za-z0-9_.-]{1,128}`.
pub(crate) fn is_valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

/// Checks what a component declared: valid, unique names, and schemas that
/// are JSON objects (the input schema of type `object`).
pub(crate) fn check_declared(component: &str, tools: &[ToolInfo]) -> Result<(), LoadError> {
    let invalid = |tool: &str, reason: String| LoadError::InvalidTool {
        component: component.to_owned(),
        tool: tool.to_owned(),
        reason,
    };
    let mut seen = std::collections::HashSet::new();
    for tool in tools {
        if !is_valid_tool_name(&tool.name) {
            return Err(invalid(
                &tool.name,
                "names must be 1 to 128 characters of A-Z, a-z, 0-9, `_`, `.` or `-`".to_owned(),
            ));
        }
        if !seen.insert(tool.name.as_str()) {
            return Err(invalid(&tool.name, "declared twice".to_owned()));
        }
        let input: serde_json::Value = serde_json::from_str(&tool.input_schema)
            .map_err(|error| invalid(&tool.name, format!("input schema is not JSON: {error}")))?;
        if input.get("type").and_then(serde_json::Value::as_str) != Some("object") {
            return Err(invalid(
                &tool.name,
                "input schema must be an object schema (`\"type\": \"object\"`)".to_owned(),
            ));
        }
        if let Some(output) = &tool.output_schema {
            let output: serde_json::Value = serde_json::from_str(output).map_err(|error| {
                invalid(&tool.name, format!("output schema is not JSON: {error}"))
            })?;
            if !output.is_object() {
                return Err(invalid(
                    &tool.name,
                    "output schema must be a JSON object".to_owned(),
                ));
            }
        }
    }
    Ok(())
}

impl From<wit::ToolInfo> for ToolInfo {
    fn from(info: wit::ToolInfo) -> Self {
        Self {
            name: info.name,
            title: info.title,
            description: info.description,
            input_schema: info.input_schema,
            output_schema: info.output_schema,
            annotations: Annotations {
                read_only: info.annotations.read_only,
                destructive: info.annotations.destructive,
                idempotent: info.annotations.idempotent,
                open_world: info.annotations.open_world,
            },
            meta: None,
        }
    }
}

impl From<wit::CallResult> for CallResult {
    fn from(result: wit::CallResult) -> Self {
        Self {
            content: result.content.into_iter().map(Content::from).collect(),
            structured_content: result.structured_content,
            is_error: result.is_error,
        }
    }
}

impl From<wit::Content> for Content {
    fn from(content: wit::Content) -> Self {
        match content {
            wit::Content::Text(text) => Self::Text(text),
            wit::Content::Image(binary) => Self::Image {
                data: binary.data,
                mime_type: binary.mime_type,
            },
            wit::Content::Audio(binary) => Self::Audio {
                data: binary.data,
                mime_type: binary.mime_type,
            },
            wit::Content::Resource(resource) => Self::Resource {
                uri: resource.uri,
                mime_type: resource.mime_type,
                contents: resource.contents.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, input_schema: &str) -> ToolInfo {
        ToolInfo {
            name: name.to_owned(),
            title: None,
            description: String::new(),
            input_schema: input_schema.to_owned(),
            output_schema: None,
            annotations: Annotations::default(),
            meta: None,
        }
    }

    #[test]
    fn tool_names_follow_the_mcp_rule() {
        assert!(is_valid_tool_name("text.count"));
        assert!(is_valid_tool_name("A_b-9"));
        assert!(!is_valid_tool_name(""));
        assert!(!is_valid_tool_name("has space"));
        assert!(!is_valid_tool_name(&"x".repeat(129)));
    }

    #[test]
    fn rejects_duplicates_and_non_object_schemas() {
        let object = r#"{"type":"object"}"#;
        let dup = check_declared("c", &[tool("a", object), tool("a", object)]);
        assert!(
            matches!(dup, Err(LoadError::InvalidTool { reason, .. }) if reason == "declared twice")
        );
        let not_object = check_declared("c", &[tool("a", r#"{"type":"string"}"#)]);
        assert!(matches!(not_object, Err(LoadError::InvalidTool { .. })));
        let not_json = check_declared("c", &[tool("a", "{")]);
        assert!(matches!(not_json, Err(LoadError::InvalidTool { .. })));
        assert!(check_declared("c", &[tool("a", object)]).is_ok());
    }
}

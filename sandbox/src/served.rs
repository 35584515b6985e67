//! The host's view of what a component serves besides tools: resources,
//! resource templates, prompts and completions, independent of wasmtime's
//! generated types.

use crate::bindings::warden::tool::types as wit;
use crate::tool::{Content, ResourceContents};

/// Who a resource or a prompt message is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The human user.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The MCP name, `user` or `assistant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

/// Hints for clients about a resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceAnnotations {
    /// Who it is for; empty: unsaid.
    pub audience: Vec<Role>,
    /// Importance from 0.0 to 1.0.
    pub priority: Option<f64>,
    /// ISO 8601 time of its last change.
    pub last_modified: Option<String>,
}

/// One resource at a fixed URI, as the component listed it at load.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInfo {
    /// Its absolute URI.
    pub uri: String,
    /// A short name.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// Hints.
    pub annotations: ResourceAnnotations,
    /// `_meta`, a JSON object as text.
    pub meta: Option<String>,
}

/// A family of resources named by an RFC 6570 URI template.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTemplateInfo {
    /// The URI template.
    pub uri_template: String,
    /// A short name.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it names.
    pub description: Option<String>,
    /// The MIME type shared by what it names.
    pub mime_type: Option<String>,
    /// Hints.
    pub annotations: ResourceAnnotations,
}

/// One item of a resource's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourcePart {
    /// The URI it is of.
    pub uri: String,
    /// Its MIME type.
    pub mime_type: Option<String>,
    /// Text or bytes.
    pub contents: ResourceContents,
    /// `_meta`, a JSON object as text.
    pub meta: Option<String>,
}

impl ResourcePart {
    /// Bytes of payload, the measure `max_output_bytes` caps.
    pub fn payload_bytes(&self) -> u64 {
        let contents = match &self.contents {
            ResourceContents::Text(text) => text.len(),
            ResourceContents::Blob(blob) => blob.len(),
        };
        (self.uri.len()
            + self.mime_type.as_ref().map_or(0, String::len)
            + self.meta.as_ref().map_or(0, String::len)
            + contents) as u64
    }
}

/// What a read returned: the contents, or the component's reason for not
/// serving them.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceRead {
    /// The contents, in parts.
    Contents(Vec<ResourcePart>),
    /// There is no resource at the URI.
    NotFound(String),
    /// The URI names nothing the component can serve.
    Invalid(String),
    /// The component could not read it.
    Failed(String),
}

impl ResourceRead {
    /// Bytes of payload, the measure `max_output_bytes` caps: the contents,
    /// or the component's message.
    pub fn payload_bytes(&self) -> u64 {
        match self {
            Self::Contents(parts) => parts.iter().map(ResourcePart::payload_bytes).sum(),
            Self::NotFound(message) | Self::Invalid(message) | Self::Failed(message) => {
                message.len() as u64
            }
        }
    }
}

/// One argument of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgument {
    /// Its name.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Whether a `prompts/get` must give it.
    pub required: bool,
}

/// One prompt, as the component listed it at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptInfo {
    /// Its name, `[A-Za-z0-9_.-]{1,128}`.
    pub name: String,
    /// Human-readable title.
    pub title: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Its arguments.
    pub arguments: Vec<PromptArgument>,
    /// `_meta`, a JSON object as text.
    pub meta: Option<String>,
}

/// One message of a filled-in prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: Content,
}

/// What a prompt became, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptOutcome {
    /// The prompt, filled in.
    Messages {
        /// A description of this rendering.
        description: Option<String>,
        /// The messages.
        messages: Vec<PromptMessage>,
    },
    /// The arguments are not ones the prompt accepts.
    Invalid(String),
    /// The component failed.
    Failed(String),
}

impl PromptOutcome {
    /// Bytes of payload, the measure `max_output_bytes` caps.
    pub fn payload_bytes(&self) -> u64 {
        match self {
            Self::Messages {
                description,
                messages,
            } => {
                description.as_ref().map_or(0, String::len) as u64
                    + messages
                        .iter()
                        .map(|message| message.content.payload_bytes() as u64)
                        .sum::<u64>()
            }
            Self::Invalid(message) | Self::Failed(message) => message.len() as u64,
        }
    }
}

/// What a completion request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionTarget {
    /// An argument of the prompt of this name.
    Prompt(String),
    /// A variable of the resource template with this URI template.
    ResourceTemplate(String),
}

/// A request to complete an argument's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    /// What is being completed.
    pub target: CompletionTarget,
    /// The argument or template variable.
    pub argument: String,
    /// What has been typed so far.
    pub value: String,
    /// Values of the other arguments.
    pub context: Vec<(String, String)>,
}

/// Most values one completion carries (MCP's limit).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// Suggested values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// At most [`MAX_COMPLETION_VALUES`], best first.
    pub values: Vec<String>,
    /// How many match in all, when known.
    pub total: Option<u32>,
    /// Whether more match than `values` holds.
    pub has_more: bool,
}

impl Completion {
    /// Bytes of payload, the measure `max_output_bytes` caps.
    pub fn payload_bytes(&self) -> u64 {
        self.values.iter().map(|value| value.len() as u64).sum()
    }
}

impl From<wit::Role> for Role {
    fn from(role: wit::Role) -> Self {
        match role {
            wit::Role::User => Self::User,
            wit::Role::Assistant => Self::Assistant,
        }
    }
}

impl From<wit::ResourceAnnotations> for ResourceAnnotations {
    fn from(annotations: wit::ResourceAnnotations) -> Self {
        Self {
            audience: annotations.audience.into_iter().map(Role::from).collect(),
            priority: annotations.priority,
            last_modified: annotations.last_modified,
        }
    }
}

impl From<wit::ResourceInfo> for ResourceInfo {
    fn from(info: wit::ResourceInfo) -> Self {
        Self {
            uri: info.uri,
            name: info.name,
            title: info.title,
            description: info.description,
            mime_type: info.mime_type,
            size: info.size,
            annotations: info.annotations.into(),
            meta: info.meta,
        }
    }
}

impl From<wit::ResourceTemplateInfo> for ResourceTemplateInfo {
    fn from(info: wit::ResourceTemplateInfo) -> Self {
        Self {
            uri_template: info.uri_template,
            name: info.name,
            title: info.title,
            description: info.description,
            mime_type: info.mime_type,
            annotations: info.annotations.into(),
        }
    }
}

impl From<Result<Vec<wit::ResourcePart>, wit::ResourceError>> for ResourceRead {
    fn from(read: Result<Vec<wit::ResourcePart>, wit::ResourceError>) -> Self {
        match read {
            Ok(parts) => Self::Contents(
                parts
                    .into_iter()
                    .map(|part| ResourcePart {
                        uri: part.uri,
                        mime_type: part.mime_type,
                        contents: part.contents.into(),
                        meta: part.meta,
                    })
                    .collect(),
            ),
            Err(wit::ResourceError::NotFound(message)) => Self::NotFound(message),
            Err(wit::ResourceError::Invalid(message)) => Self::Invalid(message),
            Err(wit::ResourceError::Failed(message)) => Self::Failed(message),
        }
    }
}

impl From<wit::PromptInfo> for PromptInfo {
    fn from(info: wit::PromptInfo) -> Self {
        Self {
            name: info.name,
            title: info.title,
            description: info.description,
            arguments: info
                .arguments
                .into_iter()
                .map(|argument| PromptArgument {
                    name: argument.name,
                    title: argument.title,
                    description: argument.description,
                    required: argument.required,
                })
                .collect(),
            meta: info.meta,
        }
    }
}

impl From<Result<wit::PromptResult, wit::PromptError>> for PromptOutcome {
    fn from(result: Result<wit::PromptResult, wit::PromptError>) -> Self {
        match result {
            Ok(result) => Self::Messages {
                description: result.description,
                messages: result
                    .messages
                    .into_iter()
                    .map(|message| PromptMessage {
                        role: message.role.into(),
                        content: message.content.into(),
                    })
                    .collect(),
            },
            Err(wit::PromptError::Invalid(message)) => Self::Invalid(message),
            Err(wit::PromptError::Failed(message)) => Self::Failed(message),
        }
    }
}

impl From<&CompletionRequest> for wit::CompletionRequest {
    fn from(request: &CompletionRequest) -> Self {
        Self {
            target: match &request.target {
                CompletionTarget::Prompt(name) => wit::CompletionTarget::Prompt(name.clone()),
                CompletionTarget::ResourceTemplate(template) => {
                    wit::CompletionTarget::ResourceTemplate(template.clone())
                }
            },
            argument: request.argument.clone(),
            value: request.value.clone(),
            context: request.context.clone(),
        }
    }
}

impl From<wit::CompletionResult> for Completion {
    /// Holds a component to MCP's limit: past [`MAX_COMPLETION_VALUES`]
    /// values the rest are cut and `has_more` set.
    fn from(result: wit::CompletionResult) -> Self {
        let mut values = result.values;
        let cut = values.len() > MAX_COMPLETION_VALUES;
        values.truncate(MAX_COMPLETION_VALUES);
        Self {
            values,
            total: result.total,
            has_more: result.has_more || cut,
        }
    }
}

impl From<wit::ResourceContents> for ResourceContents {
    fn from(contents: wit::ResourceContents) -> Self {
        match contents {
            wit::ResourceContents::Text(text) => Self::Text(text),
            wit::ResourceContents::Blob(blob) => Self::Blob(blob),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_past_mcps_limit_is_cut_and_says_so() {
        let values: Vec<String> = (0..150).map(|n| n.to_string()).collect();
        let completion = Completion::from(wit::CompletionResult {
            values,
            total: None,
            has_more: false,
        });
        assert_eq!(completion.values.len(), MAX_COMPLETION_VALUES);
        assert!(completion.has_more);
        let exact = Completion::from(wit::CompletionResult {
            values: vec!["a".into()],
            total: Some(1),
            has_more: false,
        });
        assert_eq!(
            (exact.values.len(), exact.has_more, exact.total),
            (1, false, Some(1))
        );
    }

    #[test]
    fn a_reads_message_counts_against_the_output_limit() {
        assert_eq!(ResourceRead::Failed("x".repeat(10)).payload_bytes(), 10);
    }
}

//! [`Prompt`]: a message template whose arguments come from a type, like a
//! tool's.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::bindings::warden::tool::types::{
    Content, PromptArgument, PromptError, PromptInfo, PromptMessage, Role,
};
use crate::complete::{Completer, CompletionContext};

type Handler = Box<dyn Fn(&[(String, String)]) -> Result<PromptResultParts, PromptError>>;

pub(crate) struct PromptResultParts {
    pub description: Option<String>,
    pub messages: Vec<PromptMessage>,
}

/// One prompt: a name, a description, arguments derived from a type, and
/// the function that fills it in. Clients show prompts as commands the user
/// picks; `prompts/get` runs the function in a fresh instance.
pub struct Prompt {
    pub(crate) name: String,
    title: Option<String>,
    description: Option<String>,
    arguments: fn() -> Vec<PromptArgument>,
    meta: Option<String>,
    handler: Handler,
    pub(crate) completers: Vec<(String, Completer)>,
}

impl Prompt {
    /// A prompt whose function maps arguments `A` to messages.
    ///
    /// `A` is a struct of `String` (required) and `Option<String>`
    /// (optional) fields: MCP prompt arguments are strings. Each field is
    /// one argument, its doc comment the argument's description. Arguments
    /// that do not deserialize into `A` are refused as invalid, naming the
    /// field.
    pub fn new<A, F>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        A: DeserializeOwned + JsonSchema,
        F: Fn(A) -> Result<Vec<PromptMessage>, PromptError> + 'static,
    {
        Self {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            arguments: arguments_of::<A>,
            meta: None,
            handler: Box::new(move |arguments| {
                let object: serde_json::Map<String, serde_json::Value> = arguments
                    .iter()
                    .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
                    .collect();
                let input =
                    serde_path_to_error::deserialize::<_, A>(serde_json::Value::Object(object))
                        .map_err(|error| {
                            let path = error.path().to_string();
                            PromptError::Invalid(if path == "." {
                                format!("invalid arguments: {}", error.inner())
                            } else {
                                format!("invalid arguments: `{path}`: {}", error.inner())
                            })
                        })?;
                Ok(PromptResultParts {
                    description: None,
                    messages: f(input)?,
                })
            }),
            completers: Vec::new(),
        }
    }

    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// `_meta` for its listing: a JSON object.
    pub fn meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta.to_string());
        self
    }

    /// Completes argument `argument`: `complete` gets what the user typed
    /// and the other arguments' values, and returns every matching value,
    /// best first.
    ///
    /// # Panics
    ///
    /// If the prompt has no such argument.
    pub fn complete<F>(mut self, argument: &str, complete: F) -> Self
    where
        F: Fn(&str, &CompletionContext) -> Vec<String> + 'static,
    {
        assert!(
            (self.arguments)()
                .iter()
                .any(|declared| declared.name == argument),
            "prompt `{}` has no argument `{argument}`",
            self.name
        );
        self.completers
            .push((argument.to_owned(), Box::new(complete)));
        self
    }

    /// What `list-prompts` reports for this prompt.
    pub fn info(&self) -> PromptInfo {
        PromptInfo {
            name: self.name.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            arguments: (self.arguments)(),
            meta: self.meta.clone(),
        }
    }

    pub(crate) fn get(
        &self,
        arguments: &[(String, String)],
    ) -> Result<PromptResultParts, PromptError> {
        (self.handler)(arguments)
    }
}

impl PromptMessage {
    /// A message from the user.
    pub fn user(content: Content) -> Self {
        Self {
            role: Role::User,
            content,
        }
    }

    /// A message from the assistant.
    pub fn assistant(content: Content) -> Self {
        Self {
            role: Role::Assistant,
            content,
        }
    }
}

/// The arguments `A`'s schema describes: one per property, required as the
/// schema says, described by the property's description.
fn arguments_of<A: JsonSchema>() -> Vec<PromptArgument> {
    let schema = schemars::schema_for!(A);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(serde_json::Value::as_array)
        .map(|names| names.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
    else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let text = |key: &str| {
                property
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            };
            PromptArgument {
                name: name.clone(),
                title: text("title"),
                description: text("description"),
                required: required.contains(&name.as_str()),
            }
        })
        .collect()
}

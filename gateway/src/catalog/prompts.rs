//! The prompts Warden serves: each under the name clients use (with the
//! component's `tool_prefix`), with its access rule and quotas.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_sandbox::{PromptInfo, ToolComponent};

use super::resources::meta_object;
use crate::auth::Caller;
use crate::auth::access::{self, ToolAccess};
use crate::config::ToolAuditConfig;
use crate::limits::ToolRates;

/// One servable prompt.
pub struct Prompt {
    /// The name clients use: the component's prefix and the declared name.
    pub name: String,
    /// What the component declared; `info.name` is what the guest gets.
    pub info: PromptInfo,
    /// The component that fills it in.
    pub component: Arc<ToolComponent>,
    /// The prompt as `prompts/list` shows it, built once.
    pub listing: Value,
    /// Who may see and use it; `None`: every caller.
    pub access: Option<ToolAccess>,
    /// Its request quotas.
    pub rates: ToolRates,
    /// What its audit records may show.
    pub audit: ToolAuditConfig,
}

impl Prompt {
    /// A prompt served as `name`, before its rules are set.
    pub(super) fn new(name: String, info: &PromptInfo, component: &Arc<ToolComponent>) -> Self {
        Self {
            listing: listing(&name, info),
            name,
            info: info.clone(),
            component: Arc::clone(component),
            access: None,
            rates: ToolRates::default(),
            audit: ToolAuditConfig::default(),
        }
    }

    /// Whether `caller` may see and use this prompt: one it may not is left
    /// out of its listings and answered as unknown.
    pub fn allows(&self, caller: &Caller) -> bool {
        access::allows(self.access.as_ref(), &self.name, caller)
    }

    /// Checks `prompts/get` arguments against the declared ones: every
    /// required one present, none undeclared. A message naming each
    /// problem, or `None`.
    pub fn argument_problems(&self, given: &[(String, String)]) -> Option<String> {
        let mut problems = Vec::new();
        for argument in self
            .info
            .arguments
            .iter()
            .filter(|argument| argument.required)
        {
            if !given.iter().any(|(name, _)| name == &argument.name) {
                problems.push(format!("missing required argument `{}`", argument.name));
            }
        }
        for (name, _) in given {
            if !self
                .info
                .arguments
                .iter()
                .any(|argument| &argument.name == name)
            {
                let declared: Vec<&str> = self
                    .info
                    .arguments
                    .iter()
                    .map(|argument| argument.name.as_str())
                    .collect();
                problems.push(format!(
                    "unknown argument `{name}` (the prompt takes: {})",
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                ));
            }
        }
        (!problems.is_empty()).then(|| {
            format!(
                "arguments for prompt `{}`: {}",
                self.name,
                problems.join("; ")
            )
        })
    }
}

/// The MCP `Prompt` object for `prompts/list`, under the name clients use.
fn listing(name: &str, info: &PromptInfo) -> Value {
    let mut prompt = Map::new();
    prompt.insert("name".into(), json!(name));
    if let Some(title) = &info.title {
        prompt.insert("title".into(), json!(title));
    }
    if let Some(description) = &info.description {
        prompt.insert("description".into(), json!(description));
    }
    let arguments: Vec<Value> = info
        .arguments
        .iter()
        .map(|argument| {
            let mut object = Map::new();
            object.insert("name".into(), json!(argument.name));
            if let Some(title) = &argument.title {
                object.insert("title".into(), json!(title));
            }
            if let Some(description) = &argument.description {
                object.insert("description".into(), json!(description));
            }
            object.insert("required".into(), json!(argument.required));
            Value::Object(object)
        })
        .collect();
    prompt.insert("arguments".into(), Value::Array(arguments));
    if let Some(meta) = meta_object(info.meta.as_deref()) {
        prompt.insert("_meta".into(), meta);
    }
    Value::Object(prompt)
}

//! `completion/complete`: suggestions for a prompt's argument or a resource
//! template's variable, from the component that serves it.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_sandbox::{Completion, CompletionRequest, CompletionTarget, MAX_COMPLETION_VALUES};

use super::error::McpError;
use super::prompts;
use super::served::{self, Ended, Subject, Target};
use super::tools::CallContext;
use crate::catalog::{Catalog, Prompt, ServedTemplate};
use crate::outcome::{Outcome, Reason};

/// Longest value a client may ask to complete, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// What a `completion/complete` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `ref/prompt`: the prompt's name, as served.
    Prompt(String),
    /// `ref/resource`: a resource template (or URI), as served.
    Resource(String),
}

/// The params of `completion/complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteParams {
    /// What is being completed.
    pub reference: Reference,
    /// The argument's name.
    pub argument: String,
    /// What has been typed.
    pub value: String,
    /// The other arguments' values (2025-06-18 on).
    pub context: Vec<(String, String)>,
}

impl CompleteParams {
    /// Reads `completion/complete`'s params.
    pub fn parse(params: Option<Map<String, Value>>) -> Result<Self, McpError> {
        let mut params =
            params.ok_or_else(|| McpError::invalid_params("`completion/complete` needs params"))?;
        let reference = match params.remove("ref") {
            Some(Value::Object(reference)) => {
                let text = |key: &str| {
                    reference
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            McpError::invalid_params(format!("`ref.{key}` must be a string"))
                        })
                };
                match reference.get("type").and_then(Value::as_str) {
                    Some("ref/prompt") => Reference::Prompt(text("name")?),
                    Some("ref/resource") => Reference::Resource(text("uri")?),
                    _ => {
                        return Err(McpError::invalid_params(
                            "`ref.type` must be `ref/prompt` or `ref/resource`",
                        ));
                    }
                }
            }
            _ => return Err(McpError::invalid_params("`ref` must be an object")),
        };
        let (argument, value) = match params.remove("argument") {
            Some(Value::Object(mut argument)) => {
                match (argument.remove("name"), argument.remove("value")) {
                    (Some(Value::String(name)), Some(Value::String(value))) => (name, value),
                    _ => {
                        return Err(McpError::invalid_params(
                            "`argument` needs a string `name` and a string `value`",
                        ));
                    }
                }
            }
            _ => return Err(McpError::invalid_params("`argument` must be an object")),
        };
        if value.len() > MAX_VALUE_BYTES {
            return Err(McpError::invalid_params(format!(
                "`argument.value` is longer than {MAX_VALUE_BYTES} bytes"
            )));
        }
        let context = match params.remove("context") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(mut context)) => {
                prompts::parse_arguments(context.remove("arguments")).map_err(|error| {
                    McpError::invalid_params(format!("`context.arguments`: {}", error.message))
                })?
            }
            Some(_) => return Err(McpError::invalid_params("`context` must be an object")),
        };
        Ok(Self {
            reference,
            argument,
            value,
            context,
        })
    }
}

/// What a completion's reference resolved to for the caller.
enum Resolved {
    Prompt(Arc<Prompt>),
    Template(Arc<ServedTemplate>),
}

/// `completion/complete`.
pub async fn complete(
    context: &CallContext<'_>,
    catalog: &Catalog,
    params: CompleteParams,
) -> Result<Value, McpError> {
    let CompleteParams {
        reference,
        argument,
        value,
        context: chosen,
    } = params;
    let arguments = json!({
        "argument": argument,
        "value": value,
        "context": chosen
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect::<Map<String, Value>>(),
    });
    let (prompt_name, resource) = match &reference {
        Reference::Prompt(name) => (Some(name.clone()), None),
        Reference::Resource(uri) => (None, Some(uri.clone())),
    };
    let subject = Subject {
        method: "completion/complete",
        resource,
        prompt: prompt_name,
        arguments,
    };
    let resolved = resolve(catalog, context, &reference, &argument);
    let (target, request) = match &resolved {
        Ok(Resolved::Prompt(prompt)) => (
            Ok(Target {
                component: &prompt.component,
                rates: &prompt.rates,
                audit: &prompt.audit,
            }),
            CompletionTarget::Prompt(prompt.info.name.clone()),
        ),
        Ok(Resolved::Template(template)) => (
            Ok(Target {
                component: &template.component,
                rates: &template.rates,
                audit: &template.policy.audit,
            }),
            CompletionTarget::ResourceTemplate(template.info.uri_template.clone()),
        ),
        Err(refusal) => (
            Err(refusal.clone()),
            CompletionTarget::Prompt(String::new()),
        ),
    };
    let request = CompletionRequest {
        target: request,
        argument,
        value,
        context: chosen,
    };
    served::serve(
        context,
        subject,
        target,
        |component, events| async move { component.complete(&request, events).await },
        |completion| (Ok(result(&completion)), Ended::new(Outcome::Ok, None)),
    )
    .await
}

/// The prompt or template `reference` names for the caller, if it has the
/// argument; else the refusal.
fn resolve(
    catalog: &Catalog,
    context: &CallContext<'_>,
    reference: &Reference,
    argument: &str,
) -> Result<Resolved, McpError> {
    match reference {
        Reference::Prompt(name) => {
            let prompt = prompts::visible(catalog, context.caller, name).ok_or_else(|| {
                McpError::invalid_params(format!("Unknown prompt: {name}"))
                    .with_reason(Reason::UnknownPrompt)
            })?;
            if !prompt
                .info
                .arguments
                .iter()
                .any(|declared| declared.name == argument)
            {
                return Err(McpError::invalid_params(format!(
                    "prompt `{name}` has no argument `{argument}`"
                ))
                .with_reason(Reason::InvalidArguments));
            }
            Ok(Resolved::Prompt(prompt))
        }
        Reference::Resource(uri) => {
            let template = catalog
                .resources()
                .template(uri, context.caller)
                .cloned()
                .ok_or_else(|| {
                    McpError::invalid_params(format!("Unknown resource template: {uri}"))
                        .with_reason(Reason::UnknownResource)
                })?;
            if !template.template.variables().any(|name| name == argument) {
                return Err(McpError::invalid_params(format!(
                    "resource template `{uri}` has no variable `{argument}`"
                ))
                .with_reason(Reason::InvalidArguments));
            }
            Ok(Resolved::Template(template))
        }
    }
}

/// The `CompleteResult`.
fn result(completion: &Completion) -> Value {
    let values: Vec<&String> = completion
        .values
        .iter()
        .take(MAX_COMPLETION_VALUES)
        .collect();
    let mut inner = json!({ "values": values, "hasMore": completion.has_more });
    if let Some(total) = completion.total {
        inner["total"] = json!(total);
    }
    json!({ "completion": inner })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(params: Value) -> Result<CompleteParams, McpError> {
        CompleteParams::parse(params.as_object().cloned())
    }

    #[test]
    fn params_name_a_reference_and_an_argument() {
        let params = parse(json!({
            "ref": {"type": "ref/prompt", "name": "review"},
            "argument": {"name": "path", "value": "sr"},
            "context": {"arguments": {"lang": "rust"}},
        }))
        .expect("valid");
        assert_eq!(params.reference, Reference::Prompt("review".into()));
        assert_eq!(params.context, vec![("lang".to_owned(), "rust".to_owned())]);
        let template = parse(json!({
            "ref": {"type": "ref/resource", "uri": "file:///data/{+path}"},
            "argument": {"name": "path", "value": ""},
        }))
        .expect("valid");
        assert_eq!(
            template.reference,
            Reference::Resource("file:///data/{+path}".into())
        );
        for bad in [
            json!({"argument": {"name": "a", "value": "b"}}),
            json!({"ref": {"type": "ref/tool", "name": "x"}, "argument": {"name": "a", "value": "b"}}),
            json!({"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a"}}),
            json!({"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a", "value": 1}}),
            json!({"ref": {"type": "ref/prompt", "name": "x"}, "argument": {"name": "a", "value": "b"}, "context": 1}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}

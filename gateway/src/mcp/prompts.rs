//! `prompts/list` and `prompts/get`.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_sandbox::PromptOutcome;

use super::error::{ErrorKind, McpError};
use super::paging;
use super::served::{self, Ended, Subject, Target};
use super::tool_output::content_json;
use super::tools::CallContext;
use crate::auth::Caller;
use crate::catalog::{Catalog, Prompt};
use crate::outcome::{Outcome, Reason};

/// One page of `prompts/list`.
pub fn list(
    catalog: &Catalog,
    caller: &Caller,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Value, McpError> {
    let prompts = catalog.prompts();
    let visible = |prompt: &Prompt| prompt.allows(caller);
    paging::visible_page(
        "prompts",
        prompts,
        visible,
        |prompt| &prompt.listing,
        cursor,
        page_size,
    )
}

/// The prompt `name` names for `caller`: one it may not use is answered
/// exactly as a missing one.
pub fn visible(catalog: &Catalog, caller: &Caller, name: &str) -> Option<Arc<Prompt>> {
    catalog
        .prompt(name)
        .filter(|prompt| prompt.allows(caller))
        .map(Arc::clone)
}

/// The string arguments of `prompts/get`: an object whose every value is
/// a string (MCP prompt arguments are strings), in a stable order.
pub fn parse_arguments(arguments: Option<Value>) -> Result<Vec<(String, String)>, McpError> {
    match arguments {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(arguments)) => arguments
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(value) => Ok((name, value)),
                other => Err(McpError::invalid_params(format!(
                    "prompt argument `{name}` must be a string, not {}",
                    json_type(&other)
                ))),
            })
            .collect(),
        Some(_) => Err(McpError::invalid_params("`arguments` must be an object")),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `prompts/get` of `name` with `arguments`; `prompt` is what the caller
/// may use by that name.
pub async fn get(
    context: &CallContext<'_>,
    name: String,
    prompt: Option<Arc<Prompt>>,
    arguments: Vec<(String, String)>,
) -> Result<Value, McpError> {
    let subject = Subject {
        method: "prompts/get",
        resource: None,
        prompt: Some(name.clone()),
        arguments: Value::Object(
            arguments
                .iter()
                .map(|(name, value)| (name.clone(), json!(value)))
                .collect::<Map<String, Value>>(),
        ),
    };
    // Arguments are checked before anything runs.
    let target = match &prompt {
        None => Err(McpError::invalid_params(format!("Unknown prompt: {name}"))
            .with_reason(Reason::UnknownPrompt)),
        Some(prompt) => match prompt.argument_problems(&arguments) {
            Some(problem) => {
                Err(McpError::invalid_params(problem).with_reason(Reason::InvalidArguments))
            }
            None => Ok(Target {
                component: &prompt.component,
                rates: &prompt.rates,
                audit: &prompt.audit,
            }),
        },
    };
    let declared = prompt
        .as_ref()
        .map(|prompt| prompt.info.name.clone())
        .unwrap_or_default();
    served::serve(
        context,
        subject,
        target,
        |component, events| async move { component.get_prompt(&declared, arguments, events).await },
        |outcome| finish(&name, outcome),
    )
    .await
}

/// The `GetPromptResult`, or the error the component's answer means.
fn finish(name: &str, outcome: PromptOutcome) -> (Result<Value, McpError>, Ended) {
    match outcome {
        PromptOutcome::Messages {
            description,
            messages,
        } => {
            let mut items = Vec::with_capacity(messages.len());
            for message in &messages {
                match content_json(&message.content) {
                    Ok(content) => items.push(json!({
                        "role": message.role.as_str(),
                        "content": content,
                    })),
                    Err(problem) => {
                        return (
                            Err(McpError::new(
                                ErrorKind::Internal,
                                format!("prompt `{name}` returned an invalid message: {problem}"),
                            )
                            .with_reason(Reason::InvalidOutput)),
                            Ended::new(Outcome::Failed, Some(Reason::InvalidOutput)),
                        );
                    }
                }
            }
            let mut result = json!({ "messages": items });
            if let Some(description) = description {
                result["description"] = json!(description);
            }
            (Ok(result), Ended::new(Outcome::Ok, None))
        }
        PromptOutcome::Invalid(message) => {
            served::declined(true, format!("prompt `{name}`: {message}"))
        }
        PromptOutcome::Failed(message) => {
            served::declined(false, format!("prompt `{name}` failed: {message}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_arguments_are_strings() {
        assert_eq!(parse_arguments(None), Ok(Vec::new()));
        assert_eq!(
            parse_arguments(Some(json!({"a": "1"}))),
            Ok(vec![("a".to_owned(), "1".to_owned())])
        );
        let error = parse_arguments(Some(json!({"a": 1}))).expect_err("a number");
        assert!(error.message.contains("`a` must be a string, not a number"));
        assert!(parse_arguments(Some(json!([1]))).is_err());
    }
}

//! Checks of what a component lists at load: a component that lists
//! something unusable is refused with a message naming the item, before
//! anything is served.

use std::collections::HashSet;

use crate::bindings::warden::tool::types::ToolMetaEntry;
use crate::component::Served;
use crate::error::LoadError;
use crate::tool::{ToolInfo, is_valid_tool_name};

/// Longest URI or URI template a component may list, in bytes.
pub const MAX_URI_BYTES: usize = 4096;

/// Checks everything a component listed.
pub(crate) fn check_served(component: &str, served: &Served) -> Result<(), LoadError> {
    if served.tools.is_empty()
        && served.resources.is_empty()
        && served.templates.is_empty()
        && served.prompts.is_empty()
    {
        return Err(LoadError::Listing {
            component: component.to_owned(),
            function: "listing",
            reason: "the component serves nothing: it declares no tools, resources, resource \
                     templates or prompts"
                .to_owned(),
        });
    }
    crate::tool::check_declared(component, &served.tools)?;
    let invalid = |item: String, reason: String| LoadError::InvalidItem {
        component: component.to_owned(),
        item,
        reason,
    };
    let mut uris = HashSet::new();
    for resource in &served.resources {
        let item = || format!("resource `{}`", resource.uri);
        absolute_uri(&resource.uri).map_err(|reason| invalid(item(), reason))?;
        if !uris.insert(resource.uri.as_str()) {
            return Err(invalid(item(), "listed twice".to_owned()));
        }
        non_empty("name", &resource.name).map_err(|reason| invalid(item(), reason))?;
        json_object("meta", resource.meta.as_deref()).map_err(|reason| invalid(item(), reason))?;
        mime_type(resource.mime_type.as_deref()).map_err(|reason| invalid(item(), reason))?;
        priority(resource.annotations.priority).map_err(|reason| invalid(item(), reason))?;
    }
    let mut templates = HashSet::new();
    for template in &served.templates {
        let item = || format!("resource template `{}`", template.uri_template);
        if template.uri_template.is_empty() || template.uri_template.len() > MAX_URI_BYTES {
            return Err(invalid(
                item(),
                format!("a URI template must have 1 to {MAX_URI_BYTES} bytes"),
            ));
        }
        if !templates.insert(template.uri_template.as_str()) {
            return Err(invalid(item(), "listed twice".to_owned()));
        }
        non_empty("name", &template.name).map_err(|reason| invalid(item(), reason))?;
        mime_type(template.mime_type.as_deref()).map_err(|reason| invalid(item(), reason))?;
        priority(template.annotations.priority).map_err(|reason| invalid(item(), reason))?;
    }
    let mut prompts = HashSet::new();
    for prompt in &served.prompts {
        let item = || format!("prompt `{}`", prompt.name);
        if !is_valid_tool_name(&prompt.name) {
            return Err(invalid(
                item(),
                "names must be 1 to 128 characters of A-Z, a-z, 0-9, `_`, `.` or `-`".to_owned(),
            ));
        }
        if !prompts.insert(prompt.name.as_str()) {
            return Err(invalid(item(), "declared twice".to_owned()));
        }
        json_object("meta", prompt.meta.as_deref()).map_err(|reason| invalid(item(), reason))?;
        let mut arguments = HashSet::new();
        for argument in &prompt.arguments {
            non_empty("argument name", &argument.name).map_err(|reason| invalid(item(), reason))?;
            if !arguments.insert(argument.name.as_str()) {
                return Err(invalid(
                    item(),
                    format!("argument `{}` is declared twice", argument.name),
                ));
            }
        }
    }
    Ok(())
}

/// Merges `tool-meta` entries into the tools they name.
pub(crate) fn attach_tool_meta(
    component: &str,
    tools: &mut [ToolInfo],
    entries: Vec<ToolMetaEntry>,
) -> Result<(), LoadError> {
    for entry in entries {
        let invalid = |reason: String| LoadError::InvalidItem {
            component: component.to_owned(),
            item: format!("tool metadata for `{}`", entry.tool),
            reason,
        };
        let declared = || {
            tools
                .iter()
                .map(|tool| tool.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some(position) = tools.iter().position(|tool| tool.name == entry.tool) else {
            return Err(invalid(format!(
                "the component declares no such tool (it declares: {})",
                declared()
            )));
        };
        json_object("meta", Some(&entry.meta)).map_err(invalid)?;
        let tool = &mut tools[position];
        if tool.meta.is_some() {
            return Err(invalid("given twice".to_owned()));
        }
        tool.meta = Some(entry.meta);
    }
    Ok(())
}

/// An absolute URI: a scheme (RFC 3986 `ALPHA *( ALPHA / DIGIT / "+" / "-"
/// / "." )`), a colon, and no spaces or control characters.
pub fn absolute_uri(uri: &str) -> Result<(), String> {
    if uri.is_empty() || uri.len() > MAX_URI_BYTES {
        return Err(format!("a URI must have 1 to {MAX_URI_BYTES} bytes"));
    }
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, _)| {
        let mut chars = scheme.chars();
        chars
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        return Err("not an absolute URI (it needs a scheme, as in `file:///a.txt`)".to_owned());
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a URI may not contain spaces or control characters".to_owned());
    }
    Ok(())
}

fn non_empty(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("its {what} is empty"));
    }
    Ok(())
}

fn json_object(what: &str, text: Option<&str>) -> Result<(), String> {
    let Some(text) = text else { return Ok(()) };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(format!("its {what} must be a JSON object")),
        Err(error) => Err(format!("its {what} is not JSON: {error}")),
    }
}

/// `type/subtype`, optionally with parameters.
fn mime_type(mime_type: Option<&str>) -> Result<(), String> {
    let Some(mime_type) = mime_type else {
        return Ok(());
    };
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    let valid = essence.split_once('/').is_some_and(|(kind, subtype)| {
        let token = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        token(kind) && token(subtype)
    });
    if !valid {
        return Err(format!(
            "MIME type `{mime_type}` is not of the form `type/subtype`"
        ));
    }
    Ok(())
}

fn priority(priority: Option<f64>) -> Result<(), String> {
    match priority {
        Some(value) if !(0.0..=1.0).contains(&value) => {
            Err(format!("its priority {value} is outside 0.0 to 1.0"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_need_a_scheme_and_no_spaces() {
        assert!(absolute_uri("file:///data/a.txt").is_ok());
        assert!(absolute_uri("ui://stats/view.html").is_ok());
        assert!(absolute_uri("test://static-text").is_ok());
        assert!(absolute_uri("/data/a.txt").is_err());
        assert!(absolute_uri("1x:y").is_err());
        assert!(absolute_uri("file:///a b").is_err());
        assert!(absolute_uri("").is_err());
    }

    #[test]
    fn mime_types_and_priorities_are_checked() {
        assert!(mime_type(Some("text/html;profile=mcp-app")).is_ok());
        assert!(mime_type(Some("text")).is_err());
        assert!(priority(Some(0.5)).is_ok());
        assert!(priority(Some(1.5)).is_err());
        assert!(json_object("meta", Some("[1]")).is_err());
        assert!(json_object("meta", Some("{\"ui\":{}}")).is_ok());
    }
}

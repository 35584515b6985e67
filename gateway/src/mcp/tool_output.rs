//! A finished call's result as MCP sends it: content items, structured
//! content held to the tool's output schema, and the checks that keep a
//! tool from handing clients what MCP does not allow (structured content
//! that is not an object, media types or resource URIs that could smuggle
//! header lines or script).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use warden_sandbox::{CallResult, Content, ResourceContents};

use super::jsonrpc;
use super::schema::schema_violations;
use crate::catalog::Tool;
use crate::outcome::{REASON_META_KEY, Reason};

/// Longest media type a result may carry (RFC 6838 caps each name at 127
/// characters; parameters come on top).
const MAX_MIME_TYPE_BYTES: usize = 255;

/// Why a tool's result was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedOutput {
    /// The tool declares an output schema and its result does not meet it.
    #[error("tool `{tool}` {problem}")]
    SchemaViolation { tool: String, problem: String },
    /// The result breaks MCP's own rules, whatever the tool declared.
    #[error("tool `{tool}` returned an invalid result: {problem}")]
    Invalid { tool: String, problem: String },
}

impl RefusedOutput {
    /// The stable reason recorded and sent in `_meta`.
    pub fn reason(&self) -> Reason {
        match self {
            Self::SchemaViolation { .. } => Reason::OutputSchemaViolation,
            Self::Invalid { .. } => Reason::InvalidOutput,
        }
    }
}

/// The MCP result of a call that completed, or why it cannot be sent.
pub fn build_result(tool: &Tool, result: CallResult) -> Result<Value, RefusedOutput> {
    let invalid = |problem: String| RefusedOutput::Invalid {
        tool: tool.name.clone(),
        problem,
    };
    let structured = result
        .structured_content
        .as_deref()
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|error| invalid(format!("its structured content is not JSON: {error}")))?;
    if let Some(structured) = &structured
        && !structured.is_object()
    {
        return Err(invalid(format!(
            "its structured content must be a JSON object, not {}",
            jsonrpc::value_kind(structured)
        )));
    }
    if let (Some(validator), false) = (&tool.output_validator, result.is_error) {
        let violation = |problem: String| RefusedOutput::SchemaViolation {
            tool: tool.name.clone(),
            problem,
        };
        let Some(structured) = &structured else {
            return Err(violation(
                "declares an output schema but returned no structured content".to_owned(),
            ));
        };
        let violations = schema_violations(validator, structured);
        if !violations.is_empty() {
            return Err(violation(format!(
                "returned structured content that does not match its output schema: {}",
                violations.join("; ")
            )));
        }
    }
    let content = result
        .content
        .iter()
        .enumerate()
        .map(|(index, item)| {
            content_json(item)
                .map_err(|problem| invalid(format!("content item {index}: {problem}")))
        })
        .collect::<Result<Vec<Value>, _>>()?;
    let mut value = jsonrpc::object([
        ("content", Value::Array(content)),
        ("isError", Value::Bool(result.is_error)),
    ]);
    if let Some(structured) = structured {
        value["structuredContent"] = structured;
    }
    if result.is_error {
        value["_meta"] = json!({ REASON_META_KEY: Reason::ToolError.as_str() });
    }
    Ok(value)
}

pub(crate) fn content_json(content: &Content) -> Result<Value, String> {
    Ok(match content {
        Content::Text(text) => json!({ "type": "text", "text": text }),
        Content::Image { data, mime_type } => {
            check_mime_type(mime_type)?;
            json!({ "type": "image", "data": STANDARD.encode(data), "mimeType": mime_type })
        }
        Content::Audio { data, mime_type } => {
            check_mime_type(mime_type)?;
            json!({ "type": "audio", "data": STANDARD.encode(data), "mimeType": mime_type })
        }
        Content::Resource {
            uri,
            mime_type,
            contents,
        } => {
            check_resource_uri(uri)?;
            let mut resource = json!({ "uri": uri });
            if let Some(mime_type) = mime_type {
                check_mime_type(mime_type)?;
                resource["mimeType"] = json!(mime_type);
            }
            match contents {
                ResourceContents::Text(text) => resource["text"] = json!(text),
                ResourceContents::Blob(blob) => resource["blob"] = json!(STANDARD.encode(blob)),
            }
            jsonrpc::object([("type", Value::from("resource")), ("resource", resource)])
        }
    })
}

/// RFC 9110's `token` characters, of which media type names are made.
fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A media type is `type/subtype`, optionally followed by parameters, in
/// visible ASCII: clients put it in headers and file names.
pub(crate) fn check_mime_type(mime_type: &str) -> Result<(), String> {
    if mime_type.len() > MAX_MIME_TYPE_BYTES {
        return Err(format!(
            "its MIME type is longer than {MAX_MIME_TYPE_BYTES} bytes"
        ));
    }
    if mime_type.bytes().any(|byte| !(0x20..0x7f).contains(&byte)) {
        return Err(format!(
            "its MIME type {mime_type:?} contains control or non-ASCII characters"
        ));
    }
    let essence = mime_type.split(';').next().unwrap_or_default().trim();
    let well_formed = essence.split_once('/').is_some_and(|(kind, subtype)| {
        !kind.is_empty()
            && !subtype.is_empty()
            && kind.bytes().all(is_token_char)
            && subtype.bytes().all(is_token_char)
    });
    if well_formed {
        Ok(())
    } else {
        Err(format!("its MIME type {mime_type:?} is not `type/subtype`"))
    }
}

/// Schemes a client could run as script if it opened the URI.
const SCRIPT_SCHEMES: [&str; 2] = ["javascript", "vbscript"];

/// A resource URI is absolute (RFC 3986 scheme), free of whitespace and
/// control characters, and not a script.
pub(crate) fn check_resource_uri(uri: &str) -> Result<(), String> {
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "its resource URI {uri:?} contains whitespace or control characters"
        ));
    }
    let scheme = uri.split_once(':').map(|(scheme, _)| scheme);
    let valid_scheme = scheme.is_some_and(|scheme| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    match scheme {
        Some(scheme) if valid_scheme => {
            if SCRIPT_SCHEMES
                .iter()
                .any(|script| scheme.eq_ignore_ascii_case(script))
            {
                Err(format!("its resource URI uses the `{scheme}:` scheme"))
            } else {
                Ok(())
            }
        }
        _ => Err(format!(
            "its resource URI {uri:?} is not an absolute URI (`scheme:...`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_type_slash_subtype_in_visible_ascii() {
        for good in [
            "image/png",
            "text/plain; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert_eq!(check_mime_type(good), Ok(()), "{good}");
        }
        for bad in [
            "image/png\r\nX-Injected: 1",
            "text/plain\0",
            "png",
            "/png",
            "image/",
            "ima ge/png",
            "bild/pñg",
        ] {
            assert!(check_mime_type(bad).is_err(), "{bad:?}");
        }
        assert!(check_mime_type(&format!("a/{}", "b".repeat(300))).is_err());
    }

    #[test]
    fn resource_uris_are_absolute_without_script_or_control_characters() {
        for good in [
            "file:///data/a.txt",
            "https://example.com/x?y=1",
            "warden+custom://thing",
        ] {
            assert_eq!(check_resource_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "vbscript:msgbox",
            "file:///a\nb",
            "https://example.com/\u{7}",
            "relative/path",
            "1http://x",
            "https://exa mple.com",
            "",
        ] {
            assert!(check_resource_uri(bad).is_err(), "{bad:?}");
        }
    }
}

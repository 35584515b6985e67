//! `/mcp` in revision 2026-07-28: POST only, no session. What is HTTP's
//! alone: telling such a request by its headers, and checking that its
//! routing headers agree with its body (`MCP-Protocol-Version` with the
//! `_meta` revision, `Mcp-Method` with the method, `Mcp-Name` with the tool,
//! prompt or resource URI a request names, `Mcp-Param-*` with the arguments
//! a tool mirrors),
//! else -32020. The server does the rest (the envelope, the revision,
//! `server/discover`); its refusals come back with their status (400 for
//! -32020, -32022 and bad params, 404 for an unknown method). Closing a
//! request's event stream cancels it, as nothing can resume it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{ALLOW, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value};

use super::mcp_endpoint::{PROTOCOL_VERSION_HEADER, SESSION_HEADER};
use super::response::{self, Body};
use crate::catalog::Tool;
use crate::mcp::param_headers;
use crate::mcp::revision::{Revision, Transport};
use crate::mcp::stateless::Envelope;
use crate::mcp::{ErrorKind, McpError};

/// The header naming a request's method.
const METHOD_HEADER: &str = "mcp-method";
/// The header naming the tool a `tools/call` calls.
const NAME_HEADER: &str = "mcp-name";

/// Whether a request to `/mcp` is one of 2026-07-28: its
/// `MCP-Protocol-Version` names that revision, or names no revision of the
/// handshake and comes without a session (a version Warden does not speak
/// gets the 2026-07-28 refusal, which lists the ones it does).
pub fn applies(headers: &HeaderMap) -> bool {
    let Some(version) = headers
        .get(PROTOCOL_VERSION_HEADER)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    match Revision::parse_for(version, Transport::Http) {
        Some(revision) => revision.is_stateless(),
        None => !headers.contains_key(SESSION_HEADER),
    }
}

/// The answer to `GET` or `DELETE` in 2026-07-28, which has neither.
pub fn method_not_allowed() -> Response<Body> {
    let mut refusal = response::http_refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        "revision 2026-07-28 has no event stream to GET and no session to DELETE: POST requests",
    );
    refusal
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    refusal
}

/// -32020 unless the routing headers say what the body says. `tool` is the
/// tool a `tools/call` names, when its caller may use it.
pub(super) fn check_routing_headers(
    headers: &HeaderMap,
    envelope: &Envelope,
    method: &str,
    params: Option<&Map<String, Value>>,
    tool: Option<&Tool>,
) -> Result<(), McpError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let mismatch = |message: String| Err(McpError::new(ErrorKind::HeaderMismatch, message));
    if header(PROTOCOL_VERSION_HEADER) != Some(envelope.protocol_version.as_str()) {
        return mismatch(format!(
            "the MCP-Protocol-Version header does not match params._meta's protocol version `{}`",
            envelope.protocol_version
        ));
    }
    if header(METHOD_HEADER) != Some(method) {
        return mismatch(format!(
            "the Mcp-Method header must be present and equal the method `{method}`"
        ));
    }
    // `resources/read` names its resource, `prompts/get` and `tools/call`
    // their prompt or tool, in Mcp-Name too.
    let named_by = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        "tasks/get" | "tasks/cancel" | "tasks/update" => Some("taskId"),
        _ => None,
    };
    if let Some(key) = named_by {
        let name = params
            .and_then(|params| params.get(key))
            .and_then(Value::as_str);
        let named = header(NAME_HEADER).and_then(decode_header_value);
        if name.is_some() && named.as_deref() != name {
            return mismatch(format!(
                "the Mcp-Name header must be present and equal params.{key}"
            ));
        }
    }
    if method == "tools/call" {
        // A tool the caller may not see is refused as unknown later, its
        // headers unchecked: nothing of it is told.
        let arguments = params
            .and_then(|params| params.get("arguments"))
            .and_then(Value::as_object);
        if let (Some(tool), Some(arguments)) = (tool, arguments) {
            let values = |name: &str| {
                headers
                    .get_all(name)
                    .iter()
                    .map(|value| value.to_str().unwrap_or("\u{fffd}"))
                    .collect()
            };
            if let Err(reason) =
                param_headers::check(&tool.header_params, arguments, values, decode_header_value)
            {
                return mismatch(reason);
            }
        }
    }
    Ok(())
}

/// A header value as written, or the text of its `=?base64?…?=` form
/// (used for values a header cannot carry as they are).
fn decode_header_value(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?).ok(),
        None => Some(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_picks_2026_by_its_header() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            headers
        };
        assert!(applies(&with(&[(PROTOCOL_VERSION_HEADER, "2026-07-28")])));
        assert!(applies(&with(&[
            (PROTOCOL_VERSION_HEADER, "2026-07-28"),
            (SESSION_HEADER, "ignored")
        ])));
        assert!(applies(&with(&[(PROTOCOL_VERSION_HEADER, "2099-01-01")])));
        assert!(!applies(&with(&[
            (PROTOCOL_VERSION_HEADER, "2099-01-01"),
            (SESSION_HEADER, "a session")
        ])));
        assert!(!applies(&with(&[(PROTOCOL_VERSION_HEADER, "2025-11-25")])));
        assert!(!applies(&with(&[])));
    }

    #[test]
    fn header_values_decode_their_base64_form() {
        assert_eq!(
            decode_header_value("text.count").as_deref(),
            Some("text.count")
        );
        assert_eq!(
            decode_header_value("=?base64?dGV4dC5jb3VudA==?=").as_deref(),
            Some("text.count")
        );
        assert_eq!(decode_header_value("=?base64?not base64?="), None);
    }
}

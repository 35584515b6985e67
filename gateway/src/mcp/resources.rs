//! `resources/list`, `resources/templates/list` and `resources/read`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use warden_sandbox::{ResourceContents, ResourcePart, ResourceRead};

use super::error::{ErrorKind, McpError};
use super::paging;
use super::revision::Revision;
use super::served::{self, Ended, Subject, Target};
use super::tool_output::{check_mime_type, check_resource_uri};
use super::tools::CallContext;
use crate::auth::Caller;
use crate::catalog::{Catalog, ResourceTarget, ServedResource, ServedTemplate};
use crate::outcome::{Outcome, Reason};

/// One page of `resources/list`.
pub fn list(
    catalog: &Catalog,
    caller: &Caller,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Value, McpError> {
    let resources = catalog.resources().fixed();
    let visible = |resource: &ServedResource| resource.policy.allows(&resource.info.uri, caller);
    paging::visible_page(
        "resources",
        resources,
        visible,
        |resource| &resource.listing,
        cursor,
        page_size,
    )
}

/// One page of `resources/templates/list`.
pub fn list_templates(
    catalog: &Catalog,
    caller: &Caller,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Value, McpError> {
    let templates = catalog.resources().templates();
    let visible = |template: &ServedTemplate| template.allows(caller);
    paging::visible_page(
        "resourceTemplates",
        templates,
        visible,
        |template| &template.listing,
        cursor,
        page_size,
    )
}

/// The revision's error for a URI that names no resource (for this caller):
/// -32002 before 2026-07-28, -32602 from it (SEP-2164), with the URI in
/// `data` either way.
pub fn not_found(revision: Revision, uri: &str, why: &str) -> McpError {
    let kind = if revision.is_stateless() {
        ErrorKind::InvalidParams
    } else {
        ErrorKind::ResourceNotFound
    };
    McpError::new(kind, format!("Resource not found: {uri} ({why})"))
        .with_data(json!({ "uri": uri }))
}

/// Refuses a URI that climbs out of where it points with `.` or `..` path
/// segments (written plainly or percent-encoded): a template's prefix must
/// hold for the whole URI, not be undone by what follows it.
pub fn check_uri(uri: &str) -> Result<(), McpError> {
    warden_sandbox::absolute_uri(uri)
        .map_err(|reason| McpError::invalid_params(format!("`uri` {uri:?}: {reason}")))?;
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    let climbs = path.split('/').any(|segment| {
        let decoded = warden_uri_template::decode(segment).unwrap_or_else(|| segment.to_owned());
        matches!(decoded.as_str(), "." | "..")
    });
    if climbs {
        return Err(McpError::invalid_params(format!(
            "`uri` {uri:?} has a `.` or `..` segment: name the resource directly"
        )));
    }
    Ok(())
}

/// `resources/read` of `uri`, whose target the caller may read (`None`:
/// none).
pub async fn read(
    context: &CallContext<'_>,
    uri: String,
    target: Option<ResourceTarget>,
) -> Result<Value, McpError> {
    let revision = context.revision;
    let subject = Subject {
        method: "resources/read",
        resource: Some(uri.clone()),
        prompt: None,
        arguments: Value::Null,
    };
    let served = match &target {
        Some(target) => Ok(Target {
            component: &target.component,
            rates: &target.rates,
            audit: &target.policy.audit,
        }),
        None => Err(
            not_found(revision, &uri, "no resource or template serves it")
                .recorded_as(Reason::UnknownResource),
        ),
    };
    let read_uri = uri.clone();
    served::serve(
        context,
        subject,
        served,
        |component, events| async move { component.read_resource(&read_uri, events).await },
        |read| finish(revision, &uri, read),
    )
    .await
}

/// The `ReadResourceResult`, or the error the component's answer means.
fn finish(revision: Revision, uri: &str, read: ResourceRead) -> (Result<Value, McpError>, Ended) {
    let refused = |message: String| {
        (
            Err(McpError::new(ErrorKind::Internal, message).with_reason(Reason::InvalidOutput)),
            Ended::new(Outcome::Failed, Some(Reason::InvalidOutput)),
        )
    };
    match read {
        ResourceRead::Contents(parts) => {
            if parts.is_empty() {
                return refused(format!(
                    "the component returned no contents for resource `{uri}`"
                ));
            }
            let mut contents = Vec::with_capacity(parts.len());
            for part in &parts {
                match part_json(uri, part) {
                    Ok(value) => contents.push(value),
                    Err(problem) => {
                        return refused(format!(
                            "the component returned invalid contents for resource `{uri}`: {problem}"
                        ));
                    }
                }
            }
            (
                Ok(json!({ "contents": contents })),
                Ended::new(Outcome::Ok, None),
            )
        }
        ResourceRead::NotFound(message) => (
            Err(not_found(revision, uri, &message).recorded_as(Reason::UnknownResource)),
            Ended::new(Outcome::Rejected, Some(Reason::UnknownResource)),
        ),
        ResourceRead::Invalid(message) => {
            served::declined(true, format!("resource `{uri}`: {message}"))
        }
        ResourceRead::Failed(message) => {
            served::declined(false, format!("reading resource `{uri}` failed: {message}"))
        }
    }
}

/// One `contents` item. Its URI must be the one read or lie under it: a
/// component cannot answer for another resource.
fn part_json(uri: &str, part: &ResourcePart) -> Result<Value, String> {
    check_resource_uri(&part.uri)?;
    let under = part.uri == uri
        || part
            .uri
            .strip_prefix(uri)
            .is_some_and(|rest| rest.starts_with(['/', '#', '?']) || uri.ends_with('/'));
    if !under {
        return Err(format!(
            "a part is of `{}`, which is not `{uri}` or under it",
            part.uri
        ));
    }
    let mut item = Map::new();
    item.insert("uri".into(), json!(part.uri));
    if let Some(mime_type) = &part.mime_type {
        check_mime_type(mime_type)?;
        item.insert("mimeType".into(), json!(mime_type));
    }
    match &part.contents {
        ResourceContents::Text(text) => item.insert("text".into(), json!(text)),
        ResourceContents::Blob(blob) => item.insert("blob".into(), json!(STANDARD.encode(blob))),
    };
    if let Some(meta) = &part.meta {
        match serde_json::from_str::<Value>(meta) {
            Ok(meta @ Value::Object(_)) => {
                item.insert("_meta".into(), meta);
            }
            _ => return Err("a part's meta is not a JSON object".to_owned()),
        }
    }
    Ok(Value::Object(item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_that_climb_out_are_refused() {
        assert!(check_uri("file:///data/notes/a.md").is_ok());
        assert!(check_uri("file:///data/../etc/passwd").is_err());
        assert!(check_uri("file:///data/%2e%2e/etc/passwd").is_err());
        assert!(check_uri("file:///data/./a").is_err());
        assert!(check_uri("file:///data/a?x=..").is_ok());
        assert!(check_uri("relative/path").is_err());
    }

    #[test]
    fn unknown_resources_get_the_revisions_error() {
        let old = not_found(Revision::V2025_11_25, "test://x", "none");
        assert_eq!(old.code(), -32002);
        assert_eq!(old.data, Some(json!({"uri": "test://x"})));
        let new = not_found(Revision::V2026_07_28, "test://x", "none");
        assert_eq!(new.code(), -32602);
    }

    #[test]
    fn a_part_must_be_of_the_uri_read() {
        let part = |uri: &str| ResourcePart {
            uri: uri.to_owned(),
            mime_type: Some("text/plain".to_owned()),
            contents: ResourceContents::Text("x".to_owned()),
            meta: None,
        };
        assert!(part_json("file:///data/", &part("file:///data/a")).is_ok());
        assert!(part_json("file:///data/a", &part("file:///data/a")).is_ok());
        assert!(part_json("file:///data/a", &part("file:///data/a/b")).is_ok());
        assert!(part_json("file:///data/a", &part("file:///data/ab")).is_err());
        assert!(part_json("file:///data/a", &part("file:///etc/passwd")).is_err());
    }
}

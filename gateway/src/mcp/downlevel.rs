//! Results shaped for the session's revision. Warden builds tool listings
//! and call results in the newest shape; an older client gets only what its
//! revision defines, so a strict client validating against its own schema
//! accepts them, and nothing it could use is lost where an older form can
//! carry it.
//!
//! What each revision added (from its `schema.json`):
//! - 2025-03-26: tool `annotations`, `audio` content, progress `message`.
//! - 2025-06-18: tool `title`, `outputSchema` and `_meta`, `structuredContent`,
//!   `resource_link` content, `_meta` on content items, `title` in
//!   `serverInfo`.

use serde_json::{Map, Value, json};

use super::revision::Revision;

/// A `tools/list` result for `revision`.
pub fn tool_listing(revision: Revision, result: &mut Value) {
    if revision == Revision::V2025_11_25 {
        return;
    }
    let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
        return;
    };
    for tool in tools.iter_mut().filter_map(Value::as_object_mut) {
        // Tools' `execution` is 2025-11-25's alone: 2026-07-28 moved tasks
        // to an extension the server applies by itself.
        tool.remove("execution");
        if revision < Revision::V2025_06_18 {
            fit_tool(revision, tool);
        }
    }
}

fn fit_tool(revision: Revision, tool: &mut Map<String, Value>) {
    let title = tool.remove("title");
    tool.remove("outputSchema");
    tool.remove("_meta");
    if revision < Revision::V2025_03_26 {
        tool.remove("annotations");
        return;
    }
    // 2025-03-26 has a display title only among the annotations.
    if let Some(title) = title {
        let annotations = tool
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.entry("title").or_insert(title);
        }
    }
}

/// A `tools/call` result for `revision`.
pub fn call_result(revision: Revision, result: &mut Value) {
    if revision >= Revision::V2025_06_18 {
        return;
    }
    let Some(result) = result.as_object_mut() else {
        return;
    };
    let structured = result.remove("structuredContent");
    let Some(content) = result.get_mut("content").and_then(Value::as_array_mut) else {
        return;
    };
    for (index, item) in content.iter_mut().enumerate() {
        fit_content(revision, index, item);
    }
    // Tools are asked to repeat structured content as text; where one did
    // not, the text is what an older client can still read.
    if let Some(structured) = structured
        && !content.iter().any(|item| item["type"] == "text")
    {
        content.push(json!({ "type": "text", "text": structured.to_string() }));
    }
}

fn fit_content(revision: Revision, index: usize, item: &mut Value) {
    let Some(fields) = item.as_object_mut() else {
        return;
    };
    fields.remove("_meta");
    if let Some(annotations) = fields.get_mut("annotations").and_then(Value::as_object_mut) {
        annotations.remove("lastModified");
    }
    match fields.get("type").and_then(Value::as_str) {
        Some("resource_link") => {
            let uri = fields
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = fields.get("name").and_then(Value::as_str).unwrap_or(uri);
            *item = json!({ "type": "text", "text": format!("{name}: {uri}") });
        }
        // Before 2025-03-26 audio travels as an embedded binary resource,
        // with its bytes and media type intact.
        Some("audio") if revision < Revision::V2025_03_26 => {
            let mut resource = Map::new();
            resource.insert(
                "uri".to_owned(),
                json!(format!("urn:warden:content:{index}")),
            );
            for (from, to) in [("mimeType", "mimeType"), ("data", "blob")] {
                if let Some(value) = fields.remove(from) {
                    resource.insert(to.to_owned(), value);
                }
            }
            *item = json!({ "type": "resource", "resource": resource });
        }
        _ => {}
    }
}

/// A `resources/list` or `resources/templates/list` result (the items
/// under `key`) for `revision`: `title`, `_meta` and the `lastModified`
/// annotation came in 2025-06-18.
pub fn resource_listing(revision: Revision, result: &mut Value, key: &str) {
    if revision >= Revision::V2025_06_18 {
        return;
    }
    let Some(items) = result.get_mut(key).and_then(Value::as_array_mut) else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        item.remove("title");
        item.remove("_meta");
        if let Some(annotations) = item.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("lastModified");
        }
    }
}

/// A `resources/read` result for `revision`: contents' `_meta` came in
/// 2025-06-18.
pub fn read_result(revision: Revision, result: &mut Value) {
    if revision >= Revision::V2025_06_18 {
        return;
    }
    if let Some(contents) = result.get_mut("contents").and_then(Value::as_array_mut) {
        for item in contents.iter_mut().filter_map(Value::as_object_mut) {
            item.remove("_meta");
        }
    }
}

/// A `prompts/list` result for `revision`: prompts' and arguments' `title`
/// and prompts' `_meta` came in 2025-06-18.
pub fn prompt_listing(revision: Revision, result: &mut Value) {
    if revision >= Revision::V2025_06_18 {
        return;
    }
    let Some(prompts) = result.get_mut("prompts").and_then(Value::as_array_mut) else {
        return;
    };
    for prompt in prompts.iter_mut().filter_map(Value::as_object_mut) {
        prompt.remove("title");
        prompt.remove("_meta");
        if let Some(arguments) = prompt.get_mut("arguments").and_then(Value::as_array_mut) {
            for argument in arguments.iter_mut().filter_map(Value::as_object_mut) {
                argument.remove("title");
            }
        }
    }
}

/// A `prompts/get` result for `revision`: each message's content as the
/// revision knows content items.
pub fn prompt_result(revision: Revision, result: &mut Value) {
    if revision >= Revision::V2025_06_18 {
        return;
    }
    let Some(messages) = result.get_mut("messages").and_then(Value::as_array_mut) else {
        return;
    };
    for (index, message) in messages.iter_mut().enumerate() {
        if let Some(content) = message.get_mut("content") {
            fit_content(revision, index, content);
        }
    }
}

/// `serverInfo` of the `initialize` result for `revision`.
pub fn server_info(revision: Revision, info: &mut Value) {
    if revision < Revision::V2025_06_18
        && let Some(info) = info.as_object_mut()
    {
        info.remove("title");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newest_listing() -> Value {
        json!({ "tools": [{
            "name": "text.count",
            "title": "Count",
            "description": "Counts",
            "inputSchema": {"type": "object"},
            "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true},
        }, {
            "name": "plain",
            "title": "Plain",
            "inputSchema": {"type": "object"},
        }], "nextCursor": "abc" })
    }

    #[test]
    fn listings_keep_only_what_the_revision_defines() {
        let mut current = newest_listing();
        tool_listing(Revision::V2025_06_18, &mut current);
        assert_eq!(current, newest_listing());

        let mut march = newest_listing();
        tool_listing(Revision::V2025_03_26, &mut march);
        assert_eq!(
            march,
            json!({ "tools": [{
                "name": "text.count",
                "description": "Counts",
                "inputSchema": {"type": "object"},
                "annotations": {"readOnlyHint": true, "title": "Count"},
            }, {
                "name": "plain",
                "inputSchema": {"type": "object"},
                "annotations": {"title": "Plain"},
            }], "nextCursor": "abc" })
        );

        let mut first = newest_listing();
        tool_listing(Revision::V2024_11_05, &mut first);
        assert_eq!(
            first,
            json!({ "tools": [{
                "name": "text.count",
                "description": "Counts",
                "inputSchema": {"type": "object"},
            }, {
                "name": "plain",
                "inputSchema": {"type": "object"},
            }], "nextCursor": "abc" })
        );
    }

    fn newest_result() -> Value {
        json!({
            "content": [
                {"type": "text", "text": "{\"words\":2}", "_meta": {"k": 1}},
                {"type": "audio", "data": "AAEC", "mimeType": "audio/wav"},
                {"type": "resource_link", "uri": "file:///a.txt", "name": "a.txt"},
                {"type": "image", "data": "AAEC", "mimeType": "image/png",
                 "annotations": {"priority": 1, "lastModified": "2025-01-01T00:00:00Z"}},
            ],
            "structuredContent": {"words": 2},
            "isError": false,
            "_meta": {"io.warden/reason": "x"},
        })
    }

    #[test]
    fn call_results_keep_their_content_in_forms_the_revision_has() {
        let mut current = newest_result();
        call_result(Revision::V2025_11_25, &mut current);
        assert_eq!(current, newest_result());

        let mut march = newest_result();
        call_result(Revision::V2025_03_26, &mut march);
        assert_eq!(
            march,
            json!({
                "content": [
                    {"type": "text", "text": "{\"words\":2}"},
                    {"type": "audio", "data": "AAEC", "mimeType": "audio/wav"},
                    {"type": "text", "text": "a.txt: file:///a.txt"},
                    {"type": "image", "data": "AAEC", "mimeType": "image/png",
                     "annotations": {"priority": 1}},
                ],
                "isError": false,
                "_meta": {"io.warden/reason": "x"},
            })
        );

        let mut first = newest_result();
        call_result(Revision::V2024_11_05, &mut first);
        assert_eq!(
            first["content"][1],
            json!({"type": "resource", "resource": {
                "uri": "urn:warden:content:1", "mimeType": "audio/wav", "blob": "AAEC"}})
        );
    }

    #[test]
    fn structured_content_without_text_becomes_text() {
        let mut result = json!({
            "content": [],
            "structuredContent": {"a": [1, 2]},
            "isError": false,
        });
        call_result(Revision::V2025_03_26, &mut result);
        assert_eq!(
            result,
            json!({"content": [{"type": "text", "text": "{\"a\":[1,2]}"}], "isError": false})
        );
    }

    #[test]
    fn server_info_loses_its_title_before_2025_06_18() {
        let info = json!({"name": "warden", "title": "Warden", "version": "1"});
        let mut old = info.clone();
        server_info(Revision::V2025_03_26, &mut old);
        assert_eq!(old, json!({"name": "warden", "version": "1"}));
        let mut new = info.clone();
        server_info(Revision::V2025_06_18, &mut new);
        assert_eq!(new, info);
    }
}

//! `text`: a Warden tool component for counting, re-casing, searching and
//! rewriting text.
//!
//! Tools: `text.count`, `text.case`, `text.replace`, `text.find`.
//! `text.count` comes with an MCP App (`ui://text/count.html`) that hosts
//! rendering MCP Apps show beside its result. Patterns
//! are Rust `regex` syntax (no look-around or back-references, linear time);
//! compiled programs are capped at [`REGEX_SIZE_LIMIT_BYTES`] so a hostile
//! pattern fails with a tool error instead of exhausting memory.

mod case;
mod count;
mod find;

use warden_tool::{Resource, ResourcePart, Tool, Toolbox};

pub use case::{CaseArgs, Converted, TargetCase};

/// Where the MCP App that shows `text.count`'s result is served.
pub const COUNT_APP_URI: &str = "ui://text/count.html";

/// The MIME type of an MCP App.
const APP_MIME_TYPE: &str = "text/html;profile=mcp-app";

/// The page MCP Apps hosts render beside a `text.count` call.
const COUNT_APP_HTML: &str = include_str!("count.html");

/// `text.count`'s MCP App: a page that shows the counts, asking for no
/// network, camera or other permission.
fn count_app() -> Resource {
    let ui = serde_json::json!({
        "ui": {
            "prefersBorder": true,
            "csp": { "connectDomains": [], "resourceDomains": [] },
        }
    });
    let part_meta = ui.clone();
    Resource::new(COUNT_APP_URI, "count.html", move |uri| {
        Ok(vec![
            ResourcePart::text(uri, Some(APP_MIME_TYPE), COUNT_APP_HTML)
                .with_meta(part_meta.clone()),
        ])
    })
    .title("Text counts")
    .description("An MCP App that shows the result of text.count.")
    .mime_type(APP_MIME_TYPE)
    .size(COUNT_APP_HTML.len() as u64)
    .meta(ui)
}
pub use count::{CountArgs, Counts};
pub use find::{FindArgs, Found, Match, ReplaceArgs, Replaced};

/// Cap on a compiled pattern's size, and on each lazy DFA's cache, in bytes.
pub const REGEX_SIZE_LIMIT_BYTES: usize = 1 << 20;

/// The component's tools.
pub fn toolbox() -> Toolbox {
    Toolbox::new()
        .tool(
            Tool::new(
                "text.count",
                "Counts the characters (Unicode scalar values), words (runs of \
                 non-whitespace), lines and UTF-8 bytes of a text.",
                count::count,
            )
            .title("Count text")
            .read_only()
            .idempotent()
            .open_world(false)
            .ui(COUNT_APP_URI),
        )
        .resource(count_app())
        .tool(
            Tool::new(
                "text.case",
                "Converts a text to upper, lower or title case, or to a \
                 snake_case, kebab-case or camelCase identifier.",
                case::convert,
            )
            .title("Change case")
            .read_only()
            .idempotent()
            .open_world(false),
        )
        .tool(
            Tool::new(
                "text.replace",
                "Replaces matches of a regular expression (Rust regex syntax) \
                 in a text. The replacement may refer to groups as $1 or \
                 ${name}; limit 0 replaces every match.",
                find::replace,
            )
            .title("Replace by pattern")
            .read_only()
            .idempotent()
            .open_world(false),
        )
        .tool(
            Tool::new(
                "text.find",
                "Finds matches of a regular expression (Rust regex syntax) in \
                 a text and returns each match's byte offsets, line number and \
                 text.",
                find::find,
            )
            .title("Find by pattern")
            .read_only()
            .idempotent()
            .open_world(false),
        )
}

warden_tool::export_toolbox!(toolbox);

#[cfg(test)]
mod tests {
    use super::toolbox;

    #[test]
    fn every_tool_lists_with_object_schemas() {
        let list = toolbox().list();
        let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["text.count", "text.case", "text.replace", "text.find"]
        );
        for info in &list {
            assert!(
                info.output_schema.is_some(),
                "{} has an output schema",
                info.name
            );
            assert_eq!(info.annotations.read_only, Some(true));
        }
    }

    #[test]
    fn calls_go_through_the_toolbox() {
        let result = toolbox().call("text.count", r#"{"text": "a b\nc"}"#);
        assert!(!result.is_error);
        assert_eq!(
            result.structured_content.as_deref(),
            Some(r#"{"chars":5,"words":3,"lines":2,"bytes":5}"#)
        );
        let result = toolbox().call("text.case", r#"{"text": "a", "to": "sideways"}"#);
        assert!(result.is_error, "an unknown case is refused");
    }
}

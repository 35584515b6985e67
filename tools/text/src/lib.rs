//! `text`: a Warden tool component for counting, re-casing, searching and
//! rewriting text.
//!
//! Tools: `text.count`, `text.case`, `text.replace`, `text.find`. Patterns
//! are Rust `regex` syntax (no look-around or back-references, linear time);
//! compiled programs are capped at [`REGEX_SIZE_LIMIT_BYTES`] so a hostile
//! pattern fails with a tool error instead of exhausting memory.

mod case;
mod count;
mod find;

use warden_tool::{Tool, Toolbox};

pub use case::{CaseArgs, Converted, TargetCase};
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
            .open_world(false),
        )
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

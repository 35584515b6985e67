//! `json`: a Warden tool component that queries and formats JSON.
//!
//! - `json.query` runs a jq filter (the [jaq] implementation, with its
//!   standard library) over a JSON document.
//! - `json.format` pretty-prints or compacts a document, optionally sorting
//!   object keys.
//!
//! Object keys keep their order (jq semantics): documents are read straight
//! into jaq values and written back with [`value::Json`], never through a
//! sorted map.
//!
//! [jaq]: https://github.com/01mf02/jaq

pub mod query;
pub mod value;

use jaq_json::Val;
use serde::{Deserialize, Serialize};
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{Tool, ToolError, Toolbox};

use value::{Json, MAX_DEPTH, within_depth};

/// Arguments of `json.query`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryArgs {
    /// The JSON document to query (any JSON value; `null` if omitted).
    #[serde(default)]
    #[schemars(with = "serde_json::Value")]
    pub document: Val,
    /// A jq filter, e.g. `.items[] | select(.price > 10) | .name`.
    pub query: String,
}

/// What `json.query` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QueryOutput {
    /// Every value the filter produced, in order (at most 10000).
    #[schemars(with = "Vec<serde_json::Value>")]
    #[serde(serialize_with = "serialize_results")]
    pub results: Vec<Val>,
}

fn serialize_results<S: serde::Serializer>(
    results: &[Val],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(results.iter().map(|val| Json {
        val,
        sort_keys: false,
    }))
}

/// Arguments of `json.format`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FormatArgs {
    /// The JSON document to format.
    #[schemars(with = "serde_json::Value")]
    pub document: Val,
    /// Spaces per indentation level; 0 writes compact JSON on one line.
    #[serde(default = "default_indent")]
    #[schemars(range(max = 8))]
    pub indent: u8,
    /// Sort object keys instead of keeping their order.
    #[serde(default)]
    pub sort_keys: bool,
}

fn default_indent() -> u8 {
    2
}

/// What `json.format` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Formatted {
    /// The formatted JSON text.
    pub text: String,
}

fn query(args: QueryArgs) -> Result<QueryOutput, ToolError> {
    let results = query::run(&args.query, args.document)?;
    Ok(QueryOutput { results })
}

fn format(args: FormatArgs) -> Result<Formatted, ToolError> {
    if !within_depth(&args.document, MAX_DEPTH) {
        return Err(ToolError::new(format!(
            "the document nests arrays or objects deeper than {MAX_DEPTH} levels"
        )));
    }
    let json = Json {
        val: &args.document,
        sort_keys: args.sort_keys,
    };
    let mut out = Vec::new();
    if args.indent == 0 {
        serde_json::to_writer(&mut out, &json)?;
    } else {
        let indent = vec![b' '; usize::from(args.indent.min(8))];
        let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        json.serialize(&mut serializer)?;
    }
    let text = String::from_utf8(out)?;
    Ok(Formatted { text })
}

/// The component's tools.
pub fn toolbox() -> Toolbox {
    Toolbox::new()
        .tool(
            Tool::new(
                "json.query",
                "Runs a jq filter over a JSON document and returns every value \
                 it produces. Supports jq's standard library (map, select, \
                 to_entries, group_by, test, ...); at most 10000 results.",
                query,
            )
            .title("Query JSON with jq")
            .read_only()
            .idempotent()
            .open_world(false),
        )
        .tool(
            Tool::new(
                "json.format",
                "Formats a JSON document: indented with the given number of \
                 spaces (0 for compact), optionally with object keys sorted.",
                format,
            )
            .title("Format JSON")
            .read_only()
            .idempotent()
            .open_world(false),
        )
}

warden_tool::export_toolbox!(toolbox);

#[cfg(test)]
mod tests {
    use super::toolbox;
    use serde_json::json;

    #[test]
    fn lists_both_tools() {
        let names: Vec<String> = toolbox().list().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["json.query", "json.format"]);
    }

    #[test]
    fn query_keeps_key_order() {
        let result = toolbox().call(
            "json.query",
            r#"{"document": {"z": 1, "a": {"y": 2, "b": 3}}, "query": ".a, .z"}"#,
        );
        assert!(!result.is_error, "{result:?}");
        assert_eq!(
            result.structured_content.as_deref(),
            Some(r#"{"results":[{"y":2,"b":3},1]}"#)
        );
    }

    #[test]
    fn query_errors_are_tool_errors() {
        let result = toolbox().call("json.query", r#"{"document": 1, "query": ".["}"#);
        assert!(result.is_error);
        let result = toolbox().call("json.query", r#"{"document": 1, "query": ".a"}"#);
        assert!(result.is_error, "indexing a number fails");
    }

    #[test]
    fn query_without_document_runs_on_null() {
        let result = toolbox().call("json.query", r#"{"query": "[1, 2] | add"}"#);
        assert_eq!(result.structured_value(), Some(json!({"results": [3]})));
    }

    #[test]
    fn formats() {
        let call = |args: &str| {
            let result = toolbox().call("json.format", args);
            assert!(!result.is_error, "{result:?}");
            result.structured_value().map(|v| v["text"].clone())
        };
        let doc = r#"{"b": [1, 2], "a": null}"#;
        assert_eq!(
            call(&format!(r#"{{"document": {doc}}}"#)),
            Some(json!(
                "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": null\n}"
            ))
        );
        assert_eq!(
            call(&format!(
                r#"{{"document": {doc}, "indent": 0, "sort_keys": true}}"#
            )),
            Some(json!(r#"{"a":null,"b":[1,2]}"#))
        );
        assert_eq!(
            call(&format!(r#"{{"document": {doc}, "indent": 4}}"#))
                .map(|t| t.to_string().contains("    \\\"b\\\"")),
            Some(true)
        );
    }

    #[test]
    fn document_schema_accepts_anything() {
        let list = toolbox().list();
        let schema: serde_json::Value =
            serde_json::from_str(&list[0].input_schema).unwrap_or_default();
        let document = &schema["properties"]["document"];
        assert!(document.get("type").is_none(), "any JSON value: {document}");
        assert!(document["description"].is_string());
        assert_eq!(schema["required"], json!(["query"]));
    }
}

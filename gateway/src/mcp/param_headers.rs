//! Tool arguments mirrored into HTTP headers (2026-07-28): a property of a
//! tool's input schema marked `"x-mcp-header": "<Name>"` travels with a
//! `tools/call` as `Mcp-Param-<Name>` as well as in the body, so proxies can
//! route on it. Warden checks the marks when it loads a tool (a bad one
//! would make clients drop the tool) and, on each call, that the headers
//! say what the body says.

use serde_json::{Map, Value};

/// The schema keyword that marks a mirrored property.
pub const KEYWORD: &str = "x-mcp-header";
/// The prefix of the mirroring headers.
pub const HEADER_PREFIX: &str = "mcp-param-";

/// A property mirrored into a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderParam {
    /// The property's path from the arguments' root.
    pub path: Vec<String>,
    /// The header's name after `Mcp-Param-`, as declared.
    pub name: String,
    /// The property's JSON type: `string`, `integer` or `boolean`.
    pub json_type: String,
}

/// The mirrored properties `schema` declares, or why its marks are wrong:
/// a mark must sit on a property reached from the root through
/// `properties` alone, name an RFC 9110 token unique (ignoring case) in
/// the schema, and be on a `string`, `integer` or `boolean` property.
pub fn declared(schema: &Value) -> Result<Vec<HeaderParam>, String> {
    let mut marks = Vec::new();
    find_marks(schema, &mut Vec::new(), &mut marks);
    let mut params: Vec<HeaderParam> = Vec::new();
    for (pointer, position) in marks {
        let path = property_path(&pointer).ok_or_else(|| {
            format!(
                "`{KEYWORD}` at /{} is not on a property reached through `properties` alone",
                pointer.join("/")
            )
        })?;
        let shown = path.join(".");
        let name = position[KEYWORD]
            .as_str()
            .ok_or_else(|| format!("property `{shown}`: `{KEYWORD}` must be a string"))?;
        if !is_token(name) {
            return Err(format!(
                "property `{shown}`: `{KEYWORD}` `{name}` is not an HTTP header token"
            ));
        }
        let json_type = match position.get("type").and_then(Value::as_str) {
            Some(json_type @ ("string" | "integer" | "boolean")) => json_type.to_owned(),
            _ => {
                return Err(format!(
                    "property `{shown}`: `{KEYWORD}` is allowed only on a property of type \
                     string, integer or boolean"
                ));
            }
        };
        if let Some(twin) = params
            .iter()
            .find(|param| param.name.eq_ignore_ascii_case(name))
        {
            return Err(format!(
                "property `{shown}`: `{KEYWORD}` `{name}` is already used by property `{}`",
                twin.path.join(".")
            ));
        }
        params.push(HeaderParam {
            path,
            name: name.to_owned(),
            json_type,
        });
    }
    Ok(params)
}

/// Every object in `value` holding the keyword, with its JSON pointer.
fn find_marks<'a>(
    value: &'a Value,
    pointer: &mut Vec<String>,
    marks: &mut Vec<(Vec<String>, &'a Value)>,
) {
    match value {
        Value::Object(fields) => {
            if fields.contains_key(KEYWORD) {
                marks.push((pointer.clone(), value));
            }
            for (key, child) in fields {
                pointer.push(key.clone());
                find_marks(child, pointer, marks);
                pointer.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointer.push(index.to_string());
                find_marks(child, pointer, marks);
                pointer.pop();
            }
        }
        _ => {}
    }
}

/// The property path a pointer `properties/a/properties/b` names; `None`
/// for any other pointer (the root itself included).
fn property_path(pointer: &[String]) -> Option<Vec<String>> {
    if pointer.is_empty() || !pointer.len().is_multiple_of(2) {
        return None;
    }
    pointer
        .chunks(2)
        .map(|pair| (pair[0] == "properties").then(|| pair[1].clone()))
        .collect()
}

/// RFC 9110 `token`: one or more of the visible characters a header name
/// may hold.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// Checks the `Mcp-Param-*` headers of a call against its `arguments`:
/// each mirrored property and its header present together and equal, or
/// absent together (`null` counts as absent). `header` gives every value
/// of a header, by lowercase name; `decode` undoes the base64 form.
pub fn check<'h>(
    params: &[HeaderParam],
    arguments: &Map<String, Value>,
    header: impl Fn(&str) -> Vec<&'h str>,
    decode: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    for param in params {
        let header_name = format!("Mcp-Param-{}", param.name);
        let values = header(&format!(
            "{HEADER_PREFIX}{}",
            param.name.to_ascii_lowercase()
        ));
        let argument = param.path.join(".");
        if values.len() > 1 {
            return Err(format!("the {header_name} header appears more than once"));
        }
        let value = value_at(arguments, &param.path).filter(|value| !value.is_null());
        match (value, values.first()) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(format!(
                    "the {header_name} header is present but argument `{argument}` is not"
                ));
            }
            (Some(_), None) => {
                return Err(format!(
                    "the {header_name} header is missing; argument `{argument}` is present"
                ));
            }
            (Some(value), Some(raw)) => {
                let decoded = decode(raw).ok_or_else(|| {
                    format!("the {header_name} header has a malformed base64 value")
                })?;
                if !agrees(&param.json_type, value, &decoded) {
                    return Err(format!(
                        "the {header_name} header does not match argument `{argument}`"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn value_at<'a>(arguments: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(arguments.get(first)?, |node, key| node.get(key))
}

/// Whether a header's text says what the argument `value` is: booleans as
/// `true`/`false`, strings as they are, numbers as written, and an
/// integer property's whole number equal to a plain decimal header
/// (`42` and `42.0` agree).
fn agrees(json_type: &str, value: &Value, header: &str) -> bool {
    match value {
        Value::Bool(flag) => header == if *flag { "true" } else { "false" },
        Value::String(text) => header == text,
        Value::Number(number) => {
            if header == number.to_string() {
                return true;
            }
            json_type == "integer" && whole_numbers_agree(number, header)
        }
        _ => false,
    }
}

fn whole_numbers_agree(number: &serde_json::Number, header: &str) -> bool {
    let (whole, fraction) = header.split_once('.').unwrap_or((header, ""));
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let plain = !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && fraction.bytes().all(|byte| byte == b'0');
    if !plain {
        return false;
    }
    match (
        whole.parse::<i128>(),
        number.as_i64(),
        number.as_u64(),
        number.as_f64(),
    ) {
        (Ok(parsed), Some(value), _, _) => parsed == i128::from(value),
        (Ok(parsed), None, Some(value), _) => parsed == i128::from(value),
        #[allow(clippy::cast_precision_loss)]
        (Ok(parsed), None, None, Some(value)) => value.fract() == 0.0 && value == parsed as f64,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema_with(property: Value) -> Value {
        json!({"type": "object", "properties": {"region": property, "n": {"type": "integer"}}})
    }

    #[test]
    fn marks_on_plain_properties_are_declared() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "limits": {"type": "object", "properties": {
                "count": {"type": "integer", "x-mcp-header": "Count"}}},
        }});
        assert_eq!(
            declared(&schema),
            Ok(vec![
                HeaderParam {
                    path: vec!["limits".into(), "count".into()],
                    name: "Count".into(),
                    json_type: "integer".into()
                },
                HeaderParam {
                    path: vec!["region".into()],
                    name: "Region".into(),
                    json_type: "string".into()
                },
            ])
        );
        assert_eq!(declared(&json!({"type": "object"})), Ok(vec![]));
    }

    #[test]
    fn misplaced_or_malformed_marks_are_refused() {
        for (schema, says) in [
            (
                schema_with(json!({"type": "string", "x-mcp-header": "Bad Name"})),
                "not an HTTP header token",
            ),
            (
                schema_with(json!({"type": "string", "x-mcp-header": ""})),
                "not an HTTP header token",
            ),
            (
                schema_with(json!({"type": "string", "x-mcp-header": 7})),
                "must be a string",
            ),
            (
                schema_with(json!({"type": "array", "x-mcp-header": "Region"})),
                "type string, integer or boolean",
            ),
            (
                schema_with(json!({"x-mcp-header": "Region"})),
                "type string, integer or boolean",
            ),
            (
                json!({"type": "object", "x-mcp-header": "Root"}),
                "not on a property",
            ),
            (
                json!({"type": "object", "properties": {"a": {"type": "array",
                    "items": {"type": "string", "x-mcp-header": "Item"}}}}),
                "not on a property",
            ),
            (
                json!({"anyOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]}),
                "not on a property",
            ),
            (
                json!({"type": "object", "properties": {
                    "a": {"type": "string", "x-mcp-header": "Region"},
                    "b": {"type": "string", "x-mcp-header": "region"}}}),
                "already used",
            ),
        ] {
            let error = declared(&schema).expect_err("refused");
            assert!(error.contains(says), "{schema}: {error}");
        }
    }

    #[test]
    fn headers_must_say_what_the_body_says() {
        let params = declared(&json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "count": {"type": "integer", "x-mcp-header": "Count"},
            "dry": {"type": "boolean", "x-mcp-header": "Dry"},
        }}))
        .expect("declared");
        let run = |arguments: Value, headers: &[(&'static str, &'static str)]| {
            let arguments = arguments.as_object().cloned().expect("object");
            check(
                &params,
                &arguments,
                |name| {
                    headers
                        .iter()
                        .filter(|(header, _)| *header == name)
                        .map(|(_, value)| *value)
                        .collect()
                },
                |raw| (raw != "=?base64?broken?=").then(|| raw.to_owned()),
            )
        };
        let all = [
            ("mcp-param-region", "eu"),
            ("mcp-param-count", "42"),
            ("mcp-param-dry", "true"),
        ];
        assert_eq!(
            run(json!({"region": "eu", "count": 42, "dry": true}), &all),
            Ok(())
        );
        assert_eq!(
            run(
                json!({"region": "eu", "count": 42.0, "dry": true}),
                &[
                    ("mcp-param-region", "eu"),
                    ("mcp-param-count", "42.0"),
                    ("mcp-param-dry", "true")
                ]
            ),
            Ok(())
        );
        assert_eq!(run(json!({"region": null}), &[]), Ok(()));
        for (arguments, headers, says) in [
            (
                json!({"region": "us"}),
                &[("mcp-param-region", "eu")][..],
                "does not match",
            ),
            (json!({"region": "eu"}), &[][..], "is missing"),
            (
                json!({}),
                &[("mcp-param-region", "eu")][..],
                "argument `region` is not",
            ),
            (
                json!({"dry": false}),
                &[("mcp-param-dry", "true")][..],
                "does not match",
            ),
            (
                json!({"count": 41}),
                &[("mcp-param-count", "42")][..],
                "does not match",
            ),
            (
                json!({"region": "eu"}),
                &[("mcp-param-region", "eu"), ("mcp-param-region", "eu")][..],
                "more than once",
            ),
            (
                json!({"region": "eu"}),
                &[("mcp-param-region", "=?base64?broken?=")][..],
                "malformed",
            ),
        ] {
            let error = run(arguments.clone(), headers).expect_err("refused");
            assert!(error.contains(says), "{arguments} {headers:?}: {error}");
        }
    }
}

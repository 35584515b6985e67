//! Rewrites the JSON Schemas `schemars` derives into forms every MCP client's
//! schema check accepts, without changing what they accept:
//!
//! - a boolean sub-schema becomes an object (`true` → `{}`, `false` →
//!   `{"not": {}}`): some clients take every schema for an object. Not
//!   under `additionalProperties` and its kin, where a boolean is the form
//!   every draft and client knows (`additionalProperties: false`);
//! - a type list with `null` (`"type": ["integer", "null"]`, what an
//!   `Option` derives) becomes `anyOf` of the type and `null`: some
//!   clients accept only a single `type`.

use serde_json::{Map, Value, json};

/// Keywords whose value is one sub-schema.
const SCHEMA_KEYWORDS: [&str; 6] = ["items", "not", "if", "then", "else", "contains"];
/// Keywords whose value is one sub-schema, where a boolean stays.
const BOOLEAN_FRIENDLY_KEYWORDS: [&str; 3] = [
    "additionalProperties",
    "additionalItems",
    "unevaluatedProperties",
];
/// Keywords whose value is a list of sub-schemas.
const SCHEMA_LIST_KEYWORDS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keywords whose value maps names to sub-schemas.
const SCHEMA_MAP_KEYWORDS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Annotations that describe the value as a whole: they stay on the outer
/// schema when a type list is split into `anyOf`.
const ANNOTATIONS: [&str; 7] = [
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Rewrites a root schema in place.
pub(crate) fn rewrite(schema: &mut Map<String, Value>) {
    rewrite_object(schema);
}

/// A sub-schema: booleans become objects, objects are rewritten.
fn rewrite_sub_schema(schema: &mut Value) {
    match schema {
        Value::Bool(true) => *schema = json!({}),
        Value::Bool(false) => *schema = json!({ "not": {} }),
        Value::Object(object) => rewrite_object(object),
        _ => {}
    }
}

fn rewrite_object(object: &mut Map<String, Value>) {
    for keyword in SCHEMA_KEYWORDS {
        if let Some(sub) = object.get_mut(keyword) {
            match sub {
                // `items` as a list (older drafts' tuple form).
                Value::Array(list) => list.iter_mut().for_each(rewrite_sub_schema),
                sub => rewrite_sub_schema(sub),
            }
        }
    }
    for keyword in BOOLEAN_FRIENDLY_KEYWORDS {
        if let Some(Value::Object(sub)) = object.get_mut(keyword) {
            rewrite_object(sub);
        }
    }
    for keyword in SCHEMA_LIST_KEYWORDS {
        if let Some(Value::Array(list)) = object.get_mut(keyword) {
            list.iter_mut().for_each(rewrite_sub_schema);
        }
    }
    for keyword in SCHEMA_MAP_KEYWORDS {
        if let Some(Value::Object(map)) = object.get_mut(keyword) {
            map.values_mut().for_each(rewrite_sub_schema);
        }
    }
    split_nullable_type(object);
}

/// `"type": [T, "null"]` → `"anyOf": [{"type": T, ...}, {"type": "null"}]`,
/// with every keyword but the annotations moved into the first branch.
fn split_nullable_type(object: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = object.get("type") else {
        return;
    };
    let [first, second] = types.as_slice() else {
        return;
    };
    let other = match (first.as_str(), second.as_str()) {
        (Some("null"), Some(other)) | (Some(other), Some("null")) if other != "null" => {
            other.to_owned()
        }
        _ => return,
    };
    let mut outer = Map::new();
    for annotation in ANNOTATIONS {
        if let Some(value) = object.remove(annotation) {
            outer.insert(annotation.to_owned(), value);
        }
    }
    let mut non_null = std::mem::take(object);
    non_null.insert("type".to_owned(), Value::String(other));
    outer.insert(
        "anyOf".to_owned(),
        json!([Value::Object(non_null), { "type": "null" }]),
    );
    *object = outer;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(mut schema: Value) -> Value {
        if let Value::Object(object) = &mut schema {
            rewrite(object);
        }
        schema
    }

    #[test]
    fn boolean_sub_schemas_become_objects() {
        let schema = json!({
            "type": "object",
            "properties": {
                "any": true,
                "list": { "type": "array", "items": true },
                "none": false
            },
            "additionalProperties": false
        });
        let schema = rewritten(schema);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "any": {},
                    "list": { "type": "array", "items": {} },
                    "none": { "not": {} }
                },
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn nullable_types_become_any_of_with_annotations_outside() {
        let schema = json!({
            "type": "object",
            "properties": {
                "size": {
                    "description": "Its size in bytes.",
                    "type": ["integer", "null"],
                    "format": "uint64",
                    "minimum": 0
                },
                "tags": { "type": ["array", "null"], "items": true }
            },
            "$defs": { "Inner": { "type": ["null", "string"] } }
        });
        let schema = rewritten(schema);
        assert_eq!(
            schema["properties"]["size"],
            json!({
                "description": "Its size in bytes.",
                "anyOf": [
                    { "type": "integer", "format": "uint64", "minimum": 0 },
                    { "type": "null" }
                ]
            })
        );
        assert_eq!(
            schema["properties"]["tags"],
            json!({ "anyOf": [{ "type": "array", "items": {} }, { "type": "null" }] })
        );
        assert_eq!(
            schema["$defs"]["Inner"],
            json!({ "anyOf": [{ "type": "string" }, { "type": "null" }] })
        );
    }

    #[test]
    fn other_type_lists_and_plain_types_stay() {
        let schema = json!({
            "properties": {
                "either": { "type": ["string", "integer"] },
                "plain": { "type": "string" }
            }
        });
        let before = schema.clone();
        assert_eq!(rewritten(schema), before);
    }
}

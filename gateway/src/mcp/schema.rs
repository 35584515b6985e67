//! Tool arguments and results held to a JSON Schema: the violations, as a
//! client reads them.

use serde_json::Value;

/// Longest schema complaint quoted back to the client, in characters.
const MAX_SCHEMA_MESSAGE_CHARS: usize = 300;

/// Schema violations listed in one error at most.
const MAX_SCHEMA_ERRORS: usize = 20;

/// Each violation as "`/json/pointer`: reason", capped in count and length.
pub fn schema_violations(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .take(MAX_SCHEMA_ERRORS)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            let message = crate::excerpt::excerpt(&error.to_string(), MAX_SCHEMA_MESSAGE_CHARS);
            format!("`{path}`: {message}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_schema_violations_with_their_paths() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n", "m"]});
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let violations = schema_violations(&validator, &json!({"n": "x"}));
        assert_eq!(violations.len(), 2, "{violations:?}");
        assert!(
            violations.iter().any(|v| v.starts_with("`/n`:")),
            "{violations:?}"
        );
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("`/`:") && v.contains("\"m\"")),
            "{violations:?}"
        );
    }
}

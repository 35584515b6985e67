//! The regular expressions a component's schema declares, checked before
//! the schema is compiled. JSON Schema patterns are ECMA-262 regular
//! expressions; jsonschema compiles those it cannot hand to the `regex`
//! crate (backreferences, look-around) with fancy-regex, which also takes
//! Oniguruma's subroutine calls and recursion. Its analysis of a subroutine
//! call sizes a bit set by the group number called, so `\g5555555555555`
//! beside a backreference asks for 694 GB and aborts the process (found by
//! the `tool_arguments` fuzz target). ECMA-262 has neither construct, so a
//! schema using one is refused with the pattern named.

use serde_json::Value;

/// Keywords whose values are data, not schemas: a `pattern` inside them is
/// not a regular expression.
const DATA_KEYWORDS: &[&str] = &["const", "enum", "default", "examples"];

/// The first pattern of `schema` (a `pattern` value or a
/// `patternProperties` key, at any depth) that uses a subroutine call or
/// recursion, with the construct found.
pub(super) fn non_ecma_pattern(schema: &Value) -> Option<(String, &'static str)> {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                if DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                if key == "pattern"
                    && let Value::String(pattern) = value
                    && let Some(construct) = subroutine_construct(pattern)
                {
                    return Some((pattern.clone(), construct));
                }
                if key == "patternProperties"
                    && let Value::Object(patterns) = value
                {
                    for pattern in patterns.keys() {
                        if let Some(construct) = subroutine_construct(pattern) {
                            return Some((pattern.clone(), construct));
                        }
                    }
                }
                if let Some(found) = non_ecma_pattern(value) {
                    return Some(found);
                }
            }
            None
        }
        Value::Array(items) => items.iter().find_map(non_ecma_pattern),
        _ => None,
    }
}

/// The subroutine call or recursion `pattern` uses, if any: `\g…`,
/// `(?R)`, `(?1)`, `(?+1)`, `(?-1)`, `(?&name)` or `(?P>name)`. Escaped
/// characters are skipped, so `\\g` (a backslash, then `g`) is not one.
fn subroutine_construct(pattern: &str) -> Option<&'static str> {
    let bytes = pattern.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => {
                if bytes.get(at + 1) == Some(&b'g') {
                    return Some("a subroutine call (\\g)");
                }
                at += 2;
            }
            b'(' if bytes.get(at + 1) == Some(&b'?') => {
                let after = &bytes[at + 2..];
                match after {
                    [b'R', ..] => return Some("recursion ((?R))"),
                    [b'0'..=b'9', ..] | [b'+' | b'-', b'0'..=b'9', ..] => {
                        return Some("a subroutine call ((?N))");
                    }
                    [b'&', ..] | [b'P', b'>', ..] => {
                        return Some("a subroutine call ((?&name))");
                    }
                    _ => at += 2,
                }
            }
            _ => at += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subroutine_calls_and_recursion_are_found() {
        for pattern in [
            r"(a)\1\g5555555555555",
            r"(a)\1\g<5555555555555>",
            r"(a)\1\g'1'",
            r"(a)(?R)",
            r"(a)(?1)",
            r"(a)(?-1)",
            r"(?<x>a)(?&x)",
            r"(?P<x>a)(?P>x)",
            r"[\g]",
        ] {
            assert!(subroutine_construct(pattern).is_some(), "{pattern}");
        }
    }

    #[test]
    fn ecma_patterns_pass() {
        for pattern in [
            r"^[a-z]+$",
            r"(a)\1",
            r"\\g",
            r"(?:a)(?=b)(?!c)(?<=d)(?<!e)(?<name>f)\k<name>",
            r"(?i)g",
            r"(?-i)g",
            r"\d{1,3}(\.\d{1,3}){3}",
        ] {
            assert_eq!(subroutine_construct(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn patterns_are_found_at_any_depth_but_not_in_data() {
        let hostile = r"(a)\1\g5555555555555";
        let nested = json!({
            "type": "object",
            "properties": {"s": {"type": "array", "items": {"type": "string", "pattern": hostile}}}
        });
        assert_eq!(
            non_ecma_pattern(&nested).map(|(pattern, _)| pattern),
            Some(hostile.to_owned())
        );
        let keyed = json!({"type": "object", "patternProperties": {hostile: {}}});
        assert!(non_ecma_pattern(&keyed).is_some());
        let data = json!({
            "type": "object",
            "default": {"pattern": hostile},
            "properties": {"pattern": {"type": "string"}}
        });
        assert_eq!(non_ecma_pattern(&data), None);
    }
}

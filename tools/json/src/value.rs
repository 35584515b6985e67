//! Serializing jaq values as JSON, keeping object keys in their order.

use std::borrow::Cow;

use jaq_json::{Num, Val};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// How deeply arrays and objects may nest in a value this tool returns: the
/// same bound `serde_json` puts on parsing, so output is always readable.
pub const MAX_DEPTH: usize = 128;

/// A jaq value serialized as JSON, as jq prints it: object keys in insertion
/// order (or sorted by `sort_keys`), non-finite numbers as `null`.
#[derive(Debug, Clone, Copy)]
pub struct Json<'a> {
    /// The value.
    pub val: &'a Val,
    /// Sort object keys (by their UTF-8 bytes) instead of keeping their order.
    pub sort_keys: bool,
}

impl Json<'_> {
    fn child<'b>(&self, val: &'b Val) -> Json<'b> {
        Json {
            val,
            sort_keys: self.sort_keys,
        }
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.val {
            Val::Null => serializer.serialize_unit(),
            Val::Bool(b) => serializer.serialize_bool(*b),
            Val::Num(n) => serialize_num(n, serializer),
            Val::TStr(bytes) | Val::BStr(bytes) => {
                serializer.serialize_str(&String::from_utf8_lossy(bytes))
            }
            Val::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&self.child(item))?;
                }
                seq.end()
            }
            Val::Obj(entries) => {
                let mut entries: Vec<(Cow<'_, str>, &Val)> =
                    entries.iter().map(|(k, v)| (key(k), v)).collect();
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                }
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in &entries {
                    map.serialize_entry(k, &self.child(v))?;
                }
                map.end()
            }
        }
    }
}

/// jaq objects may have keys of any type; JSON's are strings. Non-string
/// keys are written as their JSON text.
fn key(key: &Val) -> Cow<'_, str> {
    match key {
        Val::TStr(bytes) | Val::BStr(bytes) => String::from_utf8_lossy(bytes),
        other => Cow::Owned(other.to_string()),
    }
}

fn serialize_num<S: Serializer>(num: &Num, serializer: S) -> Result<S::Ok, S::Error> {
    match num {
        Num::Int(i) => match i64::try_from(*i) {
            Ok(i) => serializer.serialize_i64(i),
            Err(_) => serialize_f64(num.to_string().parse().ok(), serializer),
        },
        Num::Float(f) => serialize_f64(Some(*f), serializer),
        Num::BigInt(_) | Num::Dec(_) => serialize_f64(num.to_string().parse().ok(), serializer),
    }
}

fn serialize_f64<S: Serializer>(f: Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    match f {
        Some(f) if f.is_finite() => serializer.serialize_f64(f),
        _ => serializer.serialize_unit(),
    }
}

/// Whether `val` nests arrays and objects at most `limit` levels deep.
/// Recursion is bounded by `limit`, not by the value.
pub fn within_depth(val: &Val, limit: usize) -> bool {
    match val {
        Val::Arr(items) => limit > 0 && items.iter().all(|v| within_depth(v, limit - 1)),
        Val::Obj(entries) => {
            limit > 0
                && entries
                    .iter()
                    .all(|(k, v)| within_depth(k, limit - 1) && within_depth(v, limit - 1))
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(json: &str) -> Val {
        let value: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        serde::Deserialize::deserialize(value).unwrap_or_else(|e| panic!("{e}"))
    }

    fn to_json(val: &Val, sort_keys: bool) -> String {
        serde_json::to_string(&Json { val, sort_keys }).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keeps_key_order_unless_sorting() {
        let v = jaq_json::read::parse_single(br#"{"b": 1, "a": [true, null, "x"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(to_json(&v, false), r#"{"b":1,"a":[true,null,"x"]}"#);
        assert_eq!(to_json(&v, true), r#"{"a":[true,null,"x"],"b":1}"#);
    }

    #[test]
    fn numbers() {
        assert_eq!(
            to_json(&val("[1, -2, 1.5, 1e300]"), false),
            "[1,-2,1.5,1e+300]"
        );
        assert_eq!(to_json(&Val::Num(Num::Float(f64::NAN)), false), "null");
        assert_eq!(to_json(&Val::Num(Num::Float(f64::INFINITY)), false), "null");
    }

    #[test]
    fn depth_is_bounded() {
        assert!(within_depth(&val("[[[1]]]"), 3));
        assert!(!within_depth(&val("[[[1]]]"), 2));
        assert!(within_depth(&val("1"), 0));
    }
}

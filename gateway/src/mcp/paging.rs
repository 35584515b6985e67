//! Pagination of listings with opaque cursors: a cursor names the offset of
//! the next page in one listing (`tools`, `prompts`, …) and nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::error::McpError;
use super::jsonrpc;

/// The page of `items` that `cursor` names (the first without one), as the
/// result object `{<key>: [...], "nextCursor": ...}`.
pub fn page<'a>(
    key: &'static str,
    items: impl ExactSizeIterator<Item = &'a Value>,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Value, McpError> {
    let total = items.len();
    let start = match cursor {
        None => 0,
        Some(cursor) => decode(key, cursor)
            .filter(|offset| *offset <= total)
            .ok_or_else(|| McpError::invalid_params("`cursor` is not one this server issued"))?,
    };
    let end = (start + page_size).min(total);
    let listed: Vec<Value> = items.skip(start).take(end - start).cloned().collect();
    let mut result = jsonrpc::object([(key, Value::Array(listed))]);
    if end < total {
        result["nextCursor"] = json!(encode(key, end));
    }
    Ok(result)
}

/// The page of the `items` `visible` says a caller may see, each as
/// `listing` shows it.
pub fn visible_page<T>(
    key: &'static str,
    items: &[std::sync::Arc<T>],
    visible: impl Fn(&T) -> bool,
    listing: impl Fn(&T) -> &Value,
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Value, McpError> {
    let shown: Vec<&Value> = items
        .iter()
        .filter(|item| visible(item))
        .map(|item| listing(item))
        .collect();
    page(key, shown.into_iter(), cursor, page_size)
}

fn encode(key: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{key}:{offset}"))
}

fn decode(key: &str, cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&bytes)
        .ok()?
        .strip_prefix(key)?
        .strip_prefix(':')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage_and_other_listings() {
        assert_eq!(decode("tools", &encode("tools", 42)), Some(42));
        assert_eq!(decode("tools", "not-a-cursor"), None);
        assert_eq!(decode("tools", &URL_SAFE_NO_PAD.encode("tools:x")), None);
        assert_eq!(decode("prompts", &encode("tools", 1)), None);
    }

    #[test]
    fn pages_end_without_a_cursor() {
        let items: Vec<Value> = (0..5).map(|n| json!(n)).collect();
        let first = page("prompts", items.iter(), None, 2).expect("first");
        assert_eq!(first["prompts"], json!([0, 1]));
        let next = first["nextCursor"].as_str().expect("cursor").to_owned();
        let second = page("prompts", items.iter(), Some(&next), 4).expect("second");
        assert_eq!(second["prompts"], json!([2, 3, 4]));
        assert!(second.get("nextCursor").is_none());
        assert!(page("prompts", items.iter(), Some("junk"), 2).is_err());
    }
}

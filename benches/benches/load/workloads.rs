//! The `tools/call` requests each server is measured on: one trivial tool,
//! and two that do real work on a sizeable input. Inputs are generated from
//! a fixed seed, so every server and every run sees the same bytes.

use std::fmt::Write as _;

use anyhow::bail;
use serde_json::json;
use warden_benches::mcp_client::Template;

/// Size of the text `text.find` searches.
const FIND_TEXT_BYTES: usize = 10 * 1024;
/// Size of the document `json.query` filters.
const QUERY_DOCUMENT_BYTES: usize = 100 * 1024;

/// One kind of call.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name, as in `WARDEN_LOAD_WORKLOADS`.
    pub name: &'static str,
    /// What the table says it is.
    pub label: String,
    /// The `tools/call` request.
    pub request: Template,
}

impl Workload {
    /// `count`, `find` or `query`.
    pub fn named(name: &str) -> anyhow::Result<Self> {
        let (name, tool, label, arguments) = match name {
            "count" => (
                "count",
                "text.count",
                "text.count (43 B)".to_owned(),
                json!({ "text": "the quick brown fox jumps over the lazy dog" }),
            ),
            "find" => (
                "find",
                "text.find",
                format!("text.find regex ({} KB)", FIND_TEXT_BYTES / 1024),
                json!({
                    "text": words(FIND_TEXT_BYTES),
                    "pattern": r"\b\w+ing\b",
                    // Above the number of matches, so the whole text is searched.
                    "max_matches": 1000,
                }),
            ),
            "query" => (
                "query",
                "json.query",
                format!("json.query jq ({} KB)", QUERY_DOCUMENT_BYTES / 1024),
                json!({
                    "document": catalog(QUERY_DOCUMENT_BYTES),
                    "query": "[.items[] | select(.price > 500 and \
                              ([.tags[] | select(. == \"sale\")] | length > 0))] \
                              | group_by(.category) \
                              | map({category: .[0].category, count: length, \
                                     total: (map(.price) | add)})",
                }),
            ),
            other => bail!("unknown workload {other} (count, find, query)"),
        };
        let params = json!({ "name": tool, "arguments": arguments });
        Ok(Self {
            name,
            label,
            request: Template::new("tools/call", &params),
        })
    }

    /// Bytes of one request body, give or take the id's digits.
    pub fn request_bytes(&self) -> usize {
        self.request.bytes()
    }
}

/// A small xorshift generator: the same inputs on every run, no crate.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "while", "sleeping", "river",
    "stone", "and", "a", "of", "running", "light", "in", "green", "field", "to", "bright",
    "morning", "sky", "under", "old", "tree", "with", "many", "silent", "birds", "singing",
];

/// About `bytes` of words, ten to a line.
fn words(bytes: usize) -> String {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut text = String::with_capacity(bytes + 16);
    let mut on_line = 0;
    while text.len() < bytes {
        text.push_str(rng.pick(WORDS));
        on_line += 1;
        text.push(if on_line % 10 == 0 { '\n' } else { ' ' });
    }
    text
}

const CATEGORIES: &[&str] = &[
    "books", "garden", "kitchen", "music", "sports", "tools", "toys",
];
const TAGS: &[&str] = &["new", "sale", "gift", "eco", "bulk", "rare"];

/// A catalog of items of about `bytes` when serialised.
fn catalog(bytes: usize) -> serde_json::Value {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut items = Vec::new();
    let mut size = 0;
    while size < bytes {
        let id = items.len();
        let tags: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(TAGS)).collect();
        let mut name = String::new();
        let _ = write!(name, "{} {} {id}", rng.pick(WORDS), rng.pick(WORDS));
        let item = json!({
            "id": id,
            "name": name,
            "category": rng.pick(CATEGORIES),
            "price": rng.below(1000),
            "tags": tags,
            "stock": { "warehouse": rng.pick(CATEGORIES), "count": rng.below(500) },
        });
        size += item.to_string().len() + 1;
        items.push(item);
    }
    json!({ "items": items })
}

//! `text.find` and `text.replace`.

use regex::{Captures, Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

use crate::REGEX_SIZE_LIMIT_BYTES;

/// Most matches `text.find` returns, whatever `max_matches` asks.
pub const MAX_FIND_MATCHES: u32 = 10_000;

/// Arguments of `text.replace`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplaceArgs {
    /// The text to rewrite.
    pub text: String,
    /// A regular expression (Rust regex syntax).
    pub pattern: String,
    /// What each match becomes; `$1`, `${name}` insert capture groups, `$$`
    /// a literal dollar sign.
    pub replacement: String,
    /// Replace at most this many matches, from the start; 0 replaces all.
    #[serde(default)]
    pub limit: u32,
}

/// What `text.replace` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Replaced {
    /// The rewritten text.
    pub text: String,
    /// How many matches were replaced.
    pub replacements: u64,
}

/// Arguments of `text.find`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FindArgs {
    /// The text to search.
    pub text: String,
    /// A regular expression (Rust regex syntax).
    pub pattern: String,
    /// Return at most this many matches (1 to 10000).
    #[serde(default = "default_max_matches")]
    #[schemars(range(min = 1, max = 10_000))]
    pub max_matches: u32,
}

fn default_max_matches() -> u32 {
    100
}

/// What `text.find` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Found {
    /// The matches, in order.
    pub matches: Vec<Match>,
    /// True when there were more matches than `max_matches`.
    pub truncated: bool,
}

/// One match.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Match {
    /// Byte offset of the match's start in the UTF-8 text.
    pub start: u64,
    /// Byte offset just past the match's end.
    pub end: u64,
    /// The 1-based line the match starts on.
    pub line: u64,
    /// The matched text.
    pub text: String,
}

/// Compiles `pattern` with size limits, so a pattern whose program would be
/// huge (`a{1000}{1000}`) is refused with a clear message.
pub fn compile(pattern: &str) -> Result<Regex, ToolError> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT_BYTES)
        .dfa_size_limit(REGEX_SIZE_LIMIT_BYTES)
        .build()
        .map_err(|error| ToolError::new(format!("invalid pattern: {error}")))
}

pub(crate) fn replace(args: ReplaceArgs) -> Result<Replaced, ToolError> {
    let regex = compile(&args.pattern)?;
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let mut replacements = 0u64;
    let text = regex.replacen(&args.text, limit, |caps: &Captures<'_>| {
        replacements += 1;
        let mut out = String::new();
        caps.expand(&args.replacement, &mut out);
        out
    });
    Ok(Replaced {
        text: text.into_owned(),
        replacements,
    })
}

pub(crate) fn find(args: FindArgs) -> Result<Found, ToolError> {
    let regex = compile(&args.pattern)?;
    let max = usize::try_from(args.max_matches.clamp(1, MAX_FIND_MATCHES)).unwrap_or(1);
    let text = args.text.as_str();
    let mut matches = Vec::new();
    let mut truncated = false;
    // Line counting walks the text once: from the previous match's start to
    // this one's.
    let (mut line, mut counted_to) = (1u64, 0usize);
    for m in regex.find_iter(text) {
        if matches.len() == max {
            truncated = true;
            break;
        }
        line += newlines(&text.as_bytes()[counted_to..m.start()]);
        counted_to = m.start();
        matches.push(Match {
            start: offset(m.start()),
            end: offset(m.end()),
            line,
            text: m.as_str().to_owned(),
        });
    }
    Ok(Found { matches, truncated })
}

fn newlines(bytes: &[u8]) -> u64 {
    offset(bytes.iter().filter(|&&b| b == b'\n').count())
}

fn offset(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_all(text: &str, pattern: &str, max: u32) -> Result<Found, ToolError> {
        find(FindArgs {
            text: text.into(),
            pattern: pattern.into(),
            max_matches: max,
        })
    }

    fn replace_all(text: &str, pattern: &str, with: &str, limit: u32) -> Replaced {
        let args = ReplaceArgs {
            text: text.into(),
            pattern: pattern.into(),
            replacement: with.into(),
            limit,
        };
        replace(args).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn finds_with_offsets_and_lines() {
        let found = find_all("cat\ndog cat\n\ncatalog", r"cat\w*", 100);
        let found = found.unwrap_or_else(|e| panic!("{e}"));
        let summary: Vec<(u64, u64, u64, &str)> = found
            .matches
            .iter()
            .map(|m| (m.start, m.end, m.line, m.text.as_str()))
            .collect();
        assert_eq!(
            summary,
            [(0, 3, 1, "cat"), (8, 11, 2, "cat"), (13, 20, 4, "catalog")]
        );
        assert!(!found.truncated);
    }

    #[test]
    fn offsets_are_bytes() {
        let found = find_all("é x", "x", 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.matches[0].start, 3);
    }

    #[test]
    fn truncates_at_max_matches() {
        let found = find_all("aaaa", "a", 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.matches.len(), 3);
        assert!(found.truncated);
        let found = find_all("aaa", "a", 3).unwrap_or_else(|e| panic!("{e}"));
        assert!(!found.truncated);
    }

    #[test]
    fn max_matches_defaults_to_100() {
        let args: FindArgs = serde_json::from_str(r#"{"text": "", "pattern": "x"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(args.max_matches, 100);
    }

    #[test]
    fn replaces_all_or_up_to_limit() {
        let r = replace_all("a1 b22 c333", r"(\d+)", "<$1>", 0);
        assert_eq!((r.text.as_str(), r.replacements), ("a<1> b<22> c<333>", 3));
        let r = replace_all("a1 b22 c333", r"\d+", "#", 2);
        assert_eq!((r.text.as_str(), r.replacements), ("a# b# c333", 2));
        let r = replace_all("no digits", r"\d", "#", 0);
        assert_eq!((r.text.as_str(), r.replacements), ("no digits", 0));
        let r = replace_all(
            "John Smith",
            r"(?P<first>\w+) (?P<last>\w+)",
            "${last}, $first",
            0,
        );
        assert_eq!(r.text, "Smith, John");
    }

    #[test]
    fn invalid_patterns_are_tool_errors() {
        let error = find_all("x", "(unclosed", 1).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.starts_with("invalid pattern:")));
    }

    #[test]
    fn huge_patterns_hit_the_size_limit() {
        let error = find_all("x", r"\w{1000}{1000}", 1)
            .err()
            .map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(error.contains("size limit"), "{error}");
    }
}

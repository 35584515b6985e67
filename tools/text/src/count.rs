//! `text.count`.

use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

/// Arguments of `text.count`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CountArgs {
    /// The text to count.
    pub text: String,
}

/// What `text.count` returns.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Counts {
    /// Unicode scalar values.
    pub chars: u64,
    /// Runs of non-whitespace characters.
    pub words: u64,
    /// Lines: a final line without a newline counts; an empty text has none.
    pub lines: u64,
    /// Bytes of the UTF-8 encoding.
    pub bytes: u64,
}

pub(crate) fn count(args: CountArgs) -> Result<Counts, ToolError> {
    let text = args.text;
    Ok(Counts {
        chars: len(text.chars().count()),
        words: len(text.split_whitespace().count()),
        lines: len(text.lines().count()),
        bytes: len(text.len()),
    })
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(text: &str) -> Counts {
        let args = CountArgs { text: text.into() };
        count(args).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn counts_ascii() {
        let expected = Counts {
            chars: 14,
            words: 3,
            lines: 2,
            bytes: 14,
        };
        assert_eq!(counts("one two\nthree\n"), expected);
    }

    #[test]
    fn chars_are_not_bytes() {
        let c = counts("héllo wörld");
        assert_eq!((c.chars, c.bytes, c.words, c.lines), (11, 13, 2, 1));
    }

    #[test]
    fn empty_text_is_all_zero() {
        assert_eq!(
            counts(""),
            Counts {
                chars: 0,
                words: 0,
                lines: 0,
                bytes: 0
            }
        );
    }

    #[test]
    fn whitespace_runs_are_not_words() {
        assert_eq!(counts("  a \t\r\n  b  ").words, 2);
    }
}

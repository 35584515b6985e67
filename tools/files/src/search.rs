//! `files.search`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::Path;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

use crate::walk::walk;
use crate::{fs_error, resolve};

/// Cap on a compiled pattern's size, and on each lazy DFA's cache, in bytes.
pub const REGEX_SIZE_LIMIT_BYTES: usize = 1 << 20;
/// Most matches `files.search` returns, whatever `max_matches` asks.
pub const MAX_SEARCH_MATCHES: u32 = 10_000;
/// Longest line returned, in characters; longer lines are cut with `…`.
pub const MAX_LINE_CHARS: usize = 1000;
/// A file whose first this-many bytes contain a NUL byte is taken as binary
/// and skipped.
const BINARY_SNIFF_BYTES: usize = 8192;

/// Arguments of `files.search`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// A file, or a directory to search recursively, e.g. `/data` (relative
    /// paths are under `/data`).
    pub path: String,
    /// A regular expression (Rust regex syntax) matched against each line.
    pub pattern: String,
    /// Return at most this many matching lines (1 to 10000).
    #[serde(default = "default_max_matches")]
    #[schemars(range(min = 1, max = 10_000))]
    pub max_matches: u32,
}

fn default_max_matches() -> u32 {
    100
}

/// What `files.search` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Found {
    /// Matching lines, in path order then line order.
    pub matches: Vec<LineMatch>,
    /// True when there were more than `max_matches` matching lines.
    pub truncated: bool,
}

/// One matching line.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LineMatch {
    /// The file.
    pub path: String,
    /// The 1-based line number.
    pub line_number: u64,
    /// The line, without its line ending, cut at 1000 characters.
    pub line: String,
}

pub(crate) fn search(args: SearchArgs) -> Result<Found, ToolError> {
    let regex = RegexBuilder::new(&args.pattern)
        .size_limit(REGEX_SIZE_LIMIT_BYTES)
        .dfa_size_limit(REGEX_SIZE_LIMIT_BYTES)
        .build()
        .map_err(|error| ToolError::new(format!("invalid pattern: {error}")))?;
    let root = resolve(&args.path);
    let mut search = Search {
        regex,
        max: usize::try_from(args.max_matches.clamp(1, MAX_SEARCH_MATCHES)).unwrap_or(1),
        found: Found {
            matches: Vec::new(),
            truncated: false,
        },
    };
    let metadata = std::fs::metadata(&root).map_err(|e| fs_error("search", &root, &e))?;
    if metadata.is_dir() {
        // Unreadable entries below the root are skipped, not fatal.
        let visit = |walked: crate::walk::Walked| {
            if walked.file_type.is_file() {
                // A file that cannot be read is skipped like an unreadable dir.
                let _ = search.file(&walked.path);
            }
            search.flow()
        };
        walk(&root, true, visit, |_, _| ControlFlow::Continue(()))
            .map_err(|(path, error)| fs_error("search", &path, &error))?;
    } else {
        search
            .file(&root)
            .map_err(|error| fs_error("read", &root, &error))?;
    }
    Ok(search.found)
}

struct Search {
    regex: Regex,
    max: usize,
    found: Found,
}

impl Search {
    fn flow(&self) -> ControlFlow<()> {
        if self.found.truncated {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn file(&mut self, path: &Path) -> std::io::Result<()> {
        let mut reader = BufReader::new(File::open(path)?);
        if reader
            .fill_buf()?
            .iter()
            .take(BINARY_SNIFF_BYTES)
            .any(|&b| b == 0)
        {
            return Ok(());
        }
        let mut buf = Vec::new();
        let mut line_number = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            line_number += 1;
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            if !self.regex.is_match(line) {
                continue;
            }
            if self.found.matches.len() == self.max {
                self.found.truncated = true;
                return Ok(());
            }
            self.found.matches.push(LineMatch {
                path: path.display().to_string(),
                line_number,
                line: cut(line),
            });
        }
    }
}

fn cut(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::test_dir;

    fn run(path: &Path, pattern: &str, max_matches: u32) -> Result<Found, ToolError> {
        search(SearchArgs {
            path: path.display().to_string(),
            pattern: pattern.into(),
            max_matches,
        })
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        let dir = test_dir(name);
        fs::create_dir_all(dir.join("sub")).unwrap_or_else(|e| panic!("{e}"));
        let write = |p: &str, s: &[u8]| fs::write(dir.join(p), s).unwrap_or_else(|e| panic!("{e}"));
        write("a.txt", b"alpha\nTODO: one\r\nbeta\n");
        write("sub/b.md", b"# title\nnothing\nTODO two");
        write("blob.bin", b"TODO\0binary");
        dir
    }

    #[test]
    fn finds_lines_across_a_tree() {
        let dir = fixture("tree");
        let found = run(&dir, "^TODO", 100).unwrap_or_else(|e| panic!("{e}"));
        let root = dir.display().to_string();
        let summary: Vec<(String, u64, &str)> = found
            .matches
            .iter()
            .map(|m| {
                (
                    m.path.replacen(&root, "", 1),
                    m.line_number,
                    m.line.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("/a.txt".into(), 2, "TODO: one"),
                ("/sub/b.md".into(), 3, "TODO two")
            ]
        );
        assert!(!found.truncated, "the binary file is skipped");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn searches_a_single_file_and_truncates() {
        let dir = fixture("single");
        let found = run(&dir.join("a.txt"), "[a-z]", 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.matches.len(), 2);
        assert!(found.truncated);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(MAX_LINE_CHARS + 5);
        assert_eq!(cut(&long).chars().count(), MAX_LINE_CHARS + 1);
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn errors() {
        let dir = fixture("errors");
        let error = run(&dir, "(", 10)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("invalid pattern:"), "{error}");
        let missing = dir.join("missing");
        let error = run(&missing, "x", 10)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with(&format!("cannot search `{}`", missing.display())),
            "{error}"
        );
        let _ = fs::remove_dir_all(dir);
    }
}

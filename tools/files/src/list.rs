//! `files.list`.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

use crate::walk::{Walked, walk};
use crate::{fs_error, resolve};

/// Most entries `files.list` returns, whatever `max_entries` asks.
pub const MAX_LIST_ENTRIES: u32 = 10_000;

/// Arguments of `files.list`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListArgs {
    /// The directory to list, e.g. `/data` or `/data/reports` (relative paths
    /// are under `/data`).
    pub path: String,
    /// Also list everything below subdirectories.
    #[serde(default)]
    pub recursive: bool,
    /// Return at most this many entries (1 to 10000).
    #[serde(default = "default_max_entries")]
    #[schemars(range(min = 1, max = 10_000))]
    pub max_entries: u32,
}

fn default_max_entries() -> u32 {
    1000
}

/// What `files.list` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing {
    /// The entries, sorted by name within each directory, each directory's
    /// contents right after it when recursive.
    pub entries: Vec<Entry>,
    /// True when there were more than `max_entries` entries.
    pub truncated: bool,
}

/// One directory entry.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Entry {
    /// The entry's path.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes, for files only.
    pub size: Option<u64>,
}

/// The kind of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else (a socket, a device...).
    Other,
}

pub(crate) fn list(args: ListArgs) -> Result<Listing, ToolError> {
    let root = resolve(&args.path);
    let max = usize::try_from(args.max_entries.clamp(1, MAX_LIST_ENTRIES)).unwrap_or(1);
    let mut entries = Vec::new();
    let mut truncated = false;
    let visit = |walked: Walked| {
        if entries.len() == max {
            truncated = true;
            return ControlFlow::Break(());
        }
        let kind = kind(&walked.file_type);
        // Only a file's size means anything; a failed stat leaves it unknown.
        let size = match kind {
            EntryKind::File => std::fs::symlink_metadata(&walked.path)
                .ok()
                .map(|m| m.len()),
            _ => None,
        };
        entries.push(Entry {
            path: walked.path.display().to_string(),
            kind,
            size,
        });
        ControlFlow::Continue(())
    };
    walk(&root, args.recursive, visit, |_, error| {
        ControlFlow::Break(error)
    })
    .map_err(|(path, error)| fs_error("list", &path, &error))?;
    Ok(Listing { entries, truncated })
}

fn kind(file_type: &std::fs::FileType) -> EntryKind {
    if file_type.is_symlink() {
        EntryKind::Symlink
    } else if file_type.is_dir() {
        EntryKind::Dir
    } else if file_type.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::test_dir;

    fn list_dir(dir: &Path, recursive: bool, max_entries: u32) -> Result<Listing, ToolError> {
        list(ListArgs {
            path: dir.display().to_string(),
            recursive,
            max_entries,
        })
    }

    fn summary(listing: &Listing, root: &Path) -> Vec<(String, EntryKind, Option<u64>)> {
        let root = root.display().to_string();
        listing
            .entries
            .iter()
            .map(|e| (e.path.replacen(&root, "", 1), e.kind, e.size))
            .collect()
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        let dir = test_dir(name);
        let write = |p: &str, s: &str| {
            fs::write(dir.join(p), s).unwrap_or_else(|e| panic!("write {p}: {e}"));
        };
        fs::create_dir_all(dir.join("sub/deeper")).unwrap_or_else(|e| panic!("{e}"));
        write("b.txt", "bb");
        write("a.txt", "a");
        write("sub/c.txt", "ccc");
        write("sub/deeper/d.txt", "dddd");
        dir
    }

    #[test]
    fn lists_one_level_sorted() {
        let dir = fixture("flat");
        let listing = list_dir(&dir, false, 100).unwrap_or_else(|e| panic!("{e}"));
        use EntryKind::*;
        assert_eq!(
            summary(&listing, &dir),
            [
                ("/a.txt".into(), File, Some(1)),
                ("/b.txt".into(), File, Some(2)),
                ("/sub".into(), Dir, None),
            ]
        );
        assert!(!listing.truncated);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn lists_recursively_in_pre_order() {
        let dir = fixture("recursive");
        let listing = list_dir(&dir, true, 100).unwrap_or_else(|e| panic!("{e}"));
        let paths: Vec<String> = summary(&listing, &dir).into_iter().map(|s| s.0).collect();
        assert_eq!(
            paths,
            [
                "/a.txt",
                "/b.txt",
                "/sub",
                "/sub/c.txt",
                "/sub/deeper",
                "/sub/deeper/d.txt"
            ]
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn truncates() {
        let dir = fixture("truncated");
        let listing = list_dir(&dir, true, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(listing.entries.len(), 2);
        assert!(listing.truncated);
        let _ = fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_listed_not_followed() {
        let dir = fixture("symlink");
        std::os::unix::fs::symlink("/", dir.join("sub/root"))
            .unwrap_or_else(|e| panic!("symlink: {e}"));
        let listing = list_dir(&dir.join("sub"), true, 100).unwrap_or_else(|e| panic!("{e}"));
        let links: Vec<&Entry> = listing
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Symlink)
            .collect();
        assert_eq!(links.len(), 1);
        assert_eq!(
            listing.entries.len(),
            4,
            "sub: c.txt, deeper, deeper/d.txt, root"
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_missing_directory_names_the_path() {
        let dir = test_dir("missing").join("nowhere");
        let error = list_dir(&dir, false, 10).err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(
            error.starts_with(&format!("cannot list `{}`: ", dir.display())),
            "{error}"
        );
    }
}

//! `files`: a Warden tool component that lists, reads, searches and writes
//! files in the directories the host preopens.
//!
//! Paths are guest paths. Warden's default configuration preopens a data
//! directory at `/data`, so `/data/notes.txt` names a file in it; a relative
//! path resolves against [`DATA_DIR`]. The tool never decides what may be
//! reached: the WASI host does, and anything outside the preopens (or a write
//! to a read-only preopen) fails with an OS error that the tool returns as a
//! tool error naming the path.
//!
//! Directory walks do not follow symbolic links.
//!
//! Besides its tools, the component serves `/data` as MCP resources: the
//! regular files under it (the first 100 in path order) are listed as
//! `file:///data/<path>` resources with a MIME type guessed from the
//! extension, their size and modification time; the resource template
//! `file:///data/{+path}` reads any file under `/data` (UTF-8 as text, else
//! binary, at most 4 MiB) and completes its paths; and the prompt
//! `files.summarize` embeds a file and asks the model to summarize it.

mod list;
mod read;
mod resources;
mod search;
mod walk;

use std::io;
use std::path::{Path, PathBuf};

use warden_tool::{Tool, ToolError, Toolbox};

pub use list::{Entry, EntryKind, ListArgs, Listing};
pub use read::{ReadArgs, ReadOutput, WriteArgs, Written};
pub use resources::{FILE_TEMPLATE, MAX_LISTED_RESOURCES, MAX_RESOURCE_BYTES, SummarizeArgs};
pub use search::{Found, LineMatch, SearchArgs};

/// The directory relative paths resolve against: where Warden's default
/// configuration preopens the data directory.
pub const DATA_DIR: &str = "/data";

/// Resolves a path argument: absolute paths as given, relative ones (and the
/// empty path) against [`DATA_DIR`].
pub fn resolve(path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(DATA_DIR).join(path)
    }
}

/// A tool error for a failed filesystem operation, e.g.
/// "cannot read `/data/x`: No such file or directory (os error 44)".
pub(crate) fn fs_error(action: &str, path: &Path, error: &io::Error) -> ToolError {
    ToolError::new(format!("cannot {action} `{}`: {error}", path.display()))
}

/// The component's tools, resources, resource template and prompt.
pub fn toolbox() -> Toolbox {
    Toolbox::new()
        .tool(
            Tool::new(
                "files.list",
                "Lists the entries of a directory (recursively if asked) with \
                 their kind and size. Paths are like /data/notes; relative \
                 paths are under /data. Symbolic links are listed, not followed.",
                list::list,
            )
            .title("List files")
            .read_only()
            .idempotent()
            .open_world(false),
        )
        .tool(
            Tool::new(
                "files.read",
                "Reads a file as UTF-8 text (invalid bytes become U+FFFD), from \
                 a byte offset, at most max_bytes at a time; `eof` says whether \
                 the end was reached. To continue, call again with offset + \
                 bytes_read.",
                read::read,
            )
            .title("Read a file")
            .read_only()
            .idempotent()
            .open_world(false),
        )
        .tool(
            Tool::new(
                "files.search",
                "Searches a file, or every file under a directory, for lines \
                 matching a regular expression (Rust regex syntax) and returns \
                 each match's path, line number and line. Binary files are \
                 skipped.",
                search::search,
            )
            .title("Search files")
            .read_only()
            .idempotent()
            .open_world(false),
        )
        .tool(
            Tool::new(
                "files.write",
                "Writes text to a file, replacing it (or appending if asked) \
                 and creating it if needed. Works only in directories the \
                 gateway opened read-write.",
                read::write,
            )
            .title("Write a file")
            .destructive()
            .open_world(false),
        )
        .resources_from(resources::list_resources)
        .resource_template(resources::file_template())
        .prompt(resources::summarize_prompt())
}

warden_tool::export_toolbox!(toolbox);

/// A fresh, empty directory under the system temp dir for a test.
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let unique = format!(
        "warden-files-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(unique);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_under_data() {
        assert_eq!(resolve("notes.txt"), Path::new("/data/notes.txt"));
        assert_eq!(resolve(""), Path::new("/data"));
        assert_eq!(resolve("/data/a/b"), Path::new("/data/a/b"));
        assert_eq!(resolve("/elsewhere"), Path::new("/elsewhere"));
    }

    #[test]
    fn annotations() {
        let list = toolbox().list();
        let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["files.list", "files.read", "files.search", "files.write"]
        );
        for info in &list[..3] {
            assert_eq!(info.annotations.read_only, Some(true), "{}", info.name);
        }
        assert_eq!(list[3].annotations.destructive, Some(true));
        assert_eq!(list[3].annotations.read_only, Some(false));
    }

    #[test]
    fn a_full_round_trip_through_the_toolbox() {
        let dir = test_dir("toolbox");
        let file = dir.join("note.txt");
        let path = serde_json::Value::from(file.display().to_string());
        let call = |name: &str, args: serde_json::Value| toolbox().call(name, &args.to_string());

        let wrote = call(
            "files.write",
            serde_json::json!({"path": path, "content": "hello\n"}),
        );
        assert_eq!(
            wrote.structured_value(),
            Some(serde_json::json!({"bytes_written": 6}))
        );
        let read = call("files.read", serde_json::json!({"path": path}));
        let read = read.structured_value().unwrap_or_default();
        assert_eq!(read["content"], "hello\n");
        assert_eq!(read["eof"], true);

        let missing = call("files.read", serde_json::json!({"path": dir.join("nope")}));
        assert!(missing.is_error);
        let message = missing.first_text().unwrap_or_default();
        assert!(message.starts_with("cannot open `"), "{message}");
        assert!(message.contains("nope"), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

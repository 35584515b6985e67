//! `files.read` and `files.write`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

use crate::{fs_error, resolve};

/// Most bytes one `files.read` call returns, whatever `max_bytes` asks.
pub const MAX_READ_BYTES: u32 = 1 << 20;

/// Arguments of `files.read`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadArgs {
    /// The file to read, e.g. `/data/notes.txt` (relative paths are under
    /// `/data`).
    pub path: String,
    /// Byte offset to start at.
    #[serde(default)]
    pub offset: u64,
    /// Read at most this many bytes (1 to 1048576).
    #[serde(default = "default_max_bytes")]
    #[schemars(range(min = 1, max = 1_048_576))]
    pub max_bytes: u32,
}

fn default_max_bytes() -> u32 {
    65_536
}

/// What `files.read` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadOutput {
    /// The bytes read, as UTF-8; invalid sequences (including a character
    /// cut at either end of the range) become U+FFFD.
    pub content: String,
    /// How many bytes were read.
    pub bytes_read: u64,
    /// True when the read reached the end of the file.
    pub eof: bool,
}

/// Arguments of `files.write`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WriteArgs {
    /// The file to write, e.g. `/data/out.txt` (relative paths are under
    /// `/data`). Its directory must exist.
    pub path: String,
    /// The text to write.
    pub content: String,
    /// Append to the file instead of replacing it.
    #[serde(default)]
    pub append: bool,
}

/// What `files.write` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Written {
    /// How many bytes were written.
    pub bytes_written: u64,
}

pub(crate) fn read(args: ReadArgs) -> Result<ReadOutput, ToolError> {
    let path = resolve(&args.path);
    let mut file = File::open(&path).map_err(|e| fs_error("open", &path, &e))?;
    let len = file
        .metadata()
        .map_err(|e| fs_error("stat", &path, &e))?
        .len();
    if args.offset > 0 {
        file.seek(SeekFrom::Start(args.offset))
            .map_err(|e| fs_error("seek in", &path, &e))?;
    }
    let max = args.max_bytes.clamp(1, MAX_READ_BYTES);
    let mut bytes = Vec::with_capacity(usize::try_from(max.min(65_536)).unwrap_or(0));
    file.take(u64::from(max))
        .read_to_end(&mut bytes)
        .map_err(|e| fs_error("read", &path, &e))?;
    let bytes_read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    Ok(ReadOutput {
        content: String::from_utf8_lossy(&bytes).into_owned(),
        bytes_read,
        eof: args.offset.saturating_add(bytes_read) >= len,
    })
}

pub(crate) fn write(args: WriteArgs) -> Result<Written, ToolError> {
    let path = resolve(&args.path);
    let mut options = OpenOptions::new();
    options.create(true);
    if args.append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| fs_error("open", &path, &e))?;
    file.write_all(args.content.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| fs_error("write", &path, &e))?;
    Ok(Written {
        bytes_written: u64::try_from(args.content.len()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::test_dir;

    fn read_file(path: &Path, offset: u64, max_bytes: u32) -> ReadOutput {
        let args = ReadArgs {
            path: path.display().to_string(),
            offset,
            max_bytes,
        };
        read(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn write_file(path: &Path, content: &str, append: bool) -> Result<Written, ToolError> {
        write(WriteArgs {
            path: path.display().to_string(),
            content: content.into(),
            append,
        })
    }

    #[test]
    fn reads_in_chunks_until_eof() {
        let dir = test_dir("read");
        let file = dir.join("f.txt");
        fs::write(&file, "hello world").unwrap_or_else(|e| panic!("{e}"));

        let first = read_file(&file, 0, 5);
        assert_eq!(
            (first.content.as_str(), first.bytes_read, first.eof),
            ("hello", 5, false)
        );
        let rest = read_file(&file, 5, 100);
        assert_eq!(
            (rest.content.as_str(), rest.bytes_read, rest.eof),
            (" world", 6, true)
        );
        let past = read_file(&file, 50, 100);
        assert_eq!(
            (past.content.as_str(), past.bytes_read, past.eof),
            ("", 0, true)
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let dir = test_dir("lossy");
        let file = dir.join("f.bin");
        fs::write(&file, [b'a', 0xff, b'b']).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_file(&file, 0, 10).content, "a\u{fffd}b");
        // "é" is two bytes: cutting it in half shows a replacement character.
        fs::write(&file, "é").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_file(&file, 0, 1).content, "\u{fffd}");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn writes_and_appends() {
        let dir = test_dir("write");
        let file = dir.join("out.txt");
        let written = write_file(&file, "one\n", false).map(|w| w.bytes_written);
        assert_eq!(written.ok(), Some(4));
        assert!(write_file(&file, "two\n", true).is_ok());
        assert_eq!(
            fs::read_to_string(&file).ok().as_deref(),
            Some("one\ntwo\n")
        );
        assert!(write_file(&file, "three\n", false).is_ok());
        assert_eq!(fs::read_to_string(&file).ok().as_deref(), Some("three\n"));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn write_errors_name_the_path() {
        let dir = test_dir("write-error");
        let file = dir.join("missing-dir").join("out.txt");
        let error = write_file(&file, "x", false).err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(
            error.starts_with(&format!("cannot open `{}`: ", file.display())),
            "{error}"
        );
        let _ = fs::remove_dir_all(dir);
    }
}

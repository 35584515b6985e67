//! The granted directory as MCP resources: the files under [`DATA_DIR`]
//! (the first [`MAX_LISTED_RESOURCES`]) listed, the template
//! `file:///data/{+path}` that reads any file under it, completion of its
//! paths, and the `files.summarize` prompt that embeds a file.
//!
//! Every function here works under a base directory so that tests can use a
//! temporary one; what the toolbox serves uses [`DATA_DIR`]. URIs always
//! name `/data`, whatever the base.

use std::fs::{self, File};
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{
    Content, Prompt, PromptError, PromptMessage, Resource, ResourceError, ResourcePart,
    ResourceTemplate,
};

use crate::DATA_DIR;
use crate::walk::{Walked, walk};

/// Most files listed as resources.
pub const MAX_LISTED_RESOURCES: usize = 100;

/// Largest file a resource read (or the `files.summarize` prompt) returns:
/// 4 MiB.
pub const MAX_RESOURCE_BYTES: u64 = 4 << 20;

/// The template naming every file under `/data`.
pub const FILE_TEMPLATE: &str = "file:///data/{+path}";

/// A file's URI is this followed by its percent-encoded path relative to
/// `/data`.
const URI_PREFIX: &str = "file:///data/";

/// Arguments of the `files.summarize` prompt.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SummarizeArgs {
    /// The file, relative to /data.
    pub path: String,
    /// What to focus on (optional).
    pub focus: Option<String>,
}

/// The resources `resources_from` lists: files under [`DATA_DIR`].
pub(crate) fn list_resources() -> Vec<Resource> {
    list_under(Path::new(DATA_DIR))
}

/// The `file:///data/{+path}` template, reading under [`DATA_DIR`].
pub(crate) fn file_template() -> ResourceTemplate {
    template_under(PathBuf::from(DATA_DIR))
}

/// The `files.summarize` prompt, reading under [`DATA_DIR`].
pub(crate) fn summarize_prompt() -> Prompt {
    prompt_under(PathBuf::from(DATA_DIR))
}

/// The regular files under `base`, recursively, in path order (component by
/// component, as the walk visits them), at most [`MAX_LISTED_RESOURCES`].
/// Symbolic links are neither listed nor followed; a file whose path is not
/// UTF-8 is skipped. A missing or unreadable `base` lists nothing, and an
/// unreadable directory below it is skipped.
fn list_under(base: &Path) -> Vec<Resource> {
    let mut resources = Vec::new();
    let visit = |walked: Walked| {
        if walked.file_type.is_file()
            && let Some(resource) = listed(base, &walked.path)
        {
            resources.push(resource);
        }
        if resources.len() >= MAX_LISTED_RESOURCES {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    // The only error returned is one reading `base` itself, before anything
    // was visited: then there is nothing to list.
    let _unreadable = walk(base, true, visit, |_, _| ControlFlow::Continue(()));
    resources
}

/// The listing of file `path` under `base`: its URI, name, MIME type, and
/// its size and modification time when a stat tells them.
fn listed(base: &Path, path: &Path) -> Option<Resource> {
    let relative = relative_path(base, path)?;
    let name = path.file_name()?.to_str()?;
    let mut resource = Resource::listed(uri_of(&relative), name).mime_type(mime_type(&relative));
    if let Ok(metadata) = fs::symlink_metadata(path) {
        resource = resource.size(metadata.len());
        if let Some(time) = metadata
            .modified()
            .ok()
            .and_then(unix_seconds)
            .and_then(rfc3339)
        {
            resource = resource.last_modified(time);
        }
    }
    Some(resource)
}

/// `path` relative to `base`, its components joined with `/`; `None` when
/// it is not under `base` or not UTF-8.
fn relative_path(base: &Path, path: &Path) -> Option<String> {
    let parts = path
        .strip_prefix(base)
        .ok()?
        .components()
        .map(|component| match component {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect::<Option<Vec<&str>>>()?;
    Some(parts.join("/"))
}

/// The URI of the file at `relative` (a path under `/data`).
fn uri_of(relative: &str) -> String {
    format!("{URI_PREFIX}{}", encode_path(relative))
}

/// Percent-encodes every byte of `path` but the unreserved characters of
/// RFC 3986 and `/`: spaces, `%`, `#`, `?` and non-ASCII bytes included.
fn encode_path(path: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    encoded
}

/// The MIME type a file's extension suggests.
fn mime_type(path: &str) -> &'static str {
    let extension = Path::new(path)
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("md") => "text/markdown",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("toml") => "application/toml",
        Some("html") => "text/html",
        Some("csv") => "text/csv",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// Seconds since the UNIX epoch (negative before it, rounded down).
fn unix_seconds(time: SystemTime) -> Option<i64> {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => {
            let before = before.duration();
            let seconds = i64::try_from(before.as_secs()).ok()?;
            Some(if before.subsec_nanos() > 0 {
                -seconds - 1
            } else {
                -seconds
            })
        }
    }
}

/// `seconds` since the UNIX epoch as an RFC 3339 UTC timestamp
/// (`2023-11-14T22:13:20Z`); `None` outside the years 0 to 9999.
fn rfc3339(seconds: i64) -> Option<String> {
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        return None;
    }
    let second_of_day = seconds.rem_euclid(86_400);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    ))
}

/// The proleptic Gregorian (year, month, day) `days` after 1970-01-01
/// (Howard Hinnant's `civil_from_days`). `days` stays far from overflow: it
/// comes from an `i64` of seconds divided by 86 400.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Why a file could not be loaded; becomes a [`ResourceError`] or a
/// [`PromptError`].
#[derive(Debug)]
enum LoadError {
    /// The path is not one this component serves (or names a directory).
    Invalid(String),
    /// There is no such file.
    NotFound(String),
    /// Reading it failed, or it is too large.
    Failed(String),
}

impl From<LoadError> for ResourceError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Invalid(message) => Self::Invalid(message),
            LoadError::NotFound(message) => Self::NotFound(message),
            LoadError::Failed(message) => Self::Failed(message),
        }
    }
}

impl From<LoadError> for PromptError {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Invalid(message) | LoadError::NotFound(message) => Self::Invalid(message),
            LoadError::Failed(message) => Self::Failed(message),
        }
    }
}

/// Refuses a path that is empty, absolute, or has a `.` or `..` segment.
fn check_path(path: &str) -> Result<(), LoadError> {
    if path.is_empty() {
        return Err(LoadError::Invalid(
            "the path is empty: name a file under /data".to_owned(),
        ));
    }
    if path.starts_with('/') {
        return Err(LoadError::Invalid(format!(
            "`{path}` is absolute: name a file relative to /data"
        )));
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(LoadError::Invalid(format!(
            "`{path}` has a `.` or `..` segment: name a file under /data"
        )));
    }
    if path.contains('\0') {
        return Err(LoadError::Invalid(format!(
            "`{path}` holds a NUL character"
        )));
    }
    Ok(())
}

/// The bytes of file `path` (relative to `base`), at most
/// [`MAX_RESOURCE_BYTES`], and the full path it read.
fn load(base: &Path, path: &str) -> Result<(PathBuf, Vec<u8>), LoadError> {
    check_path(path)?;
    let full = base.join(path);
    let metadata = fs::metadata(&full).map_err(|error| io_error(&full, &error))?;
    if metadata.is_dir() {
        return Err(LoadError::Invalid(format!(
            "`{}` is a directory",
            full.display()
        )));
    }
    if metadata.len() > MAX_RESOURCE_BYTES {
        return Err(too_large(&full, metadata.len()));
    }
    let file = File::open(&full).map_err(|error| io_error(&full, &error))?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_RESOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| io_error(&full, &error))?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > MAX_RESOURCE_BYTES {
        // It grew since the stat.
        return Err(too_large(&full, read));
    }
    Ok((full, bytes))
}

fn io_error(path: &Path, error: &io::Error) -> LoadError {
    let message = format!("cannot read `{}`: {error}", path.display());
    if error.kind() == io::ErrorKind::NotFound {
        LoadError::NotFound(message)
    } else {
        LoadError::Failed(message)
    }
}

fn too_large(path: &Path, bytes: u64) -> LoadError {
    LoadError::Failed(format!(
        "`{}` is {bytes} bytes, more than the 4 MiB a resource read returns; \
         use files.read with an offset",
        path.display()
    ))
}

/// The `file:///data/{+path}` template, reading under `base`.
fn template_under(base: PathBuf) -> ResourceTemplate {
    let completion_base = base.clone();
    ResourceTemplate::new(FILE_TEMPLATE, "file", move |uri, variables| {
        read_under(&base, uri, variables.get("path").unwrap_or_default())
    })
    .title("A file in /data")
    .description(
        "Any file under the granted directory /data, by its path relative to \
         it (file:///data/notes/todo.md). UTF-8 files are text, others binary; \
         at most 4 MiB (use files.read for larger files).",
    )
    .complete("path", move |typed, _| {
        complete_under(&completion_base, typed)
    })
}

/// Reads the resource `uri`, file `path` under `base`: its text when it is
/// UTF-8, else its bytes.
fn read_under(base: &Path, uri: &str, path: &str) -> Result<Vec<ResourcePart>, ResourceError> {
    let (_, bytes) = load(base, path)?;
    let mime = Some(mime_type(path));
    Ok(vec![match String::from_utf8(bytes) {
        Ok(text) => ResourcePart::text(uri, mime, text),
        Err(binary) => ResourcePart::blob(uri, mime, binary.into_bytes()),
    }])
}

/// The entries of the directory `typed` is in (up to its last `/`) whose
/// path relative to `base` starts with `typed`, directories with a trailing
/// `/`, sorted. Not recursive; nothing for a directory that cannot be read
/// or a path `load` would refuse.
fn complete_under(base: &Path, typed: &str) -> Vec<String> {
    let dir = match typed.rfind('/') {
        Some(slash) => typed.split_at(slash + 1).0,
        None => "",
    };
    if dir.starts_with('/')
        || dir
            .split('/')
            .any(|segment| segment == "." || segment == "..")
    {
        return Vec::new();
    }
    let mut values = Vec::new();
    let visit = |walked: Walked| {
        if let Some(name) = walked.path.file_name().and_then(|name| name.to_str()) {
            let slash = if walked.file_type.is_dir() { "/" } else { "" };
            let value = format!("{dir}{name}{slash}");
            if value.starts_with(typed) {
                values.push(value);
            }
        }
        ControlFlow::Continue(())
    };
    let _unreadable = walk(&base.join(dir), false, visit, |_, _| {
        ControlFlow::Continue(())
    });
    values.sort();
    values
}

/// The `files.summarize` prompt, reading under `base`.
fn prompt_under(base: PathBuf) -> Prompt {
    let completion_base = base.clone();
    Prompt::new(
        "files.summarize",
        "Asks the model to summarize a file from the granted directory, with \
         the file embedded.",
        move |args: SummarizeArgs| summarize_under(&base, &args),
    )
    .title("Summarize a file")
    .complete("path", move |typed, _| {
        complete_under(&completion_base, typed)
    })
}

/// The file as an embedded resource, then the request to summarize it.
fn summarize_under(base: &Path, args: &SummarizeArgs) -> Result<Vec<PromptMessage>, PromptError> {
    let (full, bytes) = load(base, &args.path)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        PromptError::Invalid(format!(
            "`{}` is not text (not valid UTF-8)",
            full.display()
        ))
    })?;
    let mut request = String::from("Summarize the file above");
    if let Some(focus) = args.focus.as_deref().map(str::trim)
        && !focus.is_empty()
    {
        request.push_str(" focusing on ");
        request.push_str(focus);
    }
    request.push('.');
    Ok(vec![
        PromptMessage::user(Content::resource_text(
            uri_of(&args.path),
            Some(mime_type(&args.path)),
            text,
        )),
        PromptMessage::user(Content::text(request)),
    ])
}

#[cfg(test)]
mod tests;

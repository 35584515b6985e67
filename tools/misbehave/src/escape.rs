//! Attempts to reach outside the sandbox: files, network, environment.

use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::schemars::{self, JsonSchema};

/// Arguments of `misbehave.read_file`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PathArgs {
    /// Any path, used exactly as given.
    pub path: String,
}

/// What `misbehave.read_file` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileContent {
    /// The file's content as UTF-8 (invalid bytes become U+FFFD).
    pub content: String,
}

/// Arguments of `misbehave.write_file`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WriteFileArgs {
    /// Any path, used exactly as given.
    pub path: String,
    /// The text to write.
    pub content: String,
}

/// What `misbehave.write_file` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FileWritten {
    /// How many bytes were written.
    pub bytes_written: u64,
}

/// Arguments of `misbehave.connect`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConnectArgs {
    /// Where to connect, as `host:port`.
    pub address: String,
}

/// What `misbehave.connect` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Connected {
    /// Always true: a failed connection is a tool error.
    pub connected: bool,
}

/// Arguments of `misbehave.env`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EnvArgs {
    /// The variable's name.
    pub name: String,
}

/// What `misbehave.env` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnvValue {
    /// The variable's value, or null when it is not set.
    pub value: Option<String>,
}

pub(crate) fn read_file(args: PathArgs) -> Result<FileContent, ToolError> {
    let bytes = std::fs::read(&args.path)
        .map_err(|e| ToolError::new(format!("cannot read `{}`: {e}", args.path)))?;
    Ok(FileContent {
        content: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

pub(crate) fn write_file(args: WriteFileArgs) -> Result<FileWritten, ToolError> {
    std::fs::write(&args.path, &args.content)
        .map_err(|e| ToolError::new(format!("cannot write `{}`: {e}", args.path)))?;
    Ok(FileWritten {
        bytes_written: u64::try_from(args.content.len()).unwrap_or(u64::MAX),
    })
}

/// Arguments of `misbehave.symlink`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SymlinkArgs {
    /// What the link points to, as given (`../../..`, `/etc`).
    pub target: String,
    /// Where to create the link.
    pub link: String,
}

/// What `misbehave.symlink` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Linked {
    /// Always true: a refused link is a tool error.
    pub linked: bool,
}

pub(crate) fn symlink(args: SymlinkArgs) -> Result<Linked, ToolError> {
    make_symlink(&args.target, &args.link).map_err(|error| {
        ToolError::new(format!(
            "cannot link `{}` to `{}`: {error}",
            args.link, args.target
        ))
    })?;
    Ok(Linked { linked: true })
}

/// WASI's `symlink-at` in the granted directory that holds `link` (std has
/// no stable way to make a link on WASI).
#[cfg(target_os = "wasi")]
fn make_symlink(target: &str, link: &str) -> Result<(), String> {
    let link = std::path::Path::new(link);
    for (dir, guest) in wasip2::filesystem::preopens::get_directories() {
        if let Ok(rest) = link.strip_prefix(&guest) {
            let rest = rest.to_str().ok_or("the link's path is not UTF-8")?;
            return dir
                .symlink_at(target, rest)
                .map_err(|code| format!("{code:?}"));
        }
    }
    Err("no granted directory holds the link".to_owned())
}

#[cfg(not(target_os = "wasi"))]
fn make_symlink(target: &str, link: &str) -> Result<(), String> {
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, link);
    #[cfg(not(unix))]
    let made: std::io::Result<()> = Err(std::io::Error::other("no symbolic links here"));
    made.map_err(|error| error.to_string())
}

pub(crate) fn connect(args: ConnectArgs) -> Result<Connected, ToolError> {
    std::net::TcpStream::connect(&args.address)
        .map_err(|e| ToolError::new(format!("cannot connect to `{}`: {e}", args.address)))?;
    Ok(Connected { connected: true })
}

pub(crate) fn env(args: EnvArgs) -> Result<EnvValue, ToolError> {
    let value = std::env::var_os(&args.name).map(|v| v.to_string_lossy().into_owned());
    Ok(EnvValue { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_any_path() {
        let path = std::env::temp_dir().join(format!("warden-misbehave-{}", std::process::id()));
        let path = path.display().to_string();
        let written = write_file(WriteFileArgs {
            path: path.clone(),
            content: "secret".into(),
        });
        assert_eq!(written.map(|w| w.bytes_written).ok(), Some(6));
        let read = read_file(PathArgs { path: path.clone() }).map(|r| r.content);
        assert_eq!(read.ok().as_deref(), Some("secret"));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn read_errors_carry_the_os_error() {
        let error = read_file(PathArgs {
            path: "/definitely/not/here".into(),
        });
        let error = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            error.starts_with("cannot read `/definitely/not/here`: "),
            "{error}"
        );
    }

    #[test]
    fn connects_or_says_why_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0");
        let address = listener
            .as_ref()
            .ok()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .unwrap_or_default();
        let connected = connect(ConnectArgs { address }).map(|c| c.connected);
        assert_eq!(connected.ok(), Some(true));
        drop(listener);

        let error = connect(ConnectArgs {
            address: "not an address".into(),
        });
        assert!(error.is_err());
    }

    #[test]
    fn reads_env_vars() {
        let missing = env(EnvArgs {
            name: "WARDEN_MISBEHAVE_SURELY_UNSET".into(),
        });
        assert_eq!(missing.map(|v| v.value).ok(), Some(None));
        let path = env(EnvArgs {
            name: "PATH".into(),
        })
        .map(|v| v.value.is_some());
        assert_eq!(path.ok(), Some(true));
    }
}

//! [`ToolError`]: the one error type a tool function returns.

use std::fmt;

/// A tool's own failure, reported to the client as a result with
/// `isError: true` and the message as its text content.
///
/// It is not a host failure: the call completed and the model reads the
/// message, so write it for the model (say what was wrong and, where it helps,
/// what would work). Build one with [`ToolError::new`], or let `?` convert any
/// [`std::error::Error`]; its message then joins the error and its sources with
/// `": "`, so add context yourself where the bare error would not say which
/// input was at fault (a path, a field).
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message the client will see.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ToolError").field(&self.message).finish()
    }
}

// `ToolError` deliberately does not implement `std::error::Error`, so this
// blanket conversion does not overlap `From<T> for T` (the `anyhow` pattern).
impl<E: std::error::Error> From<E> for ToolError {
    fn from(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self { message }
    }
}

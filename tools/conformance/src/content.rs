//! Tools that return fixed content or report logs and progress while they
//! run.

use std::time::Duration;

use warden_tool::{Content, LogLevel, NoArgs, ToolError};

/// A valid 1x1 PNG of one opaque red pixel.
pub const RED_PIXEL_PNG: &[u8] = include_bytes!("fixtures/red-pixel.png");

/// A valid WAV file (8 kHz, mono, 16-bit PCM) of one silent sample.
pub const SILENCE_WAV: &[u8] = include_bytes!("fixtures/silence.wav");

/// The message `test_error_handling` fails with, as the suite words it.
pub const INTENTIONAL_ERROR: &str = "This tool intentionally returns an error for testing";

/// The pause between a tool's reports: the suite wants them spread over the
/// call, not sent in one burst at its end.
const STEP: Duration = Duration::from_millis(50);

pub fn simple_text(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::text(
        "This is a simple text response for testing.",
    )])
}

pub fn image(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::image(RED_PIXEL_PNG, "image/png")])
}

pub fn audio(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::audio(SILENCE_WAV, "audio/wav")])
}

pub fn embedded_resource(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::resource_text(
        "test://embedded-resource",
        Some("text/plain"),
        "This is an embedded resource content.",
    )])
}

pub fn multiple_content_types(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![
        Content::text("Multiple content types test:"),
        Content::image(RED_PIXEL_PNG, "image/png"),
        Content::resource_text(
            "test://mixed-content-resource",
            Some("application/json"),
            r#"{"test":"data","value":123}"#,
        ),
    ])
}

pub fn with_logging(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    warden_tool::log(LogLevel::Info, "Tool execution started");
    std::thread::sleep(STEP);
    warden_tool::log(LogLevel::Info, "Tool processing data");
    std::thread::sleep(STEP);
    warden_tool::log(LogLevel::Info, "Tool execution completed");
    Ok(vec![Content::text(
        "Tool with logging executed successfully",
    )])
}

/// Logs at every level from debug to error: a client that set no log level
/// for the request must receive none of them.
pub fn logging_levels(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    for (level, name) in [
        (LogLevel::Debug, "debug"),
        (LogLevel::Info, "info"),
        (LogLevel::Warning, "warning"),
        (LogLevel::Error, "error"),
    ] {
        warden_tool::log(level, &format!("a {name} message"));
    }
    Ok(vec![Content::text("Logged four messages")])
}

pub fn error_handling(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Err(ToolError::new(INTENTIONAL_ERROR))
}

pub fn with_progress(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    const TOTAL: f64 = 100.0;
    for (index, done) in [0.0, 50.0, TOTAL].into_iter().enumerate() {
        if index > 0 {
            std::thread::sleep(STEP);
        }
        let message = format!("Completed step {done} of {TOTAL}");
        warden_tool::progress(done, Some(TOTAL), Some(&message));
    }
    Ok(vec![Content::text(
        "Progress reported: 0, 50 and 100 of 100",
    )])
}

pub fn reconnection(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    // The suite's fixture waits this long for the client to come back after
    // it closed the stream; the pause keeps the call's timing alike.
    std::thread::sleep(2 * STEP);
    Ok(vec![Content::text(
        "Reconnection test completed successfully.",
    )])
}

//! `misbehave`: a Warden tool component that breaks the rules on purpose.
//!
//! Test-only. Each tool attempts one breach (a busy loop, unbounded memory or
//! recursion, a panic, a flood of output or logs, reaching outside the
//! sandbox, a result that violates its own schema...) so the gateway's tests
//! can prove the breach is contained and reported with the right reason.
//! Never configure it in a real deployment.

mod ask;
mod escape;
mod fetch;
mod runaway;
mod served;

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{CallResult, Content, LogLevel, NoArgs, Tool, ToolError, Toolbox};

pub use ask::{Answers, AskArgs, AskKind, Question};
pub use escape::{ConnectArgs, EnvArgs, PathArgs, SymlinkArgs, WriteFileArgs};
pub use fetch::{Attempt, HttpArgs, HttpOutcome};
pub use runaway::{
    BytesArgs, CountArgs, ExitArgs, GrowThenArgs, PanicArgs, ReportsArgs, SleepArgs,
};
pub use served::{HUGE_BYTES, LISTS_ENV};

/// Arguments of `misbehave.progress`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StepsArgs {
    /// How many steps to report.
    pub steps: u32,
    /// How long each step takes, in milliseconds (0 by default).
    #[serde(default)]
    pub step_ms: u32,
}

/// What `misbehave.progress` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Steps {
    /// How many steps were reported.
    pub steps: u32,
}

/// Arguments of `misbehave.echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EchoArgs {
    /// Any JSON value.
    pub value: serde_json::Value,
    /// A label that clients of revision 2026-07-28 also send as the
    /// `Mcp-Param-Label` header, so proxies can route on it.
    #[serde(default)]
    #[schemars(extend("x-mcp-header" = "Label"))]
    pub label: String,
}

/// Result of `misbehave.echo`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Echo {
    /// The value given.
    pub value: serde_json::Value,
}

/// Calls this instance has served. Starts at a value other than zero, so an
/// instance whose memory was wrongly zeroed (rather than restored to the
/// component's initial image) shows too.
static CALLS: AtomicU64 = AtomicU64::new(REMEMBER_START);

/// What `misbehave.remember` finds in its call counter on a fresh instance.
pub const REMEMBER_START: u64 = 41;

/// What `misbehave.remember` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Remembered {
    /// The counter's value before this call: always the initial value when
    /// every call gets a fresh instance.
    pub calls_before: u64,
}

fn remember(_: NoArgs) -> Result<Remembered, ToolError> {
    Ok(Remembered {
        calls_before: CALLS.fetch_add(1, Ordering::Relaxed),
    })
}

/// The output schema `misbehave.bad_output` declares (and then violates).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Declared {
    /// Promised to be a non-negative integer.
    pub count: u64,
}

fn progress(args: StepsArgs) -> Result<Steps, ToolError> {
    let total = f64::from(args.steps);
    for step in 1..=args.steps {
        let message = format!("step {step} of {}", args.steps);
        warden_tool::progress(f64::from(step), Some(total), Some(&message));
        warden_tool::log(LogLevel::Info, &message);
        std::thread::sleep(std::time::Duration::from_millis(u64::from(args.step_ms)));
    }
    Ok(Steps { steps: args.steps })
}

fn echo(args: EchoArgs) -> Result<Echo, ToolError> {
    Ok(Echo { value: args.value })
}

/// Returns structured content that does not conform to the declared output
/// schema: the one deliberately dishonest tool in the repository.
fn bad_output(_: NoArgs) -> CallResult {
    CallResult::structured(&serde_json::json!({ "count": "not a number" }))
}

/// Arguments of `misbehave.invalid_result`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct InvalidResultArgs {
    /// Which rule of MCP's to break: `array_structured` (structured
    /// content that is an array), `mime_crlf` (an image whose MIME type
    /// carries a header line) or `script_uri` (a `javascript:` resource).
    pub kind: String,
}

/// A result MCP does not allow, whatever the tool declares.
fn invalid_result(args: InvalidResultArgs) -> CallResult {
    match args.kind.as_str() {
        "array_structured" => CallResult::structured(&serde_json::json!([1, 2, 3])),
        "mime_crlf" => CallResult::from_content(vec![Content::image(
            vec![0_u8; 4],
            "image/png\r\nX-Injected: 1",
        )]),
        "script_uri" => CallResult::from_content(vec![Content::resource_text(
            "javascript:alert(1)",
            Some("text/plain"),
            "hi",
        )]),
        other => CallResult::error(format!("unknown kind `{other}`")),
    }
}

/// The component's tools.
pub fn toolbox() -> Toolbox {
    let tools = Toolbox::new()
        .tool(Tool::with_content(
            "misbehave.loop",
            "Spins in a busy loop forever without calling the host. Proves \
             fuel and epoch deadlines stop a runaway call.",
            runaway::spin,
        ))
        .tool(Tool::with_content(
            "misbehave.alloc",
            "Allocates and touches 1 MiB blocks until memory runs out. Proves \
             the linear memory cap.",
            runaway::alloc,
        ))
        .tool(Tool::with_content(
            "misbehave.recurse",
            "Recurses without bound until the stack overflows. Proves stack \
             exhaustion is a trap, not a crash.",
            runaway::recurse,
        ))
        .tool(Tool::with_content(
            "misbehave.panic",
            "Panics with the given message. Proves a guest panic becomes a \
             trap carrying the message.",
            runaway::panic,
        ))
        .tool(Tool::new(
            "misbehave.grow_then",
            "Tries to reserve the given number of bytes without aborting when \
             refused, then panics or returns. Proves a refused memory.grow is \
             reported as what it led to.",
            runaway::grow_then,
        ))
        .tool(Tool::with_content(
            "misbehave.exit",
            "Exits its instance with the given status instead of returning. \
             Proves an exit is reported as one, with its status.",
            runaway::exit,
        ))
        .tool(Tool::new(
            "misbehave.stdout",
            "Prints the given number of bytes to stdout in 4 KiB chunks, then \
             returns. Proves captured stdout is bounded.",
            runaway::stdout,
        ))
        .tool(Tool::new(
            "misbehave.log_flood",
            "Sends the given number of info log messages to the host. Proves \
             the log message limit.",
            runaway::log_flood,
        ))
        .tool(Tool::with_content(
            "misbehave.huge_output",
            "Returns one text item of the given number of bytes. Proves the \
             output size limit.",
            runaway::huge_output,
        ))
        .tool(Tool::new(
            "misbehave.read_file",
            "Tries to read any path as given (../etc/passwd, /etc/passwd, a \
             symlink out of a preopen). Returns the content, or the OS error \
             as a tool error. Proves filesystem confinement.",
            escape::read_file,
        ))
        .tool(Tool::new(
            "misbehave.write_file",
            "Tries to write text to any path as given. Proves read-only \
             preopens and confinement.",
            escape::write_file,
        ))
        .tool(Tool::new(
            "misbehave.symlink",
            "Tries to create a symbolic link, target and place as given. \
             Proves guests cannot plant links for the host to follow.",
            escape::symlink,
        ))
        .tool(Tool::new(
            "misbehave.connect",
            "Tries to open a TCP connection to host:port. Proves outbound \
             network is denied unless allowed.",
            escape::connect,
        ))
        .tool(Tool::new(
            "misbehave.env",
            "Reads an environment variable. Proves only granted variables are \
             visible.",
            escape::env,
        ))
        .tool(Tool::new(
            "misbehave.sleep",
            "Sleeps for the given number of milliseconds inside a host call. \
             Proves the wall-clock timeout reaches a guest blocked in the host.",
            runaway::sleep,
        ))
        .tool(
            Tool::raw(
                "misbehave.bad_output",
                "Declares an output schema (an integer `count`) and returns \
                 structured content that violates it. Proves the gateway \
                 validates structured output.",
                bad_output,
            )
            .declare_output_schema::<Declared>(),
        )
        .tool(Tool::raw(
            "misbehave.invalid_result",
            "Returns a result MCP does not allow (structured content that is \
             not an object, a MIME type with a line break, a script URI), \
             without declaring an output schema. Proves the gateway checks \
             results itself.",
            invalid_result,
        ))
        .tool(Tool::new(
            "misbehave.progress",
            "Reports progress for each of the given number of steps and logs \
             one info line per step. Proves progress and log forwarding.",
            progress,
        ))
        .tool(Tool::new(
            "misbehave.progress_flood",
            "Sends the given number of progress reports as fast as the host \
             takes them, without logging. Proves a burst of progress cannot \
             crowd out the call's result.",
            runaway::progress_flood,
        ))
        .tool(Tool::new(
            "misbehave.ask",
            "Sends the given requests to the client (sample, elicit) one \
             after another, exactly as given, and returns each answer or \
             error. Proves the gateway's handling of requests to the client.",
            ask::ask,
        ))
        .tool(Tool::new(
            "misbehave.remember",
            "Increments a counter in the instance's memory and returns its \
             previous value. Proves that nothing a call wrote survives into \
             the next call's instance.",
            remember,
        ))
        .tool(
            Tool::new(
                "misbehave.echo",
                "Returns the given JSON value unchanged. Used by concurrency \
                 tests.",
                echo,
            )
            .read_only()
            .idempotent(),
        )
        .tool(Tool::new(
            "misbehave.http",
            "Sends an outbound HTTP request to any URL, with any method and \
             headers, repeated and following redirects on request; returns \
             each answer or error with its own headers and environment. \
             Proves the outbound allowlist, the address checks, the limits \
             and that injected secrets stay in the host.",
            fetch::http,
        ));
    served::serve(tools)
}

warden_tool::export_toolbox!(toolbox);

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::toolbox;

    fn call(name: &str, args: Value) -> warden_tool::CallResult {
        toolbox().call(name, &args.to_string())
    }

    #[test]
    fn lists_every_breach() {
        let names: Vec<String> = toolbox().list().into_iter().map(|t| t.name).collect();
        assert_eq!(
            names,
            [
                "misbehave.loop",
                "misbehave.alloc",
                "misbehave.recurse",
                "misbehave.panic",
                "misbehave.grow_then",
                "misbehave.exit",
                "misbehave.stdout",
                "misbehave.log_flood",
                "misbehave.huge_output",
                "misbehave.read_file",
                "misbehave.write_file",
                "misbehave.symlink",
                "misbehave.connect",
                "misbehave.env",
                "misbehave.sleep",
                "misbehave.bad_output",
                "misbehave.invalid_result",
                "misbehave.progress",
                "misbehave.progress_flood",
                "misbehave.ask",
                "misbehave.remember",
                "misbehave.echo",
                "misbehave.http",
            ]
        );
    }

    #[test]
    fn bad_output_violates_its_declared_schema() {
        let info = toolbox()
            .list()
            .into_iter()
            .find(|t| t.name == "misbehave.bad_output");
        let schema = info.and_then(|t| t.output_schema).unwrap_or_default();
        let schema: Value = serde_json::from_str(&schema).unwrap_or_default();
        assert_eq!(schema["properties"]["count"]["type"], "integer");
        let result = call("misbehave.bad_output", json!({}));
        assert!(!result.is_error);
        assert_eq!(
            result.structured_value(),
            Some(json!({"count": "not a number"}))
        );
    }

    #[test]
    fn echo_returns_the_value() {
        let value = json!({"n": 1, "list": [true, null, "x"]});
        let result = call("misbehave.echo", json!({ "value": value, "label": "a" }));
        assert_eq!(result.structured_value(), Some(json!({ "value": value })));
    }

    #[test]
    fn echo_mirrors_its_label_into_a_header() {
        let info = toolbox()
            .list()
            .into_iter()
            .find(|tool| tool.name == "misbehave.echo")
            .expect("echo");
        let schema: Value = serde_json::from_str(&info.input_schema).expect("JSON");
        assert_eq!(schema["properties"]["label"]["x-mcp-header"], "Label");
    }

    #[test]
    fn progress_returns_the_step_count() {
        let result = call("misbehave.progress", json!({"steps": 3}));
        assert_eq!(result.structured_value(), Some(json!({"steps": 3})));
    }
}

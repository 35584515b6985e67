//! Breaches of the resource limits: CPU, memory, stack, output, logs,
//! progress, time.

use std::hint::black_box;
use std::io::Write;

use serde::{Deserialize, Serialize};
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{Content, LogLevel, NoArgs, ToolError};

/// Arguments of `misbehave.panic`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PanicArgs {
    /// The panic message.
    pub message: String,
}

/// Arguments of `misbehave.stdout` and `misbehave.huge_output`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BytesArgs {
    /// How many bytes.
    pub bytes: u64,
}

/// What `misbehave.stdout` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Printed {
    /// How many bytes were printed.
    pub printed: u64,
}

/// Arguments of `misbehave.log_flood`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CountArgs {
    /// How many log messages to send.
    pub count: u64,
    /// How many bytes each message has; a short numbered line when 0.
    #[serde(default)]
    pub bytes: u64,
}

/// What `misbehave.log_flood` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Logged {
    /// How many log messages were sent.
    pub logged: u64,
}

/// Arguments of `misbehave.sleep`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SleepArgs {
    /// How long to sleep, in milliseconds.
    pub ms: u64,
}

/// What `misbehave.sleep` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Slept {
    /// How long the tool slept, in milliseconds.
    pub slept_ms: u64,
}

pub(crate) fn spin(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let mut counter = 0u64;
    loop {
        // `black_box` keeps the loop from being proven side-effect free.
        counter = black_box(counter.wrapping_add(1));
    }
}

pub(crate) fn alloc(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    const BLOCK: usize = 1 << 20;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; BLOCK];
        // Touch every page so the memory is really used.
        for i in (0..BLOCK).step_by(4096) {
            block[i] = 1;
        }
        blocks.push(black_box(block));
    }
}

pub(crate) fn recurse(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    let depth = deeper(0, black_box(u64::MAX));
    Ok(vec![Content::text(format!("returned from depth {depth}"))])
}

/// Recurses until `depth` reaches `limit`, which the caller hides from the
/// optimiser and never is reached. The result is combined after the call in
/// a way tail-call elimination cannot turn into a loop, and no local has its
/// address taken, so every frame lives on the wasm call stack (not on Rust's
/// shadow stack in linear memory): the engine's stack limit is what stops it.
#[inline(never)]
fn deeper(depth: u64, limit: u64) -> u64 {
    if depth == limit {
        return depth;
    }
    let below = deeper(depth + 1, limit);
    below.rotate_left(1) ^ depth
}

pub(crate) fn panic(args: PanicArgs) -> Result<Vec<Content>, ToolError> {
    panic!("{}", args.message)
}

pub(crate) fn stdout(args: BytesArgs) -> Result<Printed, ToolError> {
    let chunk = "x".repeat(4096);
    let mut left = args.bytes;
    while left > 0 {
        let n = usize::try_from(left.min(4096)).unwrap_or(4096);
        print!("{}", &chunk[..n]);
        left -= n as u64;
    }
    std::io::stdout().flush()?;
    Ok(Printed {
        printed: args.bytes,
    })
}

pub(crate) fn log_flood(args: CountArgs) -> Result<Logged, ToolError> {
    let big = usize::try_from(args.bytes)
        .map_err(|_| ToolError::new("`bytes` does not fit in this guest's memory"))?;
    let big = "x".repeat(big);
    for i in 0..args.count {
        if big.is_empty() {
            warden_tool::log(LogLevel::Info, &format!("log flood message {i}"));
        } else {
            warden_tool::log(LogLevel::Info, &big);
        }
    }
    Ok(Logged { logged: args.count })
}

/// Arguments of `misbehave.grow_then`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GrowThenArgs {
    /// Bytes to reserve at once, without aborting when refused.
    pub bytes: u64,
    /// What to do after the attempt: `panic` (with a message) or `return`.
    pub then: String,
}

/// What `misbehave.grow_then` returns when it returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Grown {
    /// Whether the reservation was granted.
    pub granted: bool,
}

pub(crate) fn grow_then(args: GrowThenArgs) -> Result<Grown, ToolError> {
    let bytes = usize::try_from(args.bytes)
        .map_err(|_| ToolError::new("`bytes` does not fit in this guest's memory"))?;
    let mut block: Vec<u8> = Vec::new();
    let granted = block.try_reserve_exact(bytes).is_ok();
    match args.then.as_str() {
        "panic" => panic!("gave up after the reservation (granted: {granted})"),
        _ => Ok(Grown { granted }),
    }
}

/// Arguments of `misbehave.exit`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExitArgs {
    /// The status to exit with.
    pub status: i32,
}

pub(crate) fn exit(args: ExitArgs) -> Result<Vec<Content>, ToolError> {
    std::process::exit(args.status)
}

/// Arguments of `misbehave.progress_flood`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportsArgs {
    /// How many progress reports to send, as fast as the host takes them.
    pub reports: u32,
}

/// What `misbehave.progress_flood` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Reported {
    /// How many progress reports were sent.
    pub reported: u32,
}

pub(crate) fn progress_flood(args: ReportsArgs) -> Result<Reported, ToolError> {
    let total = f64::from(args.reports);
    for step in 1..=args.reports {
        warden_tool::progress(f64::from(step), Some(total), None);
    }
    Ok(Reported {
        reported: args.reports,
    })
}

pub(crate) fn huge_output(args: BytesArgs) -> Result<Vec<Content>, ToolError> {
    let bytes = usize::try_from(args.bytes)
        .map_err(|_| ToolError::new("`bytes` does not fit in this guest's memory"))?;
    Ok(vec![Content::text("x".repeat(bytes))])
}

pub(crate) fn sleep(args: SleepArgs) -> Result<Slept, ToolError> {
    std::thread::sleep(std::time::Duration::from_millis(args.ms));
    Ok(Slept { slept_ms: args.ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_output_has_the_asked_size() {
        let content = huge_output(BytesArgs { bytes: 100_000 }).unwrap_or_default();
        assert!(matches!(&content[..], [Content::Text(t)] if t.len() == 100_000));
    }

    #[test]
    fn stdout_reports_what_it_printed() {
        let printed = stdout(BytesArgs { bytes: 5000 }).map(|p| p.printed);
        assert_eq!(printed.ok(), Some(5000));
    }

    #[test]
    fn log_flood_counts() {
        let logged = log_flood(CountArgs { count: 3, bytes: 0 }).map(|l| l.logged);
        assert_eq!(logged.ok(), Some(3));
    }

    #[test]
    fn progress_flood_counts() {
        let reported = progress_flood(ReportsArgs { reports: 3 }).map(|r| r.reported);
        assert_eq!(reported.ok(), Some(3));
    }

    #[test]
    fn sleep_sleeps() {
        let start = std::time::Instant::now();
        let slept = sleep(SleepArgs { ms: 5 }).map(|s| s.slept_ms);
        assert_eq!(slept.ok(), Some(5));
        assert!(start.elapsed() >= std::time::Duration::from_millis(5));
    }

    #[test]
    #[should_panic(expected = "guest says boom")]
    fn panic_panics_with_the_message() {
        let _ = panic(PanicArgs {
            message: "guest says boom".into(),
        });
    }
}

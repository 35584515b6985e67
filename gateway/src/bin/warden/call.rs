//! `warden call`: one tool call through the same catalog, validation,
//! sandbox and policy as a served call, with the resources it used.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use warden_gateway::auth::Caller;
use warden_gateway::catalog::Catalog;
use warden_gateway::config;
use warden_gateway::lifecycle::Lifecycle;
use warden_gateway::mcp::revision::Revision;
use warden_gateway::mcp::tools::{self, CallContext, CallParams, ToolCall};
use warden_sandbox::CallUsage;

use crate::describe::emit;
use crate::exit;

/// Runs `tool` with `arguments` (a JSON object) and prints the `tools/call`
/// result on stdout; resource use goes to stderr, or into the JSON document
/// with `as_json`.
pub async fn run(
    config_path: &Path,
    tool: String,
    arguments: &str,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let arguments: Value = serde_json::from_str(arguments).context("--args is not valid JSON")?;
    if !arguments.is_object() {
        bail!("--args must be a JSON object, e.g. '{{\"text\": \"hello\"}}'");
    }
    let config = config::load(config_path)?;
    let catalog = Catalog::load(&config).await?;
    let params = CallParams {
        name: tool,
        arguments,
    };
    let caller = Caller::local();
    let lifecycle = Lifecycle::default();
    // One local call: the per-caller budgets of a server do not apply.
    let context = CallContext {
        caller: &caller,
        revision: Revision::LATEST,
        lifecycle: &lifecycle,
        limits: None,
        audit: None,
        request_id: serde_json::Value::Null,
        session: None,
        notifier: None,
        cancelled: None,
        client: None,
        time_limit_ms: None,
    };
    let call = ToolCall::resolve(&catalog, &caller, params);
    let (result, usage) = tools::call_with_usage(&context, call)
        .await
        .map_err(|error| anyhow::anyhow!("{} (JSON-RPC error {})", error.message, error.code()))?;
    if as_json {
        let document = json!({ "result": result, "usage": usage.as_ref().map(usage_json) });
        emit(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
    } else {
        emit(&format!("{}\n", serde_json::to_string_pretty(&result)?))?;
        match &usage {
            Some(usage) => print_usage(usage),
            None => eprintln!("resources: no instance ran"),
        }
    }
    Ok(if result["isError"] == Value::Bool(true) {
        ExitCode::from(exit::TOOL_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_usage(usage: &CallUsage) {
    eprintln!(
        "resources: {:.3} ms (instantiation {:.3} ms), fuel {}, peak memory {} bytes",
        usage.duration.as_secs_f64() * 1e3,
        usage.instantiation.as_secs_f64() * 1e3,
        usage
            .fuel_consumed
            .map_or_else(|| "unmetered".to_owned(), |fuel| fuel.to_string()),
        usage.peak_memory_bytes,
    );
    for (stream, text) in [("stdout", &usage.stdout), ("stderr", &usage.stderr)] {
        if !text.is_empty() {
            eprintln!("tool {stream}:\n{text}");
        }
    }
    if usage.dropped_output_bytes > 0 {
        eprintln!(
            "tool output truncated: {} bytes dropped",
            usage.dropped_output_bytes
        );
    }
}

fn usage_json(usage: &CallUsage) -> Value {
    json!({
        "duration_ms": usage.duration.as_secs_f64() * 1e3,
        "instantiation_ms": usage.instantiation.as_secs_f64() * 1e3,
        "fuel_consumed": usage.fuel_consumed,
        "peak_memory_bytes": usage.peak_memory_bytes,
        "stdout": usage.stdout,
        "stderr": usage.stderr,
        "dropped_output_bytes": usage.dropped_output_bytes,
    })
}

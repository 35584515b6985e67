//! `conformance`: the fixture tools the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`) calls when it tests a server.
//!
//! Test-only. Each tool answers exactly as the suite's scenario describes
//! it (`tools-call-image` calls `test_image_content`, `json-schema-2020-12`
//! lists `json_schema_2020_12_tool`, and so on), so a failing scenario
//! points at the gateway, not at the fixture. Never configure it in a real
//! deployment.
//!
//! The names are the suite's own, without the `<component>.` prefix the
//! other bundled components use: the suite looks tools up by exact name, and
//! serving this component without a `tool_prefix` keeps them unchanged.
//!
//! Some scenarios want what a tool cannot do from inside its sandbox: close
//! its HTTP stream (`test_reconnection`), return an MCP error of its
//! choosing (`test_missing_capability`), name the keys of an
//! `InputRequiredResult`'s `inputRequests`, or ask several questions at
//! once. Those tools do what a component can and leave the rest to the
//! gateway. It also serves the resources, resource template, prompts and
//! completions of the suite's resource, prompt and completion scenarios
//! (`served`). Two fixtures are missing because no component can provide
//! them:
//! `test_input_required_result_list_roots` (the host offers no `roots/list`)
//! and `test_trigger_tool_change` (a component cannot change the tool
//! list).

mod content;
mod requests;
mod schemas;
mod served;

use warden_tool::{Tool, Toolbox};

/// The component's tools (in the order of the suite's scenarios), then its
/// resources, template, prompts and completions.
pub fn toolbox() -> Toolbox {
    let tools = Toolbox::new()
        .tool(Tool::with_content(
            "test_simple_text",
            "Returns one text item (scenario tools-call-simple-text).",
            content::simple_text,
        ))
        .tool(Tool::with_content(
            "test_image_content",
            "Returns a 1x1 red PNG image (scenario tools-call-image).",
            content::image,
        ))
        .tool(Tool::with_content(
            "test_audio_content",
            "Returns a minimal WAV clip (scenario tools-call-audio).",
            content::audio,
        ))
        .tool(Tool::with_content(
            "test_embedded_resource",
            "Returns an embedded text resource (scenario \
             tools-call-embedded-resource).",
            content::embedded_resource,
        ))
        .tool(Tool::with_content(
            "test_multiple_content_types",
            "Returns text, an image and an embedded resource together \
             (scenario tools-call-mixed-content).",
            content::multiple_content_types,
        ))
        .tool(Tool::with_content(
            "test_tool_with_logging",
            "Sends three info log messages 50 ms apart (scenario \
             tools-call-with-logging).",
            content::with_logging,
        ))
        .tool(Tool::with_content(
            "test_error_handling",
            "Always fails with a tool error (scenario tools-call-error).",
            content::error_handling,
        ))
        .tool(Tool::with_content(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100, 50 ms apart (scenario \
             tools-call-with-progress).",
            content::with_progress,
        ))
        .tool(Tool::with_content(
            "test_reconnection",
            "Takes a moment, then answers (scenario server-sse-polling). The \
             suite's fixture closes its response stream mid-call; a Warden \
             tool cannot, so the answer comes on the original stream.",
            content::reconnection,
        ))
        .tool(Tool::with_content(
            "test_sampling",
            "Asks the client's model to answer the prompt (scenario \
             tools-call-sampling).",
            requests::sampling,
        ))
        .tool(Tool::with_content(
            "test_elicitation",
            "Asks the user for a username and an email address (scenario \
             tools-call-elicitation).",
            requests::elicitation,
        ))
        .tool(Tool::with_content(
            "test_elicitation_sep1034_defaults",
            "Asks the user for a form whose fields all have default values \
             (scenario elicitation-sep1034-defaults).",
            requests::sep1034_defaults,
        ))
        .tool(Tool::with_content(
            "test_elicitation_sep1330_enums",
            "Asks the user for a form with each kind of enum field (scenario \
             elicitation-sep1330-enums).",
            requests::sep1330_enums,
        ))
        .tool(Tool::with_content(
            schemas::JSON_SCHEMA_2020_12_TOOL,
            "Takes arguments described with JSON Schema 2020-12 keywords \
             ($defs, $anchor, allOf, if/then/else) and echoes them (scenario \
             json-schema-2020-12).",
            schemas::json_schema_2020_12,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_elicitation",
            "Asks the user's name, then greets them (scenarios \
             input-required-result-basic-elicitation and those reusing it).",
            requests::input_required_elicitation,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_sampling",
            "Asks the client's model a question and returns its answer \
             (scenario input-required-result-basic-sampling).",
            requests::input_required_sampling,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_request_state",
            "Asks the user to confirm; the answer reaches it through the \
             gateway's requestState (scenario \
             input-required-result-request-state).",
            requests::input_required_request_state,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_multiple_inputs",
            "Asks the user's name, the model for a greeting and the \
             client's roots, all at once (scenario \
             input-required-result-multiple-input-requests).",
            requests::input_required_multiple_inputs,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_list_roots",
            "Asks the client for its roots and lists them (scenario \
             input-required-result-basic-list-roots).",
            requests::input_required_list_roots,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_multi_round",
            "Asks the user two questions, one after the other (scenario \
             input-required-result-multi-round).",
            requests::input_required_multi_round,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_tampered_state",
            "Asks the user to confirm; a tampered requestState must be \
             refused by the gateway (scenario \
             input-required-result-tampered-state).",
            requests::input_required_tampered_state,
        ))
        .tool(Tool::with_content(
            "test_input_required_result_capabilities",
            "Asks the user and the model only what the client declared it \
             can answer (scenario input-required-result-capability-check).",
            requests::input_required_capabilities,
        ))
        .tool(Tool::with_content(
            "test_missing_capability",
            "Needs the client's model: without the sampling capability the \
             call cannot proceed (scenario server-stateless, which expects \
             the gateway to answer with MissingRequiredClientCapability).",
            requests::missing_capability,
        ))
        .tool(Tool::with_content(
            "test_streaming_elicitation",
            "Asks the user for a value (scenario server-stateless: the \
             response stream must carry no request of the server's).",
            requests::streaming_elicitation,
        ))
        .tool(Tool::with_content(
            "test_logging_tool",
            "Logs one message at each of four levels (scenario \
             server-stateless: none may reach a client that set no log \
             level).",
            content::logging_levels,
        ))
        .tool(Tool::with_content(
            "test_header_mirroring",
            "Echoes a region that clients of revision 2026-07-28 also send \
             as the Mcp-Param-Region header (scenario \
             http-custom-header-server-validation).",
            schemas::header_mirroring,
        ));
    served::serve(tools)
}

warden_tool::export_toolbox!(toolbox);

#[cfg(test)]
mod tests;

//! What a component serves besides tools (resources, resource templates,
//! prompts, completions, tool metadata), listed at load and each run in a
//! fresh instance under the component's limits; and a component of the
//! first interface version, which serves tools only.

use std::sync::Arc;

use warden_sandbox::{
    CallError, Completion, CompletionRequest, CompletionTarget, Content, MAX_COMPLETION_VALUES,
    NoEvents, Policy, PromptOutcome, ResourceContents, ResourcePart, ResourceRead, Role, Sandbox,
    ToolComponent,
};

use super::{limits, load, misbehave, sandbox, text};

const ITEMS_TEMPLATE: &str = "misbehave://items/{item}";
/// `misbehave`'s `LISTS_ENV`: the malformed listing it adds.
pub(crate) const LISTS_ENV: &str = "MISBEHAVE_LISTS";

async fn read(component: &ToolComponent, uri: &str) -> Result<ResourceRead, CallError> {
    component
        .read_resource(uri, Arc::new(NoEvents))
        .await
        .map(|output| output.value)
}

async fn prompt(
    component: &ToolComponent,
    name: &str,
    arguments: &[(&str, &str)],
) -> Result<PromptOutcome, CallError> {
    let arguments = arguments
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    component
        .get_prompt(name, arguments, Arc::new(NoEvents))
        .await
        .map(|output| output.value)
}

async fn complete(
    component: &ToolComponent,
    target: CompletionTarget,
    argument: &str,
    value: &str,
) -> Result<Completion, CallError> {
    let request = CompletionRequest {
        target,
        argument: argument.to_owned(),
        value: value.to_owned(),
        context: Vec::new(),
    };
    component
        .complete(&request, Arc::new(NoEvents))
        .await
        .map(|output| output.value)
}

/// The one part of a successful read.
fn only_part(read: ResourceRead) -> ResourcePart {
    let ResourceRead::Contents(mut parts) = read else {
        panic!("a read with contents: {read:?}");
    };
    assert_eq!(parts.len(), 1, "{parts:?}");
    parts.remove(0)
}

fn text_of(part: &ResourcePart) -> &str {
    match &part.contents {
        ResourceContents::Text(text) => text,
        ResourceContents::Blob(_) => panic!("text contents: {part:?}"),
    }
}

fn json(text: Option<&str>) -> serde_json::Value {
    let text = text.expect("meta");
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{text} is JSON: {error}"))
}

/// A read of a template's resource succeeds: the component is usable after
/// whatever failed before, each read in a fresh instance.
async fn still_serves(sandbox: &Sandbox, misbehave: &ToolComponent) {
    let part = only_part(
        read(misbehave, "misbehave://items/after")
            .await
            .expect("a read after a failure"),
    );
    assert_eq!(part.uri, "misbehave://items/after");
    assert_eq!(text_of(&part), "item after");
    assert_eq!(misbehave.in_flight(), 0, "permit returned");
    assert_eq!(sandbox.pool_stats().in_use, 0, "pool slot returned");
}

// ---------------------------------------------------------------------------
// A component of warden:tool@0.1.0.

#[tokio::test(flavor = "multi_thread")]
async fn a_component_of_the_first_interface_version_loads_and_answers() {
    let sandbox = sandbox(false);
    let legacy = load(
        &sandbox,
        "legacy",
        warden_tool_artifacts::LEGACY,
        Policy::default(),
    )
    .await;
    assert_eq!(legacy.exported_interfaces(), ["tool"]);
    let names: Vec<&str> = legacy
        .tools()
        .iter()
        .map(|tool| tool.name.as_str())
        .collect();
    assert_eq!(names, ["legacy.echo"]);
    assert_eq!(legacy.tools()[0].meta, None);
    assert!(legacy.resources().is_empty());
    assert!(legacy.resource_templates().is_empty());
    assert!(legacy.prompts().is_empty());
    assert!(!legacy.completes());

    let output = legacy
        .call("legacy.echo", r#"{"text":"hello"}"#, Arc::new(NoEvents))
        .await
        .expect("call");
    assert!(!output.result.is_error, "{:?}", output.result);
    assert_eq!(
        output.result.content,
        [Content::Text("0.1.0 says: hello".to_owned())]
    );
    assert_eq!(sandbox.pool_stats().in_use, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tools_only_component_refuses_reads_prompts_and_completions() {
    let sandbox = sandbox(false);
    let legacy = load(
        &sandbox,
        "legacy",
        warden_tool_artifacts::LEGACY,
        Policy::default(),
    )
    .await;
    let read = read(&legacy, "legacy://anything").await;
    assert!(
        matches!(&read, Err(CallError::UnknownTool { subject }) if subject == "resource `legacy://anything`"),
        "{read:?}"
    );
    let prompted = prompt(&legacy, "legacy.prompt", &[]).await;
    assert!(
        matches!(&prompted, Err(CallError::UnknownTool { subject }) if subject == "prompt `legacy.prompt`"),
        "{prompted:?}"
    );
    let completed = complete(
        &legacy,
        CompletionTarget::Prompt("legacy.prompt".to_owned()),
        "x",
        "",
    )
    .await;
    assert!(
        matches!(completed, Err(CallError::UnknownTool { .. })),
        "{completed:?}"
    );
    // The tool still answers after all that.
    let output = legacy
        .call(
            "legacy.echo",
            r#"{"text":"still here"}"#,
            Arc::new(NoEvents),
        )
        .await
        .expect("call");
    assert_eq!(
        output.result.content,
        [Content::Text("0.1.0 says: still here".to_owned())]
    );
}

// ---------------------------------------------------------------------------
// What misbehave serves, and how each misbehaviour fails.

#[tokio::test(flavor = "multi_thread")]
async fn misbehave_lists_its_resources_templates_and_prompts() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;
    assert_eq!(
        misbehave.exported_interfaces(),
        ["tool", "resources", "prompts", "completion", "tool-meta"]
    );
    assert!(misbehave.completes());
    let uris: Vec<&str> = misbehave
        .resources()
        .iter()
        .map(|resource| resource.uri.as_str())
        .collect();
    assert_eq!(
        uris,
        [
            "misbehave://loop",
            "misbehave://wrong-uri",
            "misbehave://bad-mime",
            "misbehave://huge",
            "misbehave://missing",
            "misbehave://fails",
            "misbehave://empty",
        ]
    );
    let templates: Vec<&str> = misbehave
        .resource_templates()
        .iter()
        .map(|template| template.uri_template.as_str())
        .collect();
    assert_eq!(templates, [ITEMS_TEMPLATE]);
    assert_eq!(misbehave.resource_templates()[0].name, "items");

    let prompts: Vec<&str> = misbehave
        .prompts()
        .iter()
        .map(|prompt| prompt.name.as_str())
        .collect();
    assert_eq!(prompts, ["misbehave.prompt_loop", "misbehave.prompt_args"]);
    let args = &misbehave.prompts()[1];
    assert_eq!(
        args.description.as_deref(),
        Some("Takes one required and one optional argument and echoes them.")
    );
    let mut arguments: Vec<(&str, bool, Option<&str>)> = args
        .arguments
        .iter()
        .map(|argument| {
            (
                argument.name.as_str(),
                argument.required,
                argument.description.as_deref(),
            )
        })
        .collect();
    arguments.sort_unstable();
    assert_eq!(
        arguments,
        [
            ("optional", false, Some("May be left out.")),
            ("required", true, Some("Must be given.")),
        ]
    );
    assert!(misbehave.prompts()[0].arguments.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_read_that_never_ends_times_out() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, limits(|l| l.timeout_ms = 200)).await;
    let error = read(&misbehave, "misbehave://loop")
        .await
        .expect_err("the loop must time out");
    assert!(
        matches!(error, CallError::Timeout { limit_ms: 200, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "resource `misbehave://loop` exceeded its 200 ms time limit"
    );
    assert_eq!(error.reason(), "timeout");
    still_serves(&sandbox, &misbehave).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_that_never_ends_times_out() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, limits(|l| l.timeout_ms = 200)).await;
    let error = prompt(&misbehave, "misbehave.prompt_loop", &[])
        .await
        .expect_err("the loop must time out");
    assert!(
        matches!(error, CallError::Timeout { limit_ms: 200, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "prompt `misbehave.prompt_loop` exceeded its 200 ms time limit"
    );
    still_serves(&sandbox, &misbehave).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_that_never_ends_runs_out_of_fuel() {
    let sandbox = sandbox(true);
    let misbehave = misbehave(
        &sandbox,
        limits(|l| {
            l.fuel = Some(5_000_000);
            l.timeout_ms = 30_000;
        }),
    )
    .await;
    let error = prompt(&misbehave, "misbehave.prompt_loop", &[])
        .await
        .expect_err("the loop must run out of fuel");
    assert!(
        matches!(
            error,
            CallError::OutOfFuel {
                limit: 5_000_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "prompt `misbehave.prompt_loop` ran out of fuel (budget 5000000 units)"
    );
    let read_error = read(&misbehave, "misbehave://loop")
        .await
        .expect_err("the read loop must run out of fuel");
    assert!(
        matches!(&read_error, CallError::OutOfFuel { subject, .. } if subject == "resource `misbehave://loop`"),
        "{read_error:?}"
    );
    still_serves(&sandbox, &misbehave).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_over_the_output_limit_is_refused() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, limits(|l| l.max_output_bytes = 65_536)).await;
    let error = read(&misbehave, "misbehave://huge")
        .await
        .expect_err("8 MiB is over 64 KiB");
    let CallError::OutputTooLarge {
        subject,
        limit_bytes,
        actual_bytes,
    } = &error
    else {
        panic!("output too large: {error:?}");
    };
    assert_eq!(subject, "resource `misbehave://huge`");
    assert_eq!(*limit_bytes, 65_536);
    assert!(*actual_bytes >= 8 << 20, "{actual_bytes}");
    assert_eq!(error.reason(), "output_too_large");
    still_serves(&sandbox, &misbehave).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_answers_for_its_own_reads() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;

    let missing = read(&misbehave, "misbehave://missing")
        .await
        .expect("the read completes");
    assert_eq!(
        missing,
        ResourceRead::NotFound("`misbehave://missing` went away".to_owned())
    );
    still_serves(&sandbox, &misbehave).await;

    let failed = read(&misbehave, "misbehave://fails")
        .await
        .expect("the read completes");
    assert_eq!(
        failed,
        ResourceRead::Failed("the backing store is down".to_owned())
    );

    let empty = read(&misbehave, "misbehave://empty")
        .await
        .expect("the read completes");
    assert_eq!(empty, ResourceRead::Contents(Vec::new()));

    // The SDK's own answer for a URI nothing serves.
    let unknown = read(&misbehave, "misbehave://nothing-here")
        .await
        .expect("the read completes");
    assert!(matches!(unknown, ResourceRead::NotFound(_)), "{unknown:?}");

    // The sandbox hands parts on as the component made them; refusing a
    // part of another URI or a malformed MIME type is the embedder's job.
    let wrong = only_part(
        read(&misbehave, "misbehave://wrong-uri")
            .await
            .expect("the read completes"),
    );
    assert_eq!(wrong.uri, "misbehave://elsewhere");
    let bad_mime = only_part(
        read(&misbehave, "misbehave://bad-mime")
            .await
            .expect("the read completes"),
    );
    assert_eq!(
        bad_mime.mime_type.as_deref(),
        Some("text plain\r\nX-Injected: 1")
    );
    still_serves(&sandbox, &misbehave).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn template_variables_reach_the_reader_percent_decoded() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;
    let part = only_part(
        read(&misbehave, "misbehave://items/a%20b")
            .await
            .expect("read"),
    );
    assert_eq!(part.uri, "misbehave://items/a%20b");
    assert_eq!(part.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(text_of(&part), "item a b");
}

#[tokio::test(flavor = "multi_thread")]
async fn prompts_are_filled_in_from_their_arguments() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;
    let both = prompt(
        &misbehave,
        "misbehave.prompt_args",
        &[("required", "r"), ("optional", "o")],
    )
    .await
    .expect("prompt");
    let PromptOutcome::Messages { messages, .. } = both else {
        panic!("messages: {both:?}");
    };
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].role, Role::User);
    assert_eq!(
        messages[0].content,
        Content::Text("required=r optional=o".to_owned())
    );

    let only_required = prompt(&misbehave, "misbehave.prompt_args", &[("required", "r")])
        .await
        .expect("prompt");
    let PromptOutcome::Messages { messages, .. } = only_required else {
        panic!("messages: {only_required:?}");
    };
    assert_eq!(
        messages[0].content,
        Content::Text("required=r optional=-".to_owned())
    );

    // The embedder checks arguments; when it does not, the SDK refuses
    // and names the field.
    let missing = prompt(&misbehave, "misbehave.prompt_args", &[])
        .await
        .expect("the prompt run completes");
    let PromptOutcome::Invalid(message) = &missing else {
        panic!("invalid arguments: {missing:?}");
    };
    assert!(message.contains("required"), "{message}");

    let unknown = prompt(&misbehave, "misbehave.no_such_prompt", &[]).await;
    assert!(
        matches!(&unknown, Err(CallError::UnknownTool { subject }) if subject == "prompt `misbehave.no_such_prompt`"),
        "{unknown:?}"
    );
    assert_eq!(sandbox.pool_stats().in_use, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_completion_of_too_many_values_is_cut_at_the_limit() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, Policy::default()).await;
    let completion = complete(
        &misbehave,
        CompletionTarget::ResourceTemplate(ITEMS_TEMPLATE.to_owned()),
        "item",
        "x",
    )
    .await
    .expect("completion");
    assert_eq!(completion.values.len(), MAX_COMPLETION_VALUES);
    assert_eq!(MAX_COMPLETION_VALUES, 100);
    assert!(completion.has_more);
    assert_eq!(completion.values[0], "x0");
    assert_eq!(completion.values[99], "x99");
    assert_eq!(completion.total, Some(150));

    // Nothing declared to complete: no values, not an error.
    let none = complete(
        &misbehave,
        CompletionTarget::Prompt("misbehave.prompt_args".to_owned()),
        "required",
        "",
    )
    .await
    .expect("completion");
    assert!(none.values.is_empty(), "{none:?}");
    assert!(!none.has_more);
    still_serves(&sandbox, &misbehave).await;
}

// ---------------------------------------------------------------------------
// Tool metadata and MCP Apps.

#[tokio::test(flavor = "multi_thread")]
async fn tool_meta_and_its_ui_resource_arrive() {
    let sandbox = sandbox(false);
    let text = text(&sandbox).await;
    assert!(
        text.exported_interfaces().contains(&"tool-meta"),
        "{:?}",
        text.exported_interfaces()
    );
    let count = text
        .tools()
        .iter()
        .find(|tool| tool.name == "text.count")
        .expect("text.count");
    let meta = json(count.meta.as_deref());
    assert_eq!(meta["ui"]["resourceUri"], "ui://text/count.html");
    assert_eq!(meta["ui/resourceUri"], "ui://text/count.html");
    for tool in text.tools().iter().filter(|tool| tool.name != "text.count") {
        assert_eq!(tool.meta, None, "{}", tool.name);
    }

    let listed = text
        .resources()
        .iter()
        .find(|resource| resource.uri == "ui://text/count.html")
        .expect("the app is listed");
    assert_eq!(
        listed.mime_type.as_deref(),
        Some("text/html;profile=mcp-app")
    );
    assert_eq!(json(listed.meta.as_deref())["ui"]["prefersBorder"], true);

    let output = text
        .read_resource("ui://text/count.html", Arc::new(NoEvents))
        .await
        .expect("read");
    assert!(output.usage.duration > std::time::Duration::ZERO);
    let part = only_part(output.value);
    assert_eq!(part.uri, "ui://text/count.html");
    assert_eq!(part.mime_type.as_deref(), Some("text/html;profile=mcp-app"));
    let html = text_of(&part);
    assert!(html.to_ascii_lowercase().contains("<html"), "{html}");
    assert_eq!(Some(html.len() as u64), listed.size);
    let part_meta = json(part.meta.as_deref());
    assert_eq!(part_meta["ui"]["prefersBorder"], true);
    assert_eq!(
        part_meta["ui"]["csp"],
        serde_json::json!({"connectDomains": [], "resourceDomains": []})
    );
}

// ---------------------------------------------------------------------------
// The conformance fixtures: the ordinary paths.

#[tokio::test(flavor = "multi_thread")]
async fn conformance_fixtures_read_fill_in_and_complete() {
    let sandbox = sandbox(false);
    let conformance = load(
        &sandbox,
        "conformance",
        warden_tool_artifacts::CONFORMANCE,
        Policy::default(),
    )
    .await;
    let part = only_part(
        read(&conformance, "test://static-text")
            .await
            .expect("read"),
    );
    assert_eq!(
        text_of(&part),
        "This is the content of the static text resource."
    );
    assert_eq!(part.mime_type.as_deref(), Some("text/plain"));

    let binary = only_part(
        read(&conformance, "test://static-binary")
            .await
            .expect("read"),
    );
    assert!(
        matches!(&binary.contents, ResourceContents::Blob(bytes) if bytes.starts_with(b"\x89PNG")),
        "{binary:?}"
    );

    let data = only_part(
        read(&conformance, "test://template/42/data")
            .await
            .expect("read"),
    );
    let value: serde_json::Value = serde_json::from_str(text_of(&data)).expect("JSON");
    assert_eq!(value["id"], "42");

    let filled = prompt(
        &conformance,
        "test_prompt_with_arguments",
        &[("arg1", "a"), ("arg2", "b")],
    )
    .await
    .expect("prompt");
    let PromptOutcome::Messages { messages, .. } = filled else {
        panic!("messages: {filled:?}");
    };
    assert_eq!(
        messages[0].content,
        Content::Text("Prompt with arguments: arg1='a', arg2='b'".to_owned())
    );

    let completed = complete(
        &conformance,
        CompletionTarget::Prompt("test_prompt_with_arguments".to_owned()),
        "arg1",
        "te",
    )
    .await
    .expect("completion");
    assert_eq!(completed.values, ["test", "testValue1"]);
    assert!(!completed.has_more);

    let ids = complete(
        &conformance,
        CompletionTarget::ResourceTemplate("test://template/{id}/data".to_owned()),
        "id",
        "4",
    )
    .await
    .expect("completion");
    assert_eq!(ids.values, ["456"]);
    assert_eq!(sandbox.pool_stats().in_use, 0);
}

//! Tests of what a [`Toolbox`] serves besides tools (resources, resource
//! templates, prompts, completions, tool metadata) on the host, without
//! wasm: the functions each export of `wit/tool.wit` calls.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::complete::MAX_COMPLETION_VALUES;
use crate::schemars::{self, JsonSchema};
use crate::{
    CompletionContext, CompletionRequest, CompletionResult, CompletionTarget, Content, NoArgs,
    Prompt, PromptArgument, PromptError, PromptMessage, Resource, ResourceContents, ResourceError,
    ResourcePart, ResourceTemplate, Role, Tool, ToolError, Toolbox, Variables,
};

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json} is JSON: {e}"))
}

fn text_of(part: &ResourcePart) -> &str {
    match &part.contents {
        ResourceContents::Text(text) => text,
        ResourceContents::Blob(_) => panic!("text contents: {part:?}"),
    }
}

fn discovered() -> Vec<Resource> {
    vec![
        Resource::listed("mem://notes/first", "first").mime_type("text/markdown"),
        Resource::listed("mem://notes/second", "second"),
    ]
}

fn nothing_discovered() -> Vec<Resource> {
    Vec::new()
}

fn note(uri: &str, variables: &Variables) -> Result<Vec<ResourcePart>, ResourceError> {
    let name = variables.get("name").unwrap_or_default();
    if name == "gone" {
        return Err(ResourceError::NotFound(format!("note `{name}` is gone")));
    }
    Ok(vec![ResourcePart::text(
        uri,
        Some("text/markdown"),
        format!("note {name}"),
    )])
}

fn resources() -> Toolbox {
    Toolbox::new()
        .resource(
            Resource::text("mem://readme", "readme", "text/plain", "Read me.")
                .title("Read me")
                .description("What this is.")
                .audience(&[Role::User, Role::Assistant])
                .priority(0.75)
                .last_modified("2025-01-01T00:00:00Z")
                .meta(json!({"origin": "test"})),
        )
        .resource(Resource::blob(
            "mem://logo.png",
            "logo.png",
            "image/png",
            vec![0x89, b'P', b'N', b'G'],
        ))
        // A fixed resource wins over a template that matches it too.
        .resource(Resource::new("mem://notes/pinned", "pinned", |uri| {
            Ok(vec![
                ResourcePart::text(uri, None, "pinned").with_meta(json!({"pinned": true})),
            ])
        }))
        .resources_from(discovered)
        .resources_from(nothing_discovered)
        .resource_template(
            ResourceTemplate::new("mem://notes/{name}", "notes", note)
                .title("Notes")
                .description("One note by name.")
                .mime_type("text/markdown")
                .complete("name", |typed, _| {
                    crate::complete::starting_with(typed, ["alpha", "beta", "Alps"])
                }),
        )
        .resource_template(ResourceTemplate::new(
            "mem://files/{+path}",
            "files",
            |uri, variables| {
                Ok(vec![ResourcePart::text(
                    uri,
                    None,
                    variables.get("path").unwrap_or_default(),
                )])
            },
        ))
}

#[test]
fn resources_list_the_fixed_ones_then_what_listers_find() {
    let listed = resources().list_resources();
    let uris: Vec<&str> = listed.iter().map(|info| info.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "mem://readme",
            "mem://logo.png",
            "mem://notes/pinned",
            "mem://notes/first",
            "mem://notes/second",
        ]
    );
    let readme = &listed[0];
    assert_eq!(readme.name, "readme");
    assert_eq!(readme.title.as_deref(), Some("Read me"));
    assert_eq!(readme.description.as_deref(), Some("What this is."));
    assert_eq!(readme.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(readme.size, Some(8));
    assert_eq!(readme.annotations.audience, [Role::User, Role::Assistant]);
    assert_eq!(readme.annotations.priority, Some(0.75));
    assert_eq!(
        readme.annotations.last_modified.as_deref(),
        Some("2025-01-01T00:00:00Z")
    );
    assert_eq!(
        parse(readme.meta.as_deref().unwrap_or("null")),
        json!({"origin": "test"})
    );

    let logo = &listed[1];
    assert_eq!(logo.mime_type.as_deref(), Some("image/png"));
    assert_eq!(logo.size, Some(4));
    assert_eq!(logo.meta, None);
    assert!(logo.annotations.audience.is_empty());

    let pinned = &listed[2];
    assert_eq!((pinned.mime_type.as_ref(), pinned.size), (None, None));

    assert_eq!(listed[3].name, "first");
    assert_eq!(listed[3].mime_type.as_deref(), Some("text/markdown"));
}

#[test]
fn templates_are_listed_with_their_metadata() {
    let templates = resources().list_resource_templates();
    let uris: Vec<&str> = templates
        .iter()
        .map(|info| info.uri_template.as_str())
        .collect();
    assert_eq!(uris, ["mem://notes/{name}", "mem://files/{+path}"]);
    assert_eq!(templates[0].name, "notes");
    assert_eq!(templates[0].title.as_deref(), Some("Notes"));
    assert_eq!(
        templates[0].description.as_deref(),
        Some("One note by name.")
    );
    assert_eq!(templates[0].mime_type.as_deref(), Some("text/markdown"));
    assert_eq!(templates[1].mime_type, None);
}

#[test]
fn a_fixed_resource_is_read_by_its_exact_uri() {
    let toolbox = resources();
    let parts = toolbox.read_resource("mem://readme").expect("read");
    assert_eq!(
        parts,
        [ResourcePart::text(
            "mem://readme",
            Some("text/plain"),
            "Read me."
        )]
    );
    let logo = toolbox.read_resource("mem://logo.png").expect("read");
    assert_eq!(
        logo[0].contents,
        ResourceContents::Blob(vec![0x89, b'P', b'N', b'G'])
    );
    assert_eq!(logo[0].mime_type.as_deref(), Some("image/png"));

    let pinned = toolbox.read_resource("mem://notes/pinned").expect("read");
    assert_eq!(text_of(&pinned[0]), "pinned", "the fixed resource wins");
    assert_eq!(
        parse(pinned[0].meta.as_deref().unwrap_or("null")),
        json!({"pinned": true})
    );
}

#[test]
fn a_template_reads_what_it_matches_with_decoded_variables() {
    let toolbox = resources();
    let parts = toolbox
        .read_resource("mem://notes/a%20b%2Fc")
        .expect("read");
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].uri, "mem://notes/a%20b%2Fc", "the URI as read");
    assert_eq!(text_of(&parts[0]), "note a b/c");

    // A resource a lister found is read by the template that matches it.
    let first = toolbox.read_resource("mem://notes/first").expect("read");
    assert_eq!(text_of(&first[0]), "note first");

    // A reserved expansion keeps its slashes.
    let file = toolbox
        .read_resource("mem://files/dir/sub/a%C3%A9.txt")
        .expect("read");
    assert_eq!(text_of(&file[0]), "dir/sub/aé.txt");

    // The template's reader answers for what it does not have.
    assert_eq!(
        toolbox.read_resource("mem://notes/gone"),
        Err(ResourceError::NotFound("note `gone` is gone".to_owned()))
    );
}

#[test]
fn a_uri_nothing_serves_is_not_found() {
    let toolbox = resources();
    for uri in ["mem://elsewhere", "mem://readme/more", "other://readme", ""] {
        assert_eq!(
            toolbox.read_resource(uri),
            Err(ResourceError::NotFound(format!("no resource at `{uri}`"))),
            "{uri}"
        );
    }
    assert_eq!(
        Toolbox::new().read_resource("mem://readme"),
        Err(ResourceError::NotFound(
            "no resource at `mem://readme`".to_owned()
        ))
    );
}

#[test]
fn a_listed_resource_no_template_matches_is_not_found() {
    fn stray() -> Vec<Resource> {
        vec![Resource::listed("mem://stray", "stray")]
    }
    let toolbox = Toolbox::new().resources_from(stray);
    assert_eq!(toolbox.list_resources().len(), 1);
    assert!(matches!(
        toolbox.read_resource("mem://stray"),
        Err(ResourceError::NotFound(_))
    ));
}

#[test]
#[should_panic(expected = "resource `mem://readme` is defined twice")]
fn duplicate_resource_uris_are_rejected() {
    let _ = resources().resource(Resource::text("mem://readme", "again", "text/plain", "x"));
}

#[test]
#[should_panic(expected = "resource template `mem://{unclosed`")]
fn invalid_templates_are_rejected() {
    let _ = ResourceTemplate::new("mem://{unclosed", "bad", |_, _| Ok(Vec::new()));
}

#[test]
#[should_panic(expected = "resource template `mem://notes/{name}` has no variable `title`")]
fn completing_an_undeclared_template_variable_is_rejected() {
    let _ = ResourceTemplate::new("mem://notes/{name}", "notes", note)
        .complete("title", |_, _| Vec::new());
}

// ---------------------------------------------------------------------------
// Prompts.

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReviewArgs {
    /// The code to review.
    code: String,
    /// What to pay attention to.
    focus: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
struct RepeatArgs {
    /// How many times.
    times: u8,
}

fn review(args: ReviewArgs) -> Result<Vec<PromptMessage>, PromptError> {
    if args.code == "fail" {
        return Err(PromptError::Failed("the reviewer is away".to_owned()));
    }
    let focus = args.focus.unwrap_or_else(|| "anything".to_owned());
    Ok(vec![
        PromptMessage::user(Content::text(format!(
            "Review this, looking at {focus}:\n{}",
            args.code
        ))),
        PromptMessage::assistant(Content::text("Looking.")),
    ])
}

fn prompts() -> Toolbox {
    Toolbox::new()
        .prompt(
            Prompt::new("review", "Reviews code.", review)
                .title("Code review")
                .meta(json!({"category": "code"}))
                .complete("focus", |typed, context| {
                    let mut values =
                        crate::complete::starting_with(typed, ["security", "style", "speed"]);
                    if context
                        .get("code")
                        .is_some_and(|code| code.contains("unsafe"))
                    {
                        values.insert(0, "soundness".to_owned());
                    }
                    values
                }),
        )
        .prompt(Prompt::new(
            "repeat",
            "Says hello a number of times.",
            |args: RepeatArgs| {
                Ok(vec![PromptMessage::user(Content::text(
                    "hello ".repeat(usize::from(args.times)),
                ))])
            },
        ))
        .prompt(
            Prompt::new("plain", "Takes no arguments.", |_: NoArgs| Ok(Vec::new())).meta(json!({})),
        )
}

fn arguments(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn invalid_message(result: Result<crate::PromptResult, PromptError>) -> String {
    match result {
        Err(PromptError::Invalid(message)) => message,
        other => panic!("an invalid-arguments error: {other:?}"),
    }
}

#[test]
fn prompts_list_arguments_derived_from_their_type() {
    let listed = prompts().list_prompts();
    let names: Vec<&str> = listed.iter().map(|info| info.name.as_str()).collect();
    assert_eq!(names, ["review", "repeat", "plain"]);
    let review = &listed[0];
    assert_eq!(review.title.as_deref(), Some("Code review"));
    assert_eq!(review.description.as_deref(), Some("Reviews code."));
    assert_eq!(
        parse(review.meta.as_deref().unwrap_or("null")),
        json!({"category": "code"})
    );
    let mut arguments = review.arguments.clone();
    arguments.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        arguments,
        [
            PromptArgument {
                name: "code".to_owned(),
                title: None,
                description: Some("The code to review.".to_owned()),
                required: true,
            },
            PromptArgument {
                name: "focus".to_owned(),
                title: None,
                description: Some("What to pay attention to.".to_owned()),
                required: false,
            },
        ]
    );
    assert_eq!(listed[1].title, None);
    assert_eq!(listed[1].meta, None);
    assert_eq!(listed[1].arguments.len(), 1);
    assert!(listed[1].arguments[0].required);
    assert!(listed[2].arguments.is_empty(), "NoArgs has no arguments");
}

#[test]
fn a_prompt_is_filled_in_from_valid_arguments() {
    let toolbox = prompts();
    let result = toolbox
        .get_prompt(
            "review",
            &arguments(&[("code", "x = 1"), ("focus", "style")]),
        )
        .expect("prompt");
    assert_eq!(result.description, None);
    assert_eq!(
        result.messages,
        [
            PromptMessage::user(Content::text("Review this, looking at style:\nx = 1")),
            PromptMessage::assistant(Content::text("Looking.")),
        ]
    );
    assert_eq!(result.messages[1].role, Role::Assistant);

    let optional_left_out = toolbox
        .get_prompt("review", &arguments(&[("code", "y")]))
        .expect("prompt");
    assert_eq!(
        optional_left_out.messages[0].content,
        Content::text("Review this, looking at anything:\ny")
    );
}

#[test]
fn wrong_or_missing_arguments_are_invalid_naming_the_field() {
    let toolbox = prompts();
    let missing = invalid_message(toolbox.get_prompt("review", &arguments(&[("focus", "x")])));
    assert!(missing.starts_with("invalid arguments:"), "{missing}");
    assert!(missing.contains("missing field `code`"), "{missing}");

    let unknown = invalid_message(
        toolbox.get_prompt("review", &arguments(&[("code", "x"), ("colour", "blue")])),
    );
    assert!(unknown.contains("`colour`"), "{unknown}");

    // Every argument arrives as a string: a field of another type (against
    // `Prompt::new`'s advice) never deserializes, and the error says which.
    let wrong_type = invalid_message(toolbox.get_prompt("repeat", &arguments(&[("times", "two")])));
    assert!(
        wrong_type.starts_with("invalid arguments: `times`:"),
        "{wrong_type}"
    );
}

#[test]
fn a_prompt_function_error_passes_through() {
    assert_eq!(
        prompts().get_prompt("review", &arguments(&[("code", "fail")])),
        Err(PromptError::Failed("the reviewer is away".to_owned()))
    );
}

#[test]
fn an_unknown_prompt_is_invalid() {
    assert_eq!(
        prompts().get_prompt("nope", &[]),
        Err(PromptError::Invalid("unknown prompt `nope`".to_owned()))
    );
}

#[test]
#[should_panic(expected = "prompt `review` is defined twice")]
fn duplicate_prompt_names_are_rejected() {
    let _ = prompts().prompt(Prompt::new("review", "Again.", review));
}

#[test]
#[should_panic(expected = "must match")]
fn invalid_prompt_names_are_rejected() {
    let _ = Toolbox::new().prompt(Prompt::new("a prompt", "Spaces.", review));
}

#[test]
#[should_panic(expected = "prompt `review` has no argument `language`")]
fn completing_an_undeclared_prompt_argument_is_rejected() {
    let _ = Prompt::new("review", "Reviews.", review).complete("language", |_, _| Vec::new());
}

// ---------------------------------------------------------------------------
// Completions.

fn request(
    target: CompletionTarget,
    argument: &str,
    value: &str,
    context: &[(&str, &str)],
) -> CompletionRequest {
    CompletionRequest {
        target,
        argument: argument.to_owned(),
        value: value.to_owned(),
        context: arguments(context),
    }
}

fn prompt_target(name: &str) -> CompletionTarget {
    CompletionTarget::Prompt(name.to_owned())
}

fn template_target(template: &str) -> CompletionTarget {
    CompletionTarget::ResourceTemplate(template.to_owned())
}

fn nothing() -> CompletionResult {
    CompletionResult {
        values: Vec::new(),
        total: Some(0),
        has_more: false,
    }
}

#[test]
fn a_prompt_argument_is_completed_with_its_context() {
    let toolbox = prompts();
    let result = toolbox.complete(&request(prompt_target("review"), "focus", "s", &[]));
    assert_eq!(
        result,
        CompletionResult {
            values: vec!["security".into(), "style".into(), "speed".into()],
            total: Some(3),
            has_more: false,
        }
    );
    let narrowed = toolbox.complete(&request(prompt_target("review"), "focus", "ST", &[]));
    assert_eq!(narrowed.values, ["style"]);
    let with_context = toolbox.complete(&request(
        prompt_target("review"),
        "focus",
        "sp",
        &[("code", "unsafe { x }")],
    ));
    assert_eq!(with_context.values, ["soundness", "speed"]);
    assert_eq!(with_context.total, Some(2));
}

#[test]
fn a_template_variable_is_completed() {
    let result = resources().complete(&request(
        template_target("mem://notes/{name}"),
        "name",
        "al",
        &[],
    ));
    assert_eq!(result.values, ["alpha", "Alps"]);
    assert_eq!(result.total, Some(2));
    assert!(!result.has_more);
}

#[test]
fn what_nothing_completes_gets_no_values() {
    let prompts = prompts();
    let resources = resources();
    for (toolbox, request) in [
        (&prompts, request(prompt_target("nope"), "focus", "", &[])),
        (&prompts, request(prompt_target("review"), "code", "", &[])),
        (&prompts, request(prompt_target("review"), "nope", "", &[])),
        (
            &prompts,
            request(template_target("mem://notes/{name}"), "name", "", &[]),
        ),
        (
            &resources,
            request(template_target("mem://files/{+path}"), "path", "", &[]),
        ),
        (
            &resources,
            request(template_target("mem://notes/{other}"), "name", "", &[]),
        ),
        (
            &resources,
            request(prompt_target("review"), "focus", "", &[]),
        ),
    ] {
        assert_eq!(toolbox.complete(&request), nothing(), "{request:?}");
    }
}

#[test]
fn more_than_a_hundred_values_are_cut_with_the_total() {
    let toolbox = Toolbox::new().resource_template(
        ResourceTemplate::new("mem://n/{n}", "numbers", |_, _| Ok(Vec::new()))
            .complete("n", |typed, _| {
                (0..250).map(|n| format!("{typed}{n}")).collect()
            }),
    );
    let result = toolbox.complete(&request(template_target("mem://n/{n}"), "n", "v", &[]));
    assert_eq!(result.values.len(), MAX_COMPLETION_VALUES);
    assert_eq!(MAX_COMPLETION_VALUES, 100);
    assert_eq!(result.values.first().map(String::as_str), Some("v0"));
    assert_eq!(result.values.last().map(String::as_str), Some("v99"));
    assert_eq!(result.total, Some(250));
    assert!(result.has_more);

    // Exactly the limit: all of them, nothing more.
    let exact = crate::complete::result((0..100).map(|n| n.to_string()).collect());
    assert_eq!(exact.values.len(), 100);
    assert_eq!(exact.total, Some(100));
    assert!(!exact.has_more);
}

#[test]
fn the_completion_context_answers_by_name() {
    let context = CompletionContext::new(arguments(&[("a", "1"), ("b", "2")]));
    assert_eq!(context.get("b"), Some("2"));
    assert_eq!(context.get("c"), None);
    assert_eq!(CompletionContext::default().get("a"), None);
}

// ---------------------------------------------------------------------------
// Tool metadata.

fn nothing_tool(_: NoArgs) -> Result<String, ToolError> {
    Ok(String::new())
}

#[test]
fn tool_meta_is_listed_for_the_tools_that_have_it() {
    let toolbox = Toolbox::new()
        .tool(Tool::new("t.plain", "No meta.", nothing_tool))
        .tool(
            Tool::new("t.app", "Has an app.", nothing_tool)
                .ui("ui://t/app.html")
                .meta(json!({"extra": 1})),
        )
        .tool(
            Tool::new("t.meta", "Merged meta.", nothing_tool)
                .meta(json!({"a": 1, "b": 1}))
                .meta(json!({"b": 2})),
        );
    let entries = toolbox.list_tool_meta();
    let tools: Vec<&str> = entries.iter().map(|entry| entry.tool.as_str()).collect();
    assert_eq!(tools, ["t.app", "t.meta"]);
    assert_eq!(
        parse(&entries[0].meta),
        json!({
            "ui": {"resourceUri": "ui://t/app.html"},
            "ui/resourceUri": "ui://t/app.html",
            "extra": 1,
        })
    );
    assert_eq!(parse(&entries[1].meta), json!({"a": 1, "b": 2}));
    // The listing of tools is unchanged by meta.
    assert_eq!(toolbox.list().len(), 3);
    assert!(Toolbox::new().list_tool_meta().is_empty());
}

#[test]
#[should_panic(expected = "the `_meta` of tool `t.bad` must be a JSON object")]
fn tool_meta_that_is_not_an_object_is_rejected() {
    let _ = Tool::new("t.bad", "Bad meta.", nothing_tool).meta(json!(["ui"]));
}

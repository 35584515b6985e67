//! Resources, prompts and completions that break the rules on purpose: a
//! read that never ends, contents of another URI or with a malformed MIME
//! type, contents over any output limit, a completion of too many values.
//! With `MISBEHAVE_LISTS` in its environment the component also lists
//! something malformed, so a gateway's refusal at load can be tested.

use std::hint::black_box;

use serde::Deserialize;
use serde_json::json;
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{
    Content, Prompt, PromptError, PromptMessage, Resource, ResourceError, ResourcePart,
    ResourceTemplate, Toolbox,
};

/// Bytes `misbehave://huge` returns: more than any sane output limit.
pub const HUGE_BYTES: usize = 8 << 20;

/// The environment variable that selects a malformed listing.
pub const LISTS_ENV: &str = "MISBEHAVE_LISTS";

/// Adds the misbehaving resources, template and prompts to `toolbox`.
pub fn serve(toolbox: Toolbox) -> Toolbox {
    toolbox
        .resource(Resource::new("misbehave://loop", "loop", |_| spin()))
        .resource(Resource::new("misbehave://wrong-uri", "wrong-uri", |_| {
            Ok(vec![ResourcePart::text(
                "misbehave://elsewhere",
                Some("text/plain"),
                "contents of another resource",
            )])
        }))
        .resource(Resource::new("misbehave://bad-mime", "bad-mime", |uri| {
            Ok(vec![ResourcePart::text(
                uri,
                Some("text plain\r\nX-Injected: 1"),
                "x",
            )])
        }))
        .resource(Resource::new("misbehave://huge", "huge", |uri| {
            Ok(vec![ResourcePart::text(
                uri,
                Some("text/plain"),
                "x".repeat(HUGE_BYTES),
            )])
        }))
        .resource(Resource::new("misbehave://missing", "missing", |uri| {
            Err(ResourceError::NotFound(format!("`{uri}` went away")))
        }))
        .resource(Resource::new("misbehave://fails", "fails", |_| {
            Err(ResourceError::Failed(
                "the backing store is down".to_owned(),
            ))
        }))
        .resource(Resource::new("misbehave://empty", "empty", |_| {
            Ok(Vec::new())
        }))
        .resource_template(
            ResourceTemplate::new("misbehave://items/{item}", "items", |uri, variables| {
                let item = variables.get("item").unwrap_or_default();
                Ok(vec![ResourcePart::text(
                    uri,
                    Some("text/plain"),
                    format!("item {item}"),
                )])
            })
            .complete("item", |typed, _| {
                (0..150).map(|n| format!("{typed}{n}")).collect()
            }),
        )
        .prompt(Prompt::new(
            "misbehave.prompt_loop",
            "Spins forever while making a prompt.",
            |_: NoPromptArgs| spin_prompt(),
        ))
        .prompt(Prompt::new(
            "misbehave.prompt_args",
            "Takes one required and one optional argument and echoes them.",
            |args: EchoPromptArgs| {
                Ok(vec![PromptMessage::user(Content::text(format!(
                    "required={} optional={}",
                    args.required,
                    args.optional.as_deref().unwrap_or("-")
                )))])
            },
        ))
        .resources_from(malformed_listing)
}

/// A prompt without arguments.
#[derive(Deserialize, JsonSchema)]
pub struct NoPromptArgs {}

/// Arguments of `misbehave.prompt_args`.
#[derive(Deserialize, JsonSchema)]
pub struct EchoPromptArgs {
    /// Must be given.
    pub required: String,
    /// May be left out.
    pub optional: Option<String>,
}

fn spin() -> Result<Vec<ResourcePart>, ResourceError> {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

fn spin_prompt() -> Result<Vec<PromptMessage>, PromptError> {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// What `MISBEHAVE_LISTS` asks to list: `duplicate-uri` (a URI listed
/// twice), `relative-uri` (not an absolute URI), `bad-meta` (a `_meta` that
/// is not an object); anything else, nothing more.
fn malformed_listing() -> Vec<Resource> {
    let text = |uri: &str| Resource::text(uri, "bad", "text/plain", "bad");
    match std::env::var(LISTS_ENV).as_deref() {
        Ok("duplicate-uri") => vec![text("misbehave://twice"), text("misbehave://twice")],
        Ok("relative-uri") => vec![text("relative/path.txt")],
        Ok("bad-meta") => vec![text("misbehave://bad-meta").meta(json!(["not", "an", "object"]))],
        _ => Vec::new(),
    }
}

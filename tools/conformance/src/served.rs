//! The resources, resource template, prompts and completion the suite's
//! resource, prompt and completion scenarios read (`resources-read-text`
//! reads `test://static-text`, `prompts-get-with-args` fills in
//! `test_prompt_with_arguments`, and so on), each answering exactly as the
//! scenario describes.

use serde::Deserialize;
use serde_json::json;
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{
    CompletionContext, Content, Prompt, PromptError, PromptMessage, Resource, ResourceError,
    ResourcePart, ResourceTemplate, Toolbox, Variables,
};

use crate::content::RED_PIXEL_PNG;
use crate::requests::{AskError, ask_field_as, plain};

/// What `resources-read-text` expects to read.
pub const STATIC_TEXT: &str = "This is the content of the static text resource.";

/// Adds the fixtures to `toolbox`.
pub fn serve(toolbox: Toolbox) -> Toolbox {
    toolbox
        // First: `caching` reads the first resource listed.
        .resource(
            Resource::text(
                "test://static-text",
                "static-text",
                "text/plain",
                STATIC_TEXT,
            )
            .title("Static Text Resource")
            .description("A static text resource for testing"),
        )
        .resource(
            Resource::blob(
                "test://static-binary",
                "static-binary",
                "image/png",
                RED_PIXEL_PNG,
            )
            .title("Static Binary Resource")
            .description("A static binary resource (image) for testing"),
        )
        .resource(
            Resource::text(
                "test://watched-resource",
                "watched-resource",
                "text/plain",
                "Watched resource content",
            )
            .title("Watched Resource")
            .description("A resource to subscribe to (scenario resources-subscribe)"),
        )
        .resource_template(
            ResourceTemplate::new("test://template/{id}/data", "template", template_data)
                .title("Resource Template")
                .description("A resource template with parameter substitution")
                .mime_type("application/json")
                .complete("id", |typed, _| {
                    warden_tool::complete::starting_with(typed, ["123", "456", "789"])
                }),
        )
        .prompt(
            Prompt::new(
                "test_simple_prompt",
                "A simple prompt without arguments",
                |_: NoPromptArgs| {
                    Ok(vec![PromptMessage::user(Content::text(
                        "This is a simple prompt for testing.",
                    ))])
                },
            )
            .title("Simple Test Prompt"),
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_arguments",
                "A prompt with required arguments",
                |args: TwoArgs| {
                    Ok(vec![PromptMessage::user(Content::text(format!(
                        "Prompt with arguments: arg1='{}', arg2='{}'",
                        args.arg1, args.arg2
                    )))])
                },
            )
            .title("Prompt With Arguments")
            .complete("arg1", complete_arg1),
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_embedded_resource",
                "A prompt that includes an embedded resource",
                |args: EmbeddedArgs| {
                    Ok(vec![
                        PromptMessage::user(Content::resource_text(
                            args.resource_uri,
                            Some("text/plain"),
                            "Embedded resource content for testing.",
                        )),
                        PromptMessage::user(Content::text(
                            "Please process the embedded resource above.",
                        )),
                    ])
                },
            )
            .title("Prompt With Embedded Resource"),
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_image",
                "A prompt that includes image content",
                |_: NoPromptArgs| {
                    Ok(vec![
                        PromptMessage::user(Content::image(RED_PIXEL_PNG, "image/png")),
                        PromptMessage::user(Content::text("Please analyze the image above.")),
                    ])
                },
            )
            .title("Prompt With Image"),
        )
        .prompt(Prompt::new(
            "test_input_required_result_prompt",
            "Asks the user for context, then uses it (scenario \
             input-required-result-non-tool-request)",
            input_required_prompt,
        ))
}

/// A prompt without arguments.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoPromptArgs {}

/// Arguments of `test_prompt_with_arguments`.
#[derive(Deserialize, JsonSchema)]
pub struct TwoArgs {
    /// First test argument
    arg1: String,
    /// Second test argument
    arg2: String,
}

/// Arguments of `test_prompt_with_embedded_resource`.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmbeddedArgs {
    /// URI of the resource to embed
    resource_uri: String,
}

fn template_data(uri: &str, variables: &Variables) -> Result<Vec<ResourcePart>, ResourceError> {
    let id = variables
        .get("id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ResourceError::Invalid("the template needs an `id`".to_owned()))?;
    let data = json!({
        "id": id,
        "templateTest": true,
        "data": format!("Data for ID: {id}"),
    });
    Ok(vec![ResourcePart::text(
        uri,
        Some("application/json"),
        data.to_string(),
    )])
}

fn complete_arg1(typed: &str, _: &CompletionContext) -> Vec<String> {
    warden_tool::complete::starting_with(typed, ["test", "testValue1", "other"])
}

fn input_required_prompt(_: NoPromptArgs) -> Result<Vec<PromptMessage>, PromptError> {
    let context = ask_field_as(
        Some("user_context"),
        false,
        "What context should the prompt use?",
        "context",
        "string",
    )
    .map_err(|error| match error {
        AskError::Client(error) => PromptError::Failed(error.to_string()),
        AskError::Missing(field) => {
            PromptError::Invalid(format!("the accepted form has no `{field}`"))
        }
    })?;
    let text = match context {
        Some(context) => format!("Prompt with context: {}", plain(&context)),
        None => "Prompt without context: the user declined".to_owned(),
    };
    Ok(vec![PromptMessage::user(Content::text(text))])
}

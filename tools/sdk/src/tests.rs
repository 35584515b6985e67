//! Tests of the whole call path (`Toolbox::list` and `Toolbox::call`) on the
//! host, without wasm.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::schemars::{self, JsonSchema};
use crate::{CallResult, Content, NoArgs, Tool, ToolError, ToolInfo, Toolbox};

#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet.
    name: String,
    /// How many exclamation marks.
    #[serde(default)]
    excitement: u8,
}

#[derive(Serialize, JsonSchema)]
struct Greeting {
    /// The greeting.
    text: String,
}

fn greet(args: GreetArgs) -> Result<Greeting, ToolError> {
    if args.name.is_empty() {
        return Err(ToolError::new("`name` must not be empty"));
    }
    let bangs = "!".repeat(usize::from(args.excitement));
    Ok(Greeting {
        text: format!("Hello, {}{bangs}", args.name),
    })
}

fn shout(args: GreetArgs) -> Result<String, ToolError> {
    Ok(args.name.to_uppercase())
}

fn picture(_: NoArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![
        Content::text("a pixel"),
        Content::image(vec![1, 2, 3], "image/png"),
    ])
}

fn toolbox() -> Toolbox {
    Toolbox::new()
        .tool(
            Tool::new("test.greet", "Greets someone.", greet)
                .title("Greet")
                .read_only()
                .idempotent(),
        )
        .tool(Tool::new("test.shout", "Shouts a name.", shout).open_world(false))
        .tool(Tool::with_content("test.picture", "Draws.", picture))
}

fn info(name: &str) -> ToolInfo {
    let list = toolbox().list();
    let found = list.into_iter().find(|info| info.name == name);
    found.unwrap_or_else(|| panic!("tool {name} is listed"))
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{json} is JSON: {e}"))
}

#[test]
fn input_schema_is_an_object_with_field_descriptions() {
    let schema = parse(&info("test.greet").input_schema);
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["name"]["type"], "string");
    assert_eq!(schema["properties"]["name"]["description"], "Who to greet.");
    assert_eq!(
        schema["properties"]["excitement"]["description"],
        "How many exclamation marks."
    );
    assert_eq!(schema["required"], json!(["name"]));
    assert!(
        schema["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("2020-12")),
        "schema declares draft 2020-12: {schema}"
    );
}

#[test]
fn no_args_schema_is_an_empty_closed_object() {
    let schema = parse(&info("test.picture").input_schema);
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn output_schema_only_for_object_outputs() {
    let greet = info("test.greet");
    let schema = parse(greet.output_schema.as_deref().unwrap_or("null"));
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["text"]["description"], "The greeting.");

    assert_eq!(info("test.shout").output_schema, None);
    assert_eq!(info("test.picture").output_schema, None);
}

#[test]
fn metadata_and_annotations() {
    let greet = info("test.greet");
    assert_eq!(greet.title.as_deref(), Some("Greet"));
    assert_eq!(greet.description, "Greets someone.");
    assert_eq!(greet.annotations.read_only, Some(true));
    assert_eq!(greet.annotations.idempotent, Some(true));
    assert_eq!(greet.annotations.destructive, None);
    assert_eq!(info("test.shout").annotations.open_world, Some(false));
    let names: Vec<String> = toolbox().list().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["test.greet", "test.shout", "test.picture"]);
}

#[test]
fn object_output_is_structured_content_and_the_same_text() {
    let result = toolbox().call("test.greet", r#"{"name": "Ada", "excitement": 2}"#);
    assert!(!result.is_error, "{result:?}");
    assert_eq!(
        result.structured_value(),
        Some(json!({"text": "Hello, Ada!!"}))
    );
    assert_eq!(result.content.len(), 1);
    assert_eq!(result.first_text(), result.structured_content.as_deref());
}

#[test]
fn structured_output_keeps_field_order() {
    #[derive(Serialize, JsonSchema)]
    struct Ordered {
        zebra: u8,
        apple: u8,
    }
    let tool = Tool::new("test.order", "Order.", |_: NoArgs| {
        Ok(Ordered { zebra: 1, apple: 2 })
    });
    let result = tool.call("{}");
    assert_eq!(
        result.structured_content.as_deref(),
        Some(r#"{"zebra":1,"apple":2}"#)
    );
}

#[test]
fn string_output_is_plain_text() {
    let result = toolbox().call("test.shout", r#"{"name": "ada"}"#);
    assert_eq!(result, CallResult::from_content(vec![Content::text("ADA")]));
}

#[test]
fn content_tools_return_their_items() {
    let result = toolbox().call("test.picture", "{}");
    assert!(!result.is_error);
    assert_eq!(result.structured_content, None);
    assert_eq!(result.content.len(), 2);
    assert_eq!(
        result.content[1],
        Content::image(vec![1, 2, 3], "image/png")
    );
}

#[test]
fn tool_error_is_an_error_result_with_the_message() {
    let result = toolbox().call("test.greet", r#"{"name": ""}"#);
    assert_eq!(result, CallResult::error("`name` must not be empty"));
    assert!(result.is_error);
}

#[test]
fn bad_arguments_name_the_field() {
    let result = toolbox().call("test.greet", r#"{"name": "Ada", "excitement": "lots"}"#);
    assert!(result.is_error);
    let text = result.first_text().unwrap_or_default();
    assert!(
        text.starts_with("invalid arguments: `excitement`:"),
        "{text}"
    );

    let result = toolbox().call("test.greet", r#"{"excitement": 1}"#);
    assert!(result.is_error);
    let text = result.first_text().unwrap_or_default();
    assert!(text.contains("missing field `name`"), "{text}");

    let result = toolbox().call("test.greet", "[1, 2");
    assert!(result.is_error);

    let result = toolbox().call("test.picture", r#"{"surprise": true}"#);
    assert!(result.is_error, "NoArgs rejects unknown fields");
}

#[test]
fn empty_arguments_mean_an_empty_object() {
    assert!(!toolbox().call("test.picture", "").is_error);
}

#[test]
fn unknown_tool_is_an_error_result() {
    let result = toolbox().call("test.nope", "{}");
    assert_eq!(result, CallResult::error("unknown tool `test.nope`"));
}

#[test]
fn raw_tools_declare_the_schema_they_are_given() {
    #[derive(Serialize, JsonSchema)]
    struct Declared {
        ok: bool,
    }
    let tool = Tool::raw("test.raw", "Raw.", |_: NoArgs| {
        CallResult::structured(&json!({"ok": "not a bool"}))
    })
    .declare_output_schema::<Declared>();
    let schema = parse(tool.info().output_schema.as_deref().unwrap_or("null"));
    assert_eq!(schema["properties"]["ok"]["type"], "boolean");
    assert_eq!(
        tool.call("{}").structured_value(),
        Some(json!({"ok": "not a bool"}))
    );
}

#[test]
fn std_errors_convert_with_their_sources() {
    fn parse_number(text: &str) -> Result<i64, ToolError> {
        Ok(text.parse::<i64>()?)
    }
    let error = parse_number("x").err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("invalid digit found in string"));
}

#[test]
#[should_panic(expected = "defined twice")]
fn duplicate_names_are_rejected() {
    let _ = toolbox().tool(Tool::new("test.greet", "Again.", greet));
}

#[test]
#[should_panic(expected = "must match")]
fn invalid_names_are_rejected() {
    let _ = Toolbox::new().tool(Tool::new("bad name", "Spaces.", greet));
}

#[test]
#[should_panic(expected = "must be a struct")]
fn non_object_inputs_are_rejected_at_list() {
    let _ = Toolbox::new()
        .tool(Tool::new("test.bare", "A bare string.", |s: String| {
            Ok::<_, ToolError>(s)
        }))
        .list();
}

mod served;

use serde_json::{Value, json};
use warden_tool::{CallResult, Content, ResourceContents};

use super::content::{INTENTIONAL_ERROR, RED_PIXEL_PNG, SILENCE_WAV};
use super::toolbox;

fn call(name: &str, args: Value) -> CallResult {
    toolbox().call(name, &args.to_string())
}

fn input_schema(name: &str) -> Value {
    let info = toolbox()
        .list()
        .into_iter()
        .find(|tool| tool.name == name)
        .unwrap_or_else(|| panic!("no tool `{name}`"));
    serde_json::from_str(&info.input_schema).expect("the input schema is JSON")
}

#[test]
fn lists_every_fixture_under_the_suites_names() {
    let names: Vec<String> = toolbox().list().into_iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "test_simple_text",
            "test_image_content",
            "test_audio_content",
            "test_embedded_resource",
            "test_multiple_content_types",
            "test_tool_with_logging",
            "test_error_handling",
            "test_tool_with_progress",
            "test_reconnection",
            "test_sampling",
            "test_elicitation",
            "test_elicitation_sep1034_defaults",
            "test_elicitation_sep1330_enums",
            "json_schema_2020_12_tool",
            "test_input_required_result_elicitation",
            "test_input_required_result_sampling",
            "test_input_required_result_request_state",
            "test_input_required_result_multiple_inputs",
            "test_input_required_result_list_roots",
            "test_input_required_result_multi_round",
            "test_input_required_result_tampered_state",
            "test_input_required_result_capabilities",
            "test_missing_capability",
            "test_streaming_elicitation",
            "test_logging_tool",
            "test_header_mirroring",
        ]
    );
}

#[test]
fn simple_text_says_what_the_suite_expects() {
    let result = call("test_simple_text", json!({}));
    assert!(!result.is_error);
    assert_eq!(
        result.first_text(),
        Some("This is a simple text response for testing.")
    );
}

#[test]
fn binary_fixtures_are_real_files_of_their_type() {
    assert_eq!(RED_PIXEL_PNG.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]));
    assert_eq!(SILENCE_WAV.get(..4), Some(&b"RIFF"[..]));
    assert_eq!(SILENCE_WAV.get(8..12), Some(&b"WAVE"[..]));
    let riff_size = SILENCE_WAV
        .get(4..8)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map(u32::from_le_bytes);
    assert_eq!(riff_size, u32::try_from(SILENCE_WAV.len() - 8).ok());
}

#[test]
fn image_and_audio_carry_their_mime_types() {
    let image = call("test_image_content", json!({}));
    assert!(
        matches!(&image.content[..], [Content::Image(png)] if png.mime_type == "image/png" && png.data == RED_PIXEL_PNG)
    );
    let audio = call("test_audio_content", json!({}));
    assert!(
        matches!(&audio.content[..], [Content::Audio(wav)] if wav.mime_type == "audio/wav" && wav.data == SILENCE_WAV)
    );
}

#[test]
fn the_embedded_resource_has_uri_mime_type_and_text() {
    let result = call("test_embedded_resource", json!({}));
    let [Content::Resource(resource)] = &result.content[..] else {
        panic!("one resource expected: {:?}", result.content);
    };
    assert_eq!(resource.uri, "test://embedded-resource");
    assert_eq!(resource.mime_type.as_deref(), Some("text/plain"));
    assert!(
        matches!(&resource.contents, ResourceContents::Text(text) if text == "This is an embedded resource content.")
    );
}

#[test]
fn mixed_content_is_text_then_image_then_json_resource() {
    let result = call("test_multiple_content_types", json!({}));
    let [
        Content::Text(text),
        Content::Image(_),
        Content::Resource(resource),
    ] = &result.content[..]
    else {
        panic!("text, image, resource expected: {:?}", result.content);
    };
    assert_eq!(text, "Multiple content types test:");
    assert_eq!(resource.mime_type.as_deref(), Some("application/json"));
    let ResourceContents::Text(json) = &resource.contents else {
        panic!("a text resource expected");
    };
    assert_eq!(
        serde_json::from_str::<Value>(json).ok(),
        Some(json!({"test": "data", "value": 123}))
    );
}

#[test]
fn error_handling_is_a_tool_error_with_the_suites_message() {
    let result = call("test_error_handling", json!({}));
    assert!(result.is_error);
    assert_eq!(result.first_text(), Some(INTENTIONAL_ERROR));
}

#[test]
fn logging_and_progress_tools_finish_with_text() {
    for tool in [
        "test_tool_with_logging",
        "test_tool_with_progress",
        "test_reconnection",
        "test_logging_tool",
    ] {
        let result = call(tool, json!({}));
        assert!(!result.is_error, "{tool}: {:?}", result.first_text());
        assert!(result.first_text().is_some(), "{tool}");
    }
}

#[test]
fn tools_that_ask_the_client_fail_cleanly_without_one() {
    for (tool, args) in [
        ("test_sampling", json!({"prompt": "hi"})),
        ("test_elicitation", json!({"message": "hi"})),
        ("test_elicitation_sep1034_defaults", json!({})),
        ("test_elicitation_sep1330_enums", json!({})),
        ("test_input_required_result_elicitation", json!({})),
        ("test_input_required_result_sampling", json!({})),
        ("test_input_required_result_request_state", json!({})),
        ("test_input_required_result_multiple_inputs", json!({})),
        ("test_input_required_result_list_roots", json!({})),
        ("test_input_required_result_multi_round", json!({})),
        ("test_input_required_result_tampered_state", json!({})),
        ("test_input_required_result_capabilities", json!({})),
        ("test_missing_capability", json!({})),
        ("test_streaming_elicitation", json!({})),
    ] {
        let result = call(tool, args);
        assert!(result.is_error, "{tool}");
        assert!(
            result
                .first_text()
                .is_some_and(|text| text.contains("did not answer")),
            "{tool}: {:?}",
            result.first_text()
        );
    }
}

#[test]
fn sampling_and_elicitation_require_their_argument() {
    assert_eq!(input_schema("test_sampling")["required"], json!(["prompt"]));
    assert_eq!(
        input_schema("test_elicitation")["required"],
        json!(["message"])
    );
}

#[test]
fn the_2020_12_schema_keeps_every_keyword_the_suite_checks() {
    let schema = input_schema("json_schema_2020_12_tool");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], json!(false));
    assert_eq!(schema["$defs"]["address"]["$anchor"], "addressDef");
    assert_eq!(schema["properties"]["address"]["$ref"], "#/$defs/address");
    assert!(schema["allOf"][0]["anyOf"].is_array());
    for keyword in ["if", "then", "else"] {
        assert!(schema[keyword].is_object(), "{keyword}");
    }
}

#[test]
fn the_2020_12_tool_echoes_its_arguments() {
    let args = json!({
        "name": "Ada",
        "address": {"city": "London"},
        "contactMethod": "email",
        "email": "ada@example.com",
    });
    let result = call("json_schema_2020_12_tool", args.clone());
    assert!(!result.is_error, "{:?}", result.first_text());
    let echoed = result
        .first_text()
        .and_then(|text| text.strip_prefix("JSON Schema 2020-12 tool called with: "))
        .and_then(|json| serde_json::from_str::<Value>(json).ok());
    assert_eq!(echoed, Some(args));
}

#[test]
fn the_region_is_mirrored_into_a_header() {
    let schema = input_schema("test_header_mirroring");
    assert_eq!(schema["properties"]["region"]["x-mcp-header"], "Region");
    assert_eq!(schema["properties"]["region"]["type"], "string");
    let result = call("test_header_mirroring", json!({"region": "eu-west1"}));
    assert_eq!(result.first_text(), Some("region: eu-west1"));
}

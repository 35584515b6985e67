//! A tool component built against `warden:tool@0.1.0` (the frozen copy in
//! `wit/`), with `wit-bindgen` directly and not the SDK: Warden's tests load
//! it to prove that a component of the first interface version keeps
//! working as the interface grows.

// The generated glue lowers and lifts values across the component ABI with
// raw pointers.
#![allow(unsafe_code, missing_docs, clippy::all)]

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        path: "wit",
        world: "tool-component",
    });

    use exports::warden::tool::tool::Guest;
    use warden::tool::types::{Annotations, CallResult, Content, ToolInfo};

    struct Legacy;

    impl Guest for Legacy {
        fn list_tools() -> Vec<ToolInfo> {
            vec![ToolInfo {
                name: "legacy.echo".to_owned(),
                title: None,
                description: "Returns its `text` argument (a component of warden:tool@0.1.0)."
                    .to_owned(),
                input_schema: r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#
                    .to_owned(),
                output_schema: None,
                annotations: Annotations {
                    read_only: Some(true),
                    destructive: None,
                    idempotent: Some(true),
                    open_world: Some(false),
                },
            }]
        }

        fn call_tool(_name: String, arguments: String) -> CallResult {
            // The host validated the arguments against the schema above; the
            // text is taken out without a JSON parser to keep this small.
            let text = arguments
                .split_once(r#""text":""#)
                .and_then(|(_, rest)| rest.rsplit_once('"'))
                .map_or("", |(text, _)| text);
            CallResult {
                content: vec![Content::Text(format!("0.1.0 says: {text}"))],
                structured_content: None,
                is_error: false,
            }
        }
    }

    export!(Legacy);
}

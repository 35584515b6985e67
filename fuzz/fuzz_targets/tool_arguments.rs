//! The argument validator: arguments of a `tools/call` go through the same
//! strict JSON decoding (duplicate keys refused, nesting bounded) and the
//! same schema check as on the server.
//!
//! The first byte picks the schema:
//! - below 0xf0: the input schema of one of the example tools, and the rest
//!   is the `arguments` value;
//! - otherwise: the rest is `schema` 0xff `arguments`, a schema such as a
//!   hostile component could declare, compiled the way the catalog does.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use warden_gateway::catalog::Catalog;
use warden_gateway::mcp::jsonrpc::{self, Message};
use warden_gateway::mcp::tools::schema_violations;

/// The nesting limit the server applies by default.
const MAX_DEPTH: usize = 64;

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| {
        warden_fuzz::runtime()
            .block_on(Catalog::load(warden_fuzz::config()))
            .expect("the example components load")
    })
}

/// The `arguments` of a `tools/call` whose arguments are `bytes`, decoded
/// as the server decodes a request body.
fn decoded_arguments(bytes: &[u8]) -> Option<Value> {
    let mut body =
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"#
            .to_vec();
    body.extend_from_slice(bytes);
    body.extend_from_slice(b"}}");
    match jsonrpc::decode(&body, MAX_DEPTH).ok()? {
        Message::Request { mut params, .. } => {
            params.as_mut()?.get_mut("arguments").map(Value::take)
        }
        _ => None,
    }
}

fuzz_target!(
    init: {
        // Loading the components takes seconds: before the first input.
        catalog();
    },
    |input: &[u8]| run(input)
);

fn run(input: &[u8]) {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    if selector < 0xf0 {
        let tools = catalog().tools();
        let tool = &tools[usize::from(selector) % tools.len()];
        if let Some(arguments) = decoded_arguments(rest) {
            let violations = schema_violations(&tool.input_validator, &arguments);
            assert_eq!(
                violations.is_empty(),
                tool.input_validator.is_valid(&arguments),
                "the violations listed disagree with the validator"
            );
        }
        return;
    }
    let Some(split) = rest.iter().position(|&b| b == 0xff) else {
        return;
    };
    let (schema, arguments) = (&rest[..split], &rest[split + 1..]);
    let Some(schema) = decoded_arguments(schema) else {
        return;
    };
    let Ok(validator) = warden_gateway::catalog::compile_schema(&schema) else {
        return;
    };
    if let Some(arguments) = decoded_arguments(arguments) {
        let _ = schema_violations(&validator, &arguments);
    }
}

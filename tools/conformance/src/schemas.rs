//! Tools whose point is their input schema: JSON Schema 2020-12 keywords
//! the gateway must pass on untouched, and an argument mirrored into an
//! HTTP header.

use std::borrow::Cow;

use serde::Deserialize;
use warden_tool::schemars::{self, JsonSchema, Schema, SchemaGenerator, json_schema};
use warden_tool::{Content, ToolError};

/// The name the `json-schema-2020-12` scenario looks for.
pub const JSON_SCHEMA_2020_12_TOOL: &str = "json_schema_2020_12_tool";

/// Arguments of `json_schema_2020_12_tool`.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContactArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_method: Option<ContactMethod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The `$defs/address` of [`ContactArgs`].
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

/// How to reach the contact, which decides the field that is required.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactMethod {
    Phone,
    Email,
}

/// Written out rather than derived: the scenario checks that these exact
/// keywords (`$defs` with an `$anchor`, `$ref`, `allOf`/`anyOf`,
/// `if`/`then`/`else`, `additionalProperties: false`) reach the client, and
/// the derive would never produce most of them. It is the suite's own
/// fixture schema, so the two cannot drift apart unnoticed.
impl JsonSchema for ContactArgs {
    fn schema_name() -> Cow<'static, str> {
        "ContactArgs".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "$anchor": "addressDef",
                    "type": "object",
                    "properties": {
                        "street": { "type": "string" },
                        "city": { "type": "string" }
                    }
                }
            },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" },
                "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                "phone": { "type": "string" },
                "email": { "type": "string" }
            },
            "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
            "if": {
                "properties": { "contactMethod": { "const": "phone" } },
                "required": ["contactMethod"]
            },
            "then": { "required": ["phone"] },
            "else": { "required": ["email"] },
            "additionalProperties": false
        })
    }
}

pub fn json_schema_2020_12(args: ContactArgs) -> Result<Vec<Content>, ToolError> {
    let echoed = serde_json::to_string(&args)?;
    Ok(vec![Content::text(format!(
        "JSON Schema 2020-12 tool called with: {echoed}"
    ))])
}

/// Arguments of `test_header_mirroring`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct HeaderArgs {
    /// Where to route the call; clients of revision 2026-07-28 also send it
    /// as the `Mcp-Param-Region` header.
    #[schemars(extend("x-mcp-header" = "Region"))]
    pub region: String,
}

pub fn header_mirroring(args: HeaderArgs) -> Result<Vec<Content>, ToolError> {
    Ok(vec![Content::text(format!("region: {}", args.region))])
}

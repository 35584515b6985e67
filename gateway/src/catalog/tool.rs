//! One servable tool: its schemas compiled once, its listing built once,
//! its access rule and quotas.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_sandbox::{ToolComponent, ToolInfo};

use super::CatalogError;
use crate::auth::Caller;
use crate::auth::access::{self, ToolAccess};
use crate::config::{AccessPolicy, AccessRule, ToolAuditConfig};
use crate::limits::ToolRates;
use crate::mcp::param_headers::{self, HeaderParam};
use crate::telemetry::metrics::ToolMetrics;

/// One servable tool.
pub struct Tool {
    /// The name clients call it by: the component's tool prefix and the
    /// name the component declared.
    pub name: String,
    /// What the component declared; `info.name` is what the guest is called
    /// with.
    pub info: ToolInfo,
    /// The component that runs it.
    pub component: Arc<ToolComponent>,
    /// Compiled input schema.
    pub input_validator: jsonschema::Validator,
    /// Compiled output schema, when the tool declares one.
    pub output_validator: Option<jsonschema::Validator>,
    /// Arguments mirrored into `Mcp-Param-*` headers (2026-07-28).
    pub header_params: Vec<HeaderParam>,
    /// The tool as `tools/list` shows it, built once.
    pub listing: Value,
    /// Who may see and call it; `None`: every caller.
    pub access: Option<ToolAccess>,
    /// Its request quotas.
    pub rates: ToolRates,
    /// What its audit records may show.
    pub audit: ToolAuditConfig,
    /// Its metric series.
    pub metrics: ToolMetrics,
    /// The wall-clock budget of a call run as a task; `None`: the tool
    /// does not run as a task.
    pub task_duration_ms: Option<u64>,
}

impl Tool {
    /// Whether `caller` may see and call this tool: a tool it may not is
    /// left out of its listings and answered as unknown.
    pub fn allows(&self, caller: &Caller) -> bool {
        access::allows(self.access.as_ref(), &self.name, caller)
    }
}

/// Refuses a table (`access.tools`, `rate_limits.prompts`, …) that names
/// a `kind` (tool, prompt) the component does not declare: a typo there
/// would silently leave it under the component's rule.
pub(super) fn check_names<'a>(
    component: &ToolComponent,
    table: &'static str,
    kind: &'static str,
    declared: &[&str],
    mut names: impl Iterator<Item = &'a String>,
) -> Result<(), CatalogError> {
    match names.find(|name| !declared.contains(&name.as_str())) {
        Some(unknown) => Err(CatalogError::UnknownItem {
            component: component.name().to_owned(),
            table,
            kind,
            name: unknown.clone(),
            declared: if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            },
        }),
        None => Ok(()),
    }
}

/// The rule for one tool or prompt (`own`, from `table`) or else the
/// component's, with the table that states it; `None` when no rule applies
/// (every caller).
pub(super) fn item_access(
    component: &ToolComponent,
    access: &AccessPolicy,
    table: &str,
    own: Option<(&str, &AccessRule)>,
) -> Option<ToolAccess> {
    let component_table = format!("components.{}.access", component.name());
    match own {
        Some((key, rule)) => Some(ToolAccess {
            rule: rule.clone(),
            source: format!("{component_table}.{table}.{key:?}"),
        }),
        None => access.rule.as_ref().map(|rule| ToolAccess {
            rule: rule.clone(),
            source: component_table,
        }),
    }
}

/// Compiles a schema a component declared (untrusted, like the component).
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    if let Some((pattern, construct)) = super::patterns::non_ecma_pattern(schema) {
        return Err(format!(
            "the pattern `{}` uses {construct}, which ECMA-262 regular expressions (the dialect \
             of JSON Schema) do not have",
            crate::excerpt::excerpt(&pattern, 120)
        ));
    }
    jsonschema::validator_for(schema).map_err(|error| error.to_string())
}

pub(super) fn compile_tool(
    component: &Arc<ToolComponent>,
    name: String,
    info: &ToolInfo,
    task_duration_ms: Option<u64>,
) -> Result<Tool, CatalogError> {
    let invalid = |which: &'static str, reason: String| CatalogError::InvalidSchema {
        component: component.name().to_owned(),
        tool: info.name.clone(),
        which,
        reason,
    };
    let input_schema: Value = serde_json::from_str(&info.input_schema)
        .map_err(|error| invalid("input", error.to_string()))?;
    let input_validator =
        compile_schema(&input_schema).map_err(|reason| invalid("input", reason))?;
    let header_params =
        param_headers::declared(&input_schema).map_err(|reason| invalid("input", reason))?;
    let output_schema: Option<Value> = info
        .output_schema
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|error| invalid("output", error.to_string()))?;
    let output_validator = output_schema
        .as_ref()
        .map(compile_schema)
        .transpose()
        .map_err(|reason| invalid("output", reason))?;
    let mut listing = listing(&name, info, input_schema, output_schema);
    if task_duration_ms.is_some() {
        // 2025-11-25's tool-level switch; other revisions drop it.
        listing["execution"] = json!({ "taskSupport": "optional" });
    }
    Ok(Tool {
        metrics: ToolMetrics::new(&name),
        name,
        info: info.clone(),
        component: Arc::clone(component),
        input_validator,
        output_validator,
        header_params,
        listing,
        access: None,
        rates: ToolRates::default(),
        audit: ToolAuditConfig::default(),
        task_duration_ms,
    })
}

/// The MCP `Tool` object for `tools/list`, under the name clients call.
fn listing(
    name: &str,
    info: &ToolInfo,
    input_schema: Value,
    output_schema: Option<Value>,
) -> Value {
    let mut tool = Map::new();
    tool.insert("name".into(), json!(name));
    if let Some(title) = &info.title {
        tool.insert("title".into(), json!(title));
    }
    tool.insert("description".into(), json!(info.description));
    tool.insert("inputSchema".into(), input_schema);
    if let Some(output_schema) = output_schema {
        tool.insert("outputSchema".into(), output_schema);
    }
    let hints = [
        ("readOnlyHint", info.annotations.read_only),
        ("destructiveHint", info.annotations.destructive),
        ("idempotentHint", info.annotations.idempotent),
        ("openWorldHint", info.annotations.open_world),
    ];
    let annotations: Map<String, Value> = hints
        .into_iter()
        .filter_map(|(key, hint)| Some((key.to_owned(), Value::Bool(hint?))))
        .collect();
    if !annotations.is_empty() {
        tool.insert("annotations".into(), Value::Object(annotations));
    }
    // The sandbox checked at load that it is a JSON object.
    if let Some(meta) = info
        .meta
        .as_deref()
        .and_then(|meta| serde_json::from_str::<Value>(meta).ok())
    {
        tool.insert("_meta".into(), meta);
    }
    Value::Object(tool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_sandbox::Annotations;

    #[test]
    fn a_subroutine_call_in_a_pattern_is_refused_not_compiled() {
        // fancy-regex would size a bit set by the group number and abort
        // the process asking for 694 GB.
        let schema = json!({
            "type": "object",
            "properties": {"s": {"type": "string", "pattern": r"(a)\1\g5555555555555"}}
        });
        let Err(error) = compile_schema(&schema) else {
            panic!("the schema compiled");
        };
        assert!(
            error.contains("subroutine call") && error.contains("ECMA-262"),
            "{error}"
        );
        let ecma = json!({"type": "string", "pattern": r"^(a)\1(?=b)"});
        assert!(compile_schema(&ecma).is_ok());
    }

    #[test]
    fn listing_carries_only_the_hints_a_tool_set() {
        let info = ToolInfo {
            name: "text.count".into(),
            title: Some("Count".into()),
            description: "Counts.".into(),
            input_schema: r#"{"type":"object"}"#.into(),
            output_schema: None,
            meta: None,
            annotations: Annotations {
                read_only: Some(true),
                ..Annotations::default()
            },
        };
        let tool = listing(
            "text.count",
            &info,
            json!({"type": "object"}),
            Some(json!({"type": "object"})),
        );
        assert_eq!(
            tool,
            json!({
                "name": "text.count",
                "title": "Count",
                "description": "Counts.",
                "inputSchema": {"type": "object"},
                "outputSchema": {"type": "object"},
                "annotations": {"readOnlyHint": true},
            })
        );
        let bare = ToolInfo {
            title: None,
            annotations: Annotations::default(),
            ..info
        };
        let tool = listing("text.count", &bare, json!({"type": "object"}), None);
        assert!(tool.get("annotations").is_none() && tool.get("title").is_none());
    }
}

//! The tools Warden serves: every configured component loaded into the
//! sandbox, its tools checked for clashes, their JSON Schemas compiled once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_sandbox::{
    LoadError, MAX_TOOL_NAME_CHARS, Policy, Sandbox, SandboxConfig, SandboxError, ToolComponent,
    ToolInfo,
};

use crate::auth::Caller;
use crate::auth::access::{self, ToolAccess};
use crate::config::{
    self, AccessPolicy, ComponentConfig, Config, DefinedAt, ToolAuditConfig, ToolQuotas,
};
use crate::limits::ToolRates;
use crate::mcp::param_headers::{self, HeaderParam};
use crate::telemetry::metrics::ToolMetrics;

/// Why the catalog could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The engine could not be created.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A component file failed to load (no configuration names it).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A configured component failed to load.
    #[error("{at}: {source}")]
    ConfiguredLoad {
        /// Where the configuration names the component.
        at: DefinedAt,
        /// Why it failed.
        source: LoadError,
    },
    /// Two components declare the same tool name.
    #[error(
        "tool `{tool}` is declared by both component `{first}` and component `{second}`; \
         give one of them a `tool_prefix`"
    )]
    DuplicateTool {
        /// The tool name.
        tool: String,
        /// The component loaded first.
        first: String,
        /// The component that clashes.
        second: String,
    },
    /// A tool's name with its component's prefix breaks MCP's naming rule.
    #[error(
        "component `{component}`: tool `{tool}` with prefix `{prefix}` is longer than \
         {MAX_TOOL_NAME_CHARS} characters"
    )]
    NameTooLong {
        /// The component.
        component: String,
        /// The tool as the component declares it.
        tool: String,
        /// The configured prefix.
        prefix: String,
    },
    /// A per-tool table names a tool the component does not declare.
    #[error(
        "components.{component}.{table}.tools.{tool}: component `{component}` declares no tool \
         `{tool}` (it declares: {declared})"
    )]
    UnknownTool {
        /// The component.
        component: String,
        /// `access` or `rate_limits`.
        table: &'static str,
        /// The name in the table.
        tool: String,
        /// The tools the component declares, comma-separated.
        declared: String,
    },
    /// A tool's schema does not compile.
    #[error("component `{component}`: tool `{tool}`: invalid {which} schema: {reason}")]
    InvalidSchema {
        /// The component.
        component: String,
        /// The tool.
        tool: String,
        /// `input` or `output`.
        which: &'static str,
        /// The validator's complaint.
        reason: String,
    },
}

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
}

impl Tool {
    /// Whether `caller` may see and call this tool: a tool it may not is
    /// left out of its listings and answered as unknown.
    pub fn allows(&self, caller: &Caller) -> bool {
        access::allows(self.access.as_ref(), &self.name, caller)
    }
}

/// A loaded component and how the config serves it.
struct Served<'a> {
    component: Arc<ToolComponent>,
    tool_prefix: &'a str,
    access: Option<&'a AccessPolicy>,
    quotas: Option<&'a ToolQuotas>,
    audit: Option<&'a ToolAuditConfig>,
}

/// Every tool, in a stable order (components by name, tools as declared).
pub struct Catalog {
    sandbox: Arc<Sandbox>,
    tools: Vec<Arc<Tool>>,
    by_name: HashMap<String, Arc<Tool>>,
    components: Vec<Arc<ToolComponent>>,
}

impl Catalog {
    /// Builds the sandbox engine sized for `config` and loads every component.
    pub async fn load(config: &Config) -> Result<Self, CatalogError> {
        let sandbox = Arc::new(Sandbox::new(sandbox_config(config))?);
        Self::load_into(sandbox, config, None).await
    }

    /// Loads the catalog `config` describes to replace `self`, built aside
    /// while `self` keeps serving. The engine and its instance pool are
    /// reused when the settings they are built from did not change, so the
    /// pool's limit stays one limit across the swap.
    pub async fn reload(&self, config: &Config) -> Result<Self, CatalogError> {
        let sandbox_config = sandbox_config(config);
        let sandbox = if &sandbox_config == self.sandbox.config() {
            Arc::clone(&self.sandbox)
        } else {
            Arc::new(Sandbox::new(sandbox_config)?)
        };
        Self::load_into(sandbox, config, Some(self)).await
    }

    /// Loads `config`'s components; quota counters of `previous`'s tools
    /// carry over where the quota is unchanged.
    async fn load_into(
        sandbox: Arc<Sandbox>,
        config: &Config,
        previous: Option<&Catalog>,
    ) -> Result<Self, CatalogError> {
        let mut components = Vec::with_capacity(config.components.len());
        for component in &config.components {
            let loaded = sandbox
                .load(&component.name, &component.path, policy(component))
                .await
                .map_err(|source| CatalogError::ConfiguredLoad {
                    at: component.defined_at.clone(),
                    source,
                })?;
            crate::telemetry::metrics::record_component_load(loaded.loaded_from_cache());
            components.push(Served {
                component: Arc::new(loaded),
                tool_prefix: &component.tool_prefix,
                access: component.access.as_ref(),
                quotas: Some(&component.rate_limits),
                audit: Some(&component.audit),
            });
        }
        Self::from_components(sandbox, &components, previous)
    }

    /// Loads the single component at `path`, named `name`, under the
    /// default (deny-all) policy and without a cache: what `warden inspect`
    /// shows of a component before any config names it.
    pub async fn inspect(name: &str, path: &Path) -> Result<Self, CatalogError> {
        let sandbox = Arc::new(Sandbox::new(SandboxConfig {
            pool_instances: 1,
            ..SandboxConfig::default()
        })?);
        let component = sandbox.load(name, path, Policy::default()).await?;
        let served = Served {
            component: Arc::new(component),
            tool_prefix: "",
            access: None,
            quotas: None,
            audit: None,
        };
        Self::from_components(sandbox, &[served], None)
    }

    /// The catalog of `components`.
    fn from_components(
        sandbox: Arc<Sandbox>,
        components: &[Served<'_>],
        previous: Option<&Catalog>,
    ) -> Result<Self, CatalogError> {
        let mut tools = Vec::new();
        let mut by_name: HashMap<String, Arc<Tool>> = HashMap::new();
        for served in components {
            let (component, prefix) = (&served.component, served.tool_prefix);
            if let Some(access) = served.access {
                check_tool_names(component, "access", access.tools.keys())?;
            }
            if let Some(quotas) = served.quotas {
                check_tool_names(component, "rate_limits", quotas.tools.keys())?;
            }
            for info in component.tools() {
                let name = format!("{prefix}{}", info.name);
                if name.len() > MAX_TOOL_NAME_CHARS {
                    return Err(CatalogError::NameTooLong {
                        component: component.name().to_owned(),
                        tool: info.name.clone(),
                        prefix: (*prefix).to_owned(),
                    });
                }
                if let Some(existing) = by_name.get(&name) {
                    return Err(CatalogError::DuplicateTool {
                        tool: name,
                        first: existing.component.name().to_owned(),
                        second: component.name().to_owned(),
                    });
                }
                let mut tool = compile_tool(component, name.clone(), info)?;
                tool.access = served
                    .access
                    .and_then(|access| tool_access(component, access, info));
                if let Some(quotas) = served.quotas {
                    let (per_tool, per_caller) = quotas.for_tool(&info.name);
                    let earlier = previous.and_then(|catalog| catalog.get(&name));
                    tool.rates =
                        ToolRates::new(per_tool, per_caller, earlier.map(|tool| &tool.rates));
                }
                if let Some(audit) = served.audit {
                    tool.audit = audit.clone();
                }
                let tool = Arc::new(tool);
                by_name.insert(name, Arc::clone(&tool));
                tools.push(tool);
            }
        }
        Ok(Self {
            sandbox,
            tools,
            by_name,
            components: components
                .iter()
                .map(|served| Arc::clone(&served.component))
                .collect(),
        })
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.by_name.get(name)
    }

    /// Every tool in listing order.
    pub fn tools(&self) -> &[Arc<Tool>] {
        &self.tools
    }

    /// Every loaded component.
    pub fn components(&self) -> &[Arc<ToolComponent>] {
        &self.components
    }

    /// The sandbox that runs the components.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Whether a client listing tools would see something different in
    /// `other`: a tool added, removed, or changed in any listed field.
    pub fn listing_differs(&self, other: &Catalog) -> bool {
        self.tools.len() != other.tools.len()
            || self.tools.iter().zip(&other.tools).any(|(mine, theirs)| {
                mine.listing != theirs.listing || mine.access != theirs.access
            })
    }
}

/// Refuses a per-tool table (`access.tools`, `rate_limits.tools`) that
/// names a tool the component does not declare: a typo there would silently
/// leave the tool under the component's rule.
fn check_tool_names<'a>(
    component: &ToolComponent,
    table: &'static str,
    mut names: impl Iterator<Item = &'a String>,
) -> Result<(), CatalogError> {
    let declared = || component.tools().iter().map(|info| info.name.as_str());
    match names.find(|tool| !declared().any(|name| name == tool.as_str())) {
        Some(unknown) => Err(CatalogError::UnknownTool {
            component: component.name().to_owned(),
            table,
            tool: unknown.clone(),
            declared: declared().collect::<Vec<_>>().join(", "),
        }),
        None => Ok(()),
    }
}

/// The rule for one tool and the table that states it; `None` when no rule
/// applies (every caller).
fn tool_access(
    component: &ToolComponent,
    access: &AccessPolicy,
    info: &ToolInfo,
) -> Option<ToolAccess> {
    let table = format!("components.{}.access", component.name());
    match access.tools.get(&info.name) {
        Some(rule) => Some(ToolAccess {
            rule: rule.clone(),
            source: format!("{table}.tools.{:?}", info.name),
        }),
        None => access.rule.as_ref().map(|rule| ToolAccess {
            rule: rule.clone(),
            source: table,
        }),
    }
}

fn sandbox_config(config: &Config) -> SandboxConfig {
    let limits = config.components.iter().map(|component| &component.limits);
    SandboxConfig {
        pool_instances: config.server.pool_instances,
        max_memory_bytes: limits
            .clone()
            .map(|limits| limits.max_memory_bytes)
            .max()
            .unwrap_or(config::DEFAULT_MAX_MEMORY_BYTES),
        // A fuel budget needs every call's consumption measured.
        fuel_metering: limits.clone().any(|limits| limits.fuel.is_some())
            || config.rate_limits.caller_fuel.is_some(),
        cache_dir: config.server.cache_dir.clone(),
        keep_resident_bytes: config.server.pool_keep_resident_bytes,
        ..SandboxConfig::default()
    }
}

/// The sandbox policy a configured component runs under.
pub fn policy(component: &ComponentConfig) -> Policy {
    Policy {
        limits: component.limits.clone(),
        capabilities: component.capabilities.clone(),
    }
}

/// Compiles a schema a component declared (untrusted, like the component).
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|error| error.to_string())
}

fn compile_tool(
    component: &Arc<ToolComponent>,
    name: String,
    info: &ToolInfo,
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
    let listing = listing(&name, info, input_schema, output_schema);
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

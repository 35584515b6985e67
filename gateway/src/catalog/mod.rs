//! What Warden serves: every configured component loaded into the sandbox,
//! its tools, resources, resource templates and prompts checked for clashes,
//! their JSON Schemas and templates compiled once, each with the rules and
//! quotas the config gives it.

mod patterns;
mod prompts;
mod resources;
mod sources;
mod tool;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use warden_sandbox::{
    LoadError, MAX_TOOL_NAME_CHARS, Policy, Sandbox, SandboxConfig, SandboxError, ToolComponent,
};

use crate::auth::access::ToolAccess;
use crate::config::{
    self, AccessPolicy, AccessRule, ComponentConfig, Config, DefinedAt, ToolAuditConfig,
    ToolQuotaOverride, ToolQuotas,
};
use crate::limits::ToolRates;
pub use prompts::Prompt;
pub use resources::{ResourcePolicy, ResourceTarget, Resources, ServedResource, ServedTemplate};
pub use sources::PulledComponent;
pub use tool::{Tool, compile_schema};

/// The MCP Apps extension: `ui://` resources clients render.
pub const APPS_EXTENSION: &str = "io.modelcontextprotocol/ui";

/// The MIME type of an MCP Apps user interface.
pub const APPS_MIME_TYPE: &str = "text/html;profile=mcp-app";

/// Why the catalog could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The engine could not be created.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// A component file failed to load (no configuration names it).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A configured component could not be pulled from its registry.
    #[error("{at}: {source}")]
    Pull {
        /// Where the configuration names the component.
        at: DefinedAt,
        /// Why the pull failed.
        source: Box<crate::registry::RegistryError>,
    },
    /// A configured component failed to load.
    #[error("{at}: {source}")]
    ConfiguredLoad {
        /// Where the configuration names the component.
        at: DefinedAt,
        /// Why it failed.
        source: LoadError,
    },
    /// Two components serve the same tool or prompt name, resource URI or
    /// template.
    #[error(
        "{kind} `{name}` is declared by both component `{first}` and component `{second}`{hint}",
        hint = if matches!(*kind, "tool" | "prompt") {
            "; give one of them a `tool_prefix`"
        } else {
            "; a URI is served by one component only: set `serve_resources = false` on one of them"
        }
    )]
    Duplicate {
        /// `tool`, `prompt`, `resource` or `resource template`.
        kind: &'static str,
        /// The clashing name, URI or template.
        name: String,
        /// The component loaded first.
        first: String,
        /// The component that clashes.
        second: String,
    },
    /// A tool's or prompt's name with its component's prefix breaks MCP's
    /// naming rule.
    #[error(
        "component `{component}`: {kind} `{name}` with prefix `{prefix}` is longer than \
         {MAX_TOOL_NAME_CHARS} characters"
    )]
    NameTooLong {
        /// The component.
        component: String,
        /// `tool` or `prompt`.
        kind: &'static str,
        /// The name as the component declares it.
        name: String,
        /// The configured prefix.
        prefix: String,
    },
    /// A table of the config names something the component does not serve.
    #[error(
        "components.{component}.{table}.{name}: component `{component}` declares no {kind} \
         `{name}` (it declares: {declared})"
    )]
    UnknownItem {
        /// The component.
        component: String,
        /// E.g. `access.tools` or `rate_limits.resources`.
        table: &'static str,
        /// `tool`, `prompt`, or the kind of prefix.
        kind: &'static str,
        /// The key in the table.
        name: String,
        /// What the component serves, comma-separated.
        declared: String,
    },
    /// Something a component serves cannot be served as declared.
    #[error("component `{component}`: {item}: {reason}")]
    Invalid {
        /// The component.
        component: String,
        /// What, e.g. ``resource template `x` ``.
        item: String,
        /// Why.
        reason: String,
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

/// A loaded component and how the config serves it.
struct Served<'a> {
    component: Arc<ToolComponent>,
    tool_prefix: &'a str,
    serve_resources: bool,
    access: Option<&'a AccessPolicy>,
    quotas: Option<&'a ToolQuotas>,
    audit: Option<&'a ToolAuditConfig>,
    /// `limits.max_task_duration_ms`: its tools may run as tasks.
    task_duration_ms: Option<u64>,
}

/// What is served under a name (the component's `tool_prefix` and the
/// declared name), with its own `access` and `rate_limits` tables.
#[derive(Debug, Clone, Copy)]
enum Named {
    Tool,
    Prompt,
}

impl Named {
    fn kind(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
        }
    }

    fn access_table(self) -> &'static str {
        match self {
            Self::Tool => "access.tools",
            Self::Prompt => "access.prompts",
        }
    }

    fn quota_table(self) -> &'static str {
        match self {
            Self::Tool => "rate_limits.tools",
            Self::Prompt => "rate_limits.prompts",
        }
    }

    fn access_rules(self, access: &AccessPolicy) -> &BTreeMap<String, AccessRule> {
        match self {
            Self::Tool => &access.tools,
            Self::Prompt => &access.prompts,
        }
    }

    fn quotas(self, quotas: &ToolQuotas) -> &BTreeMap<String, ToolQuotaOverride> {
        match self {
            Self::Tool => &quotas.tools,
            Self::Prompt => &quotas.prompts,
        }
    }
}

impl Served<'_> {
    /// Refuses an `access` or `rate_limits` table of `named` that names
    /// something the component does not declare.
    fn check_tables<'n>(
        &self,
        named: Named,
        declared: impl Iterator<Item = &'n str>,
    ) -> Result<(), CatalogError> {
        let declared: Vec<&str> = declared.collect();
        let component = &self.component;
        if let Some(access) = self.access {
            let keys = named.access_rules(access).keys();
            tool::check_names(
                component,
                named.access_table(),
                named.kind(),
                &declared,
                keys,
            )?;
        }
        if let Some(quotas) = self.quotas {
            let keys = named.quotas(quotas).keys();
            tool::check_names(
                component,
                named.quota_table(),
                named.kind(),
                &declared,
                keys,
            )?;
        }
        Ok(())
    }

    /// The name clients use for `declared`; refused when it is too long or
    /// `existing` says another component already serves it.
    fn name_for<'c>(
        &self,
        named: Named,
        declared: &str,
        existing: impl FnOnce(&str) -> Option<&'c Arc<ToolComponent>>,
    ) -> Result<String, CatalogError> {
        let name = prefixed(&self.component, named.kind(), self.tool_prefix, declared)?;
        match existing(&name) {
            Some(first) => Err(CatalogError::Duplicate {
                kind: named.kind(),
                name,
                first: first.name().to_owned(),
                second: self.component.name().to_owned(),
            }),
            None => Ok(name),
        }
    }

    /// The access rule, quotas (reusing `earlier` counters where the quota
    /// is unchanged) and audit settings of the item declared as `declared`.
    fn rules(
        &self,
        named: Named,
        declared: &str,
        earlier: Option<&ToolRates>,
    ) -> (Option<ToolAccess>, ToolRates, ToolAuditConfig) {
        let access = self.access.and_then(|access| {
            let own = named.access_rules(access).get_key_value(declared);
            let table = named.access_table().trim_start_matches("access.");
            tool::item_access(
                &self.component,
                access,
                table,
                own.map(|(k, v)| (k.as_str(), v)),
            )
        });
        let rates = match self.quotas {
            Some(quotas) => {
                let (per_item, per_caller) =
                    quotas.with_override(named.quotas(quotas).get(declared));
                let scope = format!("{}:{}:{declared}", named.kind(), self.component.name());
                ToolRates::new(scope, per_item, per_caller, earlier)
            }
            None => ToolRates::default(),
        };
        (access, rates, self.audit.cloned().unwrap_or_default())
    }
}

/// Everything served, in a stable order (components as configured, items
/// as each declares them).
pub struct Catalog {
    sandbox: Arc<Sandbox>,
    tools: Vec<Arc<Tool>>,
    by_name: HashMap<String, Arc<Tool>>,
    resources: Resources,
    prompts: Vec<Arc<Prompt>>,
    prompts_by_name: HashMap<String, Arc<Prompt>>,
    components: Vec<Arc<ToolComponent>>,
    pulled: Vec<PulledComponent>,
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

    /// The components pulled from registries, with the digests their
    /// references resolved to, in configuration order.
    pub fn pulled(&self) -> &[PulledComponent] {
        &self.pulled
    }

    /// Loads `config`'s components; quota counters of `previous`'s tools
    /// carry over where the quota is unchanged.
    async fn load_into(
        sandbox: Arc<Sandbox>,
        config: &Config,
        previous: Option<&Catalog>,
    ) -> Result<Self, CatalogError> {
        let mut components = Vec::with_capacity(config.components.len());
        let mut sources = sources::Sources::new(config);
        for component in &config.components {
            let path = sources
                .path(component)
                .await
                .map_err(|source| CatalogError::Pull {
                    at: component.defined_at.clone(),
                    source: Box::new(source),
                })?;
            let loaded = sandbox
                .load(&component.name, &path, policy(component))
                .await
                .map_err(|source| CatalogError::ConfiguredLoad {
                    at: component.defined_at.clone(),
                    source,
                })?;
            crate::telemetry::metrics::record_component_load(loaded.loaded_from_cache());
            components.push(Served {
                component: Arc::new(loaded),
                tool_prefix: &component.tool_prefix,
                serve_resources: component.serve_resources,
                access: component.access.as_ref(),
                quotas: Some(&component.rate_limits),
                audit: Some(&component.audit),
                task_duration_ms: component.max_task_duration_ms,
            });
        }
        let mut catalog = Self::from_components(sandbox, &components, previous)?;
        catalog.pulled = sources.pulled;
        Ok(catalog)
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
            serve_resources: true,
            access: None,
            quotas: None,
            audit: None,
            task_duration_ms: None,
        };
        Self::from_components(sandbox, &[served], None)
    }

    /// The catalog of `components`.
    fn from_components(
        sandbox: Arc<Sandbox>,
        components: &[Served<'_>],
        previous: Option<&Catalog>,
    ) -> Result<Self, CatalogError> {
        let mut catalog = Self {
            sandbox,
            tools: Vec::new(),
            by_name: HashMap::new(),
            resources: Resources::default(),
            prompts: Vec::new(),
            prompts_by_name: HashMap::new(),
            components: components
                .iter()
                .map(|served| Arc::clone(&served.component))
                .collect(),
            pulled: Vec::new(),
        };
        for served in components {
            catalog.add_tools(served, previous)?;
            catalog.add_prompts(served, previous)?;
            if !served.serve_resources {
                continue;
            }
            let earlier =
                previous.and_then(|catalog| catalog.resources.policy_of(served.component.name()));
            let policy = Arc::new(resources::policy(
                &served.component,
                served.access,
                served.quotas,
                served.audit,
                earlier.map(AsRef::as_ref),
            )?);
            catalog.resources.add(
                &served.component,
                &policy,
                served.quotas,
                previous.map(|catalog| &catalog.resources),
            )?;
        }
        Ok(catalog)
    }

    fn add_tools(
        &mut self,
        served: &Served<'_>,
        previous: Option<&Catalog>,
    ) -> Result<(), CatalogError> {
        let component = &served.component;
        served.check_tables(
            Named::Tool,
            component.tools().iter().map(|info| info.name.as_str()),
        )?;
        for info in component.tools() {
            let name = served.name_for(Named::Tool, &info.name, |name| {
                self.by_name.get(name).map(|tool| &tool.component)
            })?;
            let mut tool =
                tool::compile_tool(component, name.clone(), info, served.task_duration_ms)?;
            let earlier = previous.and_then(|catalog| catalog.get(&name));
            (tool.access, tool.rates, tool.audit) =
                served.rules(Named::Tool, &info.name, earlier.map(|tool| &tool.rates));
            let tool = Arc::new(tool);
            self.by_name.insert(name, Arc::clone(&tool));
            self.tools.push(tool);
        }
        Ok(())
    }

    fn add_prompts(
        &mut self,
        served: &Served<'_>,
        previous: Option<&Catalog>,
    ) -> Result<(), CatalogError> {
        let component = &served.component;
        served.check_tables(
            Named::Prompt,
            component.prompts().iter().map(|info| info.name.as_str()),
        )?;
        for info in component.prompts() {
            let name = served.name_for(Named::Prompt, &info.name, |name| {
                self.prompts_by_name
                    .get(name)
                    .map(|prompt| &prompt.component)
            })?;
            let mut prompt = Prompt::new(name.clone(), info, component);
            let earlier = previous.and_then(|catalog| catalog.prompts_by_name.get(&name));
            (prompt.access, prompt.rates, prompt.audit) = served.rules(
                Named::Prompt,
                &info.name,
                earlier.map(|prompt| &prompt.rates),
            );
            let prompt = Arc::new(prompt);
            self.prompts_by_name.insert(name, Arc::clone(&prompt));
            self.prompts.push(prompt);
        }
        Ok(())
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.by_name.get(name)
    }

    /// Every tool in listing order.
    pub fn tools(&self) -> &[Arc<Tool>] {
        &self.tools
    }

    /// Every resource and resource template.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// Every prompt in listing order.
    pub fn prompts(&self) -> &[Arc<Prompt>] {
        &self.prompts
    }

    /// The prompt named `name`.
    pub fn prompt(&self, name: &str) -> Option<&Arc<Prompt>> {
        self.prompts_by_name.get(name)
    }

    /// Whether any component serves an MCP Apps user interface (a `ui://`
    /// resource of [`APPS_MIME_TYPE`]).
    pub fn serves_apps(&self) -> bool {
        self.resources.fixed.iter().any(|resource| {
            resource.info.uri.starts_with("ui://")
                && resource.info.mime_type.as_deref() == Some(APPS_MIME_TYPE)
        })
    }

    /// Whether any component completes arguments of what it serves.
    pub fn completes(&self) -> bool {
        self.components
            .iter()
            .any(|component| component.completes())
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

    /// Whether a client listing prompts would see something different in
    /// `other`.
    pub fn prompts_differ(&self, other: &Catalog) -> bool {
        self.prompts.len() != other.prompts.len()
            || self
                .prompts
                .iter()
                .zip(&other.prompts)
                .any(|(mine, theirs)| {
                    mine.listing != theirs.listing || mine.access != theirs.access
                })
    }

    /// Whether a client listing resources or templates would see something
    /// different in `other`.
    pub fn resources_differ(&self, other: &Catalog) -> bool {
        let (mine, theirs) = (&self.resources, &other.resources);
        mine.fixed.len() != theirs.fixed.len()
            || mine.templates.len() != theirs.templates.len()
            || mine
                .fixed
                .iter()
                .zip(&theirs.fixed)
                .any(|(a, b)| a.listing != b.listing)
            || mine
                .templates
                .iter()
                .zip(&theirs.templates)
                .any(|(a, b)| a.listing != b.listing)
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

/// `prefix` and `name`, within MCP's naming rule.
fn prefixed(
    component: &ToolComponent,
    kind: &'static str,
    prefix: &str,
    name: &str,
) -> Result<String, CatalogError> {
    let served = format!("{prefix}{name}");
    if served.len() > MAX_TOOL_NAME_CHARS {
        return Err(CatalogError::NameTooLong {
            component: component.name().to_owned(),
            kind,
            name: name.to_owned(),
            prefix: prefix.to_owned(),
        });
    }
    Ok(served)
}

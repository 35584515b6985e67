//! `warden check`, `warden tools` and `warden inspect`: what a config or a
//! component file offers, for people (text) and programs (`--json`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};
use warden_gateway::catalog::{Catalog, PulledComponent, Tool};
use warden_gateway::config;
use warden_sandbox::{DirMode, HttpAllow, Policy, ToolComponent};

/// `warden check`: loads and compiles everything, then prints each
/// component's policy and tools.
pub async fn check(config_path: &Path) -> anyhow::Result<()> {
    let catalog = load(config_path).await?;
    let mut out = String::new();
    let out = &mut out;
    writeln!(out, "{}: ok", config_path.display())?;
    for component in catalog.components() {
        writeln!(
            out,
            "component {} ({}{})",
            component.name(),
            counts(component),
            if component.loaded_from_cache() {
                ", cached"
            } else {
                ""
            }
        )?;
        print_origin(out, &catalog, component)?;
        print_policy(
            out,
            component.policy(),
            catalog.sandbox().config().fuel_metering,
        )?;
        // By the names clients see (with the component's tool_prefix).
        let served = catalog
            .tools()
            .iter()
            .filter(|tool| tool.component.name() == component.name());
        for tool in served {
            writeln!(out, "  tool {}: {}", tool.name, tool.info.description)?;
        }
        print_served(out, &catalog, component)?;
    }
    emit(out)
}

fn pulled_from<'c>(catalog: &'c Catalog, component: &str) -> Option<&'c PulledComponent> {
    catalog
        .pulled()
        .iter()
        .find(|pulled| pulled.component == component)
}

/// For a component from a registry: the reference, the digest it resolved
/// to and the key that signed it.
fn print_origin(
    out: &mut String,
    catalog: &Catalog,
    component: &ToolComponent,
) -> anyhow::Result<()> {
    if let Some(pulled) = pulled_from(catalog, component.name()) {
        writeln!(
            out,
            "  from {} = {}{}",
            pulled.reference,
            pulled.pulled.digest,
            pulled.pulled.signature_note()
        )?;
    }
    Ok(())
}

/// "4 tools", and the resources, templates and prompts when there are any.
fn counts(component: &ToolComponent) -> String {
    let mut counts = plural(component.tools().len(), "tool");
    for (count, what) in [
        (component.resources().len(), "resource"),
        (component.resource_templates().len(), "resource template"),
        (component.prompts().len(), "prompt"),
    ] {
        if count > 0 {
            let _ = write!(counts, ", {}", plural(count, what));
        }
    }
    counts
}

fn plural(count: usize, what: &str) -> String {
    if count == 1 {
        format!("1 {what}")
    } else {
        format!("{count} {what}s")
    }
}

/// The resources, templates and prompts `component` serves, by the names
/// and URIs clients use.
fn print_served(
    out: &mut String,
    catalog: &Catalog,
    component: &ToolComponent,
) -> anyhow::Result<()> {
    let own = |name: &str| name == component.name();
    for resource in catalog.resources().fixed() {
        if own(resource.component.name()) {
            let mime = resource.info.mime_type.as_deref().unwrap_or("no MIME type");
            writeln!(out, "  resource {} ({mime})", resource.info.uri)?;
        }
    }
    for template in catalog.resources().templates() {
        if own(template.component.name()) {
            writeln!(out, "  resource template {}", template.info.uri_template)?;
        }
    }
    for prompt in catalog.prompts() {
        if own(prompt.component.name()) {
            let arguments: Vec<String> = prompt
                .info
                .arguments
                .iter()
                .map(|argument| {
                    if argument.required {
                        argument.name.clone()
                    } else {
                        format!("[{}]", argument.name)
                    }
                })
                .collect();
            writeln!(out, "  prompt {}({})", prompt.name, arguments.join(", "))?;
        }
    }
    if component.completes() {
        writeln!(out, "  completes prompt arguments and template variables")?;
    }
    Ok(())
}

/// `warden tools`: every tool the config serves, with its schemas and the
/// policy it runs under.
pub async fn tools(config_path: &Path, as_json: bool) -> anyhow::Result<()> {
    let catalog = load(config_path).await?;
    let mut out = String::new();
    let out = &mut out;
    if as_json {
        let tools = listings(&catalog, |tool, entry| {
            entry["component"] = json!(tool.component.name());
            entry["policy"] = policy_json(tool.component.policy());
            entry["access"] = access_json(tool);
            if let Some(pulled) = pulled_from(&catalog, tool.component.name()) {
                entry["pulled"] = json!({
                    "reference": pulled.reference,
                    "digest": pulled.pulled.digest,
                    "signedBy": pulled.pulled.signed_by,
                });
            }
        });
        writeln!(out, "{}", pretty(&tools)?)?;
        return emit(out);
    }
    for component in catalog.components() {
        writeln!(out, "component {}", component.name())?;
        print_origin(out, &catalog, component)?;
        print_policy(
            out,
            component.policy(),
            catalog.sandbox().config().fuel_metering,
        )?;
        print_tools(out, &catalog, component)?;
    }
    emit(out)
}

/// `warden inspect`: the tools one component file declares, as `tools/list`
/// would show them, without any config.
pub async fn inspect(file: &Path, as_json: bool) -> anyhow::Result<()> {
    let name = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("component");
    let catalog = Catalog::inspect(name, file)
        .await
        .with_context(|| format!("cannot inspect {}", file.display()))?;
    let mut out = String::new();
    let out = &mut out;
    if as_json {
        let tools = listings(&catalog, |_, _| {});
        let resources: Vec<&Value> = catalog
            .resources()
            .fixed()
            .iter()
            .map(|resource| &resource.listing)
            .collect();
        let templates: Vec<&Value> = catalog
            .resources()
            .templates()
            .iter()
            .map(|template| &template.listing)
            .collect();
        let prompts: Vec<&Value> = catalog
            .prompts()
            .iter()
            .map(|prompt| &prompt.listing)
            .collect();
        let exports: Vec<&str> = catalog
            .components()
            .iter()
            .flat_map(|component| component.exported_interfaces())
            .collect();
        let described = json!({
            "exports": exports,
            "tools": tools,
            "resources": resources,
            "resourceTemplates": templates,
            "prompts": prompts,
        });
        writeln!(out, "{}", pretty(&described)?)?;
        return emit(out);
    }
    for component in catalog.components() {
        writeln!(
            out,
            "{}: a valid tool component with {} (exports {})",
            file.display(),
            counts(component),
            component.exported_interfaces().join(", ")
        )?;
        print_tools(out, &catalog, component)?;
        print_served(out, &catalog, component)?;
    }
    emit(out)
}

/// Every tool's `tools/list` entry, each extended by `extend`, as an array.
fn listings(catalog: &Catalog, extend: impl Fn(&Tool, &mut Value)) -> Value {
    catalog
        .tools()
        .iter()
        .map(|tool| {
            let mut entry = tool.listing.clone();
            extend(tool, &mut entry);
            entry
        })
        .collect()
}

async fn load(config_path: &Path) -> anyhow::Result<Catalog> {
    let config = config::load(config_path)?;
    Ok(Catalog::load(&config).await?)
}

fn print_tools(
    out: &mut String,
    catalog: &Catalog,
    component: &ToolComponent,
) -> anyhow::Result<()> {
    let own_tools = catalog
        .tools()
        .iter()
        .filter(|tool| tool.component.name() == component.name());
    for tool in own_tools {
        let info = &tool.info;
        match &info.title {
            Some(title) => writeln!(out, "  tool {} ({title})", tool.name)?,
            None => writeln!(out, "  tool {}", tool.name)?,
        }
        writeln!(out, "    {}", info.description)?;
        writeln!(out, "    access: {}", access_text(tool))?;
        if let Some(annotations) = tool.listing.get("annotations") {
            writeln!(out, "    annotations: {annotations}")?;
        }
        writeln!(
            out,
            "    input schema: {}",
            indent(&pretty(&tool.listing["inputSchema"])?)
        )?;
        if let Some(output) = tool.listing.get("outputSchema") {
            writeln!(out, "    output schema: {}", indent(&pretty(output)?))?;
        }
    }
    Ok(())
}

/// A component's policy; `metered` says whether the engine counts fuel (a
/// per-caller fuel budget meters calls that have no fuel limit of their own).
fn print_policy(out: &mut String, policy: &Policy, metered: bool) -> anyhow::Result<()> {
    let limits = &policy.limits;
    let fuel = match limits.fuel {
        Some(fuel) => fuel.to_string(),
        None if metered => "unlimited (metered)".to_owned(),
        None => "unmetered".to_owned(),
    };
    writeln!(
        out,
        "  limits: timeout {} ms, fuel {}, memory {} bytes, output {} bytes, {} log messages, {} concurrent, queue {} ms, {} pool slots kept",
        limits.timeout_ms,
        fuel,
        limits.max_memory_bytes,
        limits.max_output_bytes,
        limits.max_log_messages,
        limits.max_concurrency,
        limits.queue_timeout_ms,
        limits.min_pool_slots,
    )?;
    let capabilities = &policy.capabilities;
    for dir in &capabilities.dirs {
        writeln!(
            out,
            "  dir: {} -> {} ({})",
            dir.host.display(),
            dir.guest,
            mode_name(dir.mode)
        )?;
    }
    for (name, _) in &capabilities.env {
        writeln!(out, "  env: {name}")?;
    }
    for target in &capabilities.tcp_connect {
        writeln!(out, "  tcp: {target}")?;
    }
    for allow in &capabilities.http.allow {
        writeln!(out, "  http: {}", http_grant_text(allow))?;
    }
    if !capabilities.http.is_empty() {
        let http = &capabilities.http.limits;
        writeln!(
            out,
            "  http limits: {} requests per call, request {} bytes, response {} bytes, connect {} ms, first byte {} ms, {} in flight",
            http.max_requests_per_call,
            http.max_request_bytes,
            http.max_response_bytes,
            http.connect_timeout_ms,
            http.first_byte_timeout_ms,
            http.max_concurrent_requests,
        )?;
    }
    Ok(())
}

/// One HTTP allow entry for people: the URL, its methods, and the names
/// (never the values) of the headers it adds.
fn http_grant_text(allow: &HttpAllow) -> String {
    let mut text = allow.target.to_string();
    if let Some(methods) = &allow.methods {
        text.push_str(&format!(" [{}]", methods.join(", ")));
    }
    if allow.private {
        text.push_str(" (private addresses allowed)");
    }
    if !allow.headers.is_empty() {
        let names: Vec<&str> = allow
            .headers
            .iter()
            .map(|header| header.name.as_str())
            .collect();
        text.push_str(&format!(" adds headers: {}", names.join(", ")));
    }
    if !allow.trust_anchors.is_empty() {
        text.push_str(&format!(
            " trusts {} own CA certificate(s)",
            allow.trust_anchors.len()
        ));
    }
    text
}

/// Who may call `tool`, for people.
fn access_text(tool: &Tool) -> String {
    match &tool.access {
        None => "every caller".to_owned(),
        Some(access)
            if access.rule.callers.is_empty()
                && access.rule.roles.is_empty()
                && access.rule.scopes.is_empty() =>
        {
            format!("nobody over HTTP ({})", access.source)
        }
        Some(access) => {
            let list = |items: &std::collections::BTreeSet<String>| {
                items.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            let scopes = if access.rule.scopes.is_empty() {
                String::new()
            } else {
                format!(", scopes [{}]", list(&access.rule.scopes))
            };
            format!(
                "callers [{}], roles [{}]{scopes} ({})",
                list(&access.rule.callers),
                list(&access.rule.roles),
                access.source
            )
        }
    }
}

/// Who may call `tool`, as JSON: `null` for every caller.
fn access_json(tool: &Tool) -> Value {
    tool.access.as_ref().map_or(Value::Null, |access| {
        json!({
            "callers": access.rule.callers,
            "roles": access.rule.roles,
            "scopes": access.rule.scopes,
            "source": access.source,
        })
    })
}

/// The policy as JSON. Environment values and injected header values are
/// left out: they may be secrets.
fn policy_json(policy: &Policy) -> Value {
    let limits = &policy.limits;
    let capabilities = &policy.capabilities;
    json!({
        "limits": {
            "timeout_ms": limits.timeout_ms,
            "fuel": limits.fuel,
            "max_memory_bytes": limits.max_memory_bytes,
            "max_output_bytes": limits.max_output_bytes,
            "max_log_messages": limits.max_log_messages,
            "max_concurrency": limits.max_concurrency,
            "queue_timeout_ms": limits.queue_timeout_ms,
            "min_pool_slots": limits.min_pool_slots,
        },
        "capabilities": {
            "dirs": capabilities.dirs.iter().map(|dir| json!({
                "host": dir.host,
                "guest": dir.guest,
                "mode": mode_name(dir.mode),
            })).collect::<Vec<_>>(),
            "env": capabilities.env.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            "tcp_connect": capabilities.tcp_connect.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "http": {
                "allow": capabilities.http.allow.iter().map(|allow| json!({
                    "url": allow.target.to_string(),
                    "methods": allow.methods,
                    "private": allow.private,
                    "headers": allow.headers.iter().map(|header| &header.name).collect::<Vec<_>>(),
                    "trusted_certificates": allow.trust_anchors.len(),
                })).collect::<Vec<_>>(),
                "limits": {
                    "max_requests_per_call": capabilities.http.limits.max_requests_per_call,
                    "max_request_bytes": capabilities.http.limits.max_request_bytes,
                    "max_response_bytes": capabilities.http.limits.max_response_bytes,
                    "connect_timeout_ms": capabilities.http.limits.connect_timeout_ms,
                    "first_byte_timeout_ms": capabilities.http.limits.first_byte_timeout_ms,
                    "max_concurrent_requests": capabilities.http.limits.max_concurrent_requests,
                },
            },
        },
    })
}

fn mode_name(mode: DirMode) -> &'static str {
    match mode {
        DirMode::ReadOnly => "read-only",
        DirMode::ReadWrite => "read-write",
    }
}

/// Writes `text` to stdout. A reader that went away (`warden tools | head`)
/// is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

fn pretty(value: &Value) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)?)
}

/// Indents the continuation lines of a multi-line block under its label.
fn indent(block: &str) -> String {
    block.replace('\n', "\n    ")
}

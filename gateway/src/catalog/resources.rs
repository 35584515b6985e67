//! The resources Warden serves: fixed URIs and URI templates of every
//! component, the rules and quotas that govern each URI, and the lookup of
//! the component that reads a URI a client asks for.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use warden_sandbox::{ResourceAnnotations, ResourceInfo, ResourceTemplateInfo, ToolComponent};
use warden_uri_template::UriTemplate;

use super::CatalogError;
use super::tool::item_access;
use crate::auth::Caller;
use crate::auth::access::{self, ToolAccess};
use crate::config::{AccessPolicy, ToolAuditConfig, ToolQuotas};
use crate::limits::ToolRates;

/// What governs the URIs one component serves: who may read them and the
/// quotas shared under a URI prefix.
pub struct ResourcePolicy {
    /// The component's own rule; `None`: every caller.
    component_rule: Option<ToolAccess>,
    /// `access.resources` rules, longest prefix first.
    prefix_rules: Vec<(String, ToolAccess)>,
    /// `rate_limits.resources` quotas, longest prefix first.
    prefix_rates: Vec<(String, Arc<ToolRates>)>,
    /// What audit records may show.
    pub audit: ToolAuditConfig,
}

impl ResourcePolicy {
    /// The rule for `uri`: the longest `access.resources` prefix it starts
    /// with, else the component's.
    pub fn access_for(&self, uri: &str) -> Option<&ToolAccess> {
        self.prefix_rules
            .iter()
            .find(|(prefix, _)| uri.starts_with(prefix.as_str()))
            .map(|(_, rule)| rule)
            .or(self.component_rule.as_ref())
    }

    /// Whether `caller` may read `uri`.
    pub fn allows(&self, uri: &str, caller: &Caller) -> bool {
        access::allows(self.access_for(uri), uri, caller)
    }

    /// The quotas shared by reads under `uri`'s longest configured prefix,
    /// if one is configured.
    pub fn prefix_rates(&self, uri: &str) -> Option<&Arc<ToolRates>> {
        self.prefix_rates
            .iter()
            .find(|(prefix, _)| uri.starts_with(prefix.as_str()))
            .map(|(_, rates)| rates)
    }
}

/// One resource at a fixed URI.
pub struct ServedResource {
    /// What the component listed.
    pub info: ResourceInfo,
    /// The component that reads it.
    pub component: Arc<ToolComponent>,
    /// The resource as `resources/list` shows it, built once.
    pub listing: Value,
    /// Its component's rules.
    pub policy: Arc<ResourcePolicy>,
    /// Its own quotas (the component's per-item ones).
    pub rates: Arc<ToolRates>,
}

/// One resource template.
pub struct ServedTemplate {
    /// What the component listed.
    pub info: ResourceTemplateInfo,
    /// The parsed template.
    pub template: UriTemplate,
    /// The component that reads what it names.
    pub component: Arc<ToolComponent>,
    /// The template as `resources/templates/list` shows it, built once.
    pub listing: Value,
    /// Its component's rules.
    pub policy: Arc<ResourcePolicy>,
    /// Its own quotas (the component's per-item ones).
    pub rates: Arc<ToolRates>,
}

impl ServedTemplate {
    /// Whether `caller` sees the template listed: the rule for its literal
    /// prefix allows it. A read is checked against the URI read.
    pub fn allows(&self, caller: &Caller) -> bool {
        self.policy.allows(self.template.literal_prefix(), caller)
    }
}

/// Where a read of a URI goes.
pub struct ResourceTarget {
    /// The component that reads it.
    pub component: Arc<ToolComponent>,
    /// Its rules.
    pub policy: Arc<ResourcePolicy>,
    /// The quotas the read takes from.
    pub rates: Arc<ToolRates>,
    /// The template that matched, when the URI is not a fixed resource.
    pub template: Option<String>,
}

/// Every resource and template, in a stable order.
#[derive(Default)]
pub struct Resources {
    pub(super) fixed: Vec<Arc<ServedResource>>,
    by_uri: HashMap<String, Arc<ServedResource>>,
    pub(super) templates: Vec<Arc<ServedTemplate>>,
}

impl Resources {
    /// The fixed resources, in listing order.
    pub fn fixed(&self) -> &[Arc<ServedResource>] {
        &self.fixed
    }

    /// The templates, in listing order.
    pub fn templates(&self) -> &[Arc<ServedTemplate>] {
        &self.templates
    }

    /// The component that serves `uri` for `caller`: a fixed resource by
    /// its URI, else the first template that matches; `None` when there is
    /// none, or the caller may not read it.
    pub fn resolve(&self, uri: &str, caller: &Caller) -> Option<ResourceTarget> {
        let target = match self.by_uri.get(uri) {
            Some(resource) => ResourceTarget {
                component: Arc::clone(&resource.component),
                policy: Arc::clone(&resource.policy),
                rates: Arc::clone(&resource.rates),
                template: None,
            },
            None => {
                let template = self
                    .templates
                    .iter()
                    .find(|template| template.template.match_uri(uri).is_some())?;
                ResourceTarget {
                    component: Arc::clone(&template.component),
                    policy: Arc::clone(&template.policy),
                    rates: Arc::clone(&template.rates),
                    template: Some(template.info.uri_template.clone()),
                }
            }
        };
        if !target.policy.allows(uri, caller) {
            return None;
        }
        // A prefix's quota is shared by every read under it.
        let rates = target.policy.prefix_rates(uri).map(Arc::clone);
        Some(match rates {
            Some(rates) => ResourceTarget { rates, ..target },
            None => target,
        })
    }

    /// The rules of component `name`, if it serves any resource.
    pub(super) fn policy_of(&self, name: &str) -> Option<&Arc<ResourcePolicy>> {
        self.fixed
            .iter()
            .map(|resource| (&resource.component, &resource.policy))
            .chain(
                self.templates
                    .iter()
                    .map(|template| (&template.component, &template.policy)),
            )
            .find(|(component, _)| component.name() == name)
            .map(|(_, policy)| policy)
    }

    /// The template whose text is `uri_template`, if `caller` may see it.
    pub fn template(&self, uri_template: &str, caller: &Caller) -> Option<&Arc<ServedTemplate>> {
        self.templates
            .iter()
            .find(|template| template.info.uri_template == uri_template)
            .filter(|template| template.allows(caller))
    }

    /// Adds what `component` serves under `policy`; a URI or template
    /// another component already serves is refused.
    pub(super) fn add(
        &mut self,
        component: &Arc<ToolComponent>,
        policy: &Arc<ResourcePolicy>,
        quotas: Option<&ToolQuotas>,
        previous: Option<&Resources>,
    ) -> Result<(), CatalogError> {
        let own_rates = |scope: String, earlier: Option<&Arc<ToolRates>>| {
            let (tool, caller_tool) =
                quotas.map_or((None, None), |quotas| quotas.with_override(None));
            Arc::new(ToolRates::new(
                scope,
                tool,
                caller_tool,
                earlier.map(AsRef::as_ref),
            ))
        };
        for info in component.resources() {
            if let Some(existing) = self.by_uri.get(&info.uri) {
                return Err(CatalogError::Duplicate {
                    kind: "resource",
                    name: info.uri.clone(),
                    first: existing.component.name().to_owned(),
                    second: component.name().to_owned(),
                });
            }
            let earlier = previous.and_then(|resources| resources.by_uri.get(&info.uri));
            let resource = Arc::new(ServedResource {
                info: info.clone(),
                component: Arc::clone(component),
                listing: resource_listing(info),
                policy: Arc::clone(policy),
                rates: own_rates(
                    format!("resource:{}", info.uri),
                    earlier.map(|resource| &resource.rates),
                ),
            });
            self.by_uri.insert(info.uri.clone(), Arc::clone(&resource));
            self.fixed.push(resource);
        }
        for info in component.resource_templates() {
            if let Some(existing) = self
                .templates
                .iter()
                .find(|template| template.info.uri_template == info.uri_template)
            {
                return Err(CatalogError::Duplicate {
                    kind: "resource template",
                    name: info.uri_template.clone(),
                    first: existing.component.name().to_owned(),
                    second: component.name().to_owned(),
                });
            }
            let template =
                UriTemplate::parse(&info.uri_template).map_err(|error| CatalogError::Invalid {
                    component: component.name().to_owned(),
                    item: format!("resource template `{}`", info.uri_template),
                    reason: error.to_string(),
                })?;
            warden_sandbox::absolute_uri(template.literal_prefix()).map_err(|_| {
                CatalogError::Invalid {
                    component: component.name().to_owned(),
                    item: format!("resource template `{}`", info.uri_template),
                    reason: "it must start with a URI scheme and `:` before its first \
                             expression (as in `file:///data/{+path}`)"
                        .to_owned(),
                }
            })?;
            let earlier = previous.and_then(|resources| {
                resources
                    .templates
                    .iter()
                    .find(|template| template.info.uri_template == info.uri_template)
            });
            self.templates.push(Arc::new(ServedTemplate {
                info: info.clone(),
                template,
                component: Arc::clone(component),
                listing: template_listing(info),
                policy: Arc::clone(policy),
                rates: own_rates(
                    format!("template:{}", info.uri_template),
                    earlier.map(|template| &template.rates),
                ),
            }));
        }
        Ok(())
    }
}

/// The rules and prefix quotas of `component` from its `access` and
/// `rate_limits` tables. A prefix that no URI or template of the component
/// could start with is refused: it would silently govern nothing.
pub(super) fn policy(
    component: &ToolComponent,
    access: Option<&AccessPolicy>,
    quotas: Option<&ToolQuotas>,
    audit: Option<&ToolAuditConfig>,
    previous: Option<&ResourcePolicy>,
) -> Result<ResourcePolicy, CatalogError> {
    let governs_something = |prefix: &str| {
        component
            .resources()
            .iter()
            .any(|resource| resource.uri.starts_with(prefix))
            || component.resource_templates().iter().any(|template| {
                UriTemplate::parse(&template.uri_template).is_ok_and(|parsed| {
                    let literal = parsed.literal_prefix();
                    prefix.starts_with(literal) || literal.starts_with(prefix)
                })
            })
    };
    let check = |table: &'static str, prefix: &String| {
        if prefix.is_empty() || !governs_something(prefix) {
            return Err(CatalogError::UnknownItem {
                component: component.name().to_owned(),
                table,
                kind: "resource or template under the URI prefix",
                name: prefix.clone(),
                declared: served_uris(component),
            });
        }
        Ok(())
    };
    let mut prefix_rules = Vec::new();
    if let Some(access) = access {
        for (prefix, rule) in &access.resources {
            check("access.resources", prefix)?;
            let rule = item_access(component, access, "resources", Some((prefix, rule)));
            prefix_rules.extend(rule.map(|rule| (prefix.clone(), rule)));
        }
    }
    let mut prefix_rates = Vec::new();
    if let Some(quotas) = quotas {
        for (prefix, own) in &quotas.resources {
            check("rate_limits.resources", prefix)?;
            let (tool, caller_tool) = quotas.with_override(Some(own));
            let earlier = previous.and_then(|policy| {
                policy
                    .prefix_rates
                    .iter()
                    .find(|(earlier, _)| earlier == prefix)
                    .map(|(_, rates)| rates.as_ref())
            });
            prefix_rates.push((
                prefix.clone(),
                Arc::new(ToolRates::new(
                    format!("resources:{}:{prefix}", component.name()),
                    tool,
                    caller_tool,
                    earlier,
                )),
            ));
        }
    }
    // Longest first, so the first match is the most specific.
    prefix_rules.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    prefix_rates.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    Ok(ResourcePolicy {
        component_rule: access.and_then(|access| item_access(component, access, "", None)),
        prefix_rules,
        prefix_rates,
        audit: audit.cloned().unwrap_or_default(),
    })
}

fn served_uris(component: &ToolComponent) -> String {
    let uris: Vec<&str> = component
        .resources()
        .iter()
        .map(|resource| resource.uri.as_str())
        .chain(
            component
                .resource_templates()
                .iter()
                .map(|template| template.uri_template.as_str()),
        )
        .take(20)
        .collect();
    if uris.is_empty() {
        "none".to_owned()
    } else {
        uris.join(", ")
    }
}

/// The MCP `annotations` object, or `None` when every hint is unset.
fn annotations(annotations: &ResourceAnnotations) -> Option<Value> {
    let mut object = Map::new();
    if !annotations.audience.is_empty() {
        let audience: Vec<&str> = annotations
            .audience
            .iter()
            .map(|role| role.as_str())
            .collect();
        object.insert("audience".into(), json!(audience));
    }
    if let Some(priority) = annotations.priority {
        object.insert("priority".into(), json!(priority));
    }
    if let Some(last_modified) = &annotations.last_modified {
        object.insert("lastModified".into(), json!(last_modified));
    }
    (!object.is_empty()).then_some(Value::Object(object))
}

/// A JSON object the sandbox checked at load.
pub(crate) fn meta_object(meta: Option<&str>) -> Option<Value> {
    meta.and_then(|meta| serde_json::from_str::<Value>(meta).ok())
        .filter(Value::is_object)
}

/// The MCP `Resource` object for `resources/list`.
fn resource_listing(info: &ResourceInfo) -> Value {
    let mut resource = Map::new();
    resource.insert("uri".into(), json!(info.uri));
    resource.insert("name".into(), json!(info.name));
    let optional = [
        ("title", info.title.as_ref().map(|title| json!(title))),
        (
            "description",
            info.description.as_ref().map(|text| json!(text)),
        ),
        ("mimeType", info.mime_type.as_ref().map(|mime| json!(mime))),
        ("size", info.size.map(|size| json!(size))),
        ("annotations", annotations(&info.annotations)),
        ("_meta", meta_object(info.meta.as_deref())),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            resource.insert(key.into(), value);
        }
    }
    Value::Object(resource)
}

/// The MCP `ResourceTemplate` object for `resources/templates/list`.
fn template_listing(info: &ResourceTemplateInfo) -> Value {
    let mut template = Map::new();
    template.insert("uriTemplate".into(), json!(info.uri_template));
    template.insert("name".into(), json!(info.name));
    let optional = [
        ("title", info.title.as_ref().map(|title| json!(title))),
        (
            "description",
            info.description.as_ref().map(|text| json!(text)),
        ),
        ("mimeType", info.mime_type.as_ref().map(|mime| json!(mime))),
        ("annotations", annotations(&info.annotations)),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            template.insert(key.into(), value);
        }
    }
    Value::Object(template)
}

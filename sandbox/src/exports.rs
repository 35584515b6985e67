//! Which of the optional interfaces a component exports, found once at
//! load: each is looked up on its own, so a component built against 0.1.0
//! (which exports `tool` only) loads as well as one that serves everything.

use wasmtime::component::InstancePre;

use crate::bindings::exports::warden::tool::{completion, prompts, resources, tool, tool_meta};
use crate::host::CallState;

/// The export indices of every interface the component provides.
#[derive(Clone)]
pub(crate) struct Exports {
    pub tool: Option<tool::GuestIndices>,
    pub resources: Option<resources::GuestIndices>,
    pub prompts: Option<prompts::GuestIndices>,
    pub completion: Option<completion::GuestIndices>,
    pub tool_meta: Option<tool_meta::GuestIndices>,
}

/// The interfaces' names without their version: the lookup matches any
/// semver-compatible version the component exports (`@0.1.0` as `@0.1.1`).
const TOOL: &str = "tool";
const RESOURCES: &str = "resources";
const PROMPTS: &str = "prompts";
const COMPLETION: &str = "completion";
const TOOL_META: &str = "tool-meta";

impl Exports {
    /// Finds the exports of `pre`'s component. An interface that is not
    /// exported is `None`; one that is exported but lacks a function, or
    /// whose functions have other types, is an error naming it.
    pub fn find(pre: &InstancePre<CallState>) -> Result<Self, String> {
        let exports = Self {
            tool: lookup(pre, TOOL, tool::GuestIndices::new)?,
            resources: lookup(pre, RESOURCES, resources::GuestIndices::new)?,
            prompts: lookup(pre, PROMPTS, prompts::GuestIndices::new)?,
            completion: lookup(pre, COMPLETION, completion::GuestIndices::new)?,
            tool_meta: lookup(pre, TOOL_META, tool_meta::GuestIndices::new)?,
        };
        if exports.tool.is_none() && exports.resources.is_none() && exports.prompts.is_none() {
            return Err(format!(
                "the component exports none of `{}`, `{}` and `{}`: build it for the \
                 `tool-component` or `server-component` world of {}",
                qualified(TOOL),
                qualified(RESOURCES),
                qualified(PROMPTS),
                crate::WIT_PACKAGE
            ));
        }
        Ok(exports)
    }

    /// The names of the interfaces exported, for `warden inspect`.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.tool.is_some(), TOOL),
            (self.resources.is_some(), RESOURCES),
            (self.prompts.is_some(), PROMPTS),
            (self.completion.is_some(), COMPLETION),
            (self.tool_meta.is_some(), TOOL_META),
        ]
        .into_iter()
        .filter_map(|(exported, name)| exported.then_some(name))
        .collect()
    }
}

/// `warden:tool/<interface>@<version>`.
fn qualified(interface: &str) -> String {
    let (package, version) = crate::WIT_PACKAGE
        .split_once('@')
        .unwrap_or((crate::WIT_PACKAGE, ""));
    format!("{package}/{interface}@{version}")
}

fn lookup<I>(
    pre: &InstancePre<CallState>,
    interface: &str,
    indices: impl FnOnce(&InstancePre<CallState>) -> wasmtime::Result<I>,
) -> Result<Option<I>, String> {
    let name = qualified(interface);
    if pre.component().get_export_index(None, &name).is_none() {
        return Ok(None);
    }
    indices(pre)
        .map(Some)
        .map_err(|error| format!("its export `{name}` does not match {name}: {error:#}"))
}

//! What a component serves besides tool calls: the listing at load, and
//! each resource read, prompt and completion in a fresh instance under the
//! component's limits, exactly like a tool call.

use std::sync::Arc;

use crate::bindings::warden::tool::types as wit;
use crate::component::{CallUsage, Served, ToolComponent};
use crate::error::{CallError, LoadError};
use crate::events::{CallEvents, NoEvents};
use crate::instance::Subject;
use crate::served::{
    Completion, CompletionRequest, CompletionTarget, PromptInfo, PromptOutcome, ResourceInfo,
    ResourceRead, ResourceTemplateInfo,
};
use crate::tool::ToolInfo;

/// A completed read, prompt or completion: what the component returned and
/// what it used.
#[derive(Debug, Clone)]
pub struct RunOutput<T> {
    /// What the component returned.
    pub value: T,
    /// What the run consumed.
    pub usage: CallUsage,
}

/// What the throwaway instance at load returns.
struct Listed {
    tools: Vec<wit::ToolInfo>,
    resources: Vec<wit::ResourceInfo>,
    templates: Vec<wit::ResourceTemplateInfo>,
    prompts: Vec<wit::PromptInfo>,
    tool_meta: Vec<wit::ToolMetaEntry>,
}

impl ToolComponent {
    /// Lists everything the component serves in one throwaway instance and
    /// checks it. Every exported interface is type-checked here, so a
    /// mismatch is a load error, not a failing call later.
    pub(crate) async fn list_served(&self) -> Result<Served, LoadError> {
        let subject = Subject::new("listing of", self.name.as_str());
        let list_error = |function: &'static str, reason: String| LoadError::Listing {
            component: self.name.clone(),
            function,
            reason,
        };
        let _slots = self
            .acquire_slots(&subject)
            .await
            .map_err(|error| list_error("instantiation", error.to_string()))?;
        // Loading has its own budget: tight per-call limits must not keep a
        // component that serves much from loading.
        let budget = self.policy.limits.for_loading();
        let exports = self.exports.clone();
        let (listed, _) = self
            .run(&budget, &subject, Arc::new(NoEvents), |store, instance| {
                Box::pin(async move {
                    let mut listed = Listed {
                        tools: Vec::new(),
                        resources: Vec::new(),
                        templates: Vec::new(),
                        prompts: Vec::new(),
                        tool_meta: Vec::new(),
                    };
                    if let Some(indices) = &exports.tool {
                        let guest = indices.load(&mut *store, &instance)?;
                        listed.tools = guest.call_list_tools(&mut *store).await?;
                    }
                    if let Some(indices) = &exports.resources {
                        let guest = indices.load(&mut *store, &instance)?;
                        listed.resources = guest.call_list_resources(&mut *store).await?;
                        listed.templates = guest.call_list_resource_templates(&mut *store).await?;
                    }
                    if let Some(indices) = &exports.prompts {
                        let guest = indices.load(&mut *store, &instance)?;
                        listed.prompts = guest.call_list_prompts(&mut *store).await?;
                    }
                    if let Some(indices) = &exports.completion {
                        indices.load(&mut *store, &instance)?;
                    }
                    if let Some(indices) = &exports.tool_meta {
                        let guest = indices.load(&mut *store, &instance)?;
                        listed.tool_meta = guest.call_list_tool_meta(&mut *store).await?;
                    }
                    Ok(listed)
                })
            })
            .await
            .map_err(|error| list_error("listing", error.to_string()))?;
        let mut tools: Vec<ToolInfo> = listed.tools.into_iter().map(ToolInfo::from).collect();
        crate::checks::attach_tool_meta(&self.name, &mut tools, listed.tool_meta)?;
        let served = Served {
            tools,
            resources: listed
                .resources
                .into_iter()
                .map(ResourceInfo::from)
                .collect(),
            templates: listed
                .templates
                .into_iter()
                .map(ResourceTemplateInfo::from)
                .collect(),
            prompts: listed.prompts.into_iter().map(PromptInfo::from).collect(),
        };
        crate::checks::check_served(&self.name, &served)?;
        Ok(served)
    }

    /// Reads the resource at `uri` in a fresh instance. The embedder has
    /// checked that the URI is one the component listed or one its
    /// templates match.
    pub async fn read_resource(
        &self,
        uri: &str,
        events: Arc<dyn CallEvents>,
    ) -> Result<RunOutput<ResourceRead>, CallError> {
        let subject = Subject::new("resource", uri);
        let Some(indices) = self.exports.resources.clone() else {
            return Err(CallError::UnknownTool {
                subject: subject.to_string(),
            });
        };
        let _slots = self.acquire_slots(&subject).await?;
        let (read, usage) = self
            .run(&self.policy.limits, &subject, events, |store, instance| {
                let uri = uri.to_owned();
                Box::pin(async move {
                    let guest = indices.load(&mut *store, &instance)?;
                    guest.call_read_resource(store, &uri).await
                })
            })
            .await?;
        let value = ResourceRead::from(read);
        self.check_output(&subject, value.payload_bytes())?;
        Ok(RunOutput { value, usage })
    }

    /// Fills in prompt `name` with `arguments` in a fresh instance. The
    /// embedder has checked the arguments against the prompt's list.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: Vec<(String, String)>,
        events: Arc<dyn CallEvents>,
    ) -> Result<RunOutput<PromptOutcome>, CallError> {
        let subject = Subject::new("prompt", name);
        let (true, Some(indices)) = (
            self.served.prompts.iter().any(|prompt| prompt.name == name),
            self.exports.prompts.clone(),
        ) else {
            return Err(CallError::UnknownTool {
                subject: subject.to_string(),
            });
        };
        let _slots = self.acquire_slots(&subject).await?;
        let (result, usage) = self
            .run(&self.policy.limits, &subject, events, |store, instance| {
                let name = name.to_owned();
                Box::pin(async move {
                    let guest = indices.load(&mut *store, &instance)?;
                    guest.call_get_prompt(store, &name, &arguments).await
                })
            })
            .await?;
        let value = PromptOutcome::from(result);
        self.check_output(&subject, value.payload_bytes())?;
        Ok(RunOutput { value, usage })
    }

    /// Completes an argument in a fresh instance.
    pub async fn complete(
        &self,
        request: &CompletionRequest,
        events: Arc<dyn CallEvents>,
    ) -> Result<RunOutput<Completion>, CallError> {
        let target = match &request.target {
            CompletionTarget::Prompt(name) | CompletionTarget::ResourceTemplate(name) => name,
        };
        let subject = Subject::new("completion for", target.as_str());
        let Some(indices) = self.exports.completion.clone() else {
            return Err(CallError::UnknownTool {
                subject: subject.to_string(),
            });
        };
        let _slots = self.acquire_slots(&subject).await?;
        let request = wit::CompletionRequest::from(request);
        let (result, usage) = self
            .run(&self.policy.limits, &subject, events, |store, instance| {
                Box::pin(async move {
                    let guest = indices.load(&mut *store, &instance)?;
                    guest.call_complete(store, &request).await
                })
            })
            .await?;
        let value = Completion::from(result);
        self.check_output(&subject, value.payload_bytes())?;
        Ok(RunOutput { value, usage })
    }
}

//! [`Toolbox`]: everything a component serves (tools, resources, resource
//! templates, prompts and their completions) and the functions each export
//! of `wit/tool.wit` calls.

use crate::bindings::warden::tool::types::{
    CallResult, CompletionRequest, CompletionResult, CompletionTarget, PromptError, PromptInfo,
    PromptResult, ResourceError, ResourceInfo, ResourcePart, ResourceTemplateInfo, ToolInfo,
    ToolMetaEntry,
};
use crate::complete::{self, CompletionContext};
use crate::prompt::Prompt;
use crate::resource::{Resource, ResourceTemplate};
use crate::tool::{Tool, is_valid_name};

/// What a component serves. Build it in a function and hand that function
/// to [`crate::export_toolbox!`].
#[derive(Default)]
pub struct Toolbox {
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    listers: Vec<fn() -> Vec<Resource>>,
    templates: Vec<ResourceTemplate>,
    prompts: Vec<Prompt>,
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool.
    ///
    /// # Panics
    ///
    /// If the name is not `[A-Za-z0-9_.-]{1,128}` or another tool in this
    /// toolbox already has it.
    pub fn tool(mut self, tool: Tool) -> Self {
        assert!(
            is_valid_name(tool.name()),
            "tool name `{}` must match [A-Za-z0-9_.-]{{1,128}}",
            tool.name()
        );
        assert!(
            self.find(tool.name()).is_none(),
            "tool `{}` is defined twice",
            tool.name()
        );
        self.tools.push(tool);
        self
    }

    /// Adds a resource at a fixed URI.
    ///
    /// # Panics
    ///
    /// If another resource in this toolbox has the same URI.
    pub fn resource(mut self, resource: Resource) -> Self {
        assert!(
            !self
                .resources
                .iter()
                .any(|existing| existing.uri() == resource.uri()),
            "resource `{}` is defined twice",
            resource.uri()
        );
        self.resources.push(resource);
        self
    }

    /// Adds the resources `list` returns when the gateway lists the
    /// component's resources (once, at load): for resources found at run
    /// time, such as the files of a granted directory. Reads of their URIs
    /// go to the template that matches them (see [`Resource::listed`]).
    pub fn resources_from(mut self, list: fn() -> Vec<Resource>) -> Self {
        self.listers.push(list);
        self
    }

    /// Adds a resource template.
    pub fn resource_template(mut self, template: ResourceTemplate) -> Self {
        self.templates.push(template);
        self
    }

    /// Adds a prompt.
    ///
    /// # Panics
    ///
    /// If the name is not `[A-Za-z0-9_.-]{1,128}` or another prompt in this
    /// toolbox already has it.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        assert!(
            is_valid_name(&prompt.name),
            "prompt name `{}` must match [A-Za-z0-9_.-]{{1,128}}",
            prompt.name
        );
        assert!(
            !self
                .prompts
                .iter()
                .any(|existing| existing.name == prompt.name),
            "prompt `{}` is defined twice",
            prompt.name
        );
        self.prompts.push(prompt);
        self
    }

    /// The metadata of every tool, in the order they were added: what the
    /// component's `list-tools` returns.
    ///
    /// # Panics
    ///
    /// See [`Tool::info`].
    pub fn list(&self) -> Vec<ToolInfo> {
        self.tools.iter().map(Tool::info).collect()
    }

    /// Runs tool `name` on `arguments` (a JSON object as text): what the
    /// component's `call-tool` does. An unknown name is a tool error.
    pub fn call(&self, name: &str, arguments: &str) -> CallResult {
        match self.find(name) {
            Some(tool) => tool.call(arguments),
            None => CallResult::error(format!("unknown tool `{name}`")),
        }
    }

    /// The `_meta` of each tool that has one: what `list-tool-meta` returns.
    pub fn list_tool_meta(&self) -> Vec<ToolMetaEntry> {
        self.tools.iter().filter_map(Tool::meta_entry).collect()
    }

    /// Every resource: the fixed ones, then what each lister returns.
    pub fn list_resources(&self) -> Vec<ResourceInfo> {
        self.resources
            .iter()
            .map(|resource| resource.info.clone())
            .chain(
                self.listers
                    .iter()
                    .flat_map(|list| list())
                    .map(|resource| resource.info),
            )
            .collect()
    }

    /// Every resource template.
    pub fn list_resource_templates(&self) -> Vec<ResourceTemplateInfo> {
        self.templates
            .iter()
            .map(|template| template.info.clone())
            .collect()
    }

    /// Reads `uri`: a fixed resource by its URI, else the first template
    /// that matches it. Neither: not found.
    pub fn read_resource(&self, uri: &str) -> Result<Vec<ResourcePart>, ResourceError> {
        if let Some(resource) = self.resources.iter().find(|resource| resource.uri() == uri) {
            return (resource.reader)(uri);
        }
        for template in &self.templates {
            if let Some(variables) = template.template.match_uri(uri) {
                return (template.reader)(uri, &variables);
            }
        }
        Err(ResourceError::NotFound(format!("no resource at `{uri}`")))
    }

    /// Every prompt.
    pub fn list_prompts(&self) -> Vec<PromptInfo> {
        self.prompts.iter().map(Prompt::info).collect()
    }

    /// Fills in prompt `name`.
    pub fn get_prompt(
        &self,
        name: &str,
        arguments: &[(String, String)],
    ) -> Result<PromptResult, PromptError> {
        let prompt = self
            .prompts
            .iter()
            .find(|prompt| prompt.name == name)
            .ok_or_else(|| PromptError::Invalid(format!("unknown prompt `{name}`")))?;
        let parts = prompt.get(arguments)?;
        Ok(PromptResult {
            description: parts.description,
            messages: parts.messages,
        })
    }

    /// Completes an argument of a prompt or a variable of a template with
    /// the completer it declared; none: no values.
    pub fn complete(&self, request: &CompletionRequest) -> CompletionResult {
        let completers = match &request.target {
            CompletionTarget::Prompt(name) => self
                .prompts
                .iter()
                .find(|prompt| &prompt.name == name)
                .map(|prompt| &prompt.completers),
            CompletionTarget::ResourceTemplate(uri_template) => self
                .templates
                .iter()
                .find(|template| &template.info.uri_template == uri_template)
                .map(|template| &template.completers),
        };
        let completer = completers.and_then(|completers| {
            completers
                .iter()
                .find(|(argument, _)| argument == &request.argument)
        });
        let context = CompletionContext::new(request.context.clone());
        complete::result(
            completer
                .map(|(_, complete)| complete(&request.value, &context))
                .unwrap_or_default(),
        )
    }

    fn find(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|tool| tool.name() == name)
    }
}

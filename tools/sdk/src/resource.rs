//! [`Resource`] (contents at a fixed URI) and [`ResourceTemplate`] (a family
//! of URIs, read by one function), with their completions.

use warden_uri_template::{UriTemplate, Variables};

use crate::bindings::warden::tool::types::{
    ResourceAnnotations, ResourceContents, ResourceError, ResourceInfo, ResourcePart,
    ResourceTemplateInfo, Role,
};
use crate::complete::{Completer, CompletionContext};

type Reader = Box<dyn Fn(&str) -> Result<Vec<ResourcePart>, ResourceError>>;
type TemplateReader = Box<dyn Fn(&str, &Variables) -> Result<Vec<ResourcePart>, ResourceError>>;

/// One resource at a fixed URI: its metadata and the function that reads
/// it. Listed once when the gateway loads the component; read in a fresh
/// instance per `resources/read`.
pub struct Resource {
    pub(crate) info: ResourceInfo,
    pub(crate) reader: Reader,
}

impl Resource {
    /// A resource at `uri` called `name`, whose contents `read` returns
    /// (given the URI read).
    pub fn new<F>(uri: impl Into<String>, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(&str) -> Result<Vec<ResourcePart>, ResourceError> + 'static,
    {
        Self {
            info: ResourceInfo {
                uri: uri.into(),
                name: name.into(),
                title: None,
                description: None,
                mime_type: None,
                size: None,
                annotations: no_annotations(),
                meta: None,
            },
            reader: Box::new(read),
        }
    }

    /// A resource whose contents are the fixed `text`, of `mime_type`.
    pub fn text(
        uri: impl Into<String>,
        name: impl Into<String>,
        mime_type: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        let (mime_type, text) = (mime_type.into(), text.into());
        let size = text.len() as u64;
        let part_mime = mime_type.clone();
        Self::new(uri, name, move |uri| {
            Ok(vec![ResourcePart::text(
                uri,
                Some(&part_mime),
                text.clone(),
            )])
        })
        .mime_type(mime_type)
        .size(size)
    }

    /// A resource whose contents are the fixed bytes `data`, of `mime_type`.
    pub fn blob(
        uri: impl Into<String>,
        name: impl Into<String>,
        mime_type: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        let (mime_type, data) = (mime_type.into(), data.into());
        let size = data.len() as u64;
        let part_mime = mime_type.clone();
        Self::new(uri, name, move |uri| {
            Ok(vec![ResourcePart::blob(
                uri,
                Some(&part_mime),
                data.clone(),
            )])
        })
        .mime_type(mime_type)
        .size(size)
    }

    /// Metadata only, for [`crate::Toolbox::resources_from`]: a listed
    /// resource that one of the component's templates reads.
    pub fn listed(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(uri, name, |uri| {
            Err(ResourceError::NotFound(format!("no resource at `{uri}`")))
        })
    }

    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }

    /// What the resource is, for the client and the model.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// Its MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.info.mime_type = Some(mime_type.into());
        self
    }

    /// Its size in bytes.
    pub fn size(mut self, bytes: u64) -> Self {
        self.info.size = Some(bytes);
        self
    }

    /// Who it is for.
    pub fn audience(mut self, audience: &[Role]) -> Self {
        self.info.annotations.audience = audience.to_vec();
        self
    }

    /// How important it is, from 0.0 to 1.0.
    pub fn priority(mut self, priority: f64) -> Self {
        self.info.annotations.priority = Some(priority);
        self
    }

    /// When it last changed (ISO 8601).
    pub fn last_modified(mut self, time: impl Into<String>) -> Self {
        self.info.annotations.last_modified = Some(time.into());
        self
    }

    /// `_meta` for its listing: a JSON object.
    pub fn meta(mut self, meta: serde_json::Value) -> Self {
        self.info.meta = Some(meta.to_string());
        self
    }

    /// Its URI.
    pub fn uri(&self) -> &str {
        &self.info.uri
    }
}

/// A family of resources named by an RFC 6570 URI template
/// (`file:///data/{+path}`), read by one function that gets the URI and the
/// template variables' values, and optionally completions of each variable.
pub struct ResourceTemplate {
    pub(crate) info: ResourceTemplateInfo,
    pub(crate) template: UriTemplate,
    pub(crate) reader: TemplateReader,
    pub(crate) completers: Vec<(String, Completer)>,
}

impl ResourceTemplate {
    /// A template called `name`, read by `read`.
    ///
    /// # Panics
    ///
    /// If `template` is not a valid RFC 6570 URI template: a bug in the tool
    /// crate, which its unit tests catch.
    pub fn new<F>(template: &str, name: impl Into<String>, read: F) -> Self
    where
        F: Fn(&str, &Variables) -> Result<Vec<ResourcePart>, ResourceError> + 'static,
    {
        let parsed = match UriTemplate::parse(template) {
            Ok(parsed) => parsed,
            Err(error) => panic!("resource template `{template}`: {error}"),
        };
        Self {
            info: ResourceTemplateInfo {
                uri_template: template.to_owned(),
                name: name.into(),
                title: None,
                description: None,
                mime_type: None,
                annotations: no_annotations(),
            },
            template: parsed,
            reader: Box::new(read),
            completers: Vec::new(),
        }
    }

    /// A human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }

    /// What it names.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// The MIME type of everything it names, when they share one.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.info.mime_type = Some(mime_type.into());
        self
    }

    /// Completes `variable`: `complete` gets what the user typed and the
    /// values already chosen, and returns every matching value, best first
    /// (the SDK sends the first 100 and the count).
    ///
    /// # Panics
    ///
    /// If the template has no such variable.
    pub fn complete<F>(mut self, variable: &str, complete: F) -> Self
    where
        F: Fn(&str, &CompletionContext) -> Vec<String> + 'static,
    {
        assert!(
            self.template.variables().any(|name| name == variable),
            "resource template `{}` has no variable `{variable}`",
            self.info.uri_template
        );
        self.completers
            .push((variable.to_owned(), Box::new(complete)));
        self
    }
}

impl ResourcePart {
    /// Text contents of `uri`.
    pub fn text(uri: impl Into<String>, mime_type: Option<&str>, text: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            contents: ResourceContents::Text(text.into()),
            meta: None,
        }
    }

    /// Binary contents of `uri` (Warden base64-encodes them).
    pub fn blob(uri: impl Into<String>, mime_type: Option<&str>, data: impl Into<Vec<u8>>) -> Self {
        Self {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            contents: ResourceContents::Blob(data.into()),
            meta: None,
        }
    }

    /// `_meta` for this part: a JSON object.
    pub fn with_meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = Some(meta.to_string());
        self
    }
}

fn no_annotations() -> ResourceAnnotations {
    ResourceAnnotations {
        audience: Vec::new(),
        priority: None,
        last_modified: None,
    }
}

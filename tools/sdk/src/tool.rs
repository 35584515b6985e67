//! [`Tool`] (one function and its metadata) and [`Toolbox`] (the set a
//! component exports).

use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ToolError;
use crate::bindings::warden::tool::types::{Annotations, CallResult, Content, ToolInfo};

/// Arguments of a tool that takes none: the input schema is an object that
/// allows no properties.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

type Handler = Box<dyn Fn(&str) -> CallResult>;

/// One tool: a name, a description, schemas derived from its argument and
/// output types, annotations, and the function that runs it.
///
/// Build one with [`Tool::new`] (structured output), [`Tool::with_content`]
/// (rich content such as images) or [`Tool::raw`] (a hand-built
/// [`CallResult`]), then refine it with the builder methods.
pub struct Tool {
    name: String,
    title: Option<String>,
    description: String,
    annotations: Annotations,
    input_schema: fn() -> Schema,
    output_schema: Option<fn() -> Option<Schema>>,
    meta: Option<serde_json::Map<String, serde_json::Value>>,
    handler: Handler,
}

impl Tool {
    /// A tool whose function maps arguments `I` to output `O`.
    ///
    /// The input schema is `I`'s JSON Schema; it must be an object (use a
    /// struct, or [`NoArgs`]). When `O`'s schema is an object too, it becomes
    /// the tool's output schema and each result carries `O` as structured
    /// content plus the same JSON as a text item. Otherwise the result is one
    /// text item: a string output as is, any other value as JSON.
    ///
    /// Names must match `[A-Za-z0-9_.-]{1,128}` and be unique across the whole
    /// gateway: prefix them with the component's name (`text.count`).
    pub fn new<I, O, F>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        I: DeserializeOwned + JsonSchema,
        O: Serialize + JsonSchema,
        F: Fn(I) -> Result<O, ToolError> + 'static,
    {
        let mut tool = Self::raw(name, description, move |input: I| match f(input) {
            Ok(output) => output_result(&output),
            Err(error) => error.into(),
        });
        tool.output_schema = Some(object_schema::<O>);
        tool
    }

    /// A tool whose function returns content items (text, images, audio,
    /// embedded resources) rather than a structured value. It has no output
    /// schema.
    pub fn with_content<I, F>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        I: DeserializeOwned + JsonSchema,
        F: Fn(I) -> Result<Vec<Content>, ToolError> + 'static,
    {
        Self::raw(name, description, move |input: I| match f(input) {
            Ok(content) => CallResult::from_content(content),
            Err(error) => error.into(),
        })
    }

    /// A tool whose function builds the whole [`CallResult`] itself. It has
    /// no output schema unless [`Tool::declare_output_schema`] adds one, and
    /// then the function alone is responsible for returning structured
    /// content that conforms to it.
    pub fn raw<I, F>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        I: DeserializeOwned + JsonSchema,
        F: Fn(I) -> CallResult + 'static,
    {
        Self {
            name: name.into(),
            title: None,
            description: description.into(),
            annotations: Annotations {
                read_only: None,
                destructive: None,
                idempotent: None,
                open_world: None,
            },
            input_schema: schema_of::<I>,
            output_schema: None,
            meta: None,
            handler: Box::new(move |arguments| match parse_arguments::<I>(arguments) {
                Ok(input) => f(input),
                Err(error) => error.into(),
            }),
        }
    }

    /// Declares `O`'s schema as the output schema of a [`Tool::raw`] tool
    /// (ignored unless it is an object schema). Tools built with
    /// [`Tool::new`] derive theirs and should not call this.
    pub fn declare_output_schema<O: JsonSchema>(mut self) -> Self {
        self.output_schema = Some(object_schema::<O>);
        self
    }

    /// A human-readable title for clients to display.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Hints that the tool does not modify its environment.
    pub fn read_only(mut self) -> Self {
        self.annotations.read_only = Some(true);
        self
    }

    /// Hints that the tool may modify its environment destructively
    /// (overwrite or delete), so clients may ask the user first.
    pub fn destructive(mut self) -> Self {
        self.annotations.read_only = Some(false);
        self.annotations.destructive = Some(true);
        self
    }

    /// Hints that calling the tool again with the same arguments has no
    /// further effect.
    pub fn idempotent(mut self) -> Self {
        self.annotations.idempotent = Some(true);
        self
    }

    /// Hints whether the tool talks to an open world of external entities
    /// (`true`, the MCP default) or only to a closed domain (`false`).
    pub fn open_world(mut self, open: bool) -> Self {
        self.annotations.open_world = Some(open);
        self
    }

    /// Adds `meta` (a JSON object) to the tool's `_meta` in listings.
    ///
    /// # Panics
    ///
    /// If `meta` is not a JSON object.
    pub fn meta(mut self, meta: serde_json::Value) -> Self {
        let serde_json::Value::Object(entries) = meta else {
            panic!("the `_meta` of tool `{}` must be a JSON object", self.name);
        };
        self.meta.get_or_insert_default().extend(entries);
        self
    }

    /// Points the tool at the MCP Apps user interface its component serves
    /// at `resource_uri` (a `ui://` resource of MIME type
    /// `text/html;profile=mcp-app`): clients that render MCP Apps show it
    /// with the tool's results.
    pub fn ui(self, resource_uri: impl Into<String>) -> Self {
        let uri = resource_uri.into();
        self.meta(serde_json::json!({
            "ui": { "resourceUri": uri },
            // The key clients written before the extension's stable release read.
            "ui/resourceUri": uri,
        }))
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's `_meta`, as `list-tool-meta` reports it.
    pub(crate) fn meta_entry(&self) -> Option<crate::bindings::warden::tool::types::ToolMetaEntry> {
        self.meta
            .as_ref()
            .map(|meta| crate::bindings::warden::tool::types::ToolMetaEntry {
                tool: self.name.clone(),
                meta: serde_json::Value::Object(meta.clone()).to_string(),
            })
    }

    /// The metadata `list-tools` reports for this tool.
    ///
    /// # Panics
    ///
    /// If the input type's schema is not an object schema: that is a bug in
    /// the tool crate, which its unit tests catch by calling
    /// [`Toolbox::list`].
    pub fn info(&self) -> ToolInfo {
        let input = (self.input_schema)();
        assert!(
            is_object_schema(&input),
            "the input type of tool `{}` must be a struct (its JSON Schema must be an object)",
            self.name
        );
        ToolInfo {
            name: self.name.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            input_schema: input.as_value().to_string(),
            output_schema: self
                .output_schema
                .and_then(|schema| schema())
                .map(|schema| schema.as_value().to_string()),
            annotations: self.annotations,
        }
    }

    /// Runs the tool on `arguments` (a JSON object as text).
    pub fn call(&self, arguments: &str) -> CallResult {
        (self.handler)(arguments)
    }
}

impl From<ToolError> for CallResult {
    fn from(error: ToolError) -> Self {
        CallResult::error(error.message())
    }
}

/// `T`'s schema in the forms every client's schema check accepts
/// (`portable`).
fn schema_of<T: JsonSchema>() -> Schema {
    let mut schema = schemars::schema_for!(T);
    if let Some(object) = schema.as_object_mut() {
        crate::portable::rewrite(object);
    }
    schema
}

/// `T`'s schema when its root is an object schema.
fn object_schema<T: JsonSchema>() -> Option<Schema> {
    Some(schema_of::<T>()).filter(is_object_schema)
}

fn is_object_schema(schema: &Schema) -> bool {
    schema.get("type").and_then(serde_json::Value::as_str) == Some("object")
}

pub(crate) fn is_valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Deserializes the arguments; the message names the failing field. The host
/// validates arguments against the input schema first, so this should only
/// fail when the schema and the `Deserialize` impl disagree.
fn parse_arguments<I: DeserializeOwned>(arguments: &str) -> Result<I, ToolError> {
    let arguments = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    let mut deserializer = serde_json::Deserializer::from_str(arguments);
    let input = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let error = error.into_inner();
        if path == "." {
            ToolError::new(format!("invalid arguments: {error}"))
        } else {
            ToolError::new(format!("invalid arguments: `{path}`: {error}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ToolError::new(format!("invalid arguments: {error}")))?;
    Ok(input)
}

/// Serializes straight to JSON text (not through `serde_json::Value`), so
/// fields keep their declaration order and maps the order their `Serialize`
/// impl gives.
/// A JSON object output is structured content (it is exactly the case where
/// `O`'s derived schema is an object schema, decided here from the value so
/// no schema is derived on the call path); anything else is text.
fn output_result<O: Serialize>(output: &O) -> CallResult {
    let json = match serde_json::to_string(output) {
        Ok(json) => json,
        Err(error) => {
            return CallResult::error(format!(
                "the tool's output could not be serialized: {error}"
            ));
        }
    };
    if json.starts_with('{') {
        return CallResult::structured_json(json);
    }
    // A string output is shown as the string itself, not as a JSON literal.
    let text = if json.starts_with('"') {
        serde_json::from_str::<String>(&json).unwrap_or(json)
    } else {
        json
    };
    CallResult::from_content(vec![Content::Text(text)])
}

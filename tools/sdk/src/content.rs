//! Constructors for the content items and call results a tool returns.

use crate::bindings::warden::tool::types::{
    BinaryContent, CallResult, Content, EmbeddedResource, ResourceContents,
};

impl Content {
    /// A text item.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    /// An image: raw bytes (Warden base64-encodes them) and a MIME type such
    /// as `image/png`.
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Self::Image(BinaryContent {
            data: data.into(),
            mime_type: mime_type.into(),
        })
    }

    /// Audio: raw bytes and a MIME type such as `audio/wav`.
    pub fn audio(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Self::Audio(BinaryContent {
            data: data.into(),
            mime_type: mime_type.into(),
        })
    }

    /// An embedded resource whose contents are text.
    pub fn resource_text(
        uri: impl Into<String>,
        mime_type: Option<&str>,
        text: impl Into<String>,
    ) -> Self {
        Self::Resource(EmbeddedResource {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            contents: ResourceContents::Text(text.into()),
        })
    }

    /// An embedded resource whose contents are bytes.
    pub fn resource_blob(
        uri: impl Into<String>,
        mime_type: Option<&str>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        Self::Resource(EmbeddedResource {
            uri: uri.into(),
            mime_type: mime_type.map(str::to_owned),
            contents: ResourceContents::Blob(data.into()),
        })
    }
}

impl CallResult {
    /// A successful result made of these content items, with no structured
    /// content.
    pub fn from_content(content: Vec<Content>) -> Self {
        Self {
            content,
            structured_content: None,
            is_error: false,
        }
    }

    /// A successful result carrying `value` as structured content and, as MCP
    /// recommends for clients that do not read structured content, the same
    /// JSON as one text item.
    pub fn structured(value: &serde_json::Value) -> Self {
        Self::structured_json(value.to_string())
    }

    /// Like [`CallResult::structured`], for a value already serialized as
    /// JSON text. The text is passed on as is: it must be one JSON object.
    pub fn structured_json(json: String) -> Self {
        Self {
            content: vec![Content::Text(json.clone())],
            structured_content: Some(json),
            is_error: false,
        }
    }

    /// A tool error (`isError: true`) whose text content is `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            content: vec![Content::Text(message.into())],
            structured_content: None,
            is_error: true,
        }
    }

    /// The first text item, if any: handy in tests.
    pub fn first_text(&self) -> Option<&str> {
        self.content.iter().find_map(|item| match item {
            Content::Text(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// The structured content parsed as JSON, if there is any and it parses.
    pub fn structured_value(&self) -> Option<serde_json::Value> {
        self.structured_content
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
    }
}

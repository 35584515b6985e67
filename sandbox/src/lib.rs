//! Runs WebAssembly tool components in fresh, limited wasmtime instances.
//!
//! A [`Sandbox`] owns one wasmtime [`Engine`](wasmtime::Engine) with the
//! pooling allocator, epoch interruption and (when asked for) fuel metering.
//! [`Sandbox::load`] compiles a component once (or loads it from the artifact
//! cache), links WASI and the host imports, and asks the component for its
//! tools. [`ToolComponent::call`] then runs each call in a brand-new instance
//! with its own store, WASI context and limits; nothing survives the call.
//!
//! This crate knows nothing of HTTP or MCP: it speaks in tools, JSON text and
//! typed errors, and the gateway maps those onto the wire.
//!
//! # Examples
//!
//! ```no_run
//! use std::sync::Arc;
//! use warden_sandbox::{NoEvents, Policy, Sandbox, SandboxConfig};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::new(SandboxConfig::default())?;
//! let text = sandbox
//!     .load("text", "target/components/text.wasm".as_ref(), Policy::default())
//!     .await?;
//! let output = text
//!     .call("text.count", r#"{"text":"one two"}"#, Arc::new(NoEvents))
//!     .await?;
//! println!("{:?}", output.result.content);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod bindings;
mod cache;
mod checks;
mod client;
mod component;
mod engine;
mod error;
mod events;
mod exports;
mod host;
mod instance;
mod limiter;
mod name_lookup;
mod outbound;
mod output;
mod policy;
mod pool;
mod serve;
mod served;
mod tool;

/// The WIT package every tool component is built against (`wit/tool.wit`).
pub const WIT_PACKAGE: &str = "warden:tool@0.1.1";

pub use checks::{MAX_URI_BYTES, absolute_uri};
pub use client::{
    ClientReply, ClientReplyFuture, ClientRequest, ClientRequestError, ClientRequestKind,
};
pub use component::{CallOutput, CallUsage, FUEL_SLICE, ToolComponent};
pub use engine::{
    DEFAULT_KEEP_RESIDENT_BYTES, InstanceAllocation, PoolStats, Sandbox, SandboxConfig,
};
pub use error::{CallError, LoadError, SandboxError};
pub use events::{CallEvents, LogLevel, NoEvents};
pub use instance::Subject;
pub use outbound::{
    AllowTarget, AllowUrlError, HostPattern, HttpAllow, HttpGrant, HttpLimits, HttpScheme,
    InjectedHeader, NEVER_SENT, OutboundOutcome, OutboundRefusal, OutboundRequest, OutboundUsage,
    RESERVED_HEADERS, RefusalReason, RequestHost, RequestTarget, Secret,
};
pub use policy::{
    Capabilities, DirGrant, DirMode, LOAD_FUEL, LOAD_OUTPUT_BYTES, LOAD_TIMEOUT_MS, Limits, Policy,
};
pub use serve::RunOutput;
pub use served::{
    Completion, CompletionRequest, CompletionTarget, MAX_COMPLETION_VALUES, PromptArgument,
    PromptInfo, PromptMessage, PromptOutcome, ResourceAnnotations, ResourceInfo, ResourcePart,
    ResourceRead, ResourceTemplateInfo, Role,
};
pub use tool::{Annotations, CallResult, Content, MAX_TOOL_NAME_CHARS, ResourceContents, ToolInfo};

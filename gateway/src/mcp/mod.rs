//! The MCP protocol, the same for every transport: JSON-RPC framing,
//! revisions, sessions, the methods Warden answers, and the server that
//! routes each message to them ([`server::McpServer`]). Transports (`http`,
//! `stdio`) hand it decoded messages and carry its replies; nothing here
//! knows HTTP.

mod call_context;
pub mod client_requests;
mod completion;
mod downlevel;
pub mod error;
pub mod jsonrpc;
pub mod notify;
mod observer;
mod paging;
pub mod param_headers;
mod prompts;
mod resources;
pub mod revision;
mod schema;
mod served;
pub mod server;
pub mod session;
pub mod stateless;
mod strict_json;
mod tool_output;
pub mod tools;
pub mod watch;

pub use error::{ErrorKind, McpError};
pub use server::McpServer;

//! The MCP protocol, the same for every transport: JSON-RPC framing,
//! revisions, sessions, the methods Warden answers, and the server that
//! routes each message to them ([`server::McpServer`]). Transports (`http`,
//! `stdio`) hand it decoded messages and carry its replies; nothing here
//! knows HTTP.

pub mod client_requests;
mod downlevel;
pub mod error;
pub mod jsonrpc;
pub mod notify;
pub mod param_headers;
pub mod revision;
mod schema;
pub mod server;
pub mod session;
pub mod stateless;
mod strict_json;
mod tool_output;
pub mod tools;

pub use error::{ErrorKind, McpError};
pub use server::McpServer;

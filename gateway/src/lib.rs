//! Warden's gateway: MCP over Streamable HTTP and stdio in front of the
//! sandbox.
//!
//! The flow of one call: a transport ([`http`] or [`stdio`]) checks what
//! it carries (origin, headers, body size) and who sends it ([`auth`]) →
//! [`mcp`] decodes JSON-RPC, checks the session and dispatches → [`catalog`]
//! finds the tool and validates its arguments → the sandbox runs it in a
//! fresh instance → [`mcp`] maps the outcome onto the wire. [`app`] holds
//! the state they all serve.

pub mod app;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod certificates;
pub mod cluster;
pub mod config;
pub mod excerpt;
pub mod http;
pub mod lifecycle;
pub mod limits;
pub mod mcp;
pub mod outcome;
pub mod registry;
pub mod reload;
pub mod signing;
pub mod stdio;
pub mod tasks;
pub mod telemetry;
pub mod tls;

pub use app::{BuildError, Gateway, build};

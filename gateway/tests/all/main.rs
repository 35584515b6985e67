//! Warden's gateway driven over real HTTP on loopback.

mod audit;
mod auth;
mod batches;
mod calls;
mod cli;
mod client_requests;
mod conformance;
mod deploy;
mod event_stream;
mod examples;
mod hardening;
mod hostile;
mod http2;
mod jwt;
mod metrics;
mod notifications;
#[cfg(feature = "otlp")]
mod otlp;
mod outbound;
mod protocol;
mod python_sdk;
mod quotas;
mod reload;
mod replicas;
mod revisions;
mod served;
mod served_policy;
mod shutdown;
mod stateless;
mod stdio;
mod support;
mod tls;
mod typescript_sdk;
mod unread;
mod upstream;
mod web_tool;

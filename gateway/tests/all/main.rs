//! Warden's gateway driven over real HTTP on loopback.

mod calls;
mod examples;
mod metrics;
mod protocol;
mod python_sdk;
mod stdio;
mod support;

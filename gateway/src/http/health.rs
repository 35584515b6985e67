//! Probes: `/livez`, `/readyz` and `/healthz`. They never touch a tool.

use hyper::StatusCode;
use serde_json::json;

use super::response::{self, Body};
use crate::app::Gateway;

/// `/livez`: the process is serving HTTP.
pub fn live() -> hyper::Response<Body> {
    response::text(StatusCode::OK, "ok\n")
}

/// `/readyz`: every component is loaded (the catalog is built before the
/// listener accepts anything) and no shutdown has begun.
pub fn ready(gateway: &Gateway) -> hyper::Response<Body> {
    if gateway.mcp.lifecycle().is_draining() {
        return response::text(StatusCode::SERVICE_UNAVAILABLE, "draining\n");
    }
    response::text(StatusCode::OK, "ready\n")
}

/// `/healthz`: version, uptime, tools and resource usage as JSON.
pub fn health(gateway: &Gateway) -> hyper::Response<Body> {
    let catalog = gateway.mcp.catalog();
    let pool = catalog.sandbox().pool_stats();
    let components: Vec<_> = catalog
        .components()
        .iter()
        .map(|component| {
            json!({
                "name": component.name(),
                "tools": component.tools().len(),
                "in_flight": component.in_flight(),
                "max_concurrency": component.policy().limits.max_concurrency,
            })
        })
        .collect();
    let limits = gateway.mcp.limits();
    response::json(
        StatusCode::OK,
        &json!({
            "status": if gateway.mcp.lifecycle().is_draining() { "draining" } else { "ok" },
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": gateway.started.elapsed().as_secs(),
            "tools": catalog.tools().len(),
            "components": components,
            "pool": { "capacity": pool.capacity, "in_use": pool.in_use },
            "sessions": gateway.mcp.sessions().len(),
            "calls": {
                "in_flight": limits.admission().in_flight(),
                "max_in_flight": limits.config().max_calls_in_flight,
            },
            "tasks": { "running": gateway.mcp.tasks().running() },
            // Whether the shared store answers; absent without one.
            "cluster": gateway.shared.as_ref().map(|shared| json!({
                "store": if shared.store.answering() { "up" } else { "down" },
                "on_unavailable": shared.on_unavailable.as_str(),
            })),
        }),
    )
}

//! Name lookups a guest may make. WASI's `resolve-addresses` would send any
//! name the guest chooses to the host's resolver, so data could leave in
//! the query even where no connection is allowed. The sandbox answers it
//! itself instead: a name of the component's `tcp_connect` list gets the
//! addresses that name resolved to when the component was loaded (the
//! only ones a connection may reach anyway), an IP address literal is
//! answered as itself, and any other name is refused with `access-denied`.
//! No lookup ever leaves the host while a call runs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;

use wasmtime::component::{Linker, Resource, ResourceType};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

use crate::host::CallState;

/// The interface whose functions this module replaces.
const WASI_IP_NAME_LOOKUP: &str = "wasi:sockets/ip-name-lookup@0.2.12";

/// The `tcp_connect` list of a component, resolved once at load: the
/// addresses a connection may reach, and the names a lookup may ask for.
#[derive(Debug, Default)]
pub(crate) struct NetworkGrant {
    /// Addresses a connection may reach.
    pub(crate) addresses: std::collections::HashSet<SocketAddr>,
    /// Each listed host name (lowercase, no trailing dot) with the
    /// addresses it resolved to, in the resolver's order.
    pub(crate) names: HashMap<String, Vec<IpAddr>>,
}

impl NetworkGrant {
    /// Resolves `host:port` entries; the error names the entry that does
    /// not resolve.
    pub(crate) fn resolve(entries: &[String]) -> Result<Self, String> {
        let mut grant = Self::default();
        for entry in entries {
            let resolved: Vec<SocketAddr> = entry
                .to_socket_addrs()
                .map_err(|error| format!("tcp_connect entry `{entry}` does not resolve: {error}"))?
                .collect();
            if let Some(name) = host_name(entry) {
                let ips = grant.names.entry(name).or_default();
                for address in &resolved {
                    if !ips.contains(&address.ip()) {
                        ips.push(address.ip());
                    }
                }
            }
            grant.addresses.extend(resolved);
        }
        Ok(grant)
    }

    /// Whether the guest may connect at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The answer to a lookup of `name`: its addresses, or `None` when the
    /// guest may not ask for it.
    fn answer(&self, name: &str) -> Option<Vec<IpAddr>> {
        if let Some(literal) = ip_literal(name) {
            return Some(vec![literal]);
        }
        self.names.get(&normalized(name)).cloned()
    }
}

/// The host part of a `host:port` entry when it is a name, not an address.
fn host_name(entry: &str) -> Option<String> {
    let (host, _port) = entry.rsplit_once(':')?;
    (ip_literal(host).is_none()).then(|| normalized(host))
}

/// `name` as listed names are kept: lowercase, without a trailing dot.
fn normalized(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `name` as an IP address, written bare or (IPv6) in brackets.
fn ip_literal(name: &str) -> Option<IpAddr> {
    let bare = name
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(name);
    bare.parse().ok()
}

/// The answer to one lookup, handed out address by address.
struct ResolvedAddresses(std::vec::IntoIter<IpAddr>);

#[wasmtime_wasi::async_trait]
impl Pollable for ResolvedAddresses {
    // Answered at once: nothing to wait for.
    async fn ready(&mut self) {}
}

/// Replaces WASI's `ip-name-lookup` with answers from `grant`. The guest
/// may link the interface whatever its grant; without one, every name is
/// refused.
pub(crate) fn answer_from_grant(
    linker: &mut Linker<CallState>,
    component: &str,
    grant: Arc<NetworkGrant>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let defined = define(linker, Arc::from(component), grant);
    linker.allow_shadowing(false);
    defined
}

fn define(
    linker: &mut Linker<CallState>,
    component: Arc<str>,
    grant: Arc<NetworkGrant>,
) -> wasmtime::Result<()> {
    let mut lookup = linker.instance(WASI_IP_NAME_LOOKUP)?;
    lookup.resource(
        "resolve-address-stream",
        ResourceType::host::<ResolvedAddresses>(),
        |mut store, rep| {
            let stream = Resource::<ResolvedAddresses>::new_own(rep);
            store.data_mut().table.delete(stream)?;
            Ok(())
        },
    )?;
    lookup.func_wrap(
        "resolve-addresses",
        move |mut store, (network, name): (Resource<Network>, String)| {
            let state = store.data_mut();
            // The network resource is the capability to look up at all.
            state.table.get(&network)?;
            let Some(addresses) = grant.answer(&name) else {
                tracing::warn!(
                    component = %component,
                    tool = %state.tool,
                    name = %name.escape_debug(),
                    "refused a name lookup the policy does not list"
                );
                return Ok((Err(ErrorCode::AccessDenied),));
            };
            let stream = state.table.push(ResolvedAddresses(addresses.into_iter()))?;
            Ok((Ok(stream),))
        },
    )?;
    lookup.func_wrap(
        "[method]resolve-address-stream.resolve-next-address",
        |mut store, (stream,): (Resource<ResolvedAddresses>,)| {
            let resolved = store.data_mut().table.get_mut(&stream)?;
            let next: Option<IpAddress> = resolved.0.next().map(IpAddress::from);
            Ok((Ok::<_, ErrorCode>(next),))
        },
    )?;
    lookup.func_wrap(
        "[method]resolve-address-stream.subscribe",
        |mut store, (stream,): (Resource<ResolvedAddresses>,)| {
            let pollable: Resource<DynPollable> = subscribe(&mut store.data_mut().table, stream)?;
            Ok((pollable,))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_names_and_literals_are_answered_and_nothing_else() {
        let grant = NetworkGrant::resolve(&[
            "localhost:9".to_owned(),
            "127.0.0.1:10".to_owned(),
            "[::1]:11".to_owned(),
        ])
        .expect("loopback entries resolve");
        assert!(grant.names.contains_key("localhost"));
        assert_eq!(grant.names.len(), 1, "addresses are not names: {grant:?}");
        for asked in [
            "localhost",
            "LOCALHOST.",
            "127.0.0.1",
            "::1",
            "[::1]",
            "10.1.2.3",
        ] {
            assert!(
                grant.answer(asked).is_some_and(|ips| !ips.is_empty()),
                "{asked}"
            );
        }
        for refused in [
            "example.com",
            "exfiltrate.secret.example",
            "",
            "localhost.localdomain",
        ] {
            assert_eq!(grant.answer(refused), None, "{refused}");
        }
        assert_eq!(
            grant.answer("10.1.2.3"),
            Some(vec!["10.1.2.3".parse().expect("an address")]),
            "a literal is itself; connecting is what the address list decides"
        );
    }

    #[test]
    fn an_entry_that_does_not_resolve_is_named() {
        let error = NetworkGrant::resolve(&["no port here".to_owned()]).expect_err("refused");
        assert!(error.contains("`no port here`"), "{error}");
    }
}

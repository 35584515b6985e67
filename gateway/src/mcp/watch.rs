//! What a reload changed, for the clients that listen: the tool, prompt
//! and resource lists, and the subscribed resources whose contents differ.
//!
//! A resource counts as updated when the new catalog reads something other
//! than the old one did, read at the moment of the reload: what a reload
//! changes is the component (its code, its policy, its grants), and that
//! is when a subscriber hears of it. Only URIs some client watches are
//! read, each once per reload, under the component's own limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use warden_sandbox::{NoEvents, ResourceRead};

use super::error::{ErrorKind, McpError};
use crate::auth::Caller;
use crate::catalog::Catalog;

/// Most distinct URIs watched in this process at once.
pub const MAX_WATCHED_URIS: usize = 10_000;

/// What one reload changed.
#[derive(Clone, Default)]
pub struct CatalogChange {
    /// The catalog it changed to: a listener checks against it that its
    /// caller may still read a resource before telling of an update.
    pub catalog: Option<Arc<Catalog>>,
    /// The tool listing.
    pub tools: bool,
    /// The prompt listing.
    pub prompts: bool,
    /// The resource or template listing.
    pub resources: bool,
    /// Watched resources whose contents changed.
    pub updated: Arc<Vec<String>>,
}

impl CatalogChange {
    /// The lists `old` and `new` list differently.
    pub fn of_lists(old: &Catalog, new: &Arc<Catalog>) -> Self {
        Self {
            catalog: Some(Arc::clone(new)),
            tools: old.listing_differs(new),
            prompts: old.prompts_differ(new),
            resources: old.resources_differ(new),
            updated: Arc::default(),
        }
    }

    /// Whether there is anything to tell.
    pub fn is_empty(&self) -> bool {
        !self.tools && !self.prompts && !self.resources && self.updated.is_empty()
    }

    /// Whether `caller` may still read `uri` in the catalog changed to.
    pub fn allows(&self, uri: &str, caller: &Caller) -> bool {
        self.catalog
            .as_ref()
            .is_some_and(|catalog| catalog.resources().resolve(uri, caller).is_some())
    }

    /// The notifications this change means for a listener that wants
    /// `wants` and watches the URIs `watching` says yes to.
    pub fn notifications(
        &self,
        wants: Wants,
        watching: impl Fn(&str) -> bool,
    ) -> Vec<(&'static str, Value)> {
        let mut notes = Vec::new();
        if self.tools && wants.tools {
            notes.push(("notifications/tools/list_changed", json!({})));
        }
        if self.prompts && wants.prompts {
            notes.push(("notifications/prompts/list_changed", json!({})));
        }
        if self.resources && wants.resources {
            notes.push(("notifications/resources/list_changed", json!({})));
        }
        for uri in self.updated.iter().filter(|uri| watching(uri)) {
            notes.push(("notifications/resources/updated", json!({ "uri": uri })));
        }
        notes
    }
}

/// Which list changes a listener wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    /// `notifications/tools/list_changed`.
    pub tools: bool,
    /// `notifications/prompts/list_changed`.
    pub prompts: bool,
    /// `notifications/resources/list_changed`.
    pub resources: bool,
}

impl Wants {
    /// Every list change: what a session's stream carries.
    pub const ALL: Self = Self {
        tools: true,
        prompts: true,
        resources: true,
    };
}

/// The URIs watched in this process, with how many subscriptions watch
/// each.
#[derive(Debug, Default)]
pub struct Watches(Mutex<HashMap<String, usize>>);

/// One subscription's hold on a watched URI; dropping it lets go.
#[derive(Debug)]
pub struct WatchGuard {
    watches: Arc<Watches>,
    uri: String,
}

impl Watches {
    /// Watches `uri` until the guard drops; refused past
    /// [`MAX_WATCHED_URIS`] distinct URIs.
    pub fn watch(self: &Arc<Self>, uri: &str) -> Result<WatchGuard, McpError> {
        let mut watched = self.lock();
        if !watched.contains_key(uri) && watched.len() >= MAX_WATCHED_URIS {
            return Err(McpError::new(
                ErrorKind::Unavailable,
                format!("this server watches {MAX_WATCHED_URIS} resources already; retry later"),
            ));
        }
        *watched.entry(uri.to_owned()).or_default() += 1;
        Ok(WatchGuard {
            watches: Arc::clone(self),
            uri: uri.to_owned(),
        })
    }

    /// Every URI watched now.
    pub fn uris(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let mut watched = self.watches.lock();
        if let Some(count) = watched.get_mut(&self.uri) {
            *count -= 1;
            if *count == 0 {
                watched.remove(&self.uri);
            }
        }
    }
}

/// Which of `uris` read differently in `new` than in `old`.
pub async fn updated_resources(old: &Catalog, new: &Catalog, uris: Vec<String>) -> Vec<String> {
    let mut updated = Vec::new();
    for uri in uris {
        if read(old, &uri).await != read(new, &uri).await {
            updated.push(uri);
        }
    }
    updated
}

/// What reading `uri` from `catalog` gives, as the operator (no caller's
/// rules or quotas apply: nothing reaches a client but the fact of a
/// change): the contents, or a description of why there are none.
async fn read(catalog: &Catalog, uri: &str) -> Result<ResourceRead, String> {
    let target = catalog
        .resources()
        .resolve(uri, &Caller::local())
        .ok_or_else(|| "not served".to_owned())?;
    target
        .component
        .read_resource(uri, Arc::new(NoEvents))
        .await
        .map(|output| output.value)
        .map_err(|error| error.reason().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_and_let_go() {
        let watches = Arc::new(Watches::default());
        let first = watches.watch("test://a").expect("watch");
        let second = watches.watch("test://a").expect("watch");
        assert_eq!(watches.uris(), ["test://a"]);
        drop(first);
        assert_eq!(watches.uris(), ["test://a"]);
        drop(second);
        assert!(watches.uris().is_empty());
    }

    #[test]
    fn a_change_means_the_notifications_a_listener_asked_for() {
        let change = CatalogChange {
            catalog: None,
            tools: true,
            prompts: false,
            resources: true,
            updated: Arc::new(vec!["test://a".into(), "test://b".into()]),
        };
        let methods: Vec<&str> = change
            .notifications(
                Wants {
                    tools: false,
                    prompts: true,
                    resources: true,
                },
                |uri| uri == "test://b",
            )
            .into_iter()
            .map(|(method, _)| method)
            .collect();
        assert_eq!(
            methods,
            [
                "notifications/resources/list_changed",
                "notifications/resources/updated"
            ]
        );
        assert!(CatalogChange::default().is_empty());
    }
}

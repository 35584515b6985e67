//! Where each configured component's wasm is read from: its file, or the
//! cache a registry pull fills.

use std::path::PathBuf;

use crate::config::{ComponentConfig, ComponentSource, Config};
use crate::registry::{Pulled, Registry, RegistryError};

/// A component pulled from a registry, as `warden tools` and the logs
/// show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledComponent {
    /// The component's name in the configuration.
    pub component: String,
    /// The reference as configured.
    pub reference: String,
    /// What was pulled.
    pub pulled: Pulled,
}

/// Resolves component sources for one (re)load; the registry client is
/// made only when some component comes from one.
pub(super) struct Sources<'a> {
    config: &'a Config,
    registry: Option<Registry>,
    pub(super) pulled: Vec<PulledComponent>,
}

impl<'a> Sources<'a> {
    pub(super) fn new(config: &'a Config) -> Self {
        Self {
            config,
            registry: None,
            pulled: Vec::new(),
        }
    }

    /// The local path of `component`'s wasm, pulled first if need be.
    pub(super) async fn path(
        &mut self,
        component: &ComponentConfig,
    ) -> Result<PathBuf, RegistryError> {
        let source = match &component.source {
            ComponentSource::File(path) => return Ok(path.clone()),
            ComponentSource::Oci(source) => source,
        };
        let registry = match &mut self.registry {
            Some(registry) => registry,
            empty => empty.insert(Registry::new(
                &self.config.registry,
                self.config.server.cache_dir.as_deref(),
            )?),
        };
        let pulled = registry.resolve(source).await?;
        tracing::info!(
            component = %component.name,
            reference = %source.reference,
            digest = %pulled.digest,
            from_cache = pulled.from_cache,
            signed_by = pulled.signed_by.as_deref().unwrap_or("(no signature required)"),
            "component resolved"
        );
        let path = pulled.path.clone();
        self.pulled.push(PulledComponent {
            component: component.name.to_string(),
            reference: source.reference.to_string(),
            pulled,
        });
        Ok(path)
    }
}

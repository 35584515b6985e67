//! Compiled components cached on disk, keyed by the engine's compatibility
//! hash and the SHA-256 of the wasm, so a restart compiles nothing new.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiles `wasm`, or loads the artifact a previous run cached for the same
/// bytes and engine settings. Cache failures only cost a compile.
pub(crate) fn compile(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> wasmtime::Result<(Component, CacheOutcome)> {
    let Some(dir) = cache_dir else {
        return Ok((Component::new(engine, wasm)?, CacheOutcome::Disabled));
    };
    let path = artifact_path(engine, wasm, dir);
    if path.is_file() {
        match load_artifact(engine, &path) {
            Ok(component) => return Ok((component, CacheOutcome::Hit)),
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "ignoring unusable cached component");
            }
        }
    }
    let component = Component::new(engine, wasm)?;
    if let Err(error) = store_artifact(&component, &path) {
        tracing::warn!(path = %path.display(), %error, "cannot cache compiled component");
    }
    Ok((component, CacheOutcome::Miss))
}

/// Whether a load used the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheOutcome {
    Disabled,
    Hit,
    Miss,
}

fn artifact_path(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_key = hasher.finish();
    let wasm_key = hex::encode(Sha256::digest(wasm));
    dir.join(format!("{wasm_key}-{engine_key:016x}.cwasm"))
}

#[allow(unsafe_code)]
fn load_artifact(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file was written by `store_artifact` from
    // `Component::serialize` in a directory the operator gives Warden alone;
    // its name binds it to this engine's settings and the wasm's digest, and
    // wasmtime checks the header and the engine compatibility on load.
    unsafe { Component::deserialize_file(engine, path) }
}

fn store_artifact(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    // Write aside and rename, so a concurrent reader never sees half a file.
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

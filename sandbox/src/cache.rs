//! Compiled components cached on disk, keyed by the engine's compatibility
//! hash and the SHA-256 of the wasm, so a restart compiles nothing new.

use std::hash::{Hash, Hasher};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiles the component in the file `wasm`, or loads the artifact a
/// previous run cached for the same bytes and engine settings. Cache
/// failures only cost a compile.
///
/// On a cache hit the file is only streamed through the digest, never held
/// whole: components with an interpreter inside are tens of megabytes, and
/// a freed buffer that size can stay in the allocator's hands long after.
pub(crate) fn compile(
    engine: &Engine,
    wasm: &Path,
    cache_dir: Option<&Path>,
) -> wasmtime::Result<(Component, CacheOutcome)> {
    let Some(dir) = cache_dir else {
        return Ok((compile_file(engine, wasm)?, CacheOutcome::Disabled));
    };
    let path = artifact_path(engine, wasm, dir)?;
    if path.is_file() {
        match load_artifact(engine, &path) {
            Ok(component) => return Ok((component, CacheOutcome::Hit)),
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "ignoring unusable cached component");
            }
        }
    }
    let component = compile_file(engine, wasm)?;
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

fn compile_file(engine: &Engine, wasm: &Path) -> wasmtime::Result<Component> {
    let bytes = std::fs::read(wasm)
        .map_err(|error| wasmtime::format_err!("cannot read {}: {error}", wasm.display()))?;
    Component::new(engine, &bytes)
}

fn artifact_path(engine: &Engine, wasm: &Path, dir: &Path) -> wasmtime::Result<PathBuf> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_key = hasher.finish();
    let wasm_key = file_digest(wasm)
        .map_err(|error| wasmtime::format_err!("cannot read {}: {error}", wasm.display()))?;
    Ok(dir.join(format!("{wasm_key}-{engine_key:016x}.cwasm")))
}

/// The SHA-256 of the file at `path`, in hex, read in 64 KiB pieces.
fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut digest = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hex::encode(digest.finalize()));
        }
        digest.update(&buffer[..read]);
    }
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

//! Directory grants that would hand a guest more than its own files: the
//! whole file system, Warden's configuration, its compile cache or its
//! binary. Refused unless the grant says `allow_sensitive = true`.

use std::path::{Path, PathBuf};

/// The host paths a directory grant must not contain (or, for the cache,
/// reach into) without an explicit override.
#[derive(Debug, Clone)]
pub(super) struct SensitivePaths {
    /// The folder of the configuration file: a guest able to write there
    /// could grant itself anything at the next reload, and one able to
    /// read it learns where every secret lives.
    config_dir: PathBuf,
    /// Compiled components, loaded back as native code: a guest able to
    /// write there could run code in the host.
    cache_dir: Option<PathBuf>,
    /// The running `warden` binary.
    binary: Option<PathBuf>,
}

impl SensitivePaths {
    /// The sensitive paths of a configuration in `config_dir` with compiled
    /// components cached in `cache_dir`.
    pub(super) fn new(config_dir: &Path, cache_dir: Option<&Path>) -> Self {
        Self {
            config_dir: canonical(config_dir),
            cache_dir: cache_dir.map(canonical),
            binary: std::env::current_exe()
                .ok()
                .map(|binary| canonical(&binary)),
        }
    }

    /// Why granting `host` (canonical) is refused, if it is.
    pub(super) fn refusal(&self, host: &Path) -> Option<String> {
        if host.parent().is_none() {
            return Some("grants the whole file system (`/`)".to_owned());
        }
        if self.config_dir.starts_with(host) {
            return Some(format!(
                "contains Warden's configuration folder `{}`",
                self.config_dir.display()
            ));
        }
        if let Some(cache) = &self.cache_dir
            && (cache.starts_with(host) || host.starts_with(cache))
        {
            return Some(format!(
                "overlaps Warden's compile cache `{}` (server.cache_dir), whose files are loaded as native code",
                cache.display()
            ));
        }
        if let Some(binary) = self
            .binary
            .as_ref()
            .filter(|binary| binary.starts_with(host))
        {
            return Some(format!(
                "contains the running Warden binary `{}`",
                binary.display()
            ));
        }
        None
    }
}

/// `path` with symbolic links resolved where it exists; as written (made
/// absolute by the caller) where it does not yet.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_the_config_the_cache_and_the_binary_are_sensitive() {
        let root = tempfile::tempdir().expect("tempdir");
        let config = root.path().join("etc");
        let cache = root.path().join("cache");
        let data = root.path().join("data");
        for dir in [&config, &cache, &data] {
            std::fs::create_dir(dir).expect("mkdir");
        }
        let sensitive = SensitivePaths::new(&config, Some(&cache));
        let base = canonical(root.path());
        assert!(sensitive.refusal(Path::new("/")).is_some());
        assert!(
            sensitive
                .refusal(&base)
                .is_some_and(|why| why.contains("configuration folder"))
        );
        assert!(sensitive.refusal(&base.join("etc")).is_some());
        assert!(
            sensitive
                .refusal(&base.join("cache"))
                .is_some_and(|why| why.contains("compile cache"))
        );
        assert!(sensitive.refusal(&base.join("cache/sub")).is_some());
        assert_eq!(sensitive.refusal(&base.join("data")), None);
        let binary = std::env::current_exe().expect("exe");
        let binary_dir = canonical(binary.parent().expect("dir"));
        assert!(
            sensitive
                .refusal(&binary_dir)
                .is_some_and(|why| why.contains("binary"))
        );
    }
}

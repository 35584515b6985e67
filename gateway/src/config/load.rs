//! Reading a file, parsing it, resolving its paths and checking them.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_path_to_error::{Path as KeyPath, Segment};
use toml::Spanned;

use super::error::ConfigError;
use super::grants::SensitivePaths;
use super::model::{
    AuthConfig, Capabilities, ComponentConfig, ComponentName, Config, DefinedAt, DirGrant,
    ServerConfig, TlsConfig,
};
use super::oci::TrustRule;
use super::raw::{
    NonEmptyPath, RawCapabilities, RawComponent, RawConfig, RawServer, RawTls, Table,
};
use super::secrets;
use super::tasks::TasksConfig;

/// Reads, parses and validates the configuration file at `path`, then
/// applies the environment variables that override settings
/// ([`SESSION_KEY_VAR`](super::SESSION_KEY_VAR) and
/// [`SESSION_OLD_KEYS_VAR`](super::SESSION_OLD_KEYS_VAR)).
///
/// Relative paths in the file are resolved against the folder that holds it.
/// Component files and granted directories must exist when this is called.
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
///
/// let config = warden_gateway::config::load(Path::new("examples/warden.toml"))?;
/// for component in &config.components {
///     println!("{} -> {:?}", component.name, component.source);
/// }
/// # Ok::<(), warden_gateway::config::ConfigError>(())
/// ```
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut config = parse(&text, path)?;
    super::environment::apply(&mut config, |name| std::env::var_os(name))?;
    Ok(config)
}

/// Parses and validates configuration `text` as if read from `origin`.
///
/// `origin` names the file in error messages, and relative paths are resolved
/// against its folder (the current directory when it has none). As with
/// [`load`], component files and granted directories must exist.
pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
    let raw = deserialize(text, origin)?;
    let base = base_dir(origin)?;
    Resolver { text, origin, base }.config(raw)
}

/// TOML text to `T` (a [`RawConfig`], an API keys file), with errors
/// located by line, column and key.
pub(super) fn deserialize<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &Path,
) -> Result<T, ConfigError> {
    let document = toml::Deserializer::parse(text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let (line, column) = line_column(text, span.start);
        let mut message = error.message().trim_end().to_owned();
        // toml says "duplicate key" without naming it; the span does.
        if message == "duplicate key"
            && let Some(key) = text
                .get(span)
                .filter(|k| !k.is_empty() && !k.contains('\n'))
        {
            message = format!("duplicate key `{key}`");
        }
        ConfigError::Syntax {
            path: origin.to_owned(),
            line,
            column,
            message,
        }
    })?;
    serde_path_to_error::deserialize(document).map_err(|error| {
        let key = dotted(error.path());
        let error = error.into_inner();
        let (line, column) = line_column(text, error.span().map_or(0, |s| s.start));
        ConfigError::Invalid {
            path: origin.to_owned(),
            line,
            column,
            key,
            message: error.message().trim_end().to_owned(),
        }
    })
}

/// The folder relative paths are resolved against, made absolute.
fn base_dir(origin: &Path) -> Result<PathBuf, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: origin.to_owned(),
        source,
    };
    match origin.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::path::absolute(parent).map_err(read_error)
        }
        _ => std::env::current_dir().map_err(read_error),
    }
}

/// A key path as written in TOML: `components.text.capabilities.dirs[0].guest`.
/// Keys that are not bare TOML keys are quoted; the private keys that
/// [`Spanned`] uses internally are left out.
fn dotted(path: &KeyPath) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if key.starts_with("$__serde_spanned_private") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => push_key(&mut out, key),
            Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        out.push_str(key);
    } else {
        out.push_str(&format!("{key:?}"));
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Turns a [`RawConfig`] into a [`Config`]: resolves relative paths and runs
/// the checks that need the file system or the whole table.
pub(super) struct Resolver<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a Path,
    pub(super) base: PathBuf,
}

impl Resolver<'_> {
    pub(super) fn invalid(&self, span: Range<usize>, key: String, message: String) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError::Invalid {
            path: self.origin.to_owned(),
            line,
            column,
            key,
            message,
        }
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let listen_span = raw.server.0.listen.as_ref().map(Spanned::span);
        let server = self.server(raw.server.0)?;
        let tls = match raw.tls {
            None => None,
            Some(table) => Some(self.tls(table.0)?),
        };
        let (mut auth, written_scopes) = self.auth(raw.auth.0)?;
        auth.client_certificates = tls.as_ref().is_some_and(|tls| tls.client_ca_file.is_some());
        if let Err(message) = super::check_exposure(server.listen, &auth) {
            return Err(self.invalid(
                listen_span.unwrap_or(0..0),
                "server.listen".to_owned(),
                message,
            ));
        }
        let audit = match raw.audit {
            None => None,
            Some(table) => Some(self.audit(table)?),
        };
        let registry = self.registry(raw.registry.0)?;
        let cluster = self.cluster(raw.cluster.0)?;
        let tasks = match raw.tasks {
            None => TasksConfig::default(),
            Some(table) => {
                let span = table.span();
                table
                    .into_inner()
                    .0
                    .into_config()
                    .map_err(|why| self.invalid(span, "tasks".to_owned(), why))?
            }
        };
        let raw_components = raw.components.0;
        let mut components = Vec::with_capacity(raw_components.len());
        let sensitive = SensitivePaths::new(&self.base, server.cache_dir.as_deref());
        let mut reserved_slots = 0_u64;
        // A BTreeMap: components come out sorted by name.
        for (name, component) in raw_components {
            if component.get_ref().0.enabled {
                let span = source_span(&component);
                let component = self.component(
                    name,
                    component,
                    &auth,
                    &sensitive,
                    &registry.trust,
                    server.cache_dir.is_some(),
                )?;
                reserved_slots += u64::from(component.limits.min_pool_slots);
                if reserved_slots > u64::from(server.pool_instances) {
                    return Err(self.invalid(
                        span,
                        format!("components.{}.limits.min_pool_slots", component.name),
                        format!(
                            "the enabled components' min_pool_slots add up to {reserved_slots} so far, \
                             more than the {} slots of server.pool_instances",
                            server.pool_instances
                        ),
                    ));
                }
                components.push(component);
            }
        }
        if components.is_empty() {
            return Err(ConfigError::NoComponents {
                path: self.origin.to_owned(),
            });
        }
        if let Some(jwt) = auth.jwt.as_mut().filter(|_| !written_scopes) {
            super::jwt::complete_scopes(jwt, &components);
        }
        Ok(Config {
            source: self.origin.to_owned(),
            server,
            components,
            tracing: raw.tracing.0.into(),
            auth,
            rate_limits: raw.rate_limits.0.into(),
            audit,
            http: raw.http.0.into(),
            tls,
            registry,
            cluster,
            tasks,
        })
    }

    fn tls(&self, raw: RawTls) -> Result<TlsConfig, ConfigError> {
        let file = |written: &Spanned<NonEmptyPath>, key: &str| {
            self.existing(written, format!("tls.{key}"), Kind::File)
        };
        Ok(TlsConfig {
            cert_file: file(&raw.cert_file, "cert_file")?,
            key_file: file(&raw.key_file, "key_file")?,
            client_ca_file: raw
                .client_ca_file
                .as_ref()
                .map(|written| file(written, "client_ca_file"))
                .transpose()?,
        })
    }

    fn server(&self, raw: RawServer) -> Result<ServerConfig, ConfigError> {
        let cache_dir = match raw.cache_dir {
            None => None,
            Some(written) => {
                let dir = self.base.join(&written.get_ref().0);
                // The cache creates its folder; it only must not be a file.
                if dir.exists() && !dir.is_dir() {
                    return Err(self.invalid(
                        written.span(),
                        "server.cache_dir".to_owned(),
                        format!("`{}` exists and is not a directory", dir.display()),
                    ));
                }
                Some(dir)
            }
        };
        Ok(ServerConfig {
            listen: raw.listen.map_or(ServerConfig::default().listen, |listen| {
                listen.into_inner().0
            }),
            allowed_origins: dedup(raw.allowed_origins.into_iter().map(|o| o.0)),
            allow_localhost_origins: raw.allow_localhost_origins,
            max_body_bytes: raw.max_body_bytes,
            max_json_depth: raw.max_json_depth,
            page_size: raw.page_size,
            session_idle_timeout_secs: raw.session_idle_timeout_secs,
            session_lifetime_secs: raw.session_lifetime_secs,
            session_key: raw.session_key.map(|key| key.0),
            session_old_keys: raw.session_old_keys.into_iter().map(|key| key.0).collect(),
            drain_timeout_secs: raw.drain_timeout_secs,
            watch_interval_ms: raw.watch_interval_ms,
            max_sessions: raw.max_sessions,
            stream_replay_events: raw.stream_replay_events,
            stream_replay_bytes: raw.stream_replay_bytes,
            stream_replay_total_bytes: raw.stream_replay_total_bytes,
            pool_instances: raw.pool_instances,
            pool_keep_resident_bytes: raw.pool_keep_resident_bytes,
            cache_dir,
            log_format: raw.log_format,
            metrics_listen: raw.metrics_listen.map(|listen| listen.0),
        })
    }

    fn component(
        &self,
        name: ComponentName,
        table: Spanned<Table<RawComponent>>,
        auth: &AuthConfig,
        sensitive: &SensitivePaths,
        trust: &[TrustRule],
        has_cache_dir: bool,
    ) -> Result<ComponentConfig, ConfigError> {
        let prefix = format!("components.{name}");
        let table_span = table.span();
        let (line, _) = line_column(self.text, source_span(&table).start);
        let mut raw = table.into_inner().0;
        let mut secret_files = Vec::new();
        let source = self.component_source(
            &prefix,
            table_span,
            &mut raw,
            trust,
            has_cache_dir,
            &mut secret_files,
        )?;
        let capabilities =
            self.capabilities(&prefix, raw.capabilities.0, sensitive, &mut secret_files)?;
        let access = match raw.access {
            None => None,
            Some(access) => Some(self.access(&prefix, access, auth)?),
        };
        Ok(ComponentConfig {
            name,
            defined_at: DefinedAt {
                file: self.origin.to_owned(),
                line,
            },
            source,
            tool_prefix: raw.tool_prefix.map(|prefix| prefix.0).unwrap_or_default(),
            serve_resources: raw.serve_resources,
            max_task_duration_ms: raw.limits.0.max_task_duration_ms,
            limits: raw.limits.0.into(),
            capabilities,
            secret_files,
            access,
            rate_limits: raw.rate_limits.0.into(),
            audit: raw.audit.0.into(),
        })
    }

    fn capabilities(
        &self,
        prefix: &str,
        raw: RawCapabilities,
        sensitive: &SensitivePaths,
        files_read: &mut Vec<PathBuf>,
    ) -> Result<Capabilities, ConfigError> {
        let mut dirs: Vec<DirGrant> = Vec::with_capacity(raw.dirs.len());
        let mut guests: HashMap<String, usize> = HashMap::new();
        for (i, grant) in raw.dirs.into_iter().map(|t| t.0).enumerate() {
            let key = format!("{prefix}.capabilities.dirs[{i}]");
            let host = self.existing(&grant.host, format!("{key}.host"), Kind::Dir)?;
            if let Some(why) = sensitive.refusal(&host) {
                if !grant.allow_sensitive {
                    return Err(self.invalid(
                        grant.host.span(),
                        format!("{key}.host"),
                        format!(
                            "`{}` {why}; refused unless the grant says `allow_sensitive = true`",
                            host.display()
                        ),
                    ));
                }
                tracing::warn!(
                    grant = %key,
                    host = %host.display(),
                    "a directory grant {why}, allowed by allow_sensitive = true"
                );
            }
            let guest_span = grant.guest.span();
            let guest = grant.guest.into_inner().0;
            if let Some(first) = guests.insert(guest.clone(), i) {
                return Err(self.invalid(
                    guest_span,
                    format!("{key}.guest"),
                    format!("guest path `{guest}` is already granted by dirs[{first}]"),
                ));
            }
            dirs.push(DirGrant {
                host,
                guest,
                mode: grant.mode.into(),
            });
        }
        let mut env = Vec::with_capacity(raw.env.0.len());
        for (name, value) in raw.env.0 {
            let key = format!("{prefix}.capabilities.env.{}", name.0);
            let span = value.span();
            let expanded = secrets::expand(&value.into_inner().0, &self.base, files_read)
                .map_err(|why| self.invalid(span.clone(), key.clone(), why))?;
            // The written value was checked where it was read; what its
            // references brought in is checked by the same rule.
            super::values::check_env_value(&expanded)
                .map_err(|why| self.invalid(span, key, why))?;
            env.push((name.0, expanded));
        }
        Ok(Capabilities {
            dirs,
            env,
            tcp_connect: dedup(raw.tcp_connect.into_iter().map(|t| t.0)),
            http: self.http_grant(prefix, raw.http.0, files_read)?,
        })
    }

    /// Resolves `written` against the config folder and checks that it is an
    /// existing file or directory; returns its canonical path.
    pub(super) fn existing(
        &self,
        written: &Spanned<NonEmptyPath>,
        key: String,
        kind: Kind,
    ) -> Result<PathBuf, ConfigError> {
        let path = self.base.join(&written.get_ref().0);
        let fail = |message: String| Err(self.invalid(written.span(), key.clone(), message));
        let what = match kind {
            Kind::File => "component file",
            Kind::Dir => "directory",
        };
        let resolved = || {
            if Path::new(&written.get_ref().0).is_relative() {
                format!(" (resolved against {})", self.base.display())
            } else {
                String::new()
            }
        };
        match fs::metadata(&path) {
            Ok(meta) if kind == Kind::File && !meta.is_file() => {
                fail(format!("`{}` is not a file", path.display()))
            }
            Ok(meta) if kind == Kind::Dir && !meta.is_dir() => {
                fail(format!("`{}` is not a directory", path.display()))
            }
            Ok(_) => fs::canonicalize(&path)
                .or_else(|e| fail(format!("cannot resolve `{}`: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => fail(format!(
                "{what} `{}` does not exist{}",
                written.get_ref().0,
                resolved()
            )),
            Err(e) => fail(format!("cannot access `{}`: {e}", path.display())),
        }
    }
}

/// Where a component's source (`path` or `oci`) is written, which messages
/// about the component point at; its table when it has neither.
fn source_span(table: &Spanned<Table<RawComponent>>) -> Range<usize> {
    let raw = &table.get_ref().0;
    raw.path
        .as_ref()
        .map(Spanned::span)
        .or_else(|| raw.oci.as_ref().map(Spanned::span))
        .unwrap_or_else(|| table.span())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
}

/// Keeps the first of equal items, in order.
fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

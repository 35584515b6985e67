//! The `[audit]` table.

use toml::Spanned;

use super::error::ConfigError;
use super::load::Resolver;
use super::model::{AuditConfig, AuditSink};
use super::raw::{RawAudit, RawAuditSink, Table};

impl Resolver<'_> {
    pub(super) fn audit(&self, raw: Spanned<Table<RawAudit>>) -> Result<AuditConfig, ConfigError> {
        let span = raw.span();
        let raw = raw.into_inner().0;
        let sink = match (raw.sink, raw.path) {
            (RawAuditSink::Stdout, None) => AuditSink::Stdout,
            (RawAuditSink::Stdout, Some(path)) => {
                return Err(self.invalid(
                    path.span(),
                    "audit.path".to_owned(),
                    "`path` is for sink = \"file\"; stdout has none".to_owned(),
                ));
            }
            (RawAuditSink::File, None) => {
                return Err(self.invalid(
                    span,
                    "audit".to_owned(),
                    "sink = \"file\" needs a `path` for the audit file".to_owned(),
                ));
            }
            (RawAuditSink::File, Some(written)) => {
                let path = self.base.join(&written.get_ref().0);
                // The writer creates the file and its folder; a folder in its
                // place cannot be written.
                if path.is_dir() {
                    return Err(self.invalid(
                        written.span(),
                        "audit.path".to_owned(),
                        format!("`{}` is a directory; give a file path", path.display()),
                    ));
                }
                AuditSink::File {
                    path,
                    max_file_bytes: raw.max_file_bytes,
                    max_files: raw.max_files,
                }
            }
        };
        Ok(AuditConfig {
            sink,
            queue_records: raw.queue_records,
            required: raw.required,
        })
    }
}

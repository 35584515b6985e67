//! Secret references in values: `${env:NAME}` reads Warden's own
//! environment, `${file:PATH}` a file (relative to the configuration's
//! folder, read again at every reload), so a configuration file can be
//! shared without the credentials it uses. `$${` writes a literal `${`.
//!
//! Messages name the variable or the file that is missing, never a value.

use std::path::{Path, PathBuf};

/// Largest secret file read: a token or a key, not a document.
const MAX_SECRET_FILE_BYTES: u64 = 64 << 10;

/// `template` with its references replaced by what they name.
/// Each file read is added to `files_read`.
pub(super) fn expand(
    template: &str,
    base: &Path,
    files_read: &mut Vec<PathBuf>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(reference) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(close) = reference.find('}') else {
            return Err("a `${` reference is not closed with `}`".to_owned());
        };
        let (inner, tail) = (&reference[..close], &reference[close + 1..]);
        out.push_str(&resolve(inner, base, files_read)?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(reference: &str, base: &Path, files_read: &mut Vec<PathBuf>) -> Result<String, String> {
    if let Some(name) = reference.strip_prefix("env:") {
        if !is_variable_name(name) {
            return Err(format!(
                "`${{env:{name}}}`: `{name}` is not an environment variable name"
            ));
        }
        return match std::env::var(name) {
            Ok(value) => Ok(value),
            Err(std::env::VarError::NotPresent) => Err(format!(
                "`${{env:{name}}}`: the environment variable `{name}` is not set"
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!(
                "`${{env:{name}}}`: the environment variable `{name}` is not UTF-8"
            )),
        };
    }
    if let Some(path) = reference.strip_prefix("file:") {
        if path.is_empty() {
            return Err("`${file:}` names no file".to_owned());
        }
        let full = base.join(path);
        let secret = read_secret_file(&full, path)?;
        if !files_read.contains(&full) {
            files_read.push(full);
        }
        return Ok(secret);
    }
    // The text is not echoed: it may be part of a secret written inline.
    Err(
        "a `${` starts neither `${env:NAME}` nor `${file:PATH}` (write `$${` for a literal `${`)"
            .to_owned(),
    )
}

fn read_secret_file(path: &Path, written: &str) -> Result<String, String> {
    let fail = |why: String| format!("`${{file:{written}}}`: {why}");
    let metadata = std::fs::metadata(path)
        .map_err(|error| fail(format!("cannot read `{}`: {error}", path.display())))?;
    if !metadata.is_file() {
        return Err(fail(format!("`{}` is not a file", path.display())));
    }
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err(fail(format!(
            "`{}` is larger than {MAX_SECRET_FILE_BYTES} bytes",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|error| fail(format!("cannot read `{}`: {error}", path.display())))?;
    let text =
        String::from_utf8(bytes).map_err(|_| fail(format!("`{}` is not UTF-8", path.display())))?;
    // Files written by editors and `echo` end in a newline the secret does
    // not hold.
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    Ok(text.to_owned())
}

fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_and_literals_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("token"), "s3cret\n").expect("write");
        let home = std::env::var("PATH").expect("PATH is set");
        assert_eq!(
            expand("Bearer ${file:token}", dir.path(), &mut Vec::new()).as_deref(),
            Ok("Bearer s3cret")
        );
        assert_eq!(expand("${env:PATH}", dir.path(), &mut Vec::new()), Ok(home));
        assert_eq!(
            expand("$5 and $${x}", dir.path(), &mut Vec::new()).as_deref(),
            Ok("$5 and ${x}")
        );
    }

    #[test]
    fn missing_or_malformed_references_name_what_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let unset = "WARDEN_TEST_SURELY_UNSET_VARIABLE";
        let error = expand(
            &format!("Bearer ${{env:{unset}}}"),
            dir.path(),
            &mut Vec::new(),
        )
        .expect_err("unset");
        assert!(
            error.contains(unset) && error.contains("not set"),
            "{error}"
        );
        let error = expand("${file:absent}", dir.path(), &mut Vec::new()).expect_err("no file");
        assert!(error.contains("absent"), "{error}");
        for bad in ["${env:1X}", "${vault:x}", "${env:X", "${file:}"] {
            assert!(expand(bad, dir.path(), &mut Vec::new()).is_err(), "{bad}");
        }
    }
}

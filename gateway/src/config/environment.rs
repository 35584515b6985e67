//! Settings that environment variables override: secrets that containers
//! receive from a Kubernetes Secret rather than from the config file.

use std::ffi::OsString;

use super::error::ConfigError;
use super::model::{Config, SessionKey};

/// Overrides `server.session_key`.
pub const SESSION_KEY_VAR: &str = "WARDEN_SESSION_KEY";
/// Overrides `server.session_old_keys`: keys separated by commas or
/// whitespace; empty means none.
pub const SESSION_OLD_KEYS_VAR: &str = "WARDEN_SESSION_OLD_KEYS";

/// Applies the variables that `lookup` finds to `config`.
pub(super) fn apply(
    config: &mut Config,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<(), ConfigError> {
    if let Some(value) = lookup(SESSION_KEY_VAR) {
        let text = utf8(SESSION_KEY_VAR, value)?;
        if text.trim().is_empty() {
            return Err(invalid(
                SESSION_KEY_VAR,
                "set but empty; unset it or give a key (`warden new-session-key` makes one)"
                    .to_owned(),
            ));
        }
        let key = SessionKey::parse(&text).map_err(|message| invalid(SESSION_KEY_VAR, message))?;
        config.server.session_key = Some(key);
    }
    if let Some(value) = lookup(SESSION_OLD_KEYS_VAR) {
        let text = utf8(SESSION_OLD_KEYS_VAR, value)?;
        config.server.session_old_keys = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .enumerate()
            .map(|(index, part)| {
                SessionKey::parse(part).map_err(|message| {
                    invalid(
                        SESSION_OLD_KEYS_VAR,
                        format!("key {}: {message}", index + 1),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(())
}

fn utf8(variable: &'static str, value: OsString) -> Result<String, ConfigError> {
    value
        .into_string()
        .map_err(|_| invalid(variable, "not valid UTF-8".to_owned()))
}

fn invalid(variable: &'static str, message: String) -> ConfigError {
    ConfigError::Environment { variable, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            source: "warden.toml".into(),
            server: Default::default(),
            components: Vec::new(),
            tracing: Default::default(),
            auth: Default::default(),
            rate_limits: Default::default(),
            audit: None,
            http: Default::default(),
            tls: None,
            registry: Default::default(),
            cluster: Default::default(),
            tasks: Default::default(),
        }
    }

    fn apply_vars(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut config = config();
        apply(&mut config, |name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| OsString::from(value))
        })?;
        Ok(config)
    }

    #[test]
    fn session_keys_come_from_the_environment() {
        let current = SessionKey::generate().expect("random");
        let old = SessionKey::generate().expect("random");
        let config = apply_vars(&[
            (SESSION_KEY_VAR, &current.to_base64()),
            (
                SESSION_OLD_KEYS_VAR,
                &format!(" {}, {}\n", old.to_base64(), current.to_base64()),
            ),
        ])
        .expect("applies");
        assert_eq!(config.server.session_key, Some(current.clone()));
        assert_eq!(config.server.session_old_keys, vec![old, current]);

        let untouched = apply_vars(&[]).expect("applies");
        assert_eq!(untouched.server.session_key, None);
        let none_old = apply_vars(&[(SESSION_OLD_KEYS_VAR, "")]).expect("applies");
        assert!(none_old.server.session_old_keys.is_empty());
    }

    #[test]
    fn bad_keys_name_the_variable_and_never_echo_the_value() {
        let cases = [
            (SESSION_KEY_VAR, "", "set but empty"),
            (
                SESSION_KEY_VAR,
                "c2hvcnQ=",
                "decodes to 5 bytes, expected 32",
            ),
            (SESSION_KEY_VAR, "not base64 at all!", "not base64"),
            (SESSION_OLD_KEYS_VAR, "AAAA", "key 1: invalid session key"),
        ];
        let valid = SessionKey::generate().expect("random").to_base64();
        let second_bad = format!("{valid},???");
        let cases = cases.into_iter().chain([(
            SESSION_OLD_KEYS_VAR,
            second_bad.as_str(),
            "key 2: invalid session key: not base64",
        )]);
        for (variable, value, expected) in cases {
            let error = apply_vars(&[(variable, value)])
                .expect_err(value)
                .to_string();
            assert!(
                error.starts_with(&format!("environment variable {variable}: ")),
                "{error}"
            );
            assert!(error.contains(expected), "{error}");
            if !value.is_empty() {
                assert!(!error.contains(value), "{error}");
            }
        }
    }
}

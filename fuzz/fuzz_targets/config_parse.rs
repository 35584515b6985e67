//! The configuration parser: any text as `warden.toml` (next to real
//! component files, so valid-looking configs get past the file checks).
//! It must answer a `Config` or an error that names the file, never panic;
//! an `Invalid` error must point inside the text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_gateway::config::ConfigError;

fuzz_target!(
    init: {
        warden_fuzz::fixture();
    },
    |input: &[u8]| run(input)
);

fn run(input: &[u8]) {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let origin = &warden_fuzz::fixture().config_path;
    match warden_gateway::config::parse(text, origin) {
        Ok(config) => assert!(!config.components.is_empty()),
        Err(ConfigError::Invalid { line, column, .. }) => {
            let lines = text.lines().count().max(1);
            assert!(
                line >= 1 && line <= lines + 1 && column >= 1,
                "error at {line}:{column} outside a text of {lines} lines"
            );
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

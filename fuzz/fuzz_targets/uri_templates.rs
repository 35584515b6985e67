//! RFC 6570 URI templates, as components declare them, and the URIs
//! clients ask for: the first line is a template, the rest a URI.
//!
//! Fails when parsing or matching panics (or runs away: libFuzzer's
//! timeout); when a match names a variable the template does not have;
//! when a URI matches a template without the template's literal prefix;
//! or when a template with no expression matches anything but itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_uri_template::UriTemplate;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let (template, uri) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(parsed) = UriTemplate::parse(template) else {
        return;
    };
    assert_eq!(parsed.as_str(), template);
    let names: Vec<&str> = parsed.variables().collect();
    let Some(variables) = parsed.match_uri(uri) else {
        return;
    };
    for (name, _) in variables.iter() {
        assert!(
            names.contains(&name),
            "{uri:?} matched {template:?} with `{name}`, not one of its variables"
        );
    }
    assert!(
        uri.starts_with(parsed.literal_prefix()),
        "{uri:?} matched {template:?} without its literal prefix"
    );
    if names.is_empty() {
        assert_eq!(
            uri, template,
            "a template without expressions matched another URI"
        );
    }
});

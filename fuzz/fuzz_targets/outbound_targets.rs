//! The outbound allow list: any allow URL an operator might write and any
//! scheme, authority, path and method a guest might put in a request.
//!
//! Fails when parsing either panics; when a parsed allow URL does not read
//! back as itself from its own display; when a request read from the guest
//! keeps a dot segment or a path that does not start with `/`; or when an
//! entry matches a request of another scheme, port or host (a name that is
//! not the entry's, or not a subdomain of its wildcard; an address that is
//! not its address) or a path outside its prefix.

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_sandbox::{AllowTarget, HostPattern, HttpScheme, RequestHost, RequestTarget};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut fields = text.splitn(5, '\n');
    let allow = fields.next().unwrap_or_default();
    let scheme = if fields.next().unwrap_or_default().starts_with('s') {
        HttpScheme::Https
    } else {
        HttpScheme::Http
    };
    let authority = fields.next().unwrap_or_default();
    let path = fields.next().unwrap_or_default();
    let method = fields.next().unwrap_or_default();

    let target = AllowTarget::parse(allow).ok();
    if let Some(target) = &target {
        let shown = target.to_string();
        assert_eq!(
            AllowTarget::parse(&shown).as_ref(),
            Ok(target),
            "{allow:?} shows as {shown:?}, which reads back differently"
        );
    }
    let Some(request) = RequestTarget::read(scheme, authority, path, method) else {
        return;
    };
    assert!(request.path.starts_with('/'), "{request:?}");
    assert!(
        request
            .path
            .split('/')
            .all(|segment| segment != "." && segment != ".."),
        "{request:?}"
    );
    assert!(
        !authority.contains('@'),
        "user information read: {authority:?}"
    );
    let Some(target) = target else {
        return;
    };
    if !target.matches(&request) {
        return;
    }
    assert_eq!(target.scheme, request.scheme, "{target:?} {request:?}");
    assert_eq!(target.port, request.port, "{target:?} {request:?}");
    match (&target.host, &request.host) {
        (HostPattern::Name(allowed), RequestHost::Name(asked)) => assert_eq!(allowed, asked),
        (HostPattern::AnySubdomainOf(suffix), RequestHost::Name(asked)) => {
            let label = asked
                .strip_suffix(suffix.as_str())
                .and_then(|head| head.strip_suffix('.'));
            assert!(
                label.is_some_and(|label| !label.is_empty()),
                "{target:?} {request:?}"
            );
        }
        (HostPattern::Address(allowed), RequestHost::Address(asked)) => assert_eq!(allowed, asked),
        _ => panic!("a host of another kind matched: {target:?} {request:?}"),
    }
    let prefix = &target.path_prefix;
    let within = if prefix.ends_with('/') {
        request.path.starts_with(prefix.as_str())
    } else {
        request.path == *prefix || request.path.starts_with(&format!("{prefix}/"))
    };
    assert!(within, "{target:?} {request:?}");
});

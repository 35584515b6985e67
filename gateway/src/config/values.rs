//! Parsers for the configuration's small textual values: names, origins,
//! `host:port` targets and guest paths. Each returns the normalised value or
//! a message that says what is wrong and what is expected.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// `[A-Za-z0-9_-]{1,64}`: the key of a `[components.<name>]` table.
pub(super) fn check_component_name(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if (1..=64).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(format!(
            "invalid component name `{name}`: use 1 to 64 of A-Z, a-z, 0-9, `_` and `-`"
        ))
    }
}

/// `[A-Za-z0-9_.-]{1,64}`: a prefix that keeps tool names within MCP's
/// `[A-Za-z0-9_.-]{1,128}`.
pub(super) fn check_tool_prefix(prefix: &str) -> Result<(), String> {
    let valid_chars = prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if (1..=64).contains(&prefix.len()) && valid_chars {
        Ok(())
    } else {
        Err(format!(
            "invalid tool prefix `{prefix}`: use 1 to 64 of A-Z, a-z, 0-9, `_`, `.` and `-`"
        ))
    }
}

/// `[A-Za-z0-9_.@:-]{1,128}`: a caller name or a role, as API keys and
/// access rules name them.
pub(super) fn check_identity(name: &str) -> Result<(), String> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b':' | b'-'));
    if (1..=128).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(format!(
            "invalid name `{name}`: use 1 to 128 of A-Z, a-z, 0-9, `_`, `.`, `@`, `:` and `-`"
        ))
    }
}

/// The host name of a `Host` header value (`name`, `name:port`, `[v6]:port`),
/// lowercase, with IPv6 brackets removed; `None` when it is malformed.
pub(super) fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    valid.then(|| name.to_ascii_lowercase())
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An entry of `http.allowed_hosts`: a host name without a port.
pub(super) fn parse_allowed_host(text: &str) -> Result<String, String> {
    match host_name(text) {
        Some(name) if !text.contains(':') || text.starts_with('[') => Ok(name),
        _ => Err(format!(
            "invalid host `{text}`: give a host name such as \"mcp.example.com\", without scheme or port"
        )),
    }
}

/// An OAuth scope token: 1 to 128 visible ASCII characters other than `"`
/// and `\\` (RFC 6749 §3.3).
pub(super) fn check_scope(scope: &str) -> Result<(), String> {
    let valid_chars = scope
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if (1..=128).contains(&scope.len()) && valid_chars {
        Ok(())
    } else {
        Err(format!(
            "invalid scope `{scope}`: use 1 to 128 visible ASCII characters other than `\"` and `\\`"
        ))
    }
}

/// A claim name or an expected `iss` / `aud`: 1 to 2048 characters, no
/// control characters.
pub(super) fn check_claim_text(text: &str) -> Result<(), String> {
    if (1..=2048).contains(&text.len()) && !text.chars().any(char::is_control) {
        Ok(())
    } else {
        Err("must be 1 to 2048 characters without control characters".to_owned())
    }
}

/// `sha256:` and 64 hex digits: an API key's hash as `warden hash-key`
/// prints it.
pub(super) fn parse_key_hash(text: &str) -> Result<[u8; 32], String> {
    let mut hash = [0u8; 32];
    text.strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode_to_slice(hex, &mut hash).ok())
        .map(|()| hash)
        .ok_or_else(|| {
            "invalid API key hash: expected `sha256:` and 64 hex digits, as `warden hash-key` prints; \
             the key itself never goes in the config"
                .to_owned()
        })
}

/// `[A-Za-z_][A-Za-z0-9_]*`: an environment variable name.
pub(super) fn check_env_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(format!(
            "invalid environment variable name `{name}`: use A-Z, a-z, 0-9 and `_`, not starting with a digit"
        ))
    }
}

/// Any text without NUL, which no environment can carry.
pub(super) fn check_env_value(value: &str) -> Result<(), String> {
    if value.contains('\0') {
        Err("an environment variable's value cannot contain a NUL character".to_owned())
    } else {
        Ok(())
    }
}

/// An IP socket address such as `127.0.0.1:8080` or `[::1]:8080`.
pub(super) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!(
            "invalid listen address `{text}`: expected IP:port, e.g. 127.0.0.1:8080 or [::]:8080"
        )
    })
}

/// A session key: base64 (standard or URL-safe, padding optional) of exactly
/// 32 bytes. The message never repeats the text, which is a secret.
pub(super) fn parse_session_key(text: &str) -> Result<[u8; 32], String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = text.trim().trim_end_matches('=');
    let decoded = STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .map_err(|_| {
            "invalid session key: not base64; make one with `warden new-session-key`".to_owned()
        })?;
    <[u8; 32]>::try_from(decoded.as_slice()).map_err(|_| {
        format!(
            "invalid session key: decodes to {} bytes, expected 32; make one with `warden new-session-key`",
            decoded.len()
        )
    })
}

/// An OTLP/HTTP traces URL, `http://host[:port][/path]`. A URL without a
/// path gets the standard `/v1/traces`. `https` is refused: the exporter
/// speaks plain HTTP, to a collector beside Warden.
pub(super) fn parse_otlp_endpoint(text: &str) -> Result<String, String> {
    if text
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
    {
        return Err(format!(
            "`{text}`: the OTLP exporter speaks plain HTTP only; send spans to a collector \
             next to Warden (an agent or sidecar, e.g. http://127.0.0.1:4318) and let it \
             forward over TLS"
        ));
    }
    let authority_start = text.find("://").map_or(0, |at| at + 3);
    let (origin, path) = match text[authority_start..].find('/') {
        Some(at) => text.split_at(authority_start + at),
        None => (text, ""),
    };
    let origin = Origin::parse(origin)?;
    if path.contains(['?', '#']) {
        return Err(format!(
            "`{text}`: the OTLP endpoint takes no query or fragment"
        ));
    }
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{text}`: the path has spaces or non-ASCII characters"
        ));
    }
    let path = if path.is_empty() || path == "/" {
        "/v1/traces"
    } else {
        path
    };
    Ok(format!("{origin}{path}"))
}

/// An `http(s)://host[:port][/path]` URL (no user information, no
/// fragment), for URLs Warden fetches or publishes.
pub(super) fn parse_http_url(text: &str) -> Result<super::model::HttpUrl, String> {
    let authority_start = text
        .find("://")
        .map(|at| at + 3)
        .ok_or_else(|| format!("`{text}` is not a URL: expected https://host[:port]/path"))?;
    let (origin, path) = match text[authority_start..].find(['/', '?']) {
        Some(at) => text.split_at(authority_start + at),
        None => (text, ""),
    };
    let origin = Origin::parse(origin)?;
    if path.contains('#') {
        return Err(format!("`{text}`: a URL here takes no fragment"));
    }
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{text}`: the path has spaces or non-ASCII characters"
        ));
    }
    let path = match path {
        "" => "/".to_owned(),
        query if query.starts_with('?') => format!("/{query}"),
        path => path.to_owned(),
    };
    let default_port = if origin.https { 443 } else { 80 };
    let host = match &origin.host {
        Host::Name(name) => name.clone(),
        Host::V4(ip) => ip.to_string(),
        Host::V6(ip) => ip.to_string(),
    };
    let text_path = if path == "/" && !text[authority_start..].contains('/') {
        String::new()
    } else {
        path.clone()
    };
    Ok(super::model::HttpUrl {
        text: format!("{origin}{text_path}"),
        https: origin.https,
        loopback: origin.is_localhost() || matches!(origin.host, Host::V4(ip) if ip.is_loopback()),
        host,
        port: origin.port.unwrap_or(default_port),
        path,
    })
}

/// `warden` or `mcp-gateway.prod`: 1 to 255 visible ASCII characters.
pub(super) fn check_service_name(name: &str) -> Result<(), String> {
    if (1..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(format!(
            "invalid service name `{name}`: use 1 to 255 visible ASCII characters, no spaces"
        ))
    }
}

/// A host as it appears in an origin or a `host:port` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Host {
    /// A DNS name, lower-cased.
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host {
    /// Parses a DNS name, a dotted IPv4 address or a bracketed IPv6 address.
    fn parse(text: &str) -> Result<Self, String> {
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or_else(|| format!("`{text}` lacks the closing `]` of an IPv6 address"))?;
            return inner
                .parse()
                .map(Host::V6)
                .map_err(|_| format!("`{inner}` is not an IPv6 address"));
        }
        if text.contains(':') {
            return Err(format!(
                "`{text}` looks like an IPv6 address: write it in brackets, e.g. [::1]"
            ));
        }
        if let Ok(v4) = text.parse() {
            return Ok(Host::V4(v4));
        }
        check_dns_name(text)?;
        Ok(Host::Name(text.to_ascii_lowercase()))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::V4(ip) => write!(f, "{ip}"),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// Labels of letters, digits, `-` and `_`, separated by dots; at most 253
/// characters, labels 1 to 63 characters not starting or ending with `-`.
/// A name whose last label is all digits is refused as a malformed IPv4
/// address.
fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the host name is empty".to_owned());
    }
    if name == "*" || name.contains('*') {
        return Err(format!(
            "`{name}`: wildcards are not supported; list each host explicitly"
        ));
    }
    let bad = || {
        format!(
            "`{name}` is not a host name, an IPv4 address or a bracketed IPv6 address: \
             a name is dot-separated labels of letters, digits, `-` and `_`"
        )
    };
    if name.len() > 253 {
        return Err(bad());
    }
    for label in name.split('.') {
        let chars_ok = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if label.is_empty()
            || label.len() > 63
            || !chars_ok
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(bad());
        }
    }
    let last_is_numeric = name
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if last_is_numeric {
        return Err(format!("`{name}` is not a valid IPv4 address"));
    }
    Ok(())
}

/// A port number `1..=65535`, decimal digits only.
fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port != 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(format!("`{text}` is not a port number between 1 and 65535")),
    }
}

/// Splits `host:port`, where host may be a bracketed IPv6 address.
fn split_host_port(text: &str) -> Option<(&str, &str)> {
    if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        Some((host, rest.strip_prefix(':')?))
    } else {
        let (host, port) = text.rsplit_once(':')?;
        // `::1:80` is an unbracketed IPv6 address, not a host and a port.
        if host.contains(':') {
            None
        } else {
            Some((host, port))
        }
    }
}

/// An outbound TCP target `host:port`, normalised (lower-case name,
/// compressed IPv6 in brackets).
pub(super) fn parse_tcp_target(text: &str) -> Result<String, String> {
    let (host, port) = split_host_port(text).ok_or_else(|| {
        format!(
            "invalid TCP target `{text}`: expected host:port with a port, \
             e.g. db.internal:5432, 10.0.0.5:443 or [::1]:9000"
        )
    })?;
    let host = Host::parse(host).map_err(|e| format!("invalid TCP target `{text}`: {e}"))?;
    let port = parse_port(port).map_err(|e| format!("invalid TCP target `{text}`: {e}"))?;
    Ok(format!("{host}:{port}"))
}

/// A browser origin `scheme://host[:port]` with scheme `http` or `https`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin {
    https: bool,
    host: Host,
    /// `None` when absent or equal to the scheme's default port.
    port: Option<u16>,
}

impl Origin {
    /// Parses an origin as browsers send it in the `Origin` header.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let expected = "an origin is scheme://host[:port] with scheme http or https, \
                        e.g. https://app.example.com";
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("`{text}` is not an origin: {expected}"))?;
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err(format!(
                "`{text}`: the scheme must be http or https, not `{scheme}`"
            ));
        };
        if let Some(i) = rest.find(['/', '?', '#']) {
            return Err(format!(
                "`{text}` has a path, query or fragment (`{}`): {expected}",
                &rest[i..]
            ));
        }
        if rest.contains('@') {
            return Err(format!("`{text}` has user information (`…@`): {expected}"));
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = match split_host_port(rest) {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (rest, None),
        };
        let host = Host::parse(host).map_err(|e| format!("`{text}`: {e}"))?;
        Ok(Self {
            https,
            host,
            port: port.filter(|&p| p != default_port),
        })
    }

    /// `localhost`, `127.0.0.1` or `[::1]`, on any port.
    pub(super) fn is_localhost(&self) -> bool {
        match &self.host {
            Host::Name(name) => name == "localhost",
            Host::V4(ip) => *ip == Ipv4Addr::LOCALHOST,
            Host::V6(ip) => *ip == Ipv6Addr::LOCALHOST,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// An absolute guest path such as `/data`, normalised (a trailing `/`
/// dropped); `.`, `..`, empty segments, `\` and NUL are refused.
pub(super) fn parse_guest_path(text: &str) -> Result<String, String> {
    let Some(rest) = text.strip_prefix('/') else {
        return Err(format!("guest path `{text}` must be absolute, e.g. /data"));
    };
    if text.contains(['\0', '\\']) {
        return Err(format!(
            "guest path `{text}` cannot contain `\\` or NUL; separate segments with `/`"
        ));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok("/".to_owned());
    }
    for segment in rest.split('/') {
        match segment {
            "" => return Err(format!("guest path `{text}` has an empty segment (`//`)")),
            "." | ".." => {
                return Err(format!(
                    "guest path `{text}` cannot contain `.` or `..` segments"
                ));
            }
            _ => {}
        }
    }
    Ok(format!("/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_names() {
        assert!(check_component_name("text").is_ok());
        assert!(check_component_name("A-z_09").is_ok());
        assert!(check_component_name(&"a".repeat(64)).is_ok());
        assert!(check_component_name(&"a".repeat(65)).is_err());
        assert!(check_component_name("").is_err());
        assert!(check_component_name("a.b").is_err());
        assert!(check_component_name("é").is_err());
    }

    #[test]
    fn host_names() {
        assert_eq!(
            host_name("MCP.Example.com:8443").as_deref(),
            Some("mcp.example.com")
        );
        assert_eq!(host_name("localhost").as_deref(), Some("localhost"));
        assert_eq!(host_name("[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(host_name("10.0.0.7").as_deref(), Some("10.0.0.7"));
        for bad in [
            "",
            "a b",
            "host:",
            "host:99999999",
            "[::1",
            "[::1]x",
            "evil.com/x",
            "ex\u{e9}.com",
        ] {
            assert_eq!(host_name(bad), None, "{bad}");
        }
        assert_eq!(
            parse_allowed_host("Warden.internal"),
            Ok("warden.internal".to_owned())
        );
        assert!(parse_allowed_host("warden.internal:443").is_err());
        assert!(parse_allowed_host("https://warden.internal").is_err());
    }

    #[test]
    fn identities_and_key_hashes() {
        assert!(check_identity("ci-bot").is_ok());
        assert!(check_identity("svc:deploy@team.example").is_ok());
        assert!(check_identity(&"r".repeat(128)).is_ok());
        assert!(check_identity(&"r".repeat(129)).is_err());
        assert!(check_identity("").is_err());
        assert!(check_identity("a b").is_err());
        let hex = "ab".repeat(32);
        assert_eq!(parse_key_hash(&format!("sha256:{hex}")), Ok([0xab; 32]));
        assert!(parse_key_hash(&hex).is_err());
        assert!(parse_key_hash(&format!("sha256:{}", &hex[2..])).is_err());
        assert!(parse_key_hash(&format!("sha256:{}zz", &hex[2..])).is_err());
    }

    #[test]
    fn env_names() {
        assert!(check_env_name("GREETING").is_ok());
        assert!(check_env_name("_x1").is_ok());
        assert!(check_env_name("1X").is_err());
        assert!(check_env_name("A-B").is_err());
        assert!(check_env_name("").is_err());
        assert!(check_env_value("a\0b").is_err());
    }

    #[test]
    fn tcp_targets() {
        let ok = |s: &str| parse_tcp_target(s).expect(s);
        assert_eq!(ok("127.0.0.1:9000"), "127.0.0.1:9000");
        assert_eq!(ok("DB.Internal:5432"), "db.internal:5432");
        assert_eq!(ok("[0:0::1]:443"), "[::1]:443");
        assert_eq!(ok("my_db:5432"), "my_db:5432");
        for bad in [
            "db.internal",
            "db.internal:",
            "db.internal:0",
            "db.internal:65536",
            "db.internal:+80",
            ":80",
            "::1:80",
            "[::1]",
            "[::1]80",
            "[nope]:80",
            "*.internal:443",
            "-bad.example:80",
            "a..b:80",
            "1.2.3:80",
            "999.1.1.1:80",
            "host/path:80",
        ] {
            assert!(parse_tcp_target(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn origins() {
        let norm = |s: &str| Origin::parse(s).expect(s).to_string();
        assert_eq!(norm("https://app.example.com"), "https://app.example.com");
        assert_eq!(
            norm("HTTPS://App.Example.com:443"),
            "https://app.example.com"
        );
        assert_eq!(norm("http://example.com:80"), "http://example.com");
        assert_eq!(norm("http://example.com:8443"), "http://example.com:8443");
        assert_eq!(norm("http://[::1]:3000"), "http://[::1]:3000");
        for bad in [
            "app.example.com",
            "ftp://example.com",
            "https://example.com/",
            "https://example.com/app",
            "https://example.com?x",
            "https://user@example.com",
            "https://",
            "https://example.com:0",
            "https://example.com:http",
            "*",
            "https://*.example.com",
            "null",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be refused");
        }
        for local in [
            "http://localhost:5173",
            "https://127.0.0.1",
            "http://[::1]:1",
        ] {
            assert!(Origin::parse(local).expect(local).is_localhost(), "{local}");
        }
        assert!(
            !Origin::parse("http://127.0.0.2")
                .expect("valid")
                .is_localhost()
        );
    }

    #[test]
    fn guest_paths() {
        let ok = |s: &str| parse_guest_path(s).expect(s);
        assert_eq!(ok("/data"), "/data");
        assert_eq!(ok("/data/"), "/data");
        assert_eq!(ok("/a/b"), "/a/b");
        assert_eq!(ok("/"), "/");
        for bad in [
            "data", "", "/a/../b", "/a/./b", "/..", "/a//b", "\\data", "/a\\b",
        ] {
            assert!(parse_guest_path(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn listen_addresses() {
        assert!(parse_listen("127.0.0.1:8080").is_ok());
        assert!(parse_listen("[::]:0").is_ok());
        assert!(parse_listen("localhost:8080").is_err());
        assert!(parse_listen("127.0.0.1").is_err());
    }
}

//! What a guest's outbound request asks for, read from its wasi:http
//! resources the way the allow entries compare it: a host name or an
//! address, a port, and a path every server reads the same way.

use std::fmt;
use std::net::IpAddr;

use super::grant::HttpScheme;

/// Checks a lower-case host name: dot-separated labels of letters,
/// digits, `-` and `_`.
pub(crate) fn check_host_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name has 1 to 253 characters");
    }
    if !name.is_ascii() {
        return Err("write an internationalized name in its ASCII (punycode) form");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("each label of a host name has 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
        {
            return Err("a host name has only letters, digits, `-`, `_` and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label of a host name does not start or end with `-`");
        }
    }
    // Addresses are read before names, so an all-digit last label here is
    // a malformed address (`1.2.3`, `1.2.3.256`), which resolvers read in
    // ways of their own.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return Err("a name whose last label is all digits reads as a malformed IPv4 address");
    }
    Ok(())
}

/// A path starting with `/` that every server reads the same way, so a
/// prefix check on it holds: no dot segments, also when spelled the ways
/// some servers still read as one (`%2e`, `..;` with a parameter), no
/// backslash (a separator to some servers), no encoded separator (`%2f`,
/// `%5c`) or encoded `%` (`%25`, decoded twice by some), no spaces or
/// control characters.
pub(crate) fn is_plain_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    path.starts_with('/')
        && !path
            .bytes()
            .any(|byte| byte.is_ascii_control() || byte == b' ' || byte == b'\\' || byte >= 0x80)
        && !["%2f", "%5c", "%25"]
            .iter()
            .any(|encoded| lower.contains(encoded))
        && lower.split('/').all(|segment| {
            let decoded = segment.replace("%2e", ".");
            let name = decoded.split(';').next().unwrap_or_default();
            name != "." && name != ".."
        })
}

/// A request's host: a name (lower case, no trailing dot) or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestHost {
    /// A host name.
    Name(String),
    /// An IP address.
    Address(IpAddr),
}

impl fmt::Display for RequestHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Address(IpAddr::V6(address)) => write!(f, "[{address}]"),
            Self::Address(address) => write!(f, "{address}"),
        }
    }
}

/// What a guest's request asks for, as the allow entries see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    /// `http` or `https`.
    pub scheme: HttpScheme,
    /// The host asked for.
    pub host: RequestHost,
    /// The port asked for, or the scheme's default.
    pub port: u16,
    /// The path, without the query.
    pub path: String,
    /// The method, as the guest wrote it.
    pub method: String,
}

impl RequestTarget {
    /// Reads a guest's request; `None` when its authority or path is not
    /// one a request may have (user information, no host, a bad port, dot
    /// segments).
    pub fn read(
        scheme: HttpScheme,
        authority: &str,
        path_with_query: &str,
        method: &str,
    ) -> Option<Self> {
        if authority.contains('@') {
            return None;
        }
        let authority: http::uri::Authority = authority.parse().ok()?;
        let host = authority.host();
        let host = match host.strip_prefix('[') {
            Some(inner) => RequestHost::Address(inner.strip_suffix(']')?.parse().ok()?),
            None => {
                let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
                match name.parse::<std::net::Ipv4Addr>() {
                    Ok(address) => RequestHost::Address(IpAddr::V4(address)),
                    Err(_) => {
                        check_host_name(&name).ok()?;
                        RequestHost::Name(name)
                    }
                }
            }
        };
        // What follows the host: nothing, or `:` and the port's digits;
        // `:`, `:0` or `:99999` is no port, and no request.
        let port = match authority.as_str().strip_prefix(authority.host())? {
            "" => scheme.default_port(),
            written => {
                let digits = written.strip_prefix(':')?;
                if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                    return None;
                }
                digits.parse::<u16>().ok().filter(|port| *port != 0)?
            }
        };
        let path = match path_with_query.split_once('?') {
            Some((path, _query)) => path,
            None => path_with_query,
        };
        let path = if path.is_empty() { "/" } else { path };
        if !is_plain_path(path) {
            return None;
        }
        Some(Self {
            scheme,
            host,
            port,
            path: path.to_owned(),
            method: method.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_requests_are_refused() {
        for (authority, path) in [
            ("user:pw@a.com", "/"),
            ("a.com:0", "/"),
            ("", "/"),
            ("a.com", "/v1/../admin"),
            ("a.com", "/v1/%2e%2E/admin"),
            ("a.com", "/v1/..%2fadmin"),
            ("a.com", "/v1/%2e%2e%2fadmin"),
            ("a.com", "/v1/..;/admin"),
            ("a.com", "/v1/..\\admin"),
            ("a.com", "/v1/%252e%252e/admin"),
            ("a.com:", "/"),
            ("a.com:99999", "/"),
            ("a.com..", "/"),
            ("a b.com", "/"),
        ] {
            assert_eq!(
                RequestTarget::read(HttpScheme::Https, authority, path, "GET"),
                None,
                "{authority}{path}"
            );
        }
    }
}

//! What a component may reach over HTTP: the allow entries of its policy,
//! and how a request is matched against them.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use super::request::{RequestHost, RequestTarget, check_host_name, is_plain_path};

/// A component's outbound HTTP grant. Empty by default: every request is
/// refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpGrant {
    /// The targets requests may go to; the first entry that matches a
    /// request decides its headers and trust.
    pub allow: Vec<HttpAllow>,
    /// Bounds on the component's requests.
    pub limits: HttpLimits,
}

impl HttpGrant {
    /// Whether the component may send any request at all.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty()
    }
}

/// Bounds on a component's outbound requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// Requests one call may send, refused ones included; one more fails
    /// the call.
    pub max_requests_per_call: u32,
    /// Largest request body, in bytes.
    pub max_request_bytes: u64,
    /// Largest response body, in bytes.
    pub max_response_bytes: u64,
    /// Time to resolve the host, connect and finish the TLS handshake, in
    /// milliseconds.
    pub connect_timeout_ms: u64,
    /// Time from the request sent to the response's head, and between two
    /// pieces of the response body, in milliseconds.
    pub first_byte_timeout_ms: u64,
    /// Requests of the component's calls (all of them together) in flight
    /// at once; one more waits up to `connect_timeout_ms` for a free one.
    pub max_concurrent_requests: u32,
}

impl HttpLimits {
    /// 16 requests per call, 1 MiB out, 8 MiB in, 5 s to connect, 10 s to
    /// the first byte, 16 requests in flight per component.
    pub const DEFAULT: HttpLimits = HttpLimits {
        max_requests_per_call: 16,
        max_request_bytes: 1 << 20,
        max_response_bytes: 8 << 20,
        connect_timeout_ms: 5_000,
        first_byte_timeout_ms: 10_000,
        max_concurrent_requests: 16,
    };
}

impl Default for HttpLimits {
    /// [`HttpLimits::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Headers an entry may not add: they frame or route the request, which
/// the host decides.
pub const RESERVED_HEADERS: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-connection",
];

/// Methods no entry lets through.
pub const NEVER_SENT: [&str; 2] = ["CONNECT", "TRACE"];

/// One allow entry: a target and what goes with requests to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAllow {
    /// Scheme, host, port and path prefix requests must match.
    pub target: AllowTarget,
    /// Methods allowed (upper case); `None` allows every method but those
    /// [never sent](NEVER_SENT).
    pub methods: Option<Vec<String>>,
    /// The host may resolve to loopback, private, link-local or other
    /// internal addresses. Only for an exact host name: an IP address
    /// target may always reach that address, a wildcard never an internal
    /// one.
    pub private: bool,
    /// Headers the host sets on every request it lets through, replacing
    /// any the guest set. The guest never sees them.
    pub headers: Vec<InjectedHeader>,
    /// Certificates trusted for this entry's TLS connections instead of
    /// the public roots; empty means the public roots.
    pub trust_anchors: Vec<CertificateDer<'static>>,
}

impl HttpAllow {
    /// An entry for `target` with no method limit, headers or own trust.
    pub fn new(target: AllowTarget) -> Self {
        Self {
            target,
            methods: None,
            private: false,
            headers: Vec::new(),
            trust_anchors: Vec::new(),
        }
    }

    /// Whether `request` may be sent under this entry. Methods compare
    /// without case (servers differ on it); `CONNECT` (a tunnel past every
    /// check) and `TRACE` (which echoes the request, added headers and all)
    /// are never sent.
    pub fn permits(&self, request: &RequestTarget) -> bool {
        let method = request.method.to_ascii_uppercase();
        !NEVER_SENT.contains(&method.as_str())
            && self.target.matches(request)
            && self
                .methods
                .as_ref()
                .is_none_or(|methods| methods.contains(&method))
    }
}

/// A header the host adds to requests. The value is a secret: it prints
/// as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct InjectedHeader {
    /// The header's name, lower case.
    pub name: String,
    /// Its value.
    pub value: Secret,
}

impl fmt::Debug for InjectedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.name, self.value)
    }
}

/// A value the operator keeps from guests and from every log, error and
/// listing: only [`Secret::expose`] reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The scheme of an allow entry or a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpScheme {
    /// `http`, port 80 by default.
    Http,
    /// `https`, port 443 by default.
    Https,
}

impl HttpScheme {
    /// The port a URL of this scheme means when it names none.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// The host part of an allow entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// Exactly this name (lower case, no trailing dot).
    Name(String),
    /// Any name that ends in `.` and this suffix (`*.example.com`), not
    /// the suffix itself.
    AnySubdomainOf(String),
    /// This address, connected to without a lookup.
    Address(IpAddr),
}

/// Scheme, host, port and path prefix of an allow entry, parsed from a URL
/// such as `https://*.example.com/v1/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowTarget {
    /// `http` or `https`.
    pub scheme: HttpScheme,
    /// The host or hosts.
    pub host: HostPattern,
    /// The port (the scheme's default when the URL names none).
    pub port: u16,
    /// A request's path must start with this (`/` allows every path). A
    /// prefix that does not end in `/` matches itself and what follows a
    /// `/` after it: `/v1` allows `/v1` and `/v1/x`, not `/v10`.
    pub path_prefix: String,
}

/// Why an allow URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowUrlError {
    /// Neither `http://` nor `https://`.
    #[error("must start with `https://` or `http://`")]
    Scheme,
    /// `user@host`, a query or a fragment.
    #[error("{0} is not allowed in an allow URL")]
    Forbidden(&'static str),
    /// The host is empty or not a host name or address.
    #[error("`{host}` is not a host name or IP address: {reason}")]
    Host {
        /// The host as written.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `*` anywhere but a whole first label.
    #[error("a wildcard may only be a whole first label (`*.example.com`)")]
    Wildcard,
    /// The port is not 1 to 65535.
    #[error("`{0}` is not a port (1 to 65535)")]
    Port(String),
    /// The path has dot segments or characters outside a URL path.
    #[error("path prefix `{0}` must be a plain path (no `.` or `..` segments, no spaces)")]
    Path(String),
}

impl AllowTarget {
    /// Parses `https://host[:port][/path-prefix]`; the host may be a name,
    /// `*.` followed by a name, an IPv4 address or a bracketed IPv6 one.
    pub fn parse(url: &str) -> Result<Self, AllowUrlError> {
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (HttpScheme::Https, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (HttpScheme::Http, rest)
        } else {
            return Err(AllowUrlError::Scheme);
        };
        if rest.contains('?') {
            return Err(AllowUrlError::Forbidden("a query (`?`)"));
        }
        if rest.contains('#') {
            return Err(AllowUrlError::Forbidden("a fragment (`#`)"));
        }
        let (authority, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(AllowUrlError::Forbidden("user information (`user@`)"));
        }
        let (host, port) = split_port(authority)?;
        let port = match port {
            None => scheme.default_port(),
            // Digits only and no leading zero: `080` is a typo, not 80.
            Some(written) => written
                .parse::<u16>()
                .ok()
                .filter(|port| *port != 0 && port.to_string() == written)
                .ok_or_else(|| AllowUrlError::Port(written.to_owned()))?,
        };
        let host = parse_host_pattern(host)?;
        if !is_plain_path(path) {
            return Err(AllowUrlError::Path(path.to_owned()));
        }
        Ok(Self {
            scheme,
            host,
            port,
            path_prefix: path.to_owned(),
        })
    }

    /// Whether the target is loopback only: a loopback address, or
    /// `localhost` (which the resolver answers from the host itself).
    pub fn is_loopback(&self) -> bool {
        match &self.host {
            HostPattern::Address(address) => address.is_loopback(),
            HostPattern::Name(name) => name == "localhost",
            HostPattern::AnySubdomainOf(_) => false,
        }
    }

    /// Whether `request` has this target's scheme, host, port and path.
    pub fn matches(&self, request: &RequestTarget) -> bool {
        self.scheme == request.scheme
            && self.port == request.port
            && self.host_matches(&request.host)
            && path_within(&request.path, &self.path_prefix)
    }

    fn host_matches(&self, host: &RequestHost) -> bool {
        match (&self.host, host) {
            (HostPattern::Address(allowed), RequestHost::Address(asked)) => allowed == asked,
            (HostPattern::Name(allowed), RequestHost::Name(asked)) => allowed == asked,
            (HostPattern::AnySubdomainOf(suffix), RequestHost::Name(asked)) => asked
                .strip_suffix(suffix.as_str())
                .and_then(|head| head.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty()),
            _ => false,
        }
    }
}

impl fmt::Display for AllowTarget {
    /// The entry as a URL, the default port left out: the label metrics
    /// and listings use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Name(name) => f.write_str(name)?,
            HostPattern::AnySubdomainOf(suffix) => write!(f, "*.{suffix}")?,
            HostPattern::Address(IpAddr::V6(address)) => write!(f, "[{address}]")?,
            HostPattern::Address(address) => write!(f, "{address}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path_prefix)
    }
}

/// Splits `host[:port]`, with an IPv6 host in brackets.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), AllowUrlError> {
    if authority.starts_with('[') {
        let Some(close) = authority.find(']') else {
            return Err(AllowUrlError::Host {
                host: authority.to_owned(),
                reason: "the `[` of an IPv6 address is not closed",
            });
        };
        let (host, after) = authority.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(AllowUrlError::Port(after.to_owned())),
        };
    }
    Ok(match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn parse_host_pattern(host: &str) -> Result<HostPattern, AllowUrlError> {
    let refuse = |reason| AllowUrlError::Host {
        host: host.to_owned(),
        reason,
    };
    if host.is_empty() {
        return Err(refuse("the host is empty"));
    }
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|address| HostPattern::Address(IpAddr::V6(address)))
            .map_err(|_| refuse("not an IPv6 address"));
    }
    let lower = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if let Ok(address) = lower.parse::<std::net::Ipv4Addr>() {
        return Ok(HostPattern::Address(IpAddr::V4(address)));
    }
    if let Some(suffix) = lower.strip_prefix("*.") {
        if suffix.contains('*') {
            return Err(AllowUrlError::Wildcard);
        }
        check_host_name(suffix).map_err(refuse)?;
        if !suffix.contains('.') {
            return Err(refuse(
                "a wildcard must stand before at least two labels (`*.example.com`)",
            ));
        }
        return Ok(HostPattern::AnySubdomainOf(suffix.to_owned()));
    }
    if lower.contains('*') {
        return Err(AllowUrlError::Wildcard);
    }
    check_host_name(&lower).map_err(refuse)?;
    Ok(HostPattern::Name(lower))
}

/// Whether `path` lies within `prefix` (see [`AllowTarget::path_prefix`]).
fn path_within(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        return path.starts_with(prefix);
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> AllowTarget {
        AllowTarget::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"))
    }

    fn request(scheme: HttpScheme, authority: &str, path: &str) -> RequestTarget {
        RequestTarget::read(scheme, authority, path, "GET").expect("a valid request")
    }

    #[test]
    fn allow_urls_parse_into_their_parts() {
        let api = target("https://API.GitHub.com");
        assert_eq!(api.host, HostPattern::Name("api.github.com".to_owned()));
        assert_eq!((api.port, api.path_prefix.as_str()), (443, "/"));
        let wild = target("https://*.example.com/v1/");
        assert_eq!(
            wild.host,
            HostPattern::AnySubdomainOf("example.com".to_owned())
        );
        assert_eq!(wild.path_prefix, "/v1/");
        let local = target("http://127.0.0.1:8089");
        assert_eq!(local.port, 8089);
        assert!(local.is_loopback());
        assert_eq!(target("http://[::1]:9/x").to_string(), "http://[::1]:9/x");
        assert_eq!(target("https://a.b:443/").to_string(), "https://a.b/");
        assert_eq!(
            target("http://5.0.0.0./").host,
            HostPattern::Address("5.0.0.0".parse().expect("an address"))
        );
    }

    #[test]
    fn malformed_allow_urls_are_refused_with_the_reason() {
        for (url, expected) in [
            ("ftp://example.com", AllowUrlError::Scheme),
            ("example.com", AllowUrlError::Scheme),
            ("https://", AllowUrlError::Scheme),
            (
                "https://a.com/?q=1",
                AllowUrlError::Forbidden("a query (`?`)"),
            ),
            (
                "https://a.com/#x",
                AllowUrlError::Forbidden("a fragment (`#`)"),
            ),
            (
                "https://user@a.com",
                AllowUrlError::Forbidden("user information (`user@`)"),
            ),
            ("https://api.*.com", AllowUrlError::Wildcard),
            ("https://*.*.com", AllowUrlError::Wildcard),
            ("https://a*.com", AllowUrlError::Wildcard),
            ("https://a.com:0", AllowUrlError::Port("0".to_owned())),
            (
                "https://a.com:99999",
                AllowUrlError::Port("99999".to_owned()),
            ),
            ("https://a.com:", AllowUrlError::Port(String::new())),
            (
                "https://a.com/v1/../admin",
                AllowUrlError::Path("/v1/../admin".to_owned()),
            ),
            (
                "https://a.com/%2E%2e/x",
                AllowUrlError::Path("/%2E%2e/x".to_owned()),
            ),
        ] {
            let got = AllowTarget::parse(url).map(|target| target.to_string());
            if url == "https://" {
                assert!(
                    matches!(got, Err(AllowUrlError::Host { .. })),
                    "{url}: {got:?}"
                );
                continue;
            }
            assert_eq!(got, Err(expected), "{url}");
        }
        for url in [
            "https://*.com",
            "https://a_b-.com",
            "https://é.com",
            "https://[::1",
            "https://1.2.3",
        ] {
            assert!(
                matches!(AllowTarget::parse(url), Err(AllowUrlError::Host { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn requests_match_scheme_host_port_and_path_exactly() {
        let api = target("https://api.example.com/v1");
        assert!(api.matches(&request(HttpScheme::Https, "api.example.com", "/v1")));
        assert!(api.matches(&request(
            HttpScheme::Https,
            "API.example.com.:443",
            "/v1/x?y"
        )));
        for (scheme, authority, path) in [
            (HttpScheme::Http, "api.example.com", "/v1"),
            (HttpScheme::Https, "api.example.com:8443", "/v1"),
            (HttpScheme::Https, "evil.example.com", "/v1"),
            (HttpScheme::Https, "api.example.com.evil.net", "/v1"),
            (HttpScheme::Https, "api.example.com", "/v10"),
            (HttpScheme::Https, "api.example.com", "/"),
        ] {
            assert!(
                !api.matches(&request(scheme, authority, path)),
                "{authority}{path}"
            );
        }
        let wild = target("https://*.example.com");
        assert!(wild.matches(&request(HttpScheme::Https, "a.b.example.com", "/")));
        assert!(!wild.matches(&request(HttpScheme::Https, "example.com", "/")));
        assert!(!wild.matches(&request(HttpScheme::Https, "badexample.com", "/")));
        let address = target("http://127.0.0.1:8089");
        assert!(address.matches(&request(HttpScheme::Http, "127.0.0.1:8089", "/any")));
        assert!(!address.matches(&request(HttpScheme::Http, "localhost:8089", "/any")));
    }

    #[test]
    fn methods_narrow_an_entry_and_secrets_do_not_print() {
        let mut entry = HttpAllow::new(target("https://a.com"));
        entry.methods = Some(vec!["GET".to_owned()]);
        entry.headers.push(InjectedHeader {
            name: "authorization".to_owned(),
            value: Secret::new("Bearer hunter2"),
        });
        let get = request(HttpScheme::Https, "a.com", "/");
        assert!(entry.permits(&get));
        let post = RequestTarget {
            method: "POST".to_owned(),
            ..get.clone()
        };
        assert!(!entry.permits(&post));
        let lower = RequestTarget {
            method: "get".to_owned(),
            ..get.clone()
        };
        assert!(entry.permits(&lower), "methods compare without case");
        entry.methods = None;
        for never in ["TRACE", "trace", "CONNECT", "connect"] {
            let request = RequestTarget {
                method: never.to_owned(),
                ..get.clone()
            };
            assert!(!entry.permits(&request), "{never}");
        }
        let printed = format!("{entry:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}

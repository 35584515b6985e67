//! A small blocking HTTP client for tools, over `wasi:http`.
//!
//! The gateway sends each request for the tool, and only to what the
//! component's policy allows (`[components.<name>.capabilities.http]`);
//! anything else fails at once with [`HttpError::Denied`]. Credentials
//! the operator configured are added by the gateway on the way out: a
//! tool never holds or sees them, so it should not set them either.
//!
//! ```no_run
//! use warden_tool::http::Request;
//!
//! # fn run() -> Result<(), warden_tool::http::HttpError> {
//! let response = Request::get("https://api.github.com/repos/rust-lang/rust")
//!     .header("accept", "application/vnd.github+json")
//!     .max_body_bytes(256 * 1024)
//!     .send()?;
//! if response.status == 200 {
//!     let repo: serde_json::Value = response.json()?;
//!     println!("{}", repo["description"]);
//! }
//! # Ok(()) }
//! ```
//!
//! Redirects are not followed: a `3xx` answer is returned as it is, and a
//! tool that follows its `location` sends a new request, checked again.

use std::fmt;
use std::time::Duration;

/// Response bytes read when a request sets no [`Request::max_body_bytes`].
pub const DEFAULT_MAX_BODY_BYTES: u64 = 4 << 20;

/// An outbound request, built up and then [sent](Request::send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
    max_body_bytes: u64,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, read to its end.
    pub body: Vec<u8>,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not `http(s)://host[:port][/path][?query]`.
    InvalidUrl(String),
    /// A header name or value cannot be sent.
    InvalidHeader(String),
    /// The component's policy does not allow this URL or method.
    Denied,
    /// The host resolved only to addresses the policy keeps the tool from
    /// (loopback, private, link-local).
    AddressProhibited,
    /// The response body passed the request's `max_body_bytes` or the
    /// component's limit.
    BodyTooLarge(u64),
    /// No connection, a TLS failure, a timeout, or another failure the
    /// gateway reports; the text says which.
    Failed(String),
    /// Not running inside a component (a host unit test).
    Unavailable,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            Self::InvalidHeader(why) => write!(f, "invalid header: {why}"),
            Self::Denied => f.write_str("the request is not allowed by the tool's policy"),
            Self::AddressProhibited => f.write_str(
                "the host resolves only to internal addresses the tool's policy does not reach",
            ),
            Self::BodyTooLarge(limit) => {
                write!(f, "the response body is larger than {limit} bytes")
            }
            Self::Failed(why) => write!(f, "the request failed: {why}"),
            Self::Unavailable => f.write_str("outbound HTTP works only inside a component"),
        }
    }
}

impl std::error::Error for HttpError {}

impl Request {
    /// A request with `method` (upper case, e.g. `"PATCH"`) to `url`.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` to `url`.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    pub fn json<T: serde::Serialize>(self, value: &T) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_vec(value)?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Gives up on connecting, and on waiting for each piece of the
    /// response, after `timeout` (the component's own limits apply too).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Stops reading the response after `limit` bytes of body, with
    /// [`HttpError::BodyTooLarge`].
    #[must_use]
    pub fn max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        let url = Url::parse(&self.url)?;
        for (name, value) in &self.headers {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|byte| byte.is_ascii_graphic() && byte != b':')
            {
                return Err(HttpError::InvalidHeader(format!(
                    "`{name}` is not a header name"
                )));
            }
            if value
                .bytes()
                .any(|byte| byte == b'\r' || byte == b'\n' || byte == 0)
            {
                return Err(HttpError::InvalidHeader(format!(
                    "the value of `{name}` holds a line break"
                )));
            }
        }
        transport::send(&self, &url)
    }
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text; invalid UTF-8 is replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            HttpError::Failed(format!("the response is not the JSON expected: {error}"))
        })
    }
}

/// The parts of a URL wasi:http asks for.
#[derive(Debug, PartialEq, Eq)]
struct Url<'a> {
    https: bool,
    authority: &'a str,
    path_with_query: String,
}

impl<'a> Url<'a> {
    fn parse(url: &'a str) -> Result<Self, HttpError> {
        let invalid = |why: &str| HttpError::InvalidUrl(format!("`{url}`: {why}"));
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(invalid("must start with https:// or http://"));
        };
        let rest = rest.split('#').next().unwrap_or(rest);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        if authority.contains('@') {
            return Err(invalid("user information (`user@`) is not sent"));
        }
        if path.bytes().any(|byte| byte <= b' ' || byte >= 0x7f) {
            return Err(invalid(
                "spaces and other characters must be percent-encoded",
            ));
        }
        let path_with_query = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Ok(Self {
            https,
            authority,
            path_with_query,
        })
    }
}

#[cfg(target_os = "wasi")]
mod transport {
    use super::{HttpError, Request, Response, Url};
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions,
        Scheme,
    };
    use wasip2::io::streams::StreamError;

    pub(super) fn send(request: &Request, url: &Url<'_>) -> Result<Response, HttpError> {
        let mut headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
            .collect();
        // A known length lets the host frame the body plainly rather than
        // in chunks; an empty body is left out altogether.
        headers.retain(|(name, _)| name != "content-length");
        if !request.body.is_empty() {
            headers.push((
                "content-length".to_owned(),
                request.body.len().to_string().into_bytes(),
            ));
        }
        let fields = Fields::from_list(&headers)
            .map_err(|error| HttpError::InvalidHeader(format!("{error:?}")))?;
        let outgoing = OutgoingRequest::new(fields);
        let method = match request.method.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_owned()),
        };
        let rejected = |what: &str| HttpError::InvalidUrl(format!("the {what} was rejected"));
        outgoing
            .set_method(&method)
            .map_err(|()| rejected("method"))?;
        let scheme = if url.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| rejected("scheme"))?;
        outgoing
            .set_authority(Some(url.authority))
            .map_err(|()| rejected("host"))?;
        outgoing
            .set_path_with_query(Some(&url.path_with_query))
            .map_err(|()| rejected("path"))?;
        let body =
            if request.body.is_empty() {
                None
            } else {
                Some(outgoing.body().map_err(|()| {
                    HttpError::Failed("the request body was taken twice".to_owned())
                })?)
            };
        let options = RequestOptions::new();
        if let Some(timeout) = request.timeout {
            let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
            // The host may refuse a timeout it does not support; its own
            // limits apply either way.
            let _ = options.set_connect_timeout(Some(nanos));
            let _ = options.set_first_byte_timeout(Some(nanos));
            let _ = options.set_between_bytes_timeout(Some(nanos));
        }
        let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(from_code)?;
        // The host closes the body's stream when it stops taking the body
        // (past its size limit, or the connection failed): why is in the
        // exchange's outcome, and a server may even have answered already.
        let unsent = body.and_then(|body| {
            write_body(&body, &request.body)
                .and_then(|()| OutgoingBody::finish(body, None).map_err(from_code))
                .err()
        });
        pending.subscribe().block();
        let response = match pending.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(from_code(code)),
            Some(Err(())) | None => {
                return Err(
                    unsent.unwrap_or_else(|| HttpError::Failed("the response was lost".to_owned()))
                );
            }
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| HttpError::Failed("the response body was taken twice".to_owned()))?;
        let body = read_body(&incoming, request.max_body_bytes)?;
        drop(incoming);
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), HttpError> {
        let stream = body.write().map_err(|()| {
            HttpError::Failed("the request body stream was taken twice".to_owned())
        })?;
        // `blocking-write-and-flush` takes at most 4096 bytes at a time.
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(from_stream)?;
        }
        Ok(())
    }

    fn read_body(body: &IncomingBody, limit: u64) -> Result<Vec<u8>, HttpError> {
        let stream = body.stream().map_err(|()| {
            HttpError::Failed("the response body stream was taken twice".to_owned())
        })?;
        let mut out = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if out.len() as u64 + chunk.len() as u64 > limit {
                        return Err(HttpError::BodyTooLarge(limit));
                    }
                    out.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => return Ok(out),
                Err(error) => return Err(from_stream(error)),
            }
        }
    }

    fn from_stream(error: StreamError) -> HttpError {
        match error {
            StreamError::Closed => HttpError::Failed("the connection closed early".to_owned()),
            StreamError::LastOperationFailed(error) => {
                match wasip2::http::types::http_error_code(&error) {
                    Some(code) => from_code(code),
                    None => HttpError::Failed(error.to_debug_string()),
                }
            }
        }
    }

    fn from_code(code: ErrorCode) -> HttpError {
        match code {
            ErrorCode::HttpRequestDenied => HttpError::Denied,
            ErrorCode::DestinationIpProhibited => HttpError::AddressProhibited,
            ErrorCode::HttpResponseBodySize(limit) => {
                HttpError::BodyTooLarge(limit.unwrap_or_default())
            }
            ErrorCode::HttpRequestUriInvalid => {
                HttpError::InvalidUrl("the gateway could not read it".to_owned())
            }
            other => HttpError::Failed(describe(&other)),
        }
    }

    /// wasi:http's codes in words.
    fn describe(code: &ErrorCode) -> String {
        match code {
            ErrorCode::DnsTimeout => "the host name lookup timed out".to_owned(),
            ErrorCode::DnsError(payload) => format!(
                "the host name lookup failed: {}",
                payload.rcode.as_deref().unwrap_or("no answer")
            ),
            ErrorCode::ConnectionRefused => "the connection was refused".to_owned(),
            ErrorCode::ConnectionTimeout => "connecting timed out".to_owned(),
            ErrorCode::ConnectionReadTimeout => "the server stopped sending".to_owned(),
            ErrorCode::ConnectionLimitReached => {
                "too many requests of this tool are in flight".to_owned()
            }
            ErrorCode::TlsCertificateError => {
                "the server's TLS certificate is not trusted".to_owned()
            }
            ErrorCode::HttpResponseTimeout => "the server did not answer in time".to_owned(),
            ErrorCode::HttpRequestBodySize(limit) => format!(
                "the request body is larger than the limit of {} bytes",
                limit.unwrap_or_default()
            ),
            other => format!("{other:?}"),
        }
    }
}

#[cfg(not(target_os = "wasi"))]
mod transport {
    use super::{HttpError, Request, Response, Url};

    pub(super) fn send(_request: &Request, _url: &Url<'_>) -> Result<Response, HttpError> {
        Err(HttpError::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_what_wasi_http_asks_for() {
        assert_eq!(
            Url::parse("https://api.example.com:8443/v1/x?q=1#frag"),
            Ok(Url {
                https: true,
                authority: "api.example.com:8443",
                path_with_query: "/v1/x?q=1".to_owned(),
            })
        );
        assert_eq!(
            Url::parse("http://127.0.0.1?x").map(|url| url.path_with_query),
            Ok("/?x".to_owned())
        );
        assert_eq!(
            Url::parse("http://a.com").map(|url| url.path_with_query),
            Ok("/".to_owned())
        );
        for bad in [
            "ftp://a.com",
            "https://",
            "https://u@a.com/",
            "https://a.com/a b",
        ] {
            assert!(
                matches!(Url::parse(bad), Err(HttpError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_headers_are_refused_before_sending() {
        let error = Request::get("https://a.com")
            .header("x-a", "one\r\ntwo")
            .send()
            .expect_err("refused");
        assert!(matches!(error, HttpError::InvalidHeader(_)), "{error}");
        let error = Request::get("https://a.com")
            .send()
            .expect_err("no host here");
        assert_eq!(error, HttpError::Unavailable);
    }
}

//! The registry's JSON documents (manifests and referrer indexes), read
//! with a cap on their size. oci-client reads a response body whole,
//! whatever its length, so a registry answering with an endless manifest
//! could make Warden hold any amount of memory; here the body is read a
//! chunk at a time and refused past [`MAX_DOCUMENT_BYTES`], under a
//! deadline. The HTTP client is built like oci-client's (reqwest, the same
//! trusted roots, timeouts and proxies from the environment), and the
//! credentials are the ones oci-client negotiated.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{StatusCode, header};

/// The largest manifest or referrer index read: the size the OCI
/// distribution specification asks registries to accept at least.
pub(super) const MAX_DOCUMENT_BYTES: usize = 4 << 20;

/// The most of an error response's body kept to say what went wrong.
const MAX_ERROR_BODY_BYTES: usize = 1 << 10;

/// What a GET of a document gave.
#[derive(Debug)]
pub(super) enum Answer {
    /// 200, with the body.
    Found(Bytes),
    /// Any other status, with the start of the body (an OCI error envelope,
    /// usually).
    Status(StatusCode, Bytes),
}

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum DocumentError {
    #[error("{0}")]
    Request(String),
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("the body is larger than {MAX_DOCUMENT_BYTES} bytes, the most Warden reads")]
    TooLarge,
}

/// A GET of one document from one registry.
pub(super) struct DocumentGet<'a> {
    /// `host[:port]`, as the reference resolves it.
    pub registry: &'a str,
    /// The path, from `/v2/`.
    pub target: String,
    /// Query parameters, encoded by reqwest.
    pub query: &'a [(&'a str, &'a str)],
    /// The media types asked for.
    pub accept: String,
    /// The `Authorization` header, when the registry wants one.
    pub authorization: Option<header::HeaderValue>,
}

/// Reads documents over one scheme, as the rest of the pull does.
pub(super) struct Documents {
    client: reqwest::Client,
    plain_http: bool,
    timeout: Duration,
}

impl Documents {
    pub(super) fn new(client: reqwest::Client, plain_http: bool, timeout: Duration) -> Self {
        Self {
            client,
            plain_http,
            timeout,
        }
    }

    /// GETs `get`, within the registry timeout.
    pub(super) async fn get(&self, get: &DocumentGet<'_>) -> Result<Answer, DocumentError> {
        tokio::time::timeout(self.timeout, self.fetch(get))
            .await
            .map_err(|_| {
                DocumentError::Timeout(u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX))
            })?
    }

    /// The request for `get`, not yet sent.
    fn request(&self, get: &DocumentGet<'_>) -> reqwest::RequestBuilder {
        let scheme = if self.plain_http { "http" } else { "https" };
        let url = format!("{scheme}://{}{}", get.registry, get.target);
        let mut request = self
            .client
            .get(&url)
            .query(get.query)
            .header(header::ACCEPT, get.accept.as_str());
        if let Some(authorization) = &get.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        request
    }

    async fn fetch(&self, get: &DocumentGet<'_>) -> Result<Answer, DocumentError> {
        let mut response = self
            .request(get)
            .send()
            .await
            .map_err(|error| DocumentError::Request(error_chain(&error)))?;
        let status = response.status();
        if status == StatusCode::OK
            && response
                .content_length()
                .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(DocumentError::TooLarge);
        }
        let limit = if status == StatusCode::OK {
            MAX_DOCUMENT_BYTES
        } else {
            MAX_ERROR_BODY_BYTES
        };
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| DocumentError::Request(error_chain(&error)))?
        {
            if body.len() + chunk.len() > limit {
                if status == StatusCode::OK {
                    return Err(DocumentError::TooLarge);
                }
                // An error's explanation is cut short, not refused.
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..room]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        Ok(if status == StatusCode::OK {
            Answer::Found(body)
        } else {
            Answer::Status(status, body)
        })
    }
}

/// An error's chain of causes, which says whether the connection was
/// refused, timed out or failed TLS.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// What of an error body goes into a message: its start, one line, no
/// control characters, since it is the registry's text and ends up in logs.
pub(super) fn excerpt(body: &[u8]) -> String {
    crate::excerpt::excerpt(&String::from_utf8_lossy(body), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_are_percent_encoded_in_the_query() {
        // As `Transport::new` does before building its client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let documents = Documents::new(reqwest::Client::new(), true, Duration::from_secs(1));
        let request = documents
            .request(&DocumentGet {
                registry: "127.0.0.1:5000",
                target: "/v2/tools/text/referrers/sha256:ab".to_owned(),
                query: &[(
                    "artifactType",
                    "application/vnd.dev.sigstore.bundle.v0.3+json",
                )],
                accept: String::new(),
                authorization: None,
            })
            .build()
            .expect("a request");
        assert_eq!(
            request.url().query(),
            Some("artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson")
        );
    }

    #[test]
    fn an_error_body_that_is_not_utf_8_is_still_shown() {
        assert_eq!(excerpt(b"denied \xff\n"), "denied \u{fffd}");
        assert!(excerpt(&[b'x'; 1000]).ends_with('…'));
    }
}

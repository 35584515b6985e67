//! A JWK Set fetched from the issuer's `jwks_uri` and cached: fetched when
//! first needed, again after `jwks_refresh_secs`, and sooner when a token
//! names a key the set lacks (the issuer rotated), at most every
//! [`JWKS_MIN_REFETCH_SECS`] so forged key ids cannot make Warden flood the
//! issuer. When a fetch fails the keys already fetched stay in use.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};

use super::jwks::KeySet;
use crate::config::{HttpUrl, JWKS_MIN_REFETCH_SECS};

/// The largest JWK Set body read.
const MAX_BODY_BYTES: usize = 1 << 20;

/// Keys fetched at one time.
struct Fetched {
    keys: KeySet,
    at: Instant,
}

/// The cache of one issuer's keys.
pub struct JwksCache {
    url: HttpUrl,
    tls: Option<tokio_rustls::TlsConnector>,
    timeout: Duration,
    refresh: Duration,
    current: ArcSwapOption<Fetched>,
    /// When the last fetch started and how it failed, if it did; held while
    /// fetching so that concurrent requests wait for one fetch.
    last_attempt: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url.text)
            .finish()
    }
}

impl JwksCache {
    /// A cache for `url`; `ca_file` adds trust anchors to the Mozilla roots.
    pub fn new(
        url: HttpUrl,
        ca_file: Option<&Path>,
        refresh: Duration,
        timeout: Duration,
    ) -> Result<Self, String> {
        let tls = if url.https {
            Some(tls_connector(ca_file)?)
        } else {
            None
        };
        Ok(Self {
            url,
            tls,
            timeout,
            refresh,
            current: ArcSwapOption::empty(),
            last_attempt: tokio::sync::Mutex::new(None),
        })
    }

    /// The keys to check a token against. `kid` is the key the token
    /// names: when the cached set lacks it, the set is fetched again (if the
    /// last fetch is old enough).
    pub async fn keys(&self, kid: Option<&str>) -> Result<KeySet, String> {
        let usable = |fetched: &Fetched| {
            fetched.at.elapsed() < self.refresh && kid.is_none_or(|kid| fetched.keys.has_kid(kid))
        };
        if let Some(fetched) = self.current.load_full().filter(|f| usable(f)) {
            return Ok(fetched.keys.clone());
        }
        let mut last_attempt = self.last_attempt.lock().await;
        // Another request may have fetched while this one waited.
        let current = self.current.load_full();
        if let Some(fetched) = current.as_ref().filter(|f| usable(f)) {
            return Ok(fetched.keys.clone());
        }
        let throttled = last_attempt.as_ref().and_then(|(at, error)| {
            (at.elapsed() < Duration::from_secs(JWKS_MIN_REFETCH_SECS)).then_some(error)
        });
        if let Some(error) = throttled {
            return match (&current, error) {
                (Some(fetched), _) => Ok(fetched.keys.clone()),
                (None, Some(error)) => Err(error.clone()),
                (None, None) => Err("no keys fetched yet".to_owned()),
            };
        }
        let started = Instant::now();
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.url.text, keys = keys.len(), "fetched the JWT signing keys");
                *last_attempt = Some((started, None));
                self.current.store(Some(Arc::new(Fetched {
                    keys: keys.clone(),
                    at: started,
                })));
                Ok(keys)
            }
            Err(error) => {
                let error = format!("cannot fetch the JWK Set at {}: {error}", self.url.text);
                tracing::warn!(%error, keeps_previous = current.is_some(), "JWKS fetch failed");
                *last_attempt = Some((started, Some(error.clone())));
                match current {
                    Some(fetched) => Ok(fetched.keys.clone()),
                    None => Err(error),
                }
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let body = tokio::time::timeout(self.timeout, self.get())
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout.as_millis()))??;
        let (keys, skipped) = KeySet::parse_lenient(&body).map_err(|error| error.to_string())?;
        for reason in skipped {
            tracing::debug!(%reason, "skipped a key of the JWK Set");
        }
        Ok(keys)
    }

    async fn get(&self) -> Result<Bytes, String> {
        let tcp = tokio::net::TcpStream::connect((self.url.host.as_str(), self.url.port))
            .await
            .map_err(|error| format!("cannot connect: {error}"))?;
        match &self.tls {
            None => self.request(tcp).await,
            Some(connector) => {
                let name = ServerName::try_from(self.url.host.clone())
                    .map_err(|error| format!("invalid server name: {error}"))?;
                let stream = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|error| format!("TLS: {error}"))?;
                self.request(stream).await
            }
        }
    }

    async fn request<S>(&self, stream: S) -> Result<Bytes, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
        tokio::spawn(connection);
        let authority = if self.url.port == if self.url.https { 443 } else { 80 } {
            self.url.host.clone()
        } else {
            format!("{}:{}", self.url.host, self.url.port)
        };
        let request = Request::get(self.url.path.as_str())
            .header(hyper::header::HOST, authority)
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("warden/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|error| error.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| error.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|error| format!("reading the body (at most {MAX_BODY_BYTES} bytes): {error}"))
    }
}

fn tls_connector(ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certificates = crate::certificates::read_pem_certificates(path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|error| format!("{}: {error}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

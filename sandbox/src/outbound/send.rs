//! Sending one allowed request: the lookup, the address check, the
//! connection (TLS with ALPN for `https`), HTTP/1.1 or HTTP/2, and the
//! response under the component's limits.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::address::internal_kind;
use super::body::{LimitedRequestBody, LimitedResponseBody};
use super::grant::{HostPattern, HttpAllow, HttpGrant, HttpLimits, HttpScheme, RESERVED_HEADERS};
use super::request::RequestHost;
use super::usage::{OutboundOutcome, RefusalReason, Tally};

/// What the sending side returns to wasmtime-wasi-http: the response, and
/// the rest of the connection's work.
pub(crate) type Sent = (
    Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// A component's grant, made ready at load: header values checked, TLS
/// configurations built.
pub(crate) struct OutboundGrant {
    pub(crate) entries: Vec<PreparedEntry>,
    pub(crate) limits: HttpLimits,
    /// The component's requests in flight, across its calls.
    pub(crate) in_flight: Arc<Semaphore>,
}

pub(crate) struct PreparedEntry {
    pub(crate) allow: HttpAllow,
    /// The entry as a URL, the label of its requests.
    pub(crate) label: Arc<str>,
    headers: Vec<(HeaderName, HeaderValue)>,
    tls: Arc<rustls::ClientConfig>,
}

impl OutboundGrant {
    /// Checks and prepares `grant`; the error names the entry (never a
    /// header's value).
    pub(crate) fn prepare(grant: &HttpGrant) -> Result<Self, String> {
        let mut public: Option<Arc<rustls::ClientConfig>> = None;
        let mut entries = Vec::with_capacity(grant.allow.len());
        for allow in &grant.allow {
            let label: Arc<str> = Arc::from(allow.target.to_string());
            if allow.private && matches!(allow.target.host, HostPattern::AnySubdomainOf(_)) {
                return Err(format!(
                    "http allow `{label}`: a wildcard entry cannot reach internal addresses"
                ));
            }
            let mut headers = Vec::with_capacity(allow.headers.len());
            for header in &allow.headers {
                if RESERVED_HEADERS.contains(&header.name.to_ascii_lowercase().as_str()) {
                    return Err(format!(
                        "http allow `{label}`: `{}` frames or routes the request: the host sets it",
                        header.name
                    ));
                }
                let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
                    format!(
                        "http allow `{label}`: `{}` is not a header name",
                        header.name
                    )
                })?;
                let mut value = HeaderValue::from_str(header.value.expose()).map_err(|_| {
                    format!(
                        "http allow `{label}`: the value of header `{name}` has characters a header may not carry"
                    )
                })?;
                // Never indexed by HTTP/2 header compression.
                value.set_sensitive(true);
                headers.push((name, value));
            }
            let tls = if allow.trust_anchors.is_empty() {
                match &public {
                    Some(config) => Arc::clone(config),
                    None => {
                        let roots = rustls::RootCertStore {
                            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                        };
                        let config = tls_config(roots)?;
                        public = Some(Arc::clone(&config));
                        config
                    }
                }
            } else {
                let mut roots = rustls::RootCertStore::empty();
                for certificate in &allow.trust_anchors {
                    roots.add(certificate.clone()).map_err(|error| {
                        format!("http allow `{label}`: a trusted certificate is unusable: {error}")
                    })?;
                }
                tls_config(roots)?
            };
            entries.push(PreparedEntry {
                allow: allow.clone(),
                label,
                headers,
                tls,
            });
        }
        Ok(Self {
            entries,
            limits: grant.limits.clone(),
            in_flight: Arc::new(Semaphore::new(
                grant.limits.max_concurrent_requests.max(1) as usize
            )),
        })
    }
}

fn tls_config(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS for outbound HTTP: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One request on its way out, with what it was matched against.
pub(crate) struct Dispatch {
    pub(crate) grant: Arc<OutboundGrant>,
    pub(crate) entry: usize,
    pub(crate) scheme: HttpScheme,
    pub(crate) host: RequestHost,
    pub(crate) port: u16,
    pub(crate) url: String,
    pub(crate) tally: Arc<Tally>,
}

/// The timeouts of one request: the guest's own where shorter than the
/// component's.
#[derive(Clone, Copy)]
struct Timeouts {
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

impl Timeouts {
    fn new(limits: &HttpLimits, options: Option<RequestOptions>) -> Self {
        let options = options.unwrap_or_default();
        let connect = Duration::from_millis(limits.connect_timeout_ms);
        let first_byte = Duration::from_millis(limits.first_byte_timeout_ms);
        let shorter = |asked: Option<Duration>, limit: Duration| {
            asked
                .map_or(limit, |asked| asked.min(limit))
                .max(Duration::from_millis(1))
        };
        Self {
            connect: shorter(options.connect_timeout, connect),
            first_byte: shorter(options.first_byte_timeout, first_byte),
            between_bytes: shorter(options.between_bytes_timeout, first_byte),
        }
    }
}

impl Dispatch {
    pub(crate) async fn send(
        self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Sent, Error> {
        let grant = Arc::clone(&self.grant);
        let entry = &grant.entries[self.entry];
        let limits = &grant.limits;
        let timeouts = Timeouts::new(limits, options);
        let recorder = Arc::new(self.tally.start(
            Arc::clone(&entry.label),
            self.host.to_string(),
            request.method().to_string(),
        ));
        let failed = |error: Error| {
            recorder.update(|record| {
                if record.outcome == OutboundOutcome::Pending {
                    record.outcome = OutboundOutcome::Failed(error.to_string());
                }
            });
            error
        };

        for (name, value) in &entry.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limits.max_request_bytes) {
            return Err(failed(Error::HttpRequestBodySize(Some(
                limits.max_request_bytes,
            ))));
        }
        let exceeded = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let request = request.map(|body| {
            LimitedRequestBody {
                inner: body,
                limit: limits.max_request_bytes,
                sent: 0,
                recorder: Arc::clone(&recorder),
                exceeded: Arc::clone(&exceeded),
            }
            .boxed_unsync()
        });
        // Whichever way hyper reports an exchange the body limit cut short,
        // the guest hears of the limit.
        let body_limit = |error: Error| {
            if exceeded.load(std::sync::atomic::Ordering::Relaxed) {
                Error::HttpRequestBodySize(Some(limits.max_request_bytes))
            } else {
                error
            }
        };

        let connect_by = Instant::now() + timeouts.connect;
        let permit = tokio::time::timeout(
            timeouts.connect,
            Arc::clone(&grant.in_flight).acquire_owned(),
        )
        .await
        .map_err(|_| failed(Error::ConnectionLimitReached))?
        .map_err(|_| failed(Error::ConnectionLimitReached))?;

        let permit = Arc::new(permit);
        let addresses = match self.addresses(entry, &permit, connect_by).await {
            Ok(addresses) => addresses,
            Err(Error::DestinationIpProhibited) => {
                recorder.withdraw();
                return Err(Error::DestinationIpProhibited);
            }
            Err(error) => return Err(failed(error)),
        };
        let started = Instant::now();
        let stream = connect(&addresses, connect_by).await.map_err(&failed)?;
        let (response, connection) = match self.scheme {
            HttpScheme::Http => {
                exchange_on(TokioIo::new(stream), request, false, timeouts, connect_by).await
            }
            HttpScheme::Https => {
                let tls = self.tls(entry, stream, connect_by).await.map_err(&failed)?;
                let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                exchange_on(TokioIo::new(tls), request, http2, timeouts, connect_by).await
            }
        }
        .map_err(body_limit)
        .map_err(&failed)?;
        let status = response.status().as_u16();
        let latency = started.elapsed();
        recorder.update(|record| {
            record.outcome = OutboundOutcome::Status(status);
            record.latency = Some(latency);
        });
        let slot = Arc::clone(&permit);
        let response = response.map(|incoming| {
            LimitedResponseBody {
                inner: incoming,
                limit: limits.max_response_bytes,
                received: 0,
                idle: timeouts.between_bytes,
                idle_timer: Box::pin(tokio::time::sleep(timeouts.between_bytes)),
                recorder,
                _slot: Arc::clone(&permit),
            }
            .boxed_unsync()
        });
        // The connection may still be sending the request's body after the
        // response's body is done with: it keeps the slot too.
        let connection: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async move {
            let _slot = slot;
            Pin::from(connection).await
        });
        Ok((response, connection))
    }

    /// The addresses the request may connect to: the host's, looked up
    /// now, without those the entry may not reach.
    async fn addresses(
        &self,
        entry: &PreparedEntry,
        slot: &Arc<OwnedSemaphorePermit>,
        connect_by: Instant,
    ) -> Result<Vec<SocketAddr>, Error> {
        let found: Vec<SocketAddr> = match &self.host {
            RequestHost::Address(address) => vec![SocketAddr::new(*address, self.port)],
            // Loopback by definition (RFC 6761), never sent to a resolver
            // whose search list could turn it into another machine's name.
            RequestHost::Name(name) if name == "localhost" => vec![
                SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, self.port)),
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, self.port)),
            ],
            RequestHost::Name(name) => {
                // The lookup holds the request's in-flight slot until the
                // resolver returns, even after the request gave up on it:
                // a slow zone cannot pile up blocked resolver threads.
                let (name, port, slot) = (name.clone(), self.port, Arc::clone(slot));
                let lookup = tokio::task::spawn_blocking(move || {
                    let _slot = slot;
                    std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
                        .map(Iterator::collect::<Vec<SocketAddr>>)
                });
                match tokio::time::timeout_at(connect_by.into(), lookup).await {
                    Err(_) => return Err(Error::DnsTimeout),
                    Ok(Err(_)) => return Err(Error::InternalError(None)),
                    Ok(Ok(Err(error))) => {
                        return Err(Error::DnsError {
                            rcode: Some(error.to_string()),
                            info_code: None,
                        });
                    }
                    Ok(Ok(Ok(found))) => found,
                }
            }
        };
        let literal = match &entry.allow.target.host {
            HostPattern::Address(address) => Some(*address),
            _ => None,
        };
        let mut refused: Vec<String> = Vec::new();
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|address| {
                let ip: IpAddr = address.ip();
                if entry.allow.private || literal == Some(ip) {
                    return true;
                }
                match internal_kind(ip) {
                    Some(kind) => {
                        refused.push(format!("{ip} ({kind})"));
                        false
                    }
                    None => true,
                }
            })
            .collect();
        if allowed.is_empty() {
            if refused.is_empty() {
                return Err(Error::DestinationNotFound);
            }
            self.tally.refused(
                &self.url,
                RefusalReason::InternalAddress(format!(
                    "`{}` resolves only to internal addresses, which the allow entry `{}` does not reach: {}",
                    self.host,
                    entry.label,
                    refused.join(", ")
                )),
            );
            return Err(Error::DestinationIpProhibited);
        }
        Ok(allowed)
    }

    async fn tls(
        &self,
        entry: &PreparedEntry,
        stream: TcpStream,
        connect_by: Instant,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
        let name = match &self.host {
            RequestHost::Address(address) => ServerName::IpAddress((*address).into()),
            RequestHost::Name(name) => {
                ServerName::try_from(name.clone()).map_err(|_| Error::TlsProtocolError)?
            }
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(&entry.tls));
        match tokio::time::timeout_at(connect_by.into(), connector.connect(name, stream)).await {
            Err(_) => Err(Error::ConnectionTimeout),
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(error)) => Err(tls_error(&error)),
        }
    }
}

/// The wasi:http code for a failed handshake: a certificate problem,
/// an alert from the server, or another protocol error.
fn tls_error(error: &std::io::Error) -> Error {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(_)) => Error::TlsCertificateError,
        Some(rustls::Error::AlertReceived(alert)) => Error::TlsAlertReceived {
            alert_id: Some(u8::from(*alert)),
            alert_message: Some(format!("{alert:?}")),
        },
        _ => Error::TlsProtocolError,
    }
}

/// Connects to the first address that answers before `connect_by`.
async fn connect(addresses: &[SocketAddr], connect_by: Instant) -> Result<TcpStream, Error> {
    let mut last = Error::ConnectionRefused;
    for address in addresses {
        match tokio::time::timeout_at(connect_by.into(), TcpStream::connect(address)).await {
            Err(_) => return Err(Error::ConnectionTimeout),
            Ok(Ok(stream)) => {
                // Small requests and answers: no waiting to fill packets.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(error)) => {
                last = match error.kind() {
                    std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
                    std::io::ErrorKind::TimedOut => Error::ConnectionTimeout,
                    _ => Error::DestinationUnavailable,
                };
            }
        }
    }
    Err(last)
}

type Connection = Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;
type Answer =
    Pin<Box<dyn Future<Output = Result<Response<hyper::body::Incoming>, hyper::Error>> + Send>>;
/// The response's head, and the connection's remaining work.
type Exchanged = (
    Response<hyper::body::Incoming>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// Sends `request` on `io` with HTTP/2 or HTTP/1.1 (as ALPN chose) and
/// waits for the response's head.
async fn exchange_on<I>(
    io: I,
    mut request: Request<WasiBody>,
    http2: bool,
    timeouts: Timeouts,
    connect_by: Instant,
) -> Result<Exchanged, Error>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let within = |_: tokio::time::error::Elapsed| Error::ConnectionTimeout;
    let (answer, connection): (Answer, Connection) = if http2 {
        let handshake =
            hyper::client::conn::http2::Builder::new(TokioExecutor::new()).handshake(io);
        let (mut sender, connection) = tokio::time::timeout_at(connect_by.into(), handshake)
            .await
            .map_err(within)??;
        // HTTP/2 carries the host in `:authority`, from the URI.
        request.headers_mut().remove(http::header::HOST);
        (Box::pin(sender.send_request(request)), Box::pin(connection))
    } else {
        let handshake = hyper::client::conn::http1::Builder::new().handshake(io);
        let (mut sender, connection) = tokio::time::timeout_at(connect_by.into(), handshake)
            .await
            .map_err(within)??;
        // HTTP/1.1 asks for the path alone; the host is in `Host`.
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .to_owned();
        *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;
        (Box::pin(sender.send_request(request)), Box::pin(connection))
    };
    exchange(answer, connection, timeouts).await
}

/// Waits for the response's head while driving the connection, then hands
/// the rest of the connection's work back.
async fn exchange(
    mut answer: Answer,
    connection: Connection,
    timeouts: Timeouts,
) -> Result<Exchanged, Error> {
    let mut connection = Some(connection);
    let head = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = answer.as_mut().poll(cx) {
            return Poll::Ready(result.map_err(Error::from));
        }
        if let Some(driving) = connection.as_mut()
            && let Poll::Ready(result) = driving.as_mut().poll(cx)
        {
            connection = None;
            if let Err(error) = result {
                return Poll::Ready(Err(Error::from(error)));
            }
            return answer.as_mut().poll(cx).map_err(Error::from);
        }
        Poll::Pending
    });
    let response = tokio::time::timeout(timeouts.first_byte, head)
        .await
        .map_err(|_| Error::HttpResponseTimeout)??;
    let rest: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async move {
        match connection {
            Some(connection) => connection.await.map_err(Error::from),
            None => Ok(()),
        }
    });
    Ok((response, rest))
}

//! A web server on loopback for tools to call: plain HTTP and HTTPS (with
//! HTTP/2 over ALPN), a few fixed routes, and a record of every request it
//! received, so tests can see what the gateway sent on a tool's behalf.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::tls::TestCa;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub version: hyper::Version,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The routes:
/// - `/hello`: `hello from upstream` as text;
/// - `/echo`: the request body back;
/// - `/json`: `{"ok": true, "path": …}`;
/// - `/redirect?to=URL`: `302` to `URL`;
/// - `/big`: 64 KiB of `x`;
/// - `/hang`: no answer for a minute;
/// - `/page`: a small HTML page;
/// - `/repos/OWNER/REPO`: a repository as the GitHub API describes it;
/// - anything else: `404`.
pub struct Upstream {
    pub plain: SocketAddr,
    pub tls: SocketAddr,
    /// The CA that signed the HTTPS certificate (for `localhost` and
    /// `127.0.0.1`), as PEM.
    pub ca_pem: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let ca = TestCa::new("upstream test CA");
        let issued = ca.issue("localhost", &["localhost", "127.0.0.1"]);
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let tls = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addrs = (
            plain.local_addr().expect("addr"),
            tls.local_addr().expect("addr"),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(issued.cert.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(issued.key.as_bytes()).expect("key"),
            )
            .expect("server config");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = plain.accept().await {
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&record), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let record = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = tls.accept().await {
                let record = Arc::clone(&record);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                    let service = service_fn(move |request| answer(Arc::clone(&record), request));
                    let io = TokioIo::new(stream);
                    if h2 {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, service)
                            .await;
                    } else {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    }
                });
            }
        });
        Self {
            plain: addrs.0,
            tls: addrs.1,
            ca_pem: ca.pem(),
            seen,
        }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    /// The requests received for `path`.
    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|seen| seen.path == path)
            .collect()
    }
}

/// The HTML of `/page`.
pub const PAGE: &str = "<!doctype html><html><head><title>Warden &amp; the web</title>\
    <script>secret()</script><style>p { color: red }</style></head><body>\
    <h1>Tools that call APIs</h1><p>The gateway sends every request.</p></body></html>";

async fn answer(
    record: Arc<Mutex<Vec<Seen>>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    record.lock().expect("seen").push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        version: parts.version,
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.clone(),
    });
    let reply = |status: StatusCode, content_type: &str, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("response")
    };
    Ok(match path.as_str() {
        "/hello" => reply(
            StatusCode::OK,
            "text/plain",
            b"hello from upstream".to_vec(),
        ),
        "/echo" => reply(StatusCode::OK, "application/octet-stream", body),
        "/big" => reply(StatusCode::OK, "text/plain", vec![b'x'; 64 << 10]),
        "/hang" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            reply(StatusCode::OK, "text/plain", Vec::new())
        }
        "/page" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            PAGE.as_bytes().to_vec(),
        ),
        "/redirect" => {
            let to = parts
                .uri
                .query()
                .and_then(|query| query.strip_prefix("to="))
                .unwrap_or("/");
            Response::builder()
                .status(StatusCode::FOUND)
                .header("location", to)
                .body(Full::new(Bytes::new()))
                .expect("response")
        }
        _ if path.starts_with("/repos/") => reply(
            StatusCode::OK,
            "application/json",
            serde_json::json!({
                "full_name": path.trim_start_matches("/repos/"),
                "description": "A test repository",
                "stargazers_count": 42,
                "forks_count": 7,
                "open_issues_count": 3,
                "default_branch": "main",
                "html_url": format!("https://github.com{}", path.trim_start_matches("/repos")),
                "private": false,
            })
            .to_string()
            .into_bytes(),
        ),
        _ if path.starts_with("/json") || path.starts_with("/named") => reply(
            StatusCode::OK,
            "application/json",
            serde_json::json!({"ok": true, "path": path})
                .to_string()
                .into_bytes(),
        ),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec()),
    })
}

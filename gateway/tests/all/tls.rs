//! HTTPS with the real binary: TLS on the MCP listener, certificates renewed
//! by a reload without dropping open connections, and mutual TLS whose
//! client certificate names the caller.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;

use crate::support::TestServer;

/// A CA that signs the server's and the clients' certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
pub struct Issued {
    pub cert: String,
    pub key: String,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    pub fn issue(&self, common_name: &str, names: &[&str]) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Issued {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// A client that trusts `ca`, presenting `identity` if given.
fn connector(ca: &TestCa, identity: Option<&Issued>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).expect("pem"))
        .expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(issued) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(issued.cert.as_bytes()).expect("pem")],
                PrivateKeyDer::from_pem_slice(issued.key.as_bytes()).expect("key"),
            )
            .expect("client cert"),
    };
    TlsConnector::from(Arc::new(config))
}

/// An HTTPS connection to `server`, and the certificate it presented.
async fn connect(
    server: &TestServer,
    connector: &TlsConnector,
) -> std::io::Result<(SendRequest<Full<Bytes>>, Vec<u8>)> {
    let tcp = tokio::net::TcpStream::connect(server.addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let stream = connector.connect(name, tcp).await?;
    let presented = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|cert| cert.as_ref().to_vec())
        .unwrap_or_default();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    sender.ready().await.map_err(std::io::Error::other)?;
    Ok((sender, presented))
}

async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    session: Option<&str>,
    body: Value,
) -> (StatusCode, hyper::HeaderMap, Value) {
    let mut request = Request::post("/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", "2025-11-25");
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(Bytes::from(body.to_string())))
                .expect("request"),
        )
        .await
        .expect("response");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, json)
}

async fn initialize(sender: &mut SendRequest<Full<Bytes>>) -> String {
    let (status, headers, body) = post(
        sender,
        None,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "tls-test", "version": "0"}}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    headers["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_and_a_reload_renews_the_certificate_without_dropping_connections() {
    let ca = TestCa::new("Warden test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let first = ca.issue("first", &["localhost"]);
    let cert = write(dir.path(), "server.crt", &first.cert);
    let key = write(dir.path(), "server.key", &first.key);
    let server = TestServer::spawn_process(&format!(
        "watch_interval_ms = 0\n[tls]\ncert_file = \"{cert}\"\nkey_file = \"{key}\"\n"
    ))
    .await;
    assert!(
        server.log().contains("serving MCP at https://"),
        "{}",
        server.log()
    );
    let client = connector(&ca, None);

    let (mut open, presented) = connect(&server, &client).await.expect("TLS connection");
    let session = initialize(&mut open).await;
    assert_eq!(
        presented,
        CertificateDer::from_pem_slice(first.cert.as_bytes())
            .expect("pem")
            .as_ref()
    );

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = tokio::time::timeout(
        Duration::from_secs(5),
        crate::support::try_post(server.addr, &session, "{}".to_owned()),
    )
    .await
    .expect("the server closes the connection");
    assert!(plain.is_none());

    // Renew the certificate in place and reload.
    let second = ca.issue("second", &["localhost"]);
    write(dir.path(), "server.crt", &second.cert);
    write(dir.path(), "server.key", &second.key);
    server.signal("HUP");
    server.wait_for_log("catalog reloaded", 1).await;
    let (mut fresh, presented) = connect(&server, &client).await.expect("TLS connection");
    assert_eq!(
        presented,
        CertificateDer::from_pem_slice(second.cert.as_bytes())
            .expect("pem")
            .as_ref(),
        "new connections get the renewed certificate"
    );
    let (status, _, body) = post(
        &mut open,
        Some(&session),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "text.count", "arguments": {"text": "over tls"}}}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the connection opened before still works"
    );
    assert_eq!(body["result"]["structuredContent"]["words"], json!(2));
    assert!(!initialize(&mut fresh).await.is_empty());

    // A key that does not match is refused, and the renewed one stays.
    write(
        dir.path(),
        "server.key",
        &ca.issue("other", &["localhost"]).key,
    );
    server.signal("HUP");
    server.wait_for_log("reload refused", 1).await;
    let (_, presented) = connect(&server, &client).await.expect("TLS connection");
    assert_eq!(
        presented,
        CertificateDer::from_pem_slice(second.cert.as_bytes())
            .expect("pem")
            .as_ref()
    );
}

/// `GET /livez` over a new connection made with `connector`. TLS 1.3
/// reports a refused client certificate only after the handshake, so the
/// request is what fails.
async fn livez(server: &TestServer, connector: &TlsConnector) -> std::io::Result<StatusCode> {
    let (mut sender, _) = connect(server, connector).await?;
    let request = Request::get("/livez")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    Ok(response.status())
}

/// One POST on its own TLS connection (`Connection: close`): the response
/// head and the JSON body.
async fn exchange(
    server: &TestServer,
    connector: &TlsConnector,
    session: Option<&str>,
    body: Value,
) -> (String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut stream = connector.connect(name, tcp).await.expect("mTLS handshake");
    let body = body.to_string();
    let session = session
        .map(|id| format!("mcp-session-id: {id}\r\nmcp-protocol-version: 2025-11-25\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
         content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         {session}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    // A peer that closes without close_notify is fine here: the body is
    // complete by its length.
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, json) = answer.split_once("\r\n\r\n").expect("a response");
    (
        head.to_owned(),
        serde_json::from_str(json).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_a_client_certificate_which_names_the_caller() {
    let server_ca = TestCa::new("Warden server CA");
    let client_ca = TestCa::new("Warden client CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let issued = server_ca.issue("warden", &["localhost"]);
    let cert = write(dir.path(), "server.crt", &issued.cert);
    let key = write(dir.path(), "server.key", &issued.key);
    let clients = write(dir.path(), "clients.crt", &client_ca.pem());
    // Client certificates authenticate callers: access rules may name them,
    // and serving on every interface needs nothing else.
    let server = TestServer::spawn_process_with(
        &format!(
            "[tls]\ncert_file = \"{cert}\"\nkey_file = \"{key}\"\nclient_ca_file = \"{clients}\"\n\
             [components.files.access]\ncallers = [\"ci-bot\"]\n"
        ),
        &[],
        &["--listen", "0.0.0.0:0"],
    )
    .await;

    let anonymous = connector(&server_ca, None);
    assert!(
        livez(&server, &anonymous).await.is_err(),
        "no client certificate, no connection"
    );

    let stranger_ca = TestCa::new("Someone else");
    let stranger = connector(&server_ca, Some(&stranger_ca.issue("ci-bot", &[])));
    assert!(
        livez(&server, &stranger).await.is_err(),
        "a certificate from another CA is refused"
    );

    let tools_of = |common_name: &'static str| {
        let client = connector(&server_ca, Some(&client_ca.issue(common_name, &[])));
        let server = &server;
        async move {
            let initialized = exchange(
                server,
                &client,
                None,
                json!({"jsonrpc": "2.0", "id": 0,
                "method": "initialize", "params": {"protocolVersion": "2025-11-25",
                "capabilities": {}, "clientInfo": {"name": "tls-test", "version": "0"}}}),
            )
            .await;
            let session = initialized
                .0
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("mcp-session-id").then_some(value)
                })
                .expect("a session id")
                .trim()
                .to_owned();
            let mut names = Vec::new();
            let mut cursor = Value::Null;
            loop {
                let (_, page) = exchange(
                    server,
                    &client,
                    Some(&session),
                    json!({"jsonrpc": "2.0",
                    "id": 1, "method": "tools/list", "params": {"cursor": cursor}}),
                )
                .await;
                for tool in page["result"]["tools"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{page}"))
                {
                    names.push(tool["name"].as_str().expect("name").to_owned());
                }
                cursor = page["result"]["nextCursor"].clone();
                if cursor.is_null() {
                    break names;
                }
            }
        }
    };
    let bot = tools_of("ci-bot").await;
    let other = tools_of("someone").await;
    assert!(bot.contains(&"files.list".to_owned()), "{bot:?}");
    assert!(!other.contains(&"files.list".to_owned()), "{other:?}");
    assert!(other.contains(&"text.count".to_owned()), "{other:?}");
}

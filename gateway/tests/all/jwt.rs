//! JWT bearer tokens with the real binary: keys fetched over HTTPS from an
//! issuer's JWKS endpoint (a test server on loopback), the protected
//! resource metadata, scopes required and scopes in access rules, every
//! kind of bad token refused with its challenge, key rotation, and an
//! unreachable issuer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::KeyPair;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::tls::TestCa;

const ISSUER: &str = "https://issuer.test";
const RESOURCE: &str = "https://mcp.example.com/mcp";
const METADATA_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

/// A signing key of the test issuer.
struct SigningKey {
    kid: &'static str,
    algorithm: Algorithm,
    pair: KeyPair,
}

impl SigningKey {
    fn es256(kid: &'static str) -> Self {
        Self {
            kid,
            algorithm: Algorithm::ES256,
            pair: KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key"),
        }
    }

    fn ed25519(kid: &'static str) -> Self {
        Self {
            kid,
            algorithm: Algorithm::EdDSA,
            pair: KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("Ed25519 key"),
        }
    }

    /// The public key as a JWK.
    fn jwk(&self) -> Value {
        let raw = self.pair.public_key_raw();
        match self.algorithm {
            // An uncompressed point: 0x04, x, y.
            Algorithm::ES256 => json!({
                "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(&raw[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
            }),
            _ => json!({
                "kty": "OKP", "crv": "Ed25519", "kid": self.kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(raw),
            }),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.to_owned());
        let der = self.pair.serialize_der();
        let key = match self.algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_der(&der),
            _ => EncodingKey::from_ed_der(&der),
        };
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Claims of a valid token for `sub` with `scope`.
fn claims(sub: &str, scope: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": RESOURCE, "sub": sub, "scope": scope,
        "iat": now(), "exp": now() + 600,
    })
}

/// The issuer's JWKS endpoint over HTTPS on loopback, serving whatever set
/// the test puts in place, and counting requests.
struct JwksServer {
    addr: SocketAddr,
    set: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(ca: &TestCa, keys: &[&SigningKey]) -> Self {
        let issued = ca.issue("localhost", &["localhost"]);
        let chain = vec![CertificateDer::from_pem_slice(issued.cert.as_bytes()).expect("cert")];
        let key = PrivateKeyDer::from_pem_slice(issued.key.as_bytes()).expect("key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let set = Arc::new(Mutex::new(jwks(keys)));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served_set, counter) = (Arc::clone(&set), Arc::clone(&fetches));
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (set, counter) = (Arc::clone(&served_set), Arc::clone(&counter));
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let (set, counter) = (Arc::clone(&set), Arc::clone(&counter));
                        async move {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let request: hyper::Request<hyper::body::Incoming> = request;
                            let (status, body) = if request.uri().path() == "/jwks.json" {
                                (StatusCode::OK, set.lock().expect("set").to_string())
                            } else {
                                (StatusCode::NOT_FOUND, String::new())
                            };
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            set,
            fetches,
            task,
        }
    }

    fn publish(&self, keys: &[&SigningKey]) {
        *self.set.lock().expect("set") = jwks(keys);
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn jwks(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()})
}

/// `[auth.jwt]` fetching from `jwks_url`, requiring the `mcp` scope; the
/// files component for the `files:read` scope only.
fn jwt_tables(jwks_url: &str, ca_file: &str) -> String {
    format!(
        r#"
[auth.jwt]
resource = "{RESOURCE}"
issuer = "{ISSUER}"
jwks_url = "{jwks_url}"
jwks_ca_file = "{ca_file}"
required_scopes = ["mcp"]

[components.files.access]
scopes = ["files:read"]
"#
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

/// The `WWW-Authenticate` value of a refusal.
fn challenge(reply: &crate::support::Reply) -> String {
    reply.headers["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_issuer_authenticate_and_bad_tokens_are_refused() {
    let ca = TestCa::new("JWKS test CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("issuer-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write CA");
    let first = SigningKey::es256("k1");
    let issuer = JwksServer::start(&ca, &[&first]).await;
    let jwks_url = format!("https://localhost:{}/jwks.json", issuer.addr.port());
    let server =
        TestServer::spawn_process(&jwt_tables(&jwks_url, &ca_file.display().to_string())).await;

    // The metadata, at both forms of its address, with no token.
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let reply = server.send(Method::GET, path, &[], Bytes::new()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let metadata = reply.json();
        assert_eq!(metadata["resource"], json!(RESOURCE));
        assert_eq!(metadata["authorization_servers"], json!([ISSUER]));
        assert_eq!(metadata["scopes_supported"], json!(["files:read", "mcp"]));
        assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    }
    let other = server
        .send(
            Method::GET,
            "/.well-known/oauth-protected-resource/elsewhere",
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    // No token: 401 pointing at the metadata, with the scope to ask for.
    let refused = server.post(&[], PING).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let www = challenge(&refused);
    assert!(
        www.starts_with("Bearer ")
            && www.contains(&format!(r#"resource_metadata="{METADATA_URL}""#))
            && www.contains(r#"scope="mcp""#),
        "{www}"
    );
    assert_eq!(issuer.fetches(), 0, "keys are fetched when first needed");

    // A valid token: a session; tools by scope.
    let alice = first.sign(&claims("alice", "mcp"));
    let session = server
        .session_with_headers("2025-11-25", &[("authorization", &bearer(&alice))])
        .await;
    let tools = server.tool_names(&session).await;
    assert!(tools.contains(&"text.count".to_owned()), "{tools:?}");
    assert!(!tools.iter().any(|t| t.starts_with("files.")), "{tools:?}");
    let reader = first.sign(&claims("reader", "mcp files:read"));
    let reading = server
        .session_with_headers("2025-11-25", &[("authorization", &bearer(&reader))])
        .await;
    let listed = reading.call("files.list", json!({"path": "/data"})).await;
    assert_eq!(listed["isError"], json!(false), "{listed}");
    assert_eq!(issuer.fetches(), 1, "one fetch serves every token");

    // A session is its token subject's: another subject gets 404.
    let bob = first.sign(&claims("bob", "mcp"));
    let stolen = session.with_headers(&[("authorization", &bearer(&bob))]);
    assert_eq!(stolen.ping_status().await, StatusCode::NOT_FOUND);
    assert_eq!(session.ping_status().await, StatusCode::OK);

    // A token without the required scope: 403 insufficient_scope.
    let unscoped = first.sign(&claims("carol", "openid"));
    let refused = server
        .post(&[("authorization", &bearer(&unscoped))], PING)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let www = challenge(&refused);
    assert!(
        www.contains(r#"error="insufficient_scope""#) && www.contains(r#"scope="mcp""#),
        "{www}"
    );

    // Bad tokens: 401 invalid_token, each with its reason.
    let claims_with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims("mallory", "mcp");
        change(&mut claims);
        first.sign(&claims)
    };
    let wrong_audience = claims_with(&|c| c["aud"] = json!("https://other.example.com/mcp"));
    let expired = claims_with(&|c| c["exp"] = json!(now() - 3600));
    let not_yet = claims_with(&|c| c["nbf"] = json!(now() + 3600));
    let wrong_issuer = claims_with(&|c| c["iss"] = json!("https://evil.test"));
    let no_expiry = claims_with(&|c| {
        c.as_object_mut().expect("object").remove("exp");
    });
    let no_subject = claims_with(&|c| {
        c.as_object_mut().expect("object").remove("sub");
    });
    let stranger = SigningKey::es256("k1").sign(&claims("mallory", "mcp"));
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims("mallory", "mcp").to_string())
    );
    // HS256 "signed" with the issuer's public key: the algorithm
    // confusion attack.
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".to_owned());
        let public = first.jwk().to_string();
        jsonwebtoken::encode(
            &header,
            &claims("mallory", "mcp"),
            &EncodingKey::from_secret(public.as_bytes()),
        )
        .expect("sign")
    };
    let tampered = {
        let mut parts: Vec<String> = alice.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(claims("admin", "mcp files:read").to_string());
        parts.join(".")
    };
    let cases = [
        (wrong_audience, "audience is not this server"),
        (expired, "expired"),
        (not_yet, "not valid yet"),
        (wrong_issuer, "another issuer"),
        (no_expiry, "`exp` claim is missing"),
        (no_subject, "`sub` claim is missing"),
        (stranger, "signature is not valid"),
        (alg_none, "algorithm `none` is not accepted"),
        (confused, "algorithm `HS256` is not accepted"),
        (tampered, "signature is not valid"),
        ("a.b.c".to_owned(), "not a valid JWT"),
    ];
    for (token, reason) in cases {
        let refused = server
            .post(&[("authorization", &bearer(&token))], PING)
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{reason}");
        let www = challenge(&refused);
        assert!(
            www.contains(r#"error="invalid_token""#)
                && www.contains(&format!(r#"resource_metadata="{METADATA_URL}""#)),
            "{reason}: {www}"
        );
        let message = refused.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(reason), "{reason}: {message}");
    }

    // Rotation: a token naming a key the cached set lacks fetches the set
    // again, at most once in ten seconds however many such tokens come.
    let second = SigningKey::ed25519("k2");
    let fetches_before = issuer.fetches();
    let early = second.sign(&claims("dave", "mcp"));
    for _ in 0..5 {
        let refused = server
            .post(&[("authorization", &bearer(&early))], PING)
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    assert!(
        issuer.fetches() <= fetches_before + 1,
        "unknown key ids must not make Warden flood the issuer"
    );
    issuer.publish(&[&first, &second]);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let rotated = server
        .session_with_headers("2025-11-25", &[("authorization", &bearer(&early))])
        .await;
    assert_eq!(rotated.ping_status().await, StatusCode::OK);

    let log = server.log();
    assert!(
        !log.contains(&alice) && !log.contains(&reader),
        "tokens leaked into the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_issuer_gets_503_not_401() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let ca = TestCa::new("unused CA");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write CA");
    let server = TestServer::spawn_process(&jwt_tables(
        &format!("https://localhost:{port}/jwks.json"),
        &ca_file.display().to_string(),
    ))
    .await;
    let token = SigningKey::es256("k1").sign(&claims("alice", "mcp"));
    let refused = server
        .post(&[("authorization", &bearer(&token))], PING)
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(
        refused.text().contains("issuer's keys are unavailable"),
        "{}",
        refused.text()
    );
    server
        .wait_for_log("cannot fetch the JWK Set at https://localhost", 1)
        .await;
}

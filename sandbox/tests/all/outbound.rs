//! Outbound HTTP in the sandbox itself: `misbehave.http` against a server
//! on loopback, with what each call's usage and events record, and the
//! failures a request can meet on its way (a closed port, an untrusted
//! certificate, a server that stops sending, an address the grant does not
//! reach).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use warden_sandbox::{
    AllowTarget, CallEvents, Capabilities, HttpAllow, HttpGrant, HttpLimits, LogLevel,
    OutboundOutcome, OutboundRefusal, OutboundRequest, OutboundUsage, Policy, RefusalReason,
    ToolComponent,
};

use super::{misbehave, sandbox};

type Body = BoxBody<Bytes, Infallible>;

/// Serves `/ok` (`fine`), `/big` (100 KiB) and `/stall` (a head, two bytes
/// of a ten-byte body, then nothing) over plain HTTP/1.1.
async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
                    let body: Body = match request.uri().path() {
                        "/ok" => Full::new(Bytes::from_static(b"fine")).boxed(),
                        "/big" => Full::new(Bytes::from(vec![b'x'; 100 << 10])).boxed(),
                        _ => {
                            let first = futures::stream::iter([Ok::<_, Infallible>(Frame::data(
                                Bytes::from_static(b"ab"),
                            ))]);
                            StreamBody::new(futures::StreamExt::chain(
                                first,
                                futures::stream::pending(),
                            ))
                            .boxed()
                        }
                    };
                    let mut response = Response::new(body);
                    if request.uri().path() == "/stall" {
                        response
                            .headers_mut()
                            .insert("content-length", hyper::header::HeaderValue::from(10));
                    }
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A policy whose HTTP grant allows `urls`, with `limits`.
fn granting(urls: &[String], limits: HttpLimits) -> Policy {
    Policy {
        capabilities: Capabilities {
            http: HttpGrant {
                allow: urls
                    .iter()
                    .map(|url| HttpAllow::new(AllowTarget::parse(url).expect("allow URL")))
                    .collect(),
                limits,
            },
            ..Capabilities::default()
        },
        ..Policy::default()
    }
}

/// What the sandbox reported of a call's requests, as they ended.
#[derive(Default)]
struct Seen {
    finished: Mutex<Vec<OutboundRequest>>,
    refused: Mutex<Vec<OutboundRefusal>>,
}

impl CallEvents for Seen {
    fn log(&self, _: &str, _: LogLevel, _: &str) {}
    fn progress(&self, _: &str, _: f64, _: Option<f64>, _: Option<&str>) {}
    fn outbound_finished(&self, _tool: &str, request: &OutboundRequest) {
        self.finished.lock().expect("lock").push(request.clone());
    }
    fn outbound_refused(&self, _tool: &str, refusal: &OutboundRefusal) {
        self.refused.lock().expect("lock").push(refusal.clone());
    }
}

/// Calls `misbehave.http` for `url`, reporting to `events`: its
/// structured result and the call's outbound usage.
async fn fetch(
    component: &ToolComponent,
    url: String,
    events: Arc<dyn CallEvents>,
) -> (Value, OutboundUsage) {
    let output = component
        .call("misbehave.http", &json!({ "url": url }).to_string(), events)
        .await
        .expect("the call itself succeeds");
    let structured = output
        .result
        .structured_content
        .as_deref()
        .expect("structured content");
    let structured: Value = serde_json::from_str(structured).expect("JSON");
    (structured, output.usage.outbound)
}

/// The error of each attempt of a `misbehave.http` result.
fn errors(structured: &Value) -> Vec<Option<String>> {
    structured["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|attempt| attempt["error"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_counted_reported_and_bounded() {
    let addr = serve().await;
    let base = format!("http://{addr}");
    let policy = granting(
        &[
            format!("{base}/"),
            format!("http://localhost:{}/", addr.port()),
        ],
        HttpLimits {
            max_response_bytes: 64 << 10,
            first_byte_timeout_ms: 300,
            ..HttpLimits::DEFAULT
        },
    );
    let sandbox = sandbox(false);
    let component = misbehave(&sandbox, policy).await;
    let seen = Arc::new(Seen::default());
    let call = |url: String| fetch(&component, url, seen.clone());

    let (ok, usage) = call(format!("{base}/ok")).await;
    assert_eq!(ok["attempts"][0]["body"], json!("fine"), "{ok}");
    assert_eq!(usage.requests.len(), 1);
    let request = &usage.requests[0];
    assert_eq!(request.outcome, OutboundOutcome::Status(200));
    assert_eq!(request.bytes_received, 4);
    assert_eq!(&*request.grant, format!("{base}/"));
    assert!(request.latency.is_some());

    let (big, usage) = call(format!("{base}/big")).await;
    assert!(
        errors(&big)[0]
            .as_deref()
            .is_some_and(|error| error.contains("65536")),
        "{big}"
    );
    assert!(matches!(
        usage.requests[0].outcome,
        OutboundOutcome::Failed(_)
    ));
    assert!(usage.requests[0].bytes_received <= 64 << 10);

    let (stalled, _) = call(format!("{base}/stall")).await;
    assert!(errors(&stalled)[0].is_some(), "{stalled}");

    let (named, usage) = call(format!("http://localhost:{}/ok", addr.port())).await;
    assert!(
        errors(&named)[0]
            .as_deref()
            .is_some_and(|error| error.contains("internal addresses")),
        "{named}"
    );
    assert!(matches!(
        usage.refusals[0].reason,
        RefusalReason::InternalAddress(_)
    ));

    let (denied, usage) = call("http://127.0.0.2/ok".to_owned()).await;
    assert!(
        errors(&denied)[0]
            .as_deref()
            .is_some_and(|error| error.contains("not allowed")),
        "{denied}"
    );
    assert_eq!(usage.refusals[0].reason, RefusalReason::NotAllowed);
    assert_eq!(usage.refusals[0].url, "http://127.0.0.2/ok");

    let finished = seen.finished.lock().expect("lock").len();
    assert_eq!(
        finished, 3,
        "ok, big and stall ended; the refused never started"
    );
    let refused = seen.refused.lock().expect("lock").len();
    assert_eq!(refused, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_and_an_untrusted_certificate_fail_the_request_only() {
    // A port nothing listens on: bound, then closed.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    // A TLS server whose certificate no public root signed.
    let tls = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let tls_addr = tls.local_addr().expect("addr");
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![certified.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        while let Ok((stream, _)) = tls.accept().await {
            let _ = acceptor.accept(stream).await;
        }
    });

    let policy = granting(
        &[format!("http://{closed}/"), format!("https://{tls_addr}/")],
        HttpLimits::DEFAULT,
    );
    let sandbox = sandbox(false);
    let component = misbehave(&sandbox, policy).await;
    for (url, expected) in [
        (format!("http://{closed}/x"), "refused"),
        (format!("https://{tls_addr}/x"), "not trusted"),
    ] {
        let (structured, usage) = fetch(&component, url.clone(), Arc::new(Seen::default())).await;
        assert!(
            errors(&structured)[0]
                .as_deref()
                .is_some_and(|error| error.contains(expected)),
            "{url}: {structured}"
        );
        assert!(matches!(
            usage.requests[0].outcome,
            OutboundOutcome::Failed(_)
        ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_on_the_network_spends_no_fuel() {
    let addr = serve().await;
    let mut policy = granting(
        &[format!("http://{addr}/")],
        HttpLimits {
            first_byte_timeout_ms: 400,
            ..HttpLimits::DEFAULT
        },
    );
    policy.limits.fuel = Some(200_000_000);
    let sandbox = sandbox(true);
    let component = misbehave(&sandbox, policy).await;
    let started = std::time::Instant::now();
    let output = component
        .call(
            "misbehave.http",
            &json!({ "url": format!("http://{addr}/stall") }).to_string(),
            Arc::new(Seen::default()),
        )
        .await
        .expect("the wait ends the request, not the call");
    assert!(started.elapsed() >= std::time::Duration::from_millis(400));
    let fuel = output.usage.fuel_consumed.expect("fuel is metered");
    assert!(
        fuel < 200_000_000,
        "a 400 ms wait cost {fuel} fuel, as much as the whole budget"
    );
}

//! OpenTelemetry export: the real binary posts its spans over OTLP/HTTP to a
//! collector on loopback, continuing the caller's trace.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message as _;
use serde_json::json;
use tokio::net::TcpListener;

use super::support::TestServer;

/// A span as received, with the service that sent it.
#[derive(Debug, Clone)]
struct Received {
    service: Option<String>,
    span: Span,
}

/// An OTLP/HTTP traces receiver keeping every span it is sent.
struct Collector {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<Received>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (kept, seen) = (Arc::clone(&spans), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (kept, seen) = (Arc::clone(&kept), Arc::clone(&seen));
                let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                    let (kept, seen) = (Arc::clone(&kept), Arc::clone(&seen));
                    async move { Ok::<_, Infallible>(receive(request, &kept, &seen).await) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self {
            addr,
            spans,
            requests,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().expect("spans").clone()
    }
}

async fn receive(
    request: Request<Incoming>,
    kept: &Mutex<Vec<Received>>,
    seen: &Mutex<Vec<String>>,
) -> Response<Full<Bytes>> {
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    seen.lock().expect("requests").push(format!(
        "{} {} {content_type}",
        request.method(),
        request.uri().path()
    ));
    let body = request
        .into_body()
        .collect()
        .await
        .expect("read export body")
        .to_bytes();
    let export = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
    let mut kept = kept.lock().expect("spans");
    for resource_spans in export.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|resource| string_attribute(&resource.attributes, "service.name"));
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                kept.push(Received {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    let mut reply = Response::new(Full::new(Bytes::new()));
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-protobuf"),
    );
    reply
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| match &attribute.value {
            Some(AnyValue {
                value: Some(any_value::Value::StringValue(text)),
            }) => Some(text.clone()),
            _ => None,
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_reach_the_collector_and_continue_the_callers_trace() {
    let collector = Collector::start().await;
    let mut server = TestServer::spawn_process(&format!(
        "\n[tracing]\notlp_endpoint = \"{}\"\nservice_name = \"warden-under-test\"\n",
        collector.endpoint()
    ))
    .await;
    let session = server.session().await;
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let caller_span = "b7ad6b7169203331";
    let reply = server
        .post(
            &[
                ("mcp-session-id", &session.id),
                ("traceparent", &format!("00-{trace_id}-{caller_span}-01")),
            ],
            json!({
                "jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "text.count", "arguments": {"text": "one two"}}
            })
            .to_string(),
        )
        .await;
    assert_eq!(reply.status, hyper::StatusCode::OK, "{}", reply.text());
    // Without a traceparent the call starts a trace of its own.
    session
        .call("text.count", json!({"text": "untraced"}))
        .await;
    session
        .call("misbehave.panic", json!({"message": "traced failure"}))
        .await;

    // The batch is sent at the latest when the process stops.
    server.signal("TERM");
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));

    let spans = collector.spans();
    let requests = collector.requests.lock().expect("requests").clone();
    assert!(
        requests
            .iter()
            .all(|request| request == "POST /v1/traces application/x-protobuf"),
        "{requests:?}"
    );
    assert!(
        spans
            .iter()
            .all(|received| received.service.as_deref() == Some("warden-under-test")),
        "{spans:?}"
    );
    let in_trace: Vec<&Span> = spans
        .iter()
        .map(|received| &received.span)
        .filter(|span| hex(&span.trace_id) == trace_id)
        .collect();
    let request = in_trace
        .iter()
        .find(|span| span.name == "mcp")
        .unwrap_or_else(|| panic!("no `mcp` span in the caller's trace: {spans:?}"));
    assert_eq!(
        hex(&request.parent_span_id),
        caller_span,
        "the request's span is a child of the caller's"
    );
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(
        string_attribute(&request.attributes, "method").as_deref(),
        Some("tools/call")
    );
    let call = in_trace
        .iter()
        .find(|span| span.name == "tool_call")
        .unwrap_or_else(|| panic!("no `tool_call` span in the caller's trace: {spans:?}"));
    assert_eq!(call.parent_span_id, request.span_id);
    assert_eq!(
        string_attribute(&call.attributes, "tool").as_deref(),
        Some("text.count")
    );
    assert_eq!(
        string_attribute(&call.attributes, "outcome").as_deref(),
        Some("ok")
    );
    assert!(call.end_time_unix_nano >= call.start_time_unix_nano);
    assert_ne!(
        call.status.as_ref().map(|status| status.code),
        Some(StatusCode::Error as i32)
    );

    let failed = spans
        .iter()
        .map(|received| &received.span)
        .find(|span| {
            span.name == "tool_call"
                && string_attribute(&span.attributes, "tool").as_deref() == Some("misbehave.panic")
        })
        .unwrap_or_else(|| panic!("no span for the failed call: {spans:?}"));
    assert_eq!(
        string_attribute(&failed.attributes, "reason").as_deref(),
        Some("trap")
    );
    assert_eq!(
        failed.status.as_ref().map(|status| status.code),
        Some(StatusCode::Error as i32),
        "a failed call is an error span"
    );

    let other_traces = spans
        .iter()
        .filter(|received| {
            received.span.name == "tool_call" && hex(&received.span.trace_id) != trace_id
        })
        .map(|received| hex(&received.span.trace_id))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert_eq!(other_traces, 2, "each untraced call has a trace of its own");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_collector_costs_no_call_and_no_shutdown() {
    // A port that was just free: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let mut server = TestServer::spawn_process(&format!(
        "\n[tracing]\notlp_endpoint = \"http://{closed}\"\notlp_timeout_ms = 500\n"
    ))
    .await;
    let session = server.session().await;
    for _ in 0..3 {
        let result = session.call("text.count", json!({"text": "a b c"})).await;
        assert_eq!(result["structuredContent"]["words"], 3, "{result}");
    }
    server.signal("TERM");
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_of_outbound_calls_carry_no_injected_secret() {
    const SECRET: &str = "otlp-secret-7f3a9c2e1b";
    let collector = Collector::start().await;
    let upstream = crate::upstream::Upstream::start().await;
    let port = upstream.plain.port();
    let grant = format!(
        "\n[components.misbehave.capabilities.http]\n\
         allow = [{{ url = \"http://127.0.0.1:{port}/\", headers = {{ Authorization = \"${{env:WARDEN_TEST_OTLP_SECRET}}\" }} }}]\n"
    );
    let mut server = TestServer::spawn_edited_process(
        &format!(
            "\n[tracing]\notlp_endpoint = \"{}\"\n",
            collector.endpoint()
        ),
        |config| config + &grant,
        &[("WARDEN_TEST_OTLP_SECRET", SECRET)],
        &[],
    )
    .await;
    let session = server.session().await;
    let result = session
        .call(
            "misbehave.http",
            json!({"url": format!("http://127.0.0.1:{port}/hello"), "headers": {"x-a": "b"}}),
        )
        .await;
    assert_eq!(result["isError"], json!(false), "{result}");
    assert_eq!(
        upstream.seen_at("/hello")[0].header("authorization"),
        Some(SECRET)
    );
    server.signal("TERM");
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));
    let spans = collector.spans();
    assert!(
        spans
            .iter()
            .any(|received| received.span.name == "tool_call"),
        "{spans:?}"
    );
    let exported = format!("{spans:?}");
    assert!(!exported.contains(SECRET), "a span carries the secret");
    assert!(!server.log().contains(SECRET));
}

//! OpenTelemetry span export over OTLP/HTTP (protobuf), behind the `otlp`
//! feature and switched on by `[tracing] otlp_endpoint`.
//!
//! The `tracing` spans Warden already opens (`mcp` per request, `tool_call`
//! per call) become OpenTelemetry spans through `tracing-opentelemetry`; a
//! request's `traceparent` header makes its `mcp` span a child of the
//! caller's span. Finished spans are batched on the SDK's own thread and
//! posted with hyper on the server's runtime.

use std::time::Duration;

use bytes::Bytes;
use hyper::{Request, Response};
use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, hyper::HyperClient};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::config::OtlpConfig;

/// The exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up OTLP span export to {endpoint}: {reason}")]
pub struct OtlpError {
    endpoint: String,
    reason: String,
}

/// The tracer provider; shutting it down exports the spans still queued.
pub struct OtlpExport {
    provider: SdkTracerProvider,
}

impl OtlpExport {
    /// Builds the exporter and the `tracing` layer feeding it. Must run on
    /// the Tokio runtime that will carry the export requests.
    pub fn start<S>(config: &OtlpConfig) -> Result<(Self, impl Layer<S>), OtlpError>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        let failed = |reason: String| OtlpError {
            endpoint: config.endpoint.clone(),
            reason,
        };
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| failed(format!("no Tokio runtime to send spans on: {error}")))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let client = RuntimeClient {
            inner: HyperClient::with_default_connector(timeout, None),
            runtime,
        };
        // The standard OTEL_EXPORTER_OTLP_* variables still apply (headers
        // for a collector's API key, a traces endpoint overriding this one).
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(&config.endpoint)
            .with_timeout(timeout)
            .build()
            .map_err(|error| failed(error.to_string()))?;
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                config.sample_ratio.as_f64(),
            ))))
            .with_resource(resource)
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("warden"));
        Ok((Self { provider }, layer))
    }

    /// Exports the spans still queued and stops the exporter. Blocks until
    /// done or the export timeout passed.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            tracing::warn!(%error, "the last spans could not be exported");
        }
    }
}

/// Makes `span` a child of the caller's span named by a W3C `traceparent`
/// (and `tracestate`) header, so the caller's trace continues into Warden.
pub fn continue_remote_trace(span: &tracing::Span, traceparent: &str, tracestate: Option<&str>) {
    let mut carrier = std::collections::HashMap::with_capacity(2);
    carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    if let Some(tracestate) = tracestate {
        carrier.insert("tracestate".to_owned(), tracestate.to_owned());
    }
    let parent = TraceContextPropagator::new().extract(&carrier);
    // Fails only when no OpenTelemetry layer is installed: nothing to link.
    let _ = span.set_parent(parent);
}

/// Hyper's client needs a Tokio runtime, and the SDK's batch processor runs
/// its exports on a plain thread: each request is spawned on the server's
/// runtime and awaited from there.
#[derive(Debug, Clone)]
struct RuntimeClient {
    inner: HyperClient,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.inner.clone();
        match self
            .runtime
            .spawn(async move { client.send_bytes(request).await })
            .await
        {
            Ok(sent) => sent,
            Err(stopped) => Err(Box::new(stopped)),
        }
    }
}

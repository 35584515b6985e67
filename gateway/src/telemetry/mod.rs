//! Telemetry: logging set-up (readable lines by default, JSON for log
//! pipelines), optional OpenTelemetry span export, and Prometheus metrics.

pub mod cluster_metrics;
mod log_writer;
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod outbound_metrics;

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{LogFormat, TracingConfig};

/// Telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `[tracing] otlp_endpoint` is set in a binary built without the
    /// `otlp` feature.
    #[error(
        "tracing.otlp_endpoint is set, but this warden was built without the `otlp` feature; \
         rebuild with default features or remove the key"
    )]
    OtlpNotBuilt,
    /// The OTLP exporter could not be built.
    #[cfg(feature = "otlp")]
    #[error(transparent)]
    Otlp(#[from] otlp::OtlpError),
}

/// What must outlive serving: the log writer and the span exporter, both
/// flushed by [`shutdown`].
///
/// [`shutdown`]: Telemetry::shutdown
#[must_use = "dropping it early loses queued log lines and the final span export"]
pub struct Telemetry {
    /// Dropping it writes out the buffered lines and stops the log thread.
    log_writer: log_writer::FlushGuard,
    #[cfg(feature = "otlp")]
    otlp: Option<otlp::OtlpExport>,
}

impl Telemetry {
    /// Exports the spans still queued and writes out the log lines still
    /// buffered. Call it last, on the runtime.
    pub async fn shutdown(self) {
        #[cfg(feature = "otlp")]
        if let Some(export) = self.otlp {
            // The SDK blocks while its thread posts the last batch, which
            // needs this runtime's workers free.
            let _ = tokio::task::spawn_blocking(move || export.shutdown()).await;
        }
        self.log_writer.finish();
    }
}

/// Installs the global subscriber writing to stderr, plus span export when
/// `tracing` asks for it (which needs a Tokio runtime). `RUST_LOG` overrides
/// the default filter (`info`). Does nothing if a subscriber is already
/// installed.
pub fn init(format: LogFormat, tracing: &TracingConfig) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, log_writer) = log_writer::stderr();
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines.json().flatten_event(true).boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(lines);

    #[cfg(feature = "otlp")]
    {
        let Some(config) = &tracing.otlp else {
            // A second initialisation (tests, embedding) keeps the first.
            let _ = registry.try_init();
            return Ok(Telemetry {
                log_writer,
                otlp: None,
            });
        };
        let (export, spans) = otlp::OtlpExport::start(config)?;
        let _ = registry.with(spans).try_init();
        tracing::info!(endpoint = %config.endpoint, "exporting spans over OTLP");
        Ok(Telemetry {
            log_writer,
            otlp: Some(export),
        })
    }
    #[cfg(not(feature = "otlp"))]
    {
        if tracing.otlp.is_some() {
            return Err(TelemetryError::OtlpNotBuilt);
        }
        let _ = registry.try_init();
        Ok(Telemetry { log_writer })
    }
}

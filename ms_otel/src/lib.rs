//! OpenTelemetry export for ms_runtime services and the reference gateway,
//! used by their `otel` feature.
//!
//! [`Telemetry::from_env`] sets up OTLP/HTTP (protobuf) export from the
//! standard `OTEL_*` variables; with no endpoint configured, or with
//! `OTEL_SDK_DISABLED=true`, it records nothing and every [`HopSpan`] only
//! carries the trace on, unchanged.
//!
//! Spans are parented explicitly, never through OpenTelemetry's
//! thread-local current context: actix runs many tasks on one thread, and a
//! context entered before an `.await` would leak into whatever task runs
//! next. A hop keeps its [`HopSpan`] beside the message it handles, and
//! what that message causes names it as [`Parent::Span`].
//!
//! ```
//! use ms_otel::{HopSpan, Parent, SpanKind, Telemetry};
//! use ms_protocol::{Headers, IncomingTrace};
//!
//! let telemetry = Telemetry::disabled();
//! let mut headers = Headers::new();
//! headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! let incoming = IncomingTrace::read(&headers);
//! let handling = telemetry.start("ocr extract", SpanKind::Server, Parent::Incoming(&incoming), vec![]);
//! let call = telemetry.start("tagger tag", SpanKind::Client, Parent::Span(&handling), vec![]);
//! // not recording: the received traceparent travels on unchanged
//! assert_eq!(call.traceparent(), incoming.parent);
//! call.end();
//! handling.end();
//! ```

use std::time::Duration;

use ms_protocol::{IncomingTrace, SpanId, TraceId, TraceOrigin, TraceParent};
use opentelemetry::trace::{
    self as otel, Span as _, SpanBuilder, Status, TraceContextExt as _, Tracer as _,
    TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

pub use opentelemetry::KeyValue;
pub use opentelemetry::trace::SpanKind;

/// How long [`Telemetry::shutdown`] waits for the last spans to be sent.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why export could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtelError {
    /// The OTLP exporter refused its settings (endpoint, headers, protocol).
    #[error("cannot set up the OTLP span exporter")]
    Exporter(#[source] opentelemetry_otlp::ExporterBuildError),
}

/// The span recorder of one service or gateway: cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    /// `None`: nothing is recorded (no endpoint, or the SDK is disabled).
    export: Option<(SdkTracerProvider, SdkTracer)>,
}

/// What a new span's parent is.
#[derive(Debug, Clone, Copy)]
pub enum Parent<'a> {
    /// The trace that came with a message or an HTTP request.
    Incoming(&'a IncomingTrace),
    /// A span of this process: the handling span for an outgoing call.
    Span(&'a HopSpan),
}

/// One span of a hop, or only its trace when nothing is recorded. Ends when
/// [`end`](Self::end) is called or it is dropped.
#[derive(Debug)]
pub struct HopSpan {
    /// Holds the recording span (if any) so children can name it as parent.
    context: opentelemetry::Context,
    /// What this hop sends on as `traceparent`.
    traceparent: TraceParent,
}

impl Telemetry {
    /// Export as the `OTEL_*` variables say: spans go over OTLP/HTTP to
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (plus `/v1/traces`); the resource comes from `OTEL_SERVICE_NAME` (else
    /// `service_name`) and `OTEL_RESOURCE_ATTRIBUTES`, plus `attributes`.
    /// Neither endpoint set, `OTEL_SDK_DISABLED=true` or
    /// `OTEL_TRACES_EXPORTER=none`: disabled.
    ///
    /// # Errors
    /// [`OtelError::Exporter`] when the exporter refuses its settings.
    pub fn from_env(service_name: &str, attributes: Vec<KeyValue>) -> Result<Self, OtelError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if disabled || endpoint.is_none() {
            return Ok(Self::disabled());
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(OtelError::Exporter)?;
        let mut resource = Resource::builder().with_attributes(attributes);
        let named_in_env = var("OTEL_SERVICE_NAME").is_some()
            || var("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|v| v.contains("service.name="));
        if !named_in_env {
            resource = resource.with_service_name(service_name.to_owned());
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
        Ok(Self {
            export: Some((provider, tracer)),
        })
    }

    /// Records nothing; spans only carry the trace on.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether spans are recorded and exported.
    pub fn is_enabled(&self) -> bool {
        self.export.is_some()
    }

    /// Starts a span named `name` under `parent`.
    ///
    /// A received trace that started here ([`TraceOrigin::Started`]) gives a
    /// root span; a legacy trace id keeps its trace id under a made-up
    /// parent. Not recording, the span's [`traceparent`](HopSpan::traceparent)
    /// is its parent's: the trace travels on unchanged.
    pub fn start(
        &self,
        name: impl Into<String>,
        kind: SpanKind,
        parent: Parent<'_>,
        attributes: Vec<KeyValue>,
    ) -> HopSpan {
        let (parent_context, parent_trace) = match parent {
            Parent::Span(span) => (span.context.clone(), span.traceparent),
            Parent::Incoming(incoming) => {
                let context = match incoming.origin {
                    TraceOrigin::Started => opentelemetry::Context::new(),
                    TraceOrigin::Traceparent | TraceOrigin::LegacyTraceId => {
                        remote_context(incoming)
                    }
                };
                (context, incoming.parent)
            }
        };
        let Some((_, tracer)) = &self.export else {
            return HopSpan {
                context: parent_context,
                traceparent: parent_trace,
            };
        };
        let builder = SpanBuilder::from_name(name.into())
            .with_kind(kind)
            .with_attributes(attributes);
        let span = tracer.build_with_context(builder, &parent_context);
        let own = span.span_context();
        let traceparent = TraceParent {
            trace_id: TraceId(own.trace_id().to_bytes()),
            parent_id: SpanId(own.span_id().to_bytes()),
            flags: own.trace_flags().to_u8() | (parent_trace.flags & TraceParent::RANDOM_TRACE_ID),
        };
        HopSpan {
            context: parent_context.with_span(span),
            traceparent,
        }
    }

    /// Sends what is buffered and stops export, waiting at most
    /// [`SHUTDOWN_TIMEOUT`]. Spans ended afterwards are dropped.
    pub fn shutdown(&self) {
        if let Some((provider, _)) = &self.export {
            // best effort at exit: an unreachable collector must not hang shutdown
            let _ = provider.force_flush();
            let _ = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
        }
    }
}

impl HopSpan {
    /// The `traceparent` this hop sends on: its own span, or the received
    /// parent when nothing is recorded.
    pub fn traceparent(&self) -> TraceParent {
        self.traceparent
    }

    /// Adds an attribute (no-op when not recording).
    pub fn set_attribute(&self, attribute: KeyValue) {
        self.context.span().set_attribute(attribute);
    }

    /// Marks the span failed: status error with `message`, and the
    /// `error.type` attribute set to `error_type`.
    pub fn fail(&self, error_type: &str, message: &str) {
        let span = self.context.span();
        span.set_attribute(KeyValue::new("error.type", error_type.to_owned()));
        span.set_status(Status::error(message.to_owned()));
    }

    /// Ends the span now.
    pub fn end(self) {
        // Drop ends it
    }
}

impl Drop for HopSpan {
    fn drop(&mut self) {
        // ends only a span this HopSpan started: a pass-through one holds its
        // parent's context, whose span is ended by its own HopSpan
        if self.context.span().span_context().span_id().to_bytes() == self.traceparent.parent_id.0
            && self.context.span().is_recording()
        {
            self.context.span().end();
        }
    }
}

/// The received trace as a remote parent.
fn remote_context(incoming: &IncomingTrace) -> opentelemetry::Context {
    let state = incoming
        .state
        .as_deref()
        .and_then(|s| s.parse::<otel::TraceState>().ok())
        .unwrap_or_default();
    let remote = otel::SpanContext::new(
        otel::TraceId::from_bytes(incoming.parent.trace_id.0),
        otel::SpanId::from_bytes(incoming.parent.parent_id.0),
        otel::TraceFlags::new(incoming.parent.flags & TraceParent::SAMPLED),
        true,
        state,
    );
    opentelemetry::Context::new().with_remote_span_context(remote)
}

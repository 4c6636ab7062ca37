//! W3C trace context per message: read from the headers, recorded as spans
//! when the `otel` feature exports them, and sent on with every message a
//! handler causes. `docs/tracing.md` describes the model.
//!
//! Spans are parented explicitly: a handler's span lives in its
//! [`Context`](crate::Context), and calls made through that context name it
//! as their parent. Nothing relies on a thread-local current span, which
//! would leak between the many tasks actix runs on one thread.

use crate::protocol::{ErrorCode, Headers, IncomingTrace, TraceParent};

#[cfg(feature = "otel")]
use ms_otel::{KeyValue, Parent, SpanKind};

/// Value of `rpc.system` and `messaging.system` on every span.
#[cfg(feature = "otel")]
const SYSTEM: &str = "ms_protocol";

/// The span recorder of one service (only the trace propagation without the
/// `otel` feature). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracer {
    /// This service's name: `rpc.service` of the handling spans.
    #[cfg(feature = "otel")]
    service: String,
    #[cfg(feature = "otel")]
    telemetry: ms_otel::Telemetry,
}

/// The trace of one message and the span of this hop.
#[derive(Debug)]
pub(crate) struct MessageTrace {
    incoming: IncomingTrace,
    span: Span,
}

#[cfg(feature = "otel")]
type Span = ms_otel::HopSpan;

/// Without the `otel` feature a span records nothing: it only names the
/// `traceparent` that travels on, the received one, unchanged (W3C: a
/// participant that records no span of its own passes its parent on).
#[cfg(not(feature = "otel"))]
#[derive(Debug)]
pub(crate) struct Span(TraceParent);

#[cfg(not(feature = "otel"))]
impl Span {
    fn traceparent(&self) -> TraceParent {
        self.0
    }
}

/// What a handler was given.
// without `otel` the names are not recorded anywhere
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Handled<'a> {
    /// A request on `route`.
    Request { route: &'a str },
    /// An event on `topic`.
    Event { topic: &'a str },
}

impl Tracer {
    /// Export as the `OTEL_*` variables say (feature `otel`); a setup error
    /// is logged and tracing stays off: it must never stop a service.
    pub(crate) fn from_env(service: &str, log: &slog::Logger) -> Self {
        #[cfg(feature = "otel")]
        let telemetry = ms_otel::Telemetry::from_env(service, Vec::new()).unwrap_or_else(|e| {
            slog::error!(log, "OpenTelemetry export is off: its settings are unusable"; "error" => %e);
            ms_otel::Telemetry::disabled()
        });
        #[cfg(feature = "otel")]
        if telemetry.is_enabled() {
            slog::info!(log, "exporting spans over OTLP/HTTP");
        }
        #[cfg(not(feature = "otel"))]
        let _ = (service, log);
        Self {
            #[cfg(feature = "otel")]
            service: service.to_owned(),
            #[cfg(feature = "otel")]
            telemetry,
        }
    }

    /// Reads the trace of a delivered message, starts its handling span
    /// (SERVER for a request, CONSUMER for an event) and rewrites `headers`
    /// to the trace as this hop sends it on: `traceparent` naming the
    /// handling span, `trace_id` derived from it (or the legacy string).
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub(crate) fn handling(
        &self,
        handled: Handled<'_>,
        id: &str,
        headers: &mut Headers,
    ) -> MessageTrace {
        let incoming = IncomingTrace::read(headers);
        #[cfg(feature = "otel")]
        let span = {
            let (name, kind, mut attributes) = match handled {
                Handled::Request { route } => (
                    format!("{}/{route}", self.service),
                    SpanKind::Server,
                    vec![
                        KeyValue::new("rpc.system", SYSTEM),
                        KeyValue::new("rpc.service", self.service.clone()),
                        KeyValue::new("rpc.method", route.to_owned()),
                    ],
                ),
                Handled::Event { topic } => (
                    format!("process {topic}"),
                    SpanKind::Consumer,
                    vec![
                        KeyValue::new("messaging.system", SYSTEM),
                        KeyValue::new("messaging.operation.type", "process"),
                        KeyValue::new("messaging.destination.name", topic.to_owned()),
                    ],
                ),
            };
            attributes.push(KeyValue::new("messaging.message.id", id.to_owned()));
            self.telemetry
                .start(name, kind, Parent::Incoming(&incoming), attributes)
        };
        #[cfg(not(feature = "otel"))]
        let span = Span(incoming.parent);
        incoming.write(headers, &span.traceparent());
        MessageTrace { incoming, span }
    }

    /// Starts the span of an outgoing request (CLIENT) under `parent`'s
    /// handling span, and writes the trace `headers` carry.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub(crate) fn call(
        &self,
        parent: &MessageTrace,
        service: &str,
        route: &str,
        headers: &mut Headers,
    ) -> MessageTrace {
        #[cfg(feature = "otel")]
        let span = self.telemetry.start(
            format!("{service}/{route}"),
            SpanKind::Client,
            Parent::Span(&parent.span),
            vec![
                KeyValue::new("rpc.system", SYSTEM),
                KeyValue::new("rpc.service", service.to_owned()),
                KeyValue::new("rpc.method", route.to_owned()),
            ],
        );
        #[cfg(not(feature = "otel"))]
        let span = Span(parent.span.traceparent());
        parent.incoming.write(headers, &span.traceparent());
        MessageTrace {
            incoming: parent.incoming.clone(),
            span,
        }
    }

    /// Starts the span of a published event (PRODUCER) under `parent`'s
    /// handling span, and writes the trace `headers` carry.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub(crate) fn publish(
        &self,
        parent: &MessageTrace,
        topic: &str,
        headers: &mut Headers,
    ) -> MessageTrace {
        #[cfg(feature = "otel")]
        let span = self.telemetry.start(
            format!("send {topic}"),
            SpanKind::Producer,
            Parent::Span(&parent.span),
            vec![
                KeyValue::new("messaging.system", SYSTEM),
                KeyValue::new("messaging.operation.type", "send"),
                KeyValue::new("messaging.destination.name", topic.to_owned()),
            ],
        );
        #[cfg(not(feature = "otel"))]
        let span = Span(parent.span.traceparent());
        parent.incoming.write(headers, &span.traceparent());
        MessageTrace {
            incoming: parent.incoming.clone(),
            span,
        }
    }

    /// Sends the buffered spans and stops export (graceful shutdown).
    pub(crate) async fn shutdown(&self) {
        #[cfg(feature = "otel")]
        {
            let telemetry = self.telemetry.clone();
            // waits for the exporter's thread: off the actix threads
            let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
        }
    }
}

impl MessageTrace {
    /// The `traceparent` this hop sends on.
    pub(crate) fn traceparent(&self) -> TraceParent {
        self.span.traceparent()
    }

    /// Marks the span failed with the protocol's error code as `error.type`.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub(crate) fn fail(&self, code: &ErrorCode, message: &str) {
        #[cfg(feature = "otel")]
        self.span.fail(&code.to_string(), message);
    }
}

#[cfg(all(test, not(feature = "otel")))]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn without_otel_the_received_traceparent_travels_on_unchanged() {
        let tracer = Tracer::default();
        let mut headers: Headers = [("traceparent", GOOD), ("trace_id", "order-7")]
            .into_iter()
            .collect();
        let trace = tracer.handling(Handled::Request { route: "r" }, "m1", &mut headers);
        assert_eq!(headers.get("traceparent"), Some(GOOD));
        assert_eq!(
            headers.trace_id(),
            Some("order-7"),
            "a legacy label is kept"
        );
        let mut call = Headers::new();
        tracer.call(&trace, "back", "work", &mut call);
        assert_eq!(call.get("traceparent"), Some(GOOD));
        assert_eq!(call.trace_id(), Some("order-7"));
        let mut event = Headers::new();
        tracer.publish(&trace, "topic", &mut event);
        assert_eq!(event.get("traceparent"), Some(GOOD));
    }

    #[test]
    fn a_malformed_traceparent_starts_a_trace_and_derives_trace_id() {
        let tracer = Tracer::default();
        let mut headers: Headers = [("traceparent", "00-garbage")].into_iter().collect();
        let trace = tracer.handling(Handled::Event { topic: "t" }, "m1", &mut headers);
        let parent = headers
            .traceparent()
            .unwrap_or_else(|| panic!("well formed: {headers:?}"));
        assert_eq!(
            headers.trace_id(),
            Some(parent.trace_id.to_string().as_str())
        );
        assert_eq!(trace.traceparent(), parent);
    }
}

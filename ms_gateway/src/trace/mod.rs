//! W3C trace context through the gateway, and its spans (feature `otel`).
//!
//! Every request and event that enters carries a well-formed `traceparent`
//! when it leaves: a malformed or oversized one is replaced by a new trace,
//! never echoed. With the `otel` feature and an OTLP endpoint configured, the
//! gateway records a span at the HTTP edge ([`EdgeTrace`]) and one per
//! request routed between services (the gateway hop), and sends on its own
//! span as the parent. Without it, the received `traceparent` travels on
//! unchanged. `docs/tracing.md` describes the model.

mod edge;

pub use edge::EdgeTrace;

use ms_protocol::{Body, Envelope, IncomingTrace};

#[cfg(feature = "otel")]
use std::collections::HashMap;
#[cfg(feature = "otel")]
use std::sync::Mutex;

#[cfg(feature = "otel")]
use ms_otel::{HopSpan, KeyValue, Parent, SpanKind};
#[cfg(feature = "otel")]
use ms_protocol::MessageId;

use crate::router::ConnId;

/// Most gateway-hop spans open at once; past it a request is routed with
/// its trace sanitised but no span of its own (nothing is refused).
#[cfg(feature = "otel")]
pub const MAX_OPEN_HOPS: usize = 65_536;

/// Value of `rpc.system` / `messaging.system` on the gateway's spans.
#[cfg(feature = "otel")]
const SYSTEM: &str = "ms_protocol";

/// The gateway's span recorder and trace sanitiser; one per gateway.
#[derive(Debug, Default)]
pub struct GatewayTracer {
    #[cfg(feature = "otel")]
    telemetry: ms_otel::Telemetry,
    /// Open gateway-hop spans by (requesting connection, request id), with
    /// when they started (ms); bounded by [`MAX_OPEN_HOPS`], swept by age.
    #[cfg(feature = "otel")]
    hops: Mutex<HashMap<(ConnId, MessageId), (HopSpan, u64)>>,
    /// Oldest a hop span may get before the sweep ends it unanswered, ms.
    #[cfg(feature = "otel")]
    max_age_ms: u64,
    /// When the last sweep ran (ms): sweeps run at most once a second.
    #[cfg(feature = "otel")]
    last_sweep_ms: std::sync::atomic::AtomicU64,
}

/// Least time between two sweeps of the open hop spans, ms.
#[cfg(feature = "otel")]
const SWEEP_EVERY_MS: u64 = 1_000;

impl GatewayTracer {
    /// Export as the `OTEL_*` variables say (feature `otel`; service name
    /// `ms-gateway` unless `OTEL_SERVICE_NAME` says otherwise); a setup error
    /// is logged and tracing stays off. Hop spans unanswered after
    /// `max_age_ms` are ended by [`sweep`](Self::sweep).
    pub fn from_env(log: &slog::Logger, max_age_ms: u64) -> Self {
        #[cfg(feature = "otel")]
        {
            let telemetry = ms_otel::Telemetry::from_env("ms-gateway", Vec::new())
                .unwrap_or_else(|e| {
                    slog::error!(log, "OpenTelemetry export is off: its settings are unusable"; "error" => %e);
                    ms_otel::Telemetry::disabled()
                });
            if telemetry.is_enabled() {
                slog::info!(log, "exporting spans over OTLP/HTTP");
            }
            Self {
                telemetry,
                hops: Mutex::default(),
                max_age_ms,
                last_sweep_ms: std::sync::atomic::AtomicU64::new(0),
            }
        }
        #[cfg(not(feature = "otel"))]
        {
            let _ = (log, max_age_ms);
            Self::default()
        }
    }

    /// A frame from connection `conn`, before routing: its trace headers are
    /// made well formed; a request gets a gateway-hop span (feature `otel`)
    /// that becomes the `traceparent` it is delivered with.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub fn received(&self, conn: ConnId, envelope: &mut Envelope) {
        if !matches!(envelope.body, Body::Request(_) | Body::Event(_)) {
            return;
        }
        let incoming = IncomingTrace::read(&envelope.headers);
        #[cfg(feature = "otel")]
        if let Body::Request(request) = &envelope.body
            && self.telemetry.is_enabled()
            && let Ok(mut hops) = self.hops.lock()
            && hops.len() < MAX_OPEN_HOPS
        {
            let span = self.telemetry.start(
                format!("route {}/{}", request.to, request.route),
                SpanKind::Server,
                Parent::Incoming(&incoming),
                vec![
                    KeyValue::new("rpc.system", SYSTEM),
                    KeyValue::new("rpc.service", request.to.clone()),
                    KeyValue::new("rpc.method", request.route.clone()),
                    KeyValue::new("messaging.message.id", envelope.id.to_string()),
                ],
            );
            incoming.write(&mut envelope.headers, &span.traceparent());
            let key = (conn, envelope.id.clone());
            hops.insert(key, (span, ms_protocol::clock::now_ms()));
            return;
        }
        incoming.write(&mut envelope.headers, &incoming.parent);
    }

    /// A frame about to be sent to `conn`: an answer ends the hop span of
    /// the request it answers (failed for an `error`).
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub fn sending(&self, conn: ConnId, envelope: &Envelope) {
        #[cfg(feature = "otel")]
        {
            let (id, error) = match &envelope.body {
                Body::Reply(reply) => (&reply.correlation_id, None),
                Body::Error(report) => match &report.correlation_id {
                    Some(id) => (id, Some(&report.error)),
                    None => return,
                },
                _ => return,
            };
            let Some((span, _)) = self
                .hops
                .lock()
                .ok()
                .and_then(|mut hops| hops.remove(&(conn, id.clone())))
            else {
                return;
            };
            if let Some(error) = error {
                span.fail(&error.code.to_string(), &error.message);
            }
            span.end();
        }
    }

    /// Ends hop spans older than the limit (their answer went elsewhere or
    /// nowhere: the requester left); call about once a second.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub fn sweep(&self, now_ms: u64) {
        #[cfg(feature = "otel")]
        {
            use std::sync::atomic::Ordering;
            let last = self.last_sweep_ms.load(Ordering::Relaxed);
            if now_ms.saturating_sub(last) < SWEEP_EVERY_MS {
                return;
            }
            self.last_sweep_ms.store(now_ms, Ordering::Relaxed);
        }
        #[cfg(feature = "otel")]
        if let Ok(mut hops) = self.hops.lock() {
            hops.retain(|_, (span, started)| {
                let keep = now_ms.saturating_sub(*started) <= self.max_age_ms;
                if !keep {
                    span.fail("unanswered", "no answer reached the requester");
                }
                keep
            });
        }
    }

    /// Ends the open spans and sends what is buffered (graceful shutdown).
    pub fn shutdown(&self) {
        #[cfg(feature = "otel")]
        {
            if let Ok(mut hops) = self.hops.lock() {
                hops.clear();
            }
            self.telemetry.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use ms_protocol::{Headers, Json, Payload, TraceParent};

    use super::*;

    fn request(traceparent: &str) -> Envelope {
        let mut headers = Headers::new();
        headers.insert(Headers::TRACEPARENT, traceparent);
        headers.insert(Headers::TRACESTATE, "a=1");
        Envelope::request("back", "work", Payload::Inline(Json::null())).with_headers(headers)
    }

    #[test]
    fn a_malformed_traceparent_in_a_frame_is_replaced_not_echoed() {
        let tracer = GatewayTracer::default();
        let hostile = format!("00-{}", "f".repeat(10_000));
        let mut envelope = request(&hostile);
        tracer.received(1, &mut envelope);
        let sent = envelope
            .headers
            .get(Headers::TRACEPARENT)
            .unwrap_or_default();
        assert_eq!(sent.len(), TraceParent::LEN, "a new, well-formed trace");
        assert!(envelope.headers.traceparent().is_some());
        assert_eq!(envelope.headers.get(Headers::TRACESTATE), None);
        assert_eq!(envelope.headers.trace_id().map(str::len), Some(32));
    }

    #[test]
    fn a_valid_traceparent_passes_unchanged_when_not_recording() {
        let tracer = GatewayTracer::default();
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut envelope = request(good);
        tracer.received(1, &mut envelope);
        assert_eq!(envelope.headers.get(Headers::TRACEPARENT), Some(good));
        assert_eq!(envelope.headers.get(Headers::TRACESTATE), Some("a=1"));
        assert_eq!(
            envelope.headers.trace_id(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        // an answer for a request without a span is ignored
        tracer.sending(
            1,
            &Envelope::reply_to(&envelope.id, Payload::Inline(Json::null())),
        );
    }
}

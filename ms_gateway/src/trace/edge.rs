//! The trace of one HTTP call at the edge: read from `traceparent`,
//! `tracestate` and `X-Trace-Id`, recorded as a SERVER span (feature
//! `otel`), answered in `traceresponse` (Trace Context Level 2) and
//! `X-Trace-Id`.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use ms_protocol::{Headers, IncomingTrace, TraceParent};

#[cfg(feature = "otel")]
use ms_otel::{HopSpan, KeyValue, Parent, SpanKind};

use super::GatewayTracer;

/// The trace of one HTTP call; [`answer`](Self::answer) puts it on the
/// response and ends the span.
#[derive(Debug)]
pub struct EdgeTrace {
    incoming: IncomingTrace,
    /// What the request is sent on with, and what `traceresponse` names.
    current: TraceParent,
    #[cfg(feature = "otel")]
    span: HopSpan,
}

impl EdgeTrace {
    /// Reads the caller's trace and starts the edge span for `route` (the
    /// route template, such as `/v1/invoke/{service}/{route}`), with
    /// `attributes` beside the HTTP ones. A malformed `traceparent` starts a
    /// new trace; `X-Trace-Id` is the legacy fallback.
    #[cfg_attr(not(feature = "otel"), allow(unused_variables))]
    pub fn start(
        tracer: &GatewayTracer,
        req: &HttpRequest,
        route: &str,
        attributes: &[(&'static str, &str)],
    ) -> Self {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let incoming = IncomingTrace::from_parts(
            header("traceparent"),
            header("tracestate"),
            header("X-Trace-Id"),
        );
        #[cfg(feature = "otel")]
        {
            let mut all = vec![
                KeyValue::new("http.request.method", req.method().as_str().to_owned()),
                KeyValue::new("http.route", route.to_owned()),
                KeyValue::new("url.path", req.path().to_owned()),
            ];
            all.extend(
                attributes
                    .iter()
                    .map(|(key, value)| KeyValue::new(*key, (*value).to_owned())),
            );
            let span = tracer.telemetry.start(
                format!("{} {route}", req.method()),
                SpanKind::Server,
                Parent::Incoming(&incoming),
                all,
            );
            Self {
                current: span.traceparent(),
                incoming,
                span,
            }
        }
        #[cfg(not(feature = "otel"))]
        Self {
            current: incoming.parent,
            incoming,
        }
    }

    /// The trace headers the request or event is sent on with.
    pub fn write(&self, headers: &mut Headers) {
        self.incoming.write(headers, &self.current);
    }

    /// The `X-Trace-Id` answered: the trace id in hex, or the caller's own
    /// legacy `X-Trace-Id` when it was not a W3C trace id.
    pub fn trace_id(&self) -> String {
        self.incoming.trace_id(&self.current)
    }

    /// Adds `X-Trace-Id` and `traceresponse` to `response`, records its
    /// status on the span and ends it.
    pub fn answer(self, mut response: HttpResponse) -> HttpResponse {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.trace_id()) {
            headers.insert(HeaderName::from_static("x-trace-id"), value);
        }
        if let Ok(value) = HeaderValue::from_str(&self.current.to_string()) {
            headers.insert(HeaderName::from_static("traceresponse"), value);
        }
        #[cfg(feature = "otel")]
        {
            let status = response.status().as_u16();
            self.span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            // server spans: only 5xx is an error of this hop (OTel HTTP conventions)
            if status >= 500 {
                self.span.fail(&status.to_string(), "server error");
            }
        }
        response
    }
}

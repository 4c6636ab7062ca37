//! `GET /metrics`: the router's counters, latency histogram and gauges
//! (defined in [`crate::router`], which counts them) and the I/O layer's
//! own [`SessionStats`], written by hand in the Prometheus text format
//! (version 0.0.4). Depends on the router, never the reverse.

use std::fmt::Write as _;

use crate::router::Gauges;
pub use crate::router::{Counters, Histogram, LATENCY_BUCKETS_MS};

/// What the I/O layer counts itself (the router never sees these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Frames answered as malformed.
    pub malformed_frames: u64,
    /// Bytes queued for sessions' sockets and not yet written, all sessions.
    pub outbound_bytes: u64,
    /// Sessions closed because their peer did not read (outbound bytes over
    /// the bound, or a write pending for 3 heartbeat intervals).
    pub slow_peers_dropped: u64,
    /// Connections closed with 1009: a frame over the limit.
    pub oversized_frames: u64,
}

/// Writes every metric in the Prometheus text format.
pub fn render(counters: &Counters, gauges: &Gauges, io: &SessionStats) -> String {
    let mut out = String::new();
    let malformed_frames = io.malformed_frames;
    plain_gauge(
        &mut out,
        "ms_gateway_held_bytes",
        "Bytes of work the router holds (queued, in flight, unacknowledged answers).",
        gauges.held_bytes,
    );
    plain_gauge(
        &mut out,
        "ms_gateway_outbound_bytes",
        "Bytes queued for sessions' sockets and not yet written.",
        io.outbound_bytes,
    );
    plain_gauge(
        &mut out,
        "ms_gateway_services",
        "Service names known.",
        u64::try_from(gauges.services).unwrap_or(u64::MAX),
    );
    counter(
        &mut out,
        "ms_gateway_slow_peers_dropped_total",
        "Sessions closed because the peer did not read.",
        io.slow_peers_dropped,
    );
    counter(
        &mut out,
        "ms_gateway_oversized_frames_total",
        "Connections closed with 1009 for a frame over the limit.",
        io.oversized_frames,
    );
    counter(
        &mut out,
        "ms_gateway_sessions_replaced_total",
        "Connections closed with 4001: replaced by a newer one of the same instance.",
        counters.sessions_replaced,
    );
    counter(
        &mut out,
        "ms_gateway_requests_abandoned_total",
        "Requests whose HTTP caller left before the answer.",
        counters.requests_abandoned,
    );
    counter(
        &mut out,
        "ms_gateway_settlements_refused_total",
        "Replies and errors refused: not sent on the connection holding the request.",
        counters.settlements_refused,
    );
    counter(
        &mut out,
        "ms_gateway_events_dropped_total",
        "Event copies dropped (subscriber queue full, or subscriber forgotten).",
        counters.events_dropped,
    );
    counter(
        &mut out,
        "ms_gateway_services_forgotten_total",
        "Service names forgotten after their TTL without an instance.",
        counters.services_forgotten,
    );
    gauge(
        &mut out,
        "ms_gateway_connections",
        "Connected service instances, per service.",
        &gauges.connections,
    );
    gauge(
        &mut out,
        "ms_gateway_requests_in_flight",
        "Requests and events delivered and not settled, per service.",
        &gauges.in_flight,
    );
    gauge(
        &mut out,
        "ms_gateway_queued",
        "Requests and events waiting in the queue, per service.",
        &gauges.queued,
    );
    counter(
        &mut out,
        "ms_gateway_sessions_total",
        "Sessions that said hello.",
        counters.sessions_opened,
    );
    counter(
        &mut out,
        "ms_gateway_requests_total",
        "Requests accepted.",
        counters.requests_accepted,
    );
    counter(
        &mut out,
        "ms_gateway_events_total",
        "Events accepted.",
        counters.events_accepted,
    );
    counter(
        &mut out,
        "ms_gateway_delivered_total",
        "Deliveries to services, redeliveries included.",
        counters.delivered,
    );
    counter(
        &mut out,
        "ms_gateway_redelivered_total",
        "Deliveries with attempt above 1.",
        counters.redelivered,
    );
    counter(
        &mut out,
        "ms_gateway_timeouts_total",
        "Requests answered with timeout.",
        counters.timeouts,
    );
    counter(
        &mut out,
        "ms_gateway_malformed_frames_total",
        "Frames answered with bad_request, bad_frame or payload_too_large.",
        malformed_frames,
    );
    let _ = writeln!(
        out,
        "# HELP ms_gateway_errors_total Error answers to callers, by code."
    );
    let _ = writeln!(out, "# TYPE ms_gateway_errors_total counter");
    for (code, n) in &counters.errors {
        let _ = writeln!(
            out,
            "ms_gateway_errors_total{{code=\"{}\"}} {n}",
            escape(code)
        );
    }
    let h = &counters.latency;
    let _ = writeln!(
        out,
        "# HELP ms_gateway_request_duration_seconds Time from acceptance to the service's answer."
    );
    let _ = writeln!(out, "# TYPE ms_gateway_request_duration_seconds histogram");
    for (bound, n) in LATENCY_BUCKETS_MS.iter().zip(h.buckets()) {
        let _ = writeln!(
            out,
            "ms_gateway_request_duration_seconds_bucket{{le=\"{}\"}} {n}",
            seconds(*bound)
        );
    }
    let _ = writeln!(
        out,
        "ms_gateway_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
        h.count()
    );
    let _ = writeln!(
        out,
        "ms_gateway_request_duration_seconds_sum {}",
        seconds(h.sum_ms())
    );
    let _ = writeln!(
        out,
        "ms_gateway_request_duration_seconds_count {}",
        h.count()
    );
    out
}

fn gauge(out: &mut String, name: &str, help: &str, values: &[(String, usize)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (service, n) in values {
        let _ = writeln!(out, "{name}{{service=\"{}\"}} {n}", escape(service));
    }
}

fn plain_gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name} {value}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {value}");
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use ms_protocol::ErrorCode;

    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::default();
        h.observe(3);
        h.observe(40_000);
        assert_eq!(h.buckets()[0], 0);
        assert_eq!(h.buckets()[2], 1);
        assert_eq!(h.buckets()[LATENCY_BUCKETS_MS.len() - 1], 1);
        assert_eq!(h.count(), 2);
    }

    #[test]
    fn render_escapes_labels_and_lists_every_family() {
        let mut counters = Counters::default();
        counters.count_error(&ErrorCode::Timeout);
        let gauges = Gauges {
            connections: vec![("a\"b".into(), 2)],
            in_flight: vec![],
            queued: vec![],
            held_bytes: 512,
            services: 1,
        };
        let io = SessionStats {
            malformed_frames: 4,
            outbound_bytes: 7,
            ..SessionStats::default()
        };
        let text = render(&counters, &gauges, &io);
        assert!(
            text.contains("ms_gateway_connections{service=\"a\\\"b\"} 2"),
            "{text}"
        );
        assert!(text.contains("ms_gateway_errors_total{code=\"timeout\"} 1"));
        assert!(text.contains("ms_gateway_malformed_frames_total 4"));
        assert!(text.contains("ms_gateway_held_bytes 512"));
        assert!(text.contains("ms_gateway_outbound_bytes 7"));
        assert!(text.contains("le=\"0.001\""));
        assert!(text.contains("ms_gateway_request_duration_seconds_count 0"));
    }
}

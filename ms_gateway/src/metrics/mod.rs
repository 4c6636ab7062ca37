//! `GET /metrics`: the gateway's metrics in the Prometheus text format
//! (version 0.0.4), encoded by `prometheus-client`, the official Rust
//! client.
//!
//! The router keeps counting in plain numbers ([`Counters`], [`Gauges`],
//! [`Histogram`]), so it stays pure and free of any metrics library; the
//! I/O layer adds what it counts itself ([`SessionStats`]). A scrape takes
//! a [`Snapshot`] of all of it under the hub's lock, releases the lock,
//! and only then encodes: a registry per scrape with three collectors
//! (the gateway's families, `ms_gateway_build_info`, and the process
//! metrics read from `/proc/self` on Linux). Depends on the router, never
//! the reverse.

mod families;
mod process;

use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use crate::router::{Counters, Gauges, Histogram, LATENCY_BUCKETS_MS};

/// The `Content-Type` of a scrape: Prometheus text, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

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
    /// Log lines about refused or failed messages left out by the per-peer
    /// budget (see `LogBudget`).
    pub log_lines_suppressed: u64,
    /// Requests refused with 401: missing or wrong credentials.
    pub auth_failures: u64,
}

/// Everything one scrape shows, copied out of the hub.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The router's counters and latency histograms.
    pub counters: Counters,
    /// The router's gauges.
    pub gauges: Gauges,
    /// What the I/O layer counted.
    pub io: SessionStats,
}

/// Encodes every metric of `snapshot`, `ms_gateway_build_info` and the
/// process metrics in the Prometheus text format.
pub fn render(snapshot: Snapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(process::ProcessCollector));
    let gateway = registry.sub_registry_with_prefix("ms_gateway");
    gateway.register(
        "build",
        "Build of the running gateway: its version and the protocol version it speaks",
        Info::new(vec![
            ("version", env!("CARGO_PKG_VERSION").to_owned()),
            ("protocol", ms_protocol::PROTOCOL_VERSION.to_string()),
        ]),
    );
    gateway.register_collector(Box::new(families::GatewayCollector(snapshot)));
    let mut text = String::new();
    // Writing to a String does not fail; an encoder error would leave a
    // partial scrape, which Prometheus reports as such.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
    text
}

#[cfg(test)]
mod tests {
    use ms_protocol::ErrorCode;

    use super::*;

    #[test]
    fn histogram_buckets_are_per_bucket_and_count_overflows() {
        let mut h = Histogram::default();
        h.observe(3);
        h.observe(40_000);
        assert_eq!(h.bucket_counts()[2], 1);
        assert_eq!(h.bucket_counts().iter().sum::<u64>(), 1);
        assert_eq!(h.count(), 2);
        assert_eq!(h.sum_ms(), 40_003);
    }

    #[test]
    fn render_labels_every_series_and_lists_every_family() {
        let mut counters = Counters::default();
        let stats = counters.series.stats_for("svc", "echo", true, true);
        stats.requests = 3;
        stats
            .errors
            .insert(ErrorCode::Timeout.as_str().to_owned(), 1);
        stats.latency.observe(3);
        stats.latency.observe(1_500);
        let snapshot = Snapshot {
            counters,
            gauges: Gauges {
                connections: vec![("a\"b".into(), 2)],
                in_flight: vec![],
                queued: vec![],
                held_bytes: 512,
                services: 1,
            },
            io: SessionStats {
                malformed_frames: 4,
                outbound_bytes: 7,
                ..SessionStats::default()
            },
        };
        let text = render(snapshot);
        for line in [
            "ms_gateway_connections{service=\"a\\\"b\"} 2",
            "ms_gateway_requests_total{service=\"svc\",route=\"echo\"} 3",
            "ms_gateway_errors_total{service=\"svc\",route=\"echo\",code=\"timeout\"} 1",
            "ms_gateway_malformed_frames_total 4",
            "ms_gateway_held_bytes 512",
            "ms_gateway_outbound_bytes 7",
            "ms_gateway_request_duration_seconds_bucket{service=\"svc\",route=\"echo\",le=\"0.005\"} 1",
            "ms_gateway_request_duration_seconds_bucket{service=\"svc\",route=\"echo\",le=\"5\"} 2",
            "ms_gateway_request_duration_seconds_bucket{service=\"svc\",route=\"echo\",le=\"+Inf\"} 2",
            "ms_gateway_request_duration_seconds_sum{service=\"svc\",route=\"echo\"} 1.503",
            "ms_gateway_request_duration_seconds_count{service=\"svc\",route=\"echo\"} 2",
            "# TYPE ms_gateway_request_duration_seconds histogram",
            "ms_gateway_build_info{version=\"",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }
}

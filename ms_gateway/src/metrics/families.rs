//! The gateway's own metric families, encoded from a [`Snapshot`] at
//! scrape time (names get the `ms_gateway_` prefix from the registry).

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{LATENCY_BUCKETS_MS, Snapshot};

/// Encodes one [`Snapshot`]: the collector of a single scrape.
#[derive(Debug)]
pub struct GatewayCollector(pub Snapshot);

impl Collector for GatewayCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let Snapshot {
            counters,
            gauges,
            io,
        } = &self.0;
        let e = &mut encoder;
        gauge(
            e,
            "held_bytes",
            "Bytes of work the router holds (queued, in flight, unacknowledged answers).",
            gauges.held_bytes,
        )?;
        gauge(
            e,
            "outbound_bytes",
            "Bytes queued for sessions' sockets and not yet written.",
            io.outbound_bytes,
        )?;
        gauge(
            e,
            "services",
            "Service names known (registered, or addressed by callers).",
            u64::try_from(gauges.services).unwrap_or(u64::MAX),
        )?;
        per_service(
            e,
            "connections",
            "Connected service instances, per service.",
            &gauges.connections,
        )?;
        per_service(
            e,
            "requests_in_flight",
            "Requests and events delivered and not settled, per service.",
            &gauges.in_flight,
        )?;
        per_service(
            e,
            "queued",
            "Requests and events waiting in the queue, per service.",
            &gauges.queued,
        )?;
        counter(
            e,
            "sessions",
            "Sessions that said hello.",
            counters.sessions_opened,
        )?;
        counter(
            e,
            "sessions_replaced",
            "Connections closed with 4001: replaced by a newer one of the same instance.",
            counters.sessions_replaced,
        )?;
        counter(e, "events", "Events accepted.", counters.events_accepted)?;
        counter(
            e,
            "events_dropped",
            "Event copies dropped (subscriber queue full, or subscriber forgotten).",
            counters.events_dropped,
        )?;
        counter(
            e,
            "delivered",
            "Deliveries to services, redeliveries included.",
            counters.delivered,
        )?;
        counter(
            e,
            "redelivered",
            "Deliveries with attempt above 1.",
            counters.redelivered,
        )?;
        counter(
            e,
            "timeouts",
            "Requests answered with timeout.",
            counters.timeouts,
        )?;
        counter(
            e,
            "requests_abandoned",
            "Requests whose HTTP caller left before the answer.",
            counters.requests_abandoned,
        )?;
        counter(
            e,
            "settlements_refused",
            "Replies and errors refused: not sent on the connection holding the request.",
            counters.settlements_refused,
        )?;
        counter(
            e,
            "services_forgotten",
            "Service names forgotten after their TTL without an instance.",
            counters.services_forgotten,
        )?;
        counter(
            e,
            "malformed_frames",
            "Frames answered with bad_request or bad_frame because they could not be read.",
            io.malformed_frames,
        )?;
        counter(
            e,
            "auth_failures",
            "Requests refused with 401: missing or wrong credentials, on any endpoint that needs them.",
            io.auth_failures,
        )?;
        counter(
            e,
            "slow_peers_dropped",
            "Sessions closed because the peer did not read.",
            io.slow_peers_dropped,
        )?;
        counter(
            e,
            "oversized_frames",
            "Connections closed with 1009 for a frame over the limit.",
            io.oversized_frames,
        )?;
        counter(
            e,
            "log_lines_suppressed",
            "Log lines about refused or failed messages left out by the per-peer budget.",
            io.log_lines_suppressed,
        )?;
        series(e, &self.0)
    }
}

/// The per-(service, route) families: requests, errors by code, latency.
fn series(encoder: &mut DescriptorEncoder<'_>, snapshot: &Snapshot) -> fmt::Result {
    let series = &snapshot.counters.series;
    let mut family = encoder.encode_descriptor(
        "requests",
        "Requests accepted, per service and route.",
        None,
        MetricType::Counter,
    )?;
    for ((service, route), stats) in series.iter() {
        let labels = [("service", service.as_str()), ("route", route.as_str())];
        ConstCounter::new(stats.requests).encode(family.encode_family(&labels)?)?;
    }
    let mut family = encoder.encode_descriptor(
        "errors",
        "Error answers to callers (gateway- or service-made), per service, route and code.",
        None,
        MetricType::Counter,
    )?;
    for ((service, route), stats) in series.iter() {
        for (code, n) in &stats.errors {
            let labels = [
                ("service", service.as_str()),
                ("route", route.as_str()),
                ("code", code.as_str()),
            ];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }
    }
    let mut family = encoder.encode_descriptor(
        "request_duration_seconds",
        "Time from acceptance to the service's answer, per service and route.",
        None,
        MetricType::Histogram,
    )?;
    for ((service, route), stats) in series.iter() {
        let labels = [("service", service.as_str()), ("route", route.as_str())];
        let h = &stats.latency;
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_MS
            .iter()
            .zip(h.bucket_counts())
            .map(|(bound, n)| (seconds(*bound), *n))
            .collect();
        family
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(seconds(h.sum_ms()), h.count(), &buckets, None)?;
    }
    Ok(())
}

/// Milliseconds as seconds (exact below 2^53 ms, some 285,000 years).
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn counter(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn per_service(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    values: &[(String, usize)],
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (service, n) in values {
        let labels = [("service", service.as_str())];
        ConstGauge::new(u64::try_from(*n).unwrap_or(u64::MAX))
            .encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

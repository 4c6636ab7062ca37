//! Prometheus metrics of one service, served on `GET /metrics` of the probe
//! listener (`MS_HEALTH_BIND`) or a listener of their own (`MS_METRICS_BIND`).
//!
//! Built on `prometheus-client`. Every name starts with `ms_service_`; the
//! service and instance are the scrape target's labels, not the metrics'
//! (Prometheus adds `job` and `instance`), except in `ms_service_build_info`.
//! `docs/observability.md` lists each metric and what it means.
//!
//! Where the figures come from, one way only (this module imports nothing
//! of the modules that record into it: they hold its handles and cells):
//! - handled messages and handler time: the dispatcher records each one
//!   ([`Handled`], a handle per route cached by the dispatcher);
//! - in flight, outbox, dedup, sessions, connection state: the gateway
//!   session publishes its [`SessionStats`] into a [`StatsCell`]
//!   after every step, read at scrape time;
//! - S3 operations: the service's own S3 handles ([`S3Metrics`]);
//! - dropped log records: the log sink's counter.
//!
//! Recording costs a few atomic operations and, per message, one histogram
//! observation (a short lock); label lookups happen once per route.

mod handled;
// without the `s3` feature the families stay registered (and empty), and
// nothing records into them
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
mod s3;
mod session;
mod stats;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

pub(crate) use handled::{Handled, HandledMetrics, Kind, RouteCache, Running};
#[cfg_attr(not(feature = "s3"), allow(unused_imports))]
pub(crate) use s3::Direction;
pub(crate) use s3::S3Metrics;
pub(crate) use stats::{SessionStats, StatsCell};

/// Upper bounds, in seconds, of the handler-duration buckets: 100 µs to 30 s.
const DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0, 30.0,
];

/// Labels of `ms_service_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    /// The service's name, as registered.
    service: String,
    /// The service's own version (`Handler::version`), empty when unset.
    version: String,
    /// The version of ms_runtime it was built with.
    runtime_version: String,
}

/// The metrics of one service: one registry, the families the runtime
/// records into, rendered on each scrape.
pub(crate) struct ServiceMetrics {
    registry: Registry,
    handled: Arc<HandledMetrics>,
    s3: S3Metrics,
}

impl std::fmt::Debug for ServiceMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceMetrics").finish_non_exhaustive()
    }
}

impl ServiceMetrics {
    /// The metrics of `service` (at `version`), reading the session's
    /// figures from `session` and dropped log records from `log_dropped`.
    pub(crate) fn new(
        service: &str,
        version: &str,
        session: Arc<StatsCell>,
        log_dropped: Arc<AtomicU64>,
    ) -> Self {
        let mut registry = Registry::with_prefix("ms_service");
        registry.register(
            "build",
            "Build information: the service's name and version, and the runtime's version.",
            Info::new(BuildLabels {
                service: service.to_owned(),
                version: version.to_owned(),
                runtime_version: env!("CARGO_PKG_VERSION").to_owned(),
            }),
        );
        let handled = Arc::new(HandledMetrics::default());
        registry.register(
            "handled",
            "Requests and events handled, by kind, route (or topic) and outcome (ok, an error code, or held for redelivery).",
            handled.counts.clone(),
        );
        registry.register_with_unit(
            "handler_duration",
            "Time from handing a message to its handler to its outcome, claim checks included.",
            Unit::Seconds,
            handled.durations.clone(),
        );
        registry.register(
            "in_flight",
            "Requests and events handed to handlers and not settled yet.",
            handled.in_flight.clone(),
        );
        let s3 = S3Metrics::default();
        s3.register(&mut registry);
        registry.register_collector(Box::new(session::SessionCollector::new(
            session,
            log_dropped,
        )));
        Self {
            registry,
            handled,
            s3,
        }
    }

    /// What the dispatcher records into.
    pub(crate) fn handled(&self) -> Arc<HandledMetrics> {
        self.handled.clone()
    }

    /// What the service's S3 handles record into.
    pub(crate) fn s3(&self) -> S3Metrics {
        self.s3.clone()
    }

    /// Every metric, in OpenMetrics text when `openmetrics`, else in the
    /// classic Prometheus text format (0.0.4, what `promtool check metrics`
    /// and most tools read); with the matching content type.
    pub(crate) fn render(&self, openmetrics: bool) -> (&'static str, String) {
        use prometheus_client::encoding::{prometheus_text, text};
        let mut out = String::new();
        let (content_type, written) = if openmetrics {
            (
                OPENMETRICS_CONTENT_TYPE,
                text::encode(&mut out, &self.registry),
            )
        } else {
            (
                prometheus_text::CONTENT_TYPE,
                prometheus_text::encode(&mut out, &self.registry),
            )
        };
        if written.is_err() {
            // writing into a String does not fail; an encoder bug shows as an empty page
            out.clear();
        }
        (content_type, out)
    }
}

/// Content type of OpenMetrics text.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether a scraper's `Accept` header asks for OpenMetrics (Prometheus
/// itself does; curl and most other tools do not). A choice with `q=0` is
/// a refusal.
pub(crate) fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|choice| {
            let mut parts = choice.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        })
    })
}

/// A family of histograms with the handler-duration buckets.
type Histograms<L> = Family<
    L,
    prometheus_client::metrics::histogram::Histogram,
    fn() -> prometheus_client::metrics::histogram::Histogram,
>;

fn duration_histogram() -> prometheus_client::metrics::histogram::Histogram {
    prometheus_client::metrics::histogram::Histogram::new(DURATION_BUCKETS)
}

#[cfg(test)]
mod tests;

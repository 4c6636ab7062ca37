//! What the router counts and measures, read by `/metrics`: counters
//! since start, latency histograms, and gauges of its tables. Defined
//! here, beside the state they describe, so the metrics module depends
//! on the router and never the reverse. Plain numbers only: the router
//! stays free of I/O and of any metrics library.

use std::collections::BTreeMap;

use super::labels::Series;

/// Upper bounds of the latency histogram buckets, in milliseconds.
pub const LATENCY_BUCKETS_MS: [u64; 12] =
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 5_000, 30_000];

/// A histogram of request latencies in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations in each bucket (not cumulative): above the previous
    /// bound of [`LATENCY_BUCKETS_MS`] and at or below this one. What
    /// lies above the last bound is `count` minus their sum.
    buckets: [u64; LATENCY_BUCKETS_MS.len()],
    /// All observations.
    count: u64,
    /// Their sum, in ms.
    sum_ms: u64,
}

impl Histogram {
    /// Records one latency.
    pub fn observe(&mut self, ms: u64) {
        if let Some(index) = LATENCY_BUCKETS_MS.iter().position(|bound| ms <= *bound) {
            self.buckets[index] += 1;
        }
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Observations in each bucket of [`LATENCY_BUCKETS_MS`], not cumulative.
    pub fn bucket_counts(&self) -> &[u64; LATENCY_BUCKETS_MS.len()] {
        &self.buckets
    }

    /// The sum of the observations, in ms.
    pub fn sum_ms(&self) -> u64 {
        self.sum_ms
    }
}

/// Monotonic counters kept by the router.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Sessions that said hello.
    pub sessions_opened: u64,
    /// Events accepted (once per publish, however many subscribers).
    pub events_accepted: u64,
    /// Deliveries of requests and events to services, first ones and again.
    pub delivered: u64,
    /// Deliveries with `attempt` > 1.
    pub redelivered: u64,
    /// Requests answered with `timeout`.
    pub timeouts: u64,
    /// Connections closed because a newer one of the same instance said hello.
    pub sessions_replaced: u64,
    /// Requests whose HTTP caller left before the answer.
    pub requests_abandoned: u64,
    /// Replies and errors refused because they came on a connection that
    /// does not hold the request.
    pub settlements_refused: u64,
    /// Event copies dropped: a subscriber's queue was full, or the
    /// subscriber was forgotten after its TTL.
    pub events_dropped: u64,
    /// Service names forgotten after their TTL without an instance.
    pub services_forgotten: u64,
    /// Requests accepted, error answers by code and latencies, per
    /// (service, route), bounded in the number of label sets.
    pub series: Series,
}

impl Counters {
    /// Requests accepted over every series.
    pub fn requests_accepted(&self) -> u64 {
        self.series.iter().map(|(_, s)| s.requests).sum()
    }

    /// Error answers by code over every series.
    pub fn errors_by_code(&self) -> BTreeMap<String, u64> {
        let mut total = BTreeMap::new();
        for (_, stats) in self.series.iter() {
            for (code, n) in &stats.errors {
                *total.entry(code.clone()).or_default() += n;
            }
        }
        total
    }
}

/// A gauge reading of the router, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Connected instances per service name.
    pub connections: Vec<(String, usize)>,
    /// Unsettled requests and unacked events delivered, per service name.
    pub in_flight: Vec<(String, usize)>,
    /// Work waiting in the queue, per service name.
    pub queued: Vec<(String, usize)>,
    /// Bytes held over all services (see [`RouterLimits::max_held_bytes`](super::RouterLimits::max_held_bytes)).
    pub held_bytes: u64,
    /// Service names known.
    pub services: usize,
}

//! What the router counts and measures, read by `/metrics`: counters
//! since start, latency histograms, and gauges of its tables. Defined
//! here, beside the state they describe, so the metrics module depends
//! on the router and never the reverse. Plain numbers only: the router
//! stays free of I/O and of any metrics library.

use std::collections::BTreeMap;

use super::Router;
use super::labels::{OTHER, Series};

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

impl Router {
    /// Current gauges, sorted by service name. Only services that ever
    /// had an instance are named, at most [`Series::max`] of them; the
    /// rest (names that callers created by addressing them, and the
    /// overflow) are summed under [`OTHER`].
    pub fn gauges(&self) -> Gauges {
        let mut gauges = Gauges {
            held_bytes: self.held_bytes,
            services: self.services.len(),
            ..Gauges::default()
        };
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        let mut named = 0usize;
        let mut other = (0usize, 0usize, 0usize);
        let mut any_other = false;
        for name in names {
            let Some(service) = self.services.get(name) else {
                continue;
            };
            let connections = service.conns.len();
            let in_flight = service
                .conns
                .iter()
                .filter_map(|c| self.conns.get(c))
                .map(|c| c.in_flight.len())
                .sum();
            let queued = service.queue.len();
            if service.ever_connected && named < self.counters.series.max() {
                named += 1;
                gauges.connections.push((name.clone(), connections));
                gauges.in_flight.push((name.clone(), in_flight));
                gauges.queued.push((name.clone(), queued));
            } else {
                any_other = true;
                other.0 += connections;
                other.1 += in_flight;
                other.2 += queued;
            }
        }
        if any_other {
            gauges.connections.push((OTHER.to_owned(), other.0));
            gauges.in_flight.push((OTHER.to_owned(), other.1));
            gauges.queued.push((OTHER.to_owned(), other.2));
        }
        gauges
    }
}

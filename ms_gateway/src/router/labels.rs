//! Which names become metric labels, and how many label sets there may be.
//!
//! A caller chooses the `to` and `route` of its requests, so label values
//! taken from them unchecked would let one hostile account grow `/metrics`
//! (and the gateway's memory) without bound. Two rules keep it bounded:
//!
//! - a service name is a label value only once an instance of that service
//!   said `hello` (or another cluster node reported one), and a route only
//!   once an instance listed it; anything else is counted as [`OTHER`];
//! - at most [`Series::max`] distinct (service, route) label sets are kept;
//!   past that, new ones are counted under (`(other)`, `(other)`). Label sets
//!   once made are kept (counters must not go back), so the bound holds
//!   for the gateway's lifetime.
//!
//! `(other)` cannot be the name of a service, a route or an error code (names
//! are `[A-Za-z0-9._-]`), so what overflowed never mixes with a real name.

use std::collections::BTreeMap;

use ms_protocol::ErrorCode;

use super::Router;
use super::histogram::Histogram;

/// The label value standing for every name that may not have its own.
pub const OTHER: &str = "(other)";

/// Default of [`Series::max`]: (service, route) label sets kept.
pub const DEFAULT_MAX_SERIES: usize = 1_000;

/// A (service, route) label set.
pub type SeriesKey = (String, String);

/// What is counted for one (service, route) label set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesStats {
    /// Requests accepted (queued, or forwarded to the backplane).
    pub requests: u64,
    /// Error answers to callers by code (gateway- or service-made; codes
    /// the protocol does not define are counted as [`OTHER`]).
    pub errors: BTreeMap<String, u64>,
    /// Time from acceptance to the service's answer.
    pub latency: Histogram,
}

/// Per-(service, route) statistics, bounded in the number of label sets
/// (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    max: usize,
    stats: BTreeMap<SeriesKey, SeriesStats>,
}

impl Default for Series {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SERIES)
    }
}

impl Series {
    /// No series yet; at most `max` label sets besides (`(other)`, `(other)`).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            stats: BTreeMap::new(),
        }
    }

    /// Most label sets kept besides (`(other)`, `(other)`).
    pub fn max(&self) -> usize {
        self.max
    }

    /// Label sets kept, (`(other)`, `(other)`) included.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Whether nothing was counted yet.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// Every label set with its statistics, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&SeriesKey, &SeriesStats)> {
        self.stats.iter()
    }

    /// The statistics that a request for `service`/`route` counts in.
    /// `service_named` says the service may have its own label value,
    /// `route_named` the route (within that service).
    pub fn stats_for(
        &mut self,
        service: &str,
        route: &str,
        service_named: bool,
        route_named: bool,
    ) -> &mut SeriesStats {
        let key = match (service_named, route_named) {
            (true, true) => (service.to_owned(), route.to_owned()),
            (true, false) => (service.to_owned(), OTHER.to_owned()),
            (false, _) => (OTHER.to_owned(), OTHER.to_owned()),
        };
        let overflow = (OTHER.to_owned(), OTHER.to_owned());
        let named = self.stats.len() - usize::from(self.stats.contains_key(&overflow));
        let key = if self.stats.contains_key(&key) || key == overflow || named < self.max {
            key
        } else {
            overflow
        };
        self.stats.entry(key).or_default()
    }
}

/// The label value of an error code: its protocol name, or [`OTHER`] for a
/// code a peer made up.
fn code_label(code: &ErrorCode) -> String {
    match code {
        ErrorCode::Other(_) => OTHER.to_owned(),
        known => known.as_str().to_owned(),
    }
}

impl Router {
    /// The series a request for `to`/`route` counts in (see the module
    /// documentation).
    fn series_of(&mut self, to: &str, route: &str) -> &mut SeriesStats {
        let (service_named, route_named) = match self.services.get(to) {
            Some(service) if service.ever_connected => (true, service.known_routes.contains(route)),
            _ => (false, false),
        };
        self.counters
            .series
            .stats_for(to, route, service_named, route_named)
    }

    /// Counts one accepted request.
    pub(super) fn count_request(&mut self, to: &str, route: &str) {
        self.series_of(to, route).requests += 1;
    }

    /// Counts one error answer to a request for `to`/`route`.
    pub fn count_error(&mut self, to: &str, route: &str, code: &ErrorCode) {
        *self
            .series_of(to, route)
            .errors
            .entry(code_label(code))
            .or_default() += 1;
    }

    /// Records the latency of one answered request.
    pub(super) fn observe_latency(&mut self, to: &str, route: &str, ms: u64) {
        self.series_of(to, route).latency.observe(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_never_registered_share_one_series() {
        let mut series = Series::new(10);
        for i in 0..1_000 {
            series
                .stats_for(&format!("invented{i}"), "r", false, false)
                .requests += 1;
        }
        assert_eq!(series.len(), 1);
        let (key, stats) = series.iter().next().unwrap();
        assert_eq!(key, &(OTHER.to_owned(), OTHER.to_owned()));
        assert_eq!(stats.requests, 1_000);
    }

    #[test]
    fn unlisted_routes_of_a_registered_service_share_its_other_route() {
        let mut series = Series::new(10);
        series.stats_for("svc", "echo", true, true).requests += 1;
        for i in 0..100 {
            series
                .stats_for("svc", &format!("r{i}"), true, false)
                .requests += 1;
        }
        let keys: Vec<_> = series
            .iter()
            .map(|(k, s)| (k.clone(), s.requests))
            .collect();
        assert_eq!(
            keys,
            vec![
                (("svc".to_owned(), OTHER.to_owned()), 100),
                (("svc".to_owned(), "echo".to_owned()), 1),
            ]
        );
    }

    #[test]
    fn label_sets_past_the_cap_go_to_other_other() {
        let mut series = Series::new(3);
        for i in 0..50 {
            series
                .stats_for(&format!("registered{i}"), "echo", true, true)
                .requests += 1;
        }
        // three named sets plus the overflow, whatever the hostile names
        assert_eq!(series.len(), 4);
        let overflow = series
            .iter()
            .find(|(k, _)| k.0 == OTHER && k.1 == OTHER)
            .map(|(_, s)| s.requests);
        assert_eq!(overflow, Some(47));
        // a set made before the cap keeps counting under its own name
        series.stats_for("registered0", "echo", true, true).requests += 1;
        let first = series
            .iter()
            .find(|(k, _)| k.0 == "registered0")
            .map(|(_, s)| s.requests);
        assert_eq!(first, Some(2));
        assert_eq!(series.len(), 4);
    }

    #[test]
    fn made_up_error_codes_are_one_label() {
        assert_eq!(code_label(&ErrorCode::Other("x\ny".into())), OTHER);
        assert_eq!(code_label(&ErrorCode::Timeout), "timeout");
    }
}

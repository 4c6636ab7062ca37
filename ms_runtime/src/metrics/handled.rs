//! Handled messages: counts by outcome, handler time, messages in flight.
//!
//! The dispatcher keeps a [`RouteCache`]: one [`Handled`] per route or
//! topic, holding that route's counter and histogram, so recording a
//! message touches no label map. Bounds, because a route name comes off the
//! wire: at most [`MAX_ROUTES`] routes get their own series (later ones
//! share `route="(other)"`), and each route at most [`MAX_OUTCOMES`] outcome
//! labels (handlers may invent error codes; later ones count as `(other)`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::{Histograms, duration_histogram};

/// Routes (and topics) with series of their own.
pub(crate) const MAX_ROUTES: usize = 256;
/// Outcome labels per route.
pub(crate) const MAX_OUTCOMES: usize = 16;
/// The label of what is over a bound.
const OTHER: &str = "(other)";

/// Whether a message was a request or an event.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) enum Kind {
    Request,
    Event,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Event => "event",
        }
    }
}

/// Labels of `ms_service_handled_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HandledLabels {
    kind: &'static str,
    route: String,
    outcome: String,
}

/// Labels of `ms_service_handler_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    kind: &'static str,
    route: String,
}

/// The families every route records into.
pub(crate) struct HandledMetrics {
    pub(super) counts: Family<HandledLabels, Counter>,
    pub(super) durations: Histograms<RouteLabels>,
    pub(super) in_flight: Gauge,
}

impl Default for HandledMetrics {
    fn default() -> Self {
        Self {
            counts: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            in_flight: Gauge::default(),
        }
    }
}

/// One route's handles, shared by its messages.
#[derive(Clone)]
pub(crate) struct Handled {
    inner: Arc<RouteHandles>,
}

struct RouteHandles {
    metrics: Arc<HandledMetrics>,
    kind: Kind,
    route: String,
    ok: Counter,
    duration: Histogram,
    /// Outcome labels seen so far, for the bound.
    outcomes: Mutex<HashSet<String>>,
}

impl Handled {
    /// A message starts: counted in flight until [`Running::finish`] (or
    /// until the `Running` is dropped, when its task was cancelled).
    pub(crate) fn start(&self, now: Instant) -> Running {
        self.inner.metrics.in_flight.inc();
        Running {
            handles: self.clone(),
            started: now,
            finished: false,
        }
    }
}

/// A message being handled.
pub(crate) struct Running {
    handles: Handled,
    started: Instant,
    finished: bool,
}

impl Running {
    /// The message ended at `ended` with `outcome`: `None` for success,
    /// else the error code or `held`.
    pub(crate) fn finish(mut self, outcome: Option<&str>, ended: Instant) {
        self.finished = true;
        let h = &self.handles.inner;
        h.metrics.in_flight.dec();
        let took = ended.saturating_duration_since(self.started);
        h.duration.observe(took.as_secs_f64());
        let Some(outcome) = outcome else {
            h.ok.inc();
            return;
        };
        let label = {
            let mut seen = h.outcomes.lock().unwrap_or_else(|e| e.into_inner());
            if seen.contains(outcome) || seen.len() < MAX_OUTCOMES {
                seen.insert(outcome.to_owned());
                outcome
            } else {
                OTHER
            }
        };
        h.metrics
            .counts
            .get_or_create(&HandledLabels {
                kind: h.kind.label(),
                route: h.route.clone(),
                outcome: label.to_owned(),
            })
            .inc();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished {
            self.handles.inner.metrics.in_flight.dec();
        }
    }
}

/// The dispatcher's handles by route, bounded by [`MAX_ROUTES`].
pub(crate) struct RouteCache {
    metrics: Arc<HandledMetrics>,
    /// Requests' routes, then events' topics.
    routes: [HashMap<String, Handled>; 2],
}

impl RouteCache {
    pub(crate) fn new(metrics: Arc<HandledMetrics>) -> Self {
        Self {
            metrics,
            routes: [HashMap::new(), HashMap::new()],
        }
    }

    /// The handles of `route` (a topic for events).
    pub(crate) fn route(&mut self, kind: Kind, route: &str) -> Handled {
        let routes = &mut self.routes[usize::from(kind == Kind::Event)];
        if let Some(handled) = routes.get(route) {
            return handled.clone();
        }
        let route = if routes.len() < MAX_ROUTES {
            route
        } else {
            OTHER
        };
        let metrics = self.metrics.clone();
        routes
            .entry(route.to_owned())
            .or_insert_with(|| {
                let ok = metrics
                    .counts
                    .get_or_create(&HandledLabels {
                        kind: kind.label(),
                        route: route.to_owned(),
                        outcome: "ok".to_owned(),
                    })
                    .clone();
                let duration = metrics
                    .durations
                    .get_or_create(&RouteLabels {
                        kind: kind.label(),
                        route: route.to_owned(),
                    })
                    .clone();
                Handled {
                    inner: Arc::new(RouteHandles {
                        metrics,
                        kind,
                        route: route.to_owned(),
                        ok,
                        duration,
                        outcomes: Mutex::new(HashSet::new()),
                    }),
                }
            })
            .clone()
    }
}

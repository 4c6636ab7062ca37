//! What the dispatcher keeps per route (and per topic): found with one
//! lookup per message, then shared by reference counts.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt as _};

use crate::metrics::{Handled as RouteMetrics, Kind, RouteCache};
use crate::placement::Slot;

/// Routes and topics kept, each kind; past it a name's state is made anew
/// for every message (its metrics still count under the bounded labels; its
/// placement never leaves probation, so it runs on the pool). A service
/// declares its routes and topics, so only a misbehaving gateway gets here.
const MAX_KEPT: usize = 1_024;

/// One route's (or topic's) state.
pub(super) struct RouteState {
    /// The name, shared with every handler's context.
    pub(super) name: Arc<str>,
    /// Its metric handles.
    pub(super) metrics: RouteMetrics,
    /// Where its handler runs.
    pub(super) slot: Slot,
}

/// Every route's and topic's state.
pub(super) struct Routes {
    /// Requests' routes, then events' topics.
    kept: [HashMap<String, Arc<RouteState>>; 2],
    metrics: RouteCache,
}

impl Routes {
    pub(super) fn new(metrics: RouteCache) -> Self {
        Self {
            kept: [HashMap::new(), HashMap::new()],
            metrics,
        }
    }

    /// The state of `name`, made on its first message.
    pub(super) fn get(&mut self, kind: Kind, name: &str) -> Arc<RouteState> {
        let kept = &mut self.kept[usize::from(kind == Kind::Event)];
        if let Some(state) = kept.get(name) {
            return state.clone();
        }
        let state = Arc::new(RouteState {
            name: Arc::from(name),
            metrics: self.metrics.route(kind, name),
            slot: Slot::default(),
        });
        if kept.len() < MAX_KEPT {
            kept.insert(name.to_owned(), state.clone());
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::HandledMetrics;

    #[test]
    fn a_route_and_a_topic_of_the_same_name_are_apart() {
        let mut routes = Routes::new(RouteCache::new(Arc::new(HandledMetrics::default())));
        let route = routes.get(Kind::Request, "news");
        let again = routes.get(Kind::Request, "news");
        let topic = routes.get(Kind::Event, "news");
        assert!(Arc::ptr_eq(&route, &again), "one state per route");
        assert!(!Arc::ptr_eq(&route, &topic));
        assert_eq!(&*topic.name, "news");
    }

    #[test]
    fn past_the_bound_names_are_not_kept() {
        let mut routes = Routes::new(RouteCache::new(Arc::new(HandledMetrics::default())));
        for n in 0..MAX_KEPT {
            routes.get(Kind::Event, &format!("t{n}"));
        }
        let first = routes.get(Kind::Event, "late");
        let second = routes.get(Kind::Event, "late");
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(routes.kept[1].len(), MAX_KEPT);
    }
}

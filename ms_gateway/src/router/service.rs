//! Per-service and per-connection routing state.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use ms_protocol::{Hello, MessageId};

use super::{ConnId, InstanceKey, JobId};

/// One service name: its queue and its connected instances.
#[derive(Debug, Default)]
pub(super) struct Service {
    /// Work waiting for a connection with room; bounded by the queue limit.
    pub queue: VecDeque<JobId>,
    /// Connected instances, in connection order, for round robin.
    pub conns: Vec<ConnId>,
    /// Index in `conns` where the next round-robin search starts.
    pub next: usize,
    /// Whether any instance ever said hello: decides between
    /// `unknown_service` and `timeout` at the deadline.
    pub ever_connected: bool,
    /// Every route any instance ever listed; used while none is connected.
    pub known_routes: BTreeSet<String>,
    /// Every topic any instance ever listed: events for them are kept.
    pub topics: BTreeSet<String>,
}

impl Service {
    /// Whether the service answers `route`: by its connected instances, or
    /// by any instance it ever had when none is connected.
    pub fn serves_route(&self, route: &str, conns: &HashMap<ConnId, Conn>) -> bool {
        let connected: Vec<&Conn> = self.conns.iter().filter_map(|c| conns.get(c)).collect();
        if connected.is_empty() {
            self.known_routes.contains(route)
        } else {
            connected.iter().any(|c| c.routes.contains(route))
        }
    }

    /// The next connection, round robin, that has room and serves `route`
    /// (any connection with room for an event).
    pub fn pick(&mut self, conns: &HashMap<ConnId, Conn>, route: Option<&str>) -> Option<ConnId> {
        let n = self.conns.len();
        for step in 0..n {
            let index = (self.next + step) % n;
            let id = self.conns[index];
            let Some(conn) = conns.get(&id) else { continue };
            let has_room = conn.in_flight.len() < conn.max_in_flight;
            let serves = route.is_none_or(|r| conn.routes.contains(r));
            if has_room && serves {
                self.next = (index + 1) % n;
                return Some(id);
            }
        }
        None
    }
}

/// One connected instance.
#[derive(Debug)]
pub(super) struct Conn {
    /// Who it is.
    pub key: InstanceKey,
    /// `hello.max_in_flight`.
    pub max_in_flight: usize,
    /// `hello.routes`.
    pub routes: HashSet<String>,
    /// Requests unsettled and events unacked on this connection, by frame id.
    pub in_flight: HashMap<MessageId, JobId>,
}

impl Conn {
    /// The state of a connection that just said `hello`.
    pub fn new(key: InstanceKey, hello: &Hello) -> Self {
        Self {
            key,
            max_in_flight: usize::try_from(hello.max_in_flight).unwrap_or(usize::MAX),
            routes: hello.routes.iter().cloned().collect(),
            in_flight: HashMap::new(),
        }
    }
}

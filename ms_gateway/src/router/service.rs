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
    /// Every topic any instance listed: events for them are kept.
    pub topics: BTreeSet<String>,
    /// Since when (Unix ms) the service has had no connected instance; the
    /// entry is forgotten `service_ttl_ms` later. `None` while connected.
    pub idle_since: Option<u64>,
}

impl Service {
    /// A name first seen at `now`, with no instance yet.
    pub fn idle(now: u64) -> Self {
        Self {
            idle_since: Some(now),
            ..Self::default()
        }
    }

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

    /// Whether any connection of the service has a free slot.
    pub fn has_room(&self, conns: &HashMap<ConnId, Conn>) -> bool {
        self.conns
            .iter()
            .filter_map(|c| conns.get(c))
            .any(|c| c.has_room(0))
    }

    /// The next connection, round robin, that has room, serves `route` (any
    /// connection with room for an event) and holds no other delivery with
    /// frame id `id` (so a settlement names exactly one delivery).
    pub fn pick(
        &mut self,
        conns: &HashMap<ConnId, Conn>,
        route: Option<&str>,
        id: &MessageId,
        weight: u64,
    ) -> Option<ConnId> {
        let n = self.conns.len();
        for step in 0..n {
            let index = (self.next + step) % n;
            let conn_id = self.conns[index];
            let Some(conn) = conns.get(&conn_id) else {
                continue;
            };
            let serves = route.is_none_or(|r| conn.routes.contains(r));
            if conn.has_room(weight) && serves && !conn.in_flight.contains_key(id) {
                self.next = (index + 1) % n;
                return Some(conn_id);
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
    /// What the gateway granted: `hello.max_in_flight` up to the router's cap.
    pub max_in_flight: usize,
    /// `hello.routes`.
    pub routes: HashSet<String>,
    /// Requests unsettled and events unacked on this connection, by frame
    /// id; never two deliveries with one id on one connection.
    pub in_flight: HashMap<MessageId, JobId>,
    /// What those deliveries weigh, against [`Conn::max_bytes`].
    pub in_flight_bytes: u64,
    /// Most bytes of deliveries outstanding (the router's `max_conn_bytes`).
    pub max_bytes: u64,
}

impl Conn {
    /// The state of a connection that just said `hello`, granted at most `cap`.
    pub fn new(key: InstanceKey, hello: &Hello, cap: u32, max_bytes: u64) -> Self {
        let granted = hello.max_in_flight.min(cap).max(1);
        Self {
            key,
            max_in_flight: usize::try_from(granted).unwrap_or(usize::MAX),
            routes: hello.routes.iter().cloned().collect(),
            in_flight: HashMap::new(),
            in_flight_bytes: 0,
            max_bytes,
        }
    }

    /// Whether it may take one more delivery weighing `weight` bytes: a
    /// free slot, and room in its byte budget (an idle connection takes
    /// any one delivery).
    pub fn has_room(&self, weight: u64) -> bool {
        self.in_flight.len() < self.max_in_flight
            && (self.in_flight.is_empty()
                || self.in_flight_bytes.saturating_add(weight) <= self.max_bytes)
    }
}

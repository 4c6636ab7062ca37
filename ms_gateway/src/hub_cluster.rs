//! The hub's side of cluster mode: what the cluster shell asks of it.

use ms_protocol::{Envelope, Headers, MessageId, WireError};

use ms_protocol::clock::now_ms;

use super::{Hub, Order};
use crate::router::{CallerId, Confirm, Effect, InstanceKey, Origin, Outcome, Router, Ticket};
use std::sync::atomic::Ordering;

/// Cluster mode: what the cluster shell asks of the hub.
impl Hub {
    pub(super) fn order(&self, order: Order) {
        if let Some(orders) = &self.orders {
            // The shell ends only with the gateway.
            let _ = orders.send(order);
        }
    }

    /// Whether the NATS connection is up (always, for a single node).
    pub fn is_backplane_up(&self) -> bool {
        self.backplane_up.load(Ordering::Relaxed)
    }

    /// Records the NATS connection's state.
    pub fn set_backplane_up(&self, up: bool) {
        self.backplane_up.store(up, Ordering::Relaxed);
    }

    /// Woken when a local connection may have a free slot again.
    pub fn slots_changed(&self) -> &tokio::sync::Notify {
        &self.slots
    }

    /// Work taken from the backplane (see [`Router::take_remote`]).
    pub fn take_remote(&self, ticket: Ticket, target: &str, envelope: Envelope, delivered: u32) {
        self.with_router(|r| r.take_remote(ticket, target, envelope, delivered, now_ms()));
    }

    /// An answer for a local instance (see [`Router::remote_answer`]).
    pub fn remote_answer(&self, key: &InstanceKey, envelope: Envelope, ticket: Ticket) {
        self.with_router(|r| r.remote_answer(key, envelope, ticket));
    }

    /// An answer for an HTTP caller waiting here.
    pub fn http_answer(&self, caller: CallerId, envelope: Envelope) {
        self.with_router(|r| r.forwarded_answer(&Origin::Http(caller), envelope, now_ms()));
    }

    /// The backplane holds forwarded work: tell `confirm`.
    pub fn confirm(&self, confirm: Confirm, id: MessageId) {
        let mut inner = self.lock();
        let effect = match confirm {
            Confirm::Conn(conn) => Effect::Ack { conn, id },
            Confirm::Caller(caller) => Effect::Answer {
                caller,
                outcome: Outcome::Reply {
                    payload: ms_protocol::Payload::Inline(ms_protocol::Json::null()),
                    headers: Headers::new(),
                },
            },
        };
        self.run(&mut inner, vec![effect]);
    }

    /// The backplane refused forwarded work: a request's caller gets
    /// `error` as its answer (and the sender its ack); an event's sender
    /// gets `error`.
    pub fn refuse(
        &self,
        origin: Option<&Origin>,
        confirm: Option<Confirm>,
        id: &MessageId,
        error: WireError,
    ) {
        let mut inner = self.lock();
        let mut effects = Vec::new();
        match (origin, confirm) {
            (Some(origin), confirm) => {
                if let Some(Confirm::Conn(conn)) = confirm {
                    effects.push(Effect::Ack {
                        conn,
                        id: id.clone(),
                    });
                }
                effects.extend(inner.router.forward_failed(origin, id, error));
            }
            (None, Some(Confirm::Conn(conn))) => effects.push(Effect::Send {
                conn,
                envelope: Envelope::error(Some(id), error),
            }),
            (None, Some(Confirm::Caller(caller))) => effects.push(Effect::Answer {
                caller,
                outcome: Outcome::Failed(error),
            }),
            (None, None) => {}
        }
        self.run(&mut inner, effects);
    }

    /// What another node said about a service.
    pub fn learn_service(&self, name: &str, routes: &[String], topics: &[String]) {
        self.lock()
            .router
            .learn_service(name, routes, topics, now_ms());
    }

    /// Free slots of `service`'s local connections.
    pub fn free_slots(&self, service: &str) -> usize {
        self.read(|r| r.free_slots(service))
    }

    /// Whether `service` has an instance connected here.
    pub fn has_instances(&self, service: &str) -> bool {
        self.read(|r| r.has_instances(service))
    }

    /// Whether instance `key` is connected here.
    pub fn is_connected(&self, key: &InstanceKey) -> bool {
        self.read(|r| r.is_connected(key))
    }

    /// Backplane answers held for `key`, unacked.
    pub fn remote_answers_held(&self, key: &InstanceKey) -> usize {
        self.read(|r| r.remote_answers_held(key))
    }

    /// Every backplane message the router holds.
    pub fn held_tickets(&self) -> std::collections::HashSet<Ticket> {
        self.read(Router::held_tickets)
    }
}

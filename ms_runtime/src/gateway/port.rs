//! What the session hands out and takes back: the supervisor's ports.
//!
//! The connection side owns these types; the dispatcher (handler actors,
//! the low-level client's channel) implements [`Dispatch`] and depends on
//! this module, never the reverse.

use std::time::{Duration, Instant};

use super::{Gateway, RequestKey, Settle};
use crate::protocol::{Headers, Payload};

/// One message for a handler.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// The message's id (and, for a request, its sender): what its
    /// settlement names.
    pub(crate) key: RequestKey,
    pub(crate) kind: DeliveryKind,
    pub(crate) headers: Headers,
    /// Inline, or a claim check resolved before the handler runs.
    pub(crate) payload: Payload,
    /// Time left until the request's deadline.
    pub(crate) deadline: Option<Duration>,
}

/// Whether a delivery is a request (answered) or an event (acknowledged).
#[derive(Debug)]
pub(crate) enum DeliveryKind {
    Request { route: String, from: Option<String> },
    Event { topic: String },
}

/// Connection changes the handler hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Connected,
    Disconnected,
}

/// Where the supervisor sends what it receives.
pub(crate) trait Dispatch {
    /// Hands `delivery` over. A delivery that ends at once, within this
    /// call, returns its settlement; the others settle later through
    /// `gateway`.
    /// `now` is when the message arrived.
    fn deliver(&mut self, delivery: Delivery, gateway: &Gateway, now: Instant) -> Option<Settle>;
    fn lifecycle(&mut self, event: Lifecycle, gateway: &Gateway);
}

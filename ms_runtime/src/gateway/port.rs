//! What the session hands out and takes back: the supervisor's ports.
//!
//! The connection side owns these types; the dispatcher (handler actors,
//! the low-level client's channel) implements [`Dispatch`] and depends on
//! this module, never the reverse.

use std::time::Duration;

use super::Gateway;
use crate::protocol::{Headers, MessageId, Payload};

/// One message for a handler.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) id: MessageId,
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

impl DeliveryKind {
    /// A request's `from`, as the gateway set it.
    pub(crate) fn from(&self) -> Option<&str> {
        match self {
            Self::Request { from, .. } => from.as_deref(),
            Self::Event { .. } => None,
        }
    }
}

/// Connection changes the handler hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Connected,
    Disconnected,
}

/// Where the supervisor sends what it receives.
pub(crate) trait Dispatch {
    fn deliver(&mut self, delivery: Delivery, gateway: &Gateway);
    fn lifecycle(&mut self, event: Lifecycle, gateway: &Gateway);
}

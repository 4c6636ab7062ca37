//! What the router asks the I/O layer to do.

use ms_protocol::{Envelope, Headers, MessageId, Payload, WireError};

use super::{CallerId, ConnId};

/// One thing the I/O layer must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send this frame on connection `conn`.
    Send {
        /// The connection.
        conn: ConnId,
        /// The frame.
        envelope: Envelope,
    },
    /// Acknowledge frame `id` on connection `conn` (batched by the session,
    /// sent within 50 ms).
    Ack {
        /// The connection.
        conn: ConnId,
        /// The id acknowledged.
        id: MessageId,
    },
    /// Answer the HTTP caller `caller`.
    Answer {
        /// The caller.
        caller: CallerId,
        /// Its answer.
        outcome: Outcome,
    },
    /// Close connection `conn` with this code; the router has already
    /// taken back what it held.
    Close {
        /// The connection.
        conn: ConnId,
        /// The websocket close code.
        code: u16,
        /// The close reason sent to the peer.
        reason: &'static str,
    },
    /// A subscriber's copy of an event was dropped because its queue was
    /// full: worth a log line.
    EventDropped {
        /// The subscriber service.
        service: String,
        /// The event's topic.
        topic: String,
        /// The event's id.
        id: MessageId,
    },
}

/// The answer to an HTTP caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service replied.
    Reply {
        /// The reply payload, forwarded untouched.
        payload: Payload,
        /// The reply's headers.
        headers: Headers,
    },
    /// The service or the gateway answered with an error.
    Failed(WireError),
}

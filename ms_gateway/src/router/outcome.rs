//! What the router asks the I/O layer to do.

use ms_protocol::{Envelope, Headers, MessageId, Payload, WireError};

use super::{CallerId, ConnId, InstanceKey, Origin, Ticket};

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
    /// Cluster mode: publish this accepted request or event to the
    /// backplane (one copy per target service), then confirm it.
    Forward(Forward),
    /// Cluster mode: the answer to a request taken from the backplane goes
    /// back to its origin, then the backplane message is settled.
    RemoteAnswer {
        /// The backplane message the request came in.
        ticket: Ticket,
        /// The `reply` or `error`, `correlation_id` = the request's id.
        envelope: Envelope,
    },
    /// Cluster mode: the router is done with a backplane message.
    RemoteDone {
        /// The backplane message.
        ticket: Ticket,
        /// Settled, or handed back for another instance.
        done: RemoteDone,
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
    /// A message from a service or from another node was refused or
    /// failed (answered with an error, or a settlement refused): worth a
    /// log line. HTTP callers' failures are logged by the HTTP edge.
    Failed(Failure),
}

/// A refused or failed message, for its log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Who sent it.
    pub peer: Peer,
    /// The frame's id.
    pub id: MessageId,
    /// Its `trace_id` header, if any.
    pub trace_id: Option<String>,
    /// The service it addressed (empty when unknown).
    pub service: String,
    /// The route it addressed (empty when unknown).
    pub route: String,
    /// The error answered.
    pub error: WireError,
}

/// Who sent a refused or failed message: the key of its log budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A connection.
    Conn(ConnId),
    /// A service instance (its connection, if it has one now).
    Instance(InstanceKey),
    /// Another node, through the backplane.
    Backplane,
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

/// Work accepted on this node for the backplane (cluster mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The frame as accepted: `from` and `deadline_ms` set by this node.
    pub envelope: Envelope,
    /// Who sent it, as this node knows it (`SERVICE/INSTANCE`, or `http`):
    /// with the frame id, the key that makes a resent frame a duplicate.
    pub sender: String,
    /// One copy per service: the request's `to`, or every subscriber of
    /// the event's topic.
    pub targets: Vec<String>,
    /// Where a request's answer goes; `None` for events.
    pub origin: Option<Origin>,
    /// Who is told once the backplane holds every copy.
    pub confirm: Option<Confirm>,
}

/// Who learns that forwarded work is safe in the backplane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Ack the frame on this connection.
    Conn(ConnId),
    /// Answer this HTTP publisher (202).
    Caller(CallerId),
}

/// How the router finished with a backplane message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteDone {
    /// Done: acknowledge it (an event or answer acked by its instance).
    Settled,
    /// Not done here (its connection dropped, or nobody here serves it):
    /// give it back at once for another instance.
    HandBack,
}

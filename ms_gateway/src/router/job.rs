//! A request or event the gateway accepted and has not finished with.

use ms_protocol::{Body, Envelope, Payload};

use super::{ConnId, Origin, Ticket};

/// Bytes counted for a frame besides its payload (ids, names, headers).
const FRAME_OVERHEAD: u64 = 512;

/// The router's own name for one accepted unit of work.
///
/// An event fanned out to three services is three jobs sharing one envelope
/// id; ordering by `JobId` is arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub(super) u64);

/// What a job is for.
#[derive(Debug, Clone)]
pub(super) enum JobKind {
    /// A request; settled by a reply or error, answered to `origin`.
    Request {
        /// Where the answer goes, and with the frame id the key of the
        /// request: the same id from two senders is two requests.
        origin: Origin,
        /// The route addressed, to pick a connection that serves it.
        route: String,
    },
    /// An event for one subscribed service; settled by an ack.
    Event,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobState {
    /// Waiting in its service's queue.
    Queued,
    /// Delivered on this connection and not settled.
    InFlight(ConnId),
    /// Cluster mode: published to the backplane for another node (or
    /// this one) to run; kept only to answer its caller at the deadline.
    Forwarded,
    /// Nobody waits for it any more (deadline passed, or the HTTP caller
    /// left) while this connection holds it: the slot stays taken until the
    /// service settles it or drops.
    Expired(ConnId),
}

/// One accepted request or event.
#[derive(Debug, Clone)]
pub(super) struct Job {
    /// The frame as accepted (with `from` and `deadline_ms` set); `attempt`
    /// is set on each delivery.
    pub envelope: Envelope,
    /// The service it is for.
    pub target: String,
    /// Request or event.
    pub kind: JobKind,
    /// Absolute deadline in Unix ms, if any.
    pub deadline: Option<u64>,
    /// When it was accepted, for the latency histogram.
    pub accepted_at: u64,
    /// Deliveries so far; the next delivery's `attempt` is this plus one.
    pub deliveries: u32,
    /// Where it is.
    pub state: JobState,
    /// What it counts against the router's byte bound.
    pub weight: u64,
    /// Cluster mode: the backplane message it came in, if any.
    pub remote: Option<Ticket>,
}

impl Job {
    /// The route a request addresses (empty for an event).
    pub fn route(&self) -> &str {
        match &self.kind {
            JobKind::Request { route, .. } => route,
            JobKind::Event => "",
        }
    }
}

/// What a frame counts against the router's byte bound: its inline payload
/// plus a fixed allowance for the rest.
pub(super) fn weight(envelope: &Envelope) -> u64 {
    let payload = match &envelope.body {
        Body::Request(r) => Some(&r.payload),
        Body::Reply(r) => Some(&r.payload),
        Body::Event(e) => Some(&e.payload),
        _ => None,
    };
    let inline = match payload {
        Some(Payload::Inline(json)) => u64::try_from(json.len()).unwrap_or(u64::MAX),
        _ => 0,
    };
    inline.saturating_add(FRAME_OVERHEAD)
}

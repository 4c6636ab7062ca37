//! A request or event the gateway accepted and has not finished with.

use ms_protocol::Envelope;

use super::{ConnId, Origin};

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
        /// Where the answer goes.
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
    /// Its deadline passed while a service held it: the caller has its
    /// answer, the slot stays taken until the service settles it or drops.
    Expired,
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
}

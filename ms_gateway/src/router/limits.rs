//! The router's bounds: every number a peer could otherwise choose.

/// The router's bounds. Each one caps something a peer controls (how much
/// it queues, how long it asks the gateway to wait, how many names it
/// invents), so that one account cannot grow the gateway without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterLimits {
    /// Most requests and events waiting for one service; past it new
    /// requests are refused with `overloaded` and a new event's copy for
    /// that service is dropped (the publish still reaches the others).
    /// Redeliveries are not counted against it: they were accepted already.
    pub queue_limit: usize,
    /// Deadline given to a request that carries no `deadline_ms`, in ms from
    /// its arrival.
    pub default_timeout_ms: u64,
    /// Furthest a caller may set a deadline, in ms from arrival; a request
    /// or event asking for more is refused with `bad_request`.
    pub max_deadline_ms: u64,
    /// Most unacknowledged answers kept for one service instance that is
    /// away; past it the oldest is dropped.
    pub max_unacked_per_instance: usize,
    /// Most unsettled deliveries on one connection, whatever its `hello`
    /// asked (`welcome.max_in_flight` tells the service).
    pub max_in_flight: u32,
    /// Most bytes of deliveries outstanding on one connection (besides the
    /// count cap): a connection whose peer is slow to settle stops getting
    /// work before its socket backlog grows. One delivery always fits.
    pub max_conn_bytes: u64,
    /// Most payload bytes the router holds over all services (queued, in
    /// flight and unacknowledged answers); past it new work is refused with
    /// `overloaded`.
    pub max_held_bytes: u64,
    /// Most service names known at once. Names are created by the `to` of
    /// requests (a caller may wait for a service that has not connected
    /// yet); past the bound a request to a new name is refused with
    /// `overloaded`. Names that services register are never refused.
    pub max_services: usize,
    /// How long a service name with no connected instance is kept, in ms;
    /// then it is forgotten with its subscriptions, and events still queued
    /// for it are dropped (counted in `ms_gateway_events_dropped_total`).
    pub service_ttl_ms: u64,
    /// How long a request for a service name no instance has ever
    /// registered waits for a first one, in ms, before it is answered with
    /// `unknown_service` (its deadline still applies if sooner). Long enough
    /// for services started together with their callers to connect; short
    /// enough that a misspelt name fails fast instead of at the deadline.
    pub unknown_service_wait_ms: u64,
    /// Most (service, route) label sets in `/metrics` (see
    /// [`Series`](super::Series)); past it new ones are counted under
    /// `service="(other)", route="(other)"`.
    pub max_metric_series: usize,
}

/// Default of [`RouterLimits::max_deadline_ms`]: 5 minutes.
pub const DEFAULT_MAX_DEADLINE_MS: u64 = 300_000;
/// Default of [`RouterLimits::max_held_bytes`]: 256 MiB.
pub const DEFAULT_MAX_HELD_BYTES: u64 = 256 << 20;
/// Default of [`RouterLimits::unknown_service_wait_ms`]: 5 seconds.
pub const DEFAULT_UNKNOWN_SERVICE_WAIT_MS: u64 = 5_000;
/// Default of [`RouterLimits::max_in_flight`].
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 1024;

impl Default for RouterLimits {
    fn default() -> Self {
        Self {
            queue_limit: 1024,
            default_timeout_ms: 30_000,
            max_deadline_ms: DEFAULT_MAX_DEADLINE_MS,
            max_unacked_per_instance: 10_000,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_conn_bytes: 64 << 20,
            max_held_bytes: DEFAULT_MAX_HELD_BYTES,
            max_services: 10_000,
            service_ttl_ms: 600_000,
            unknown_service_wait_ms: DEFAULT_UNKNOWN_SERVICE_WAIT_MS,
            max_metric_series: super::DEFAULT_MAX_SERIES,
        }
    }
}

//! The hub's side of observability: what the I/O layer counts itself, the
//! snapshot a scrape encodes, and the log lines about refused and failed
//! messages.

use std::sync::atomic::Ordering;

use ms_protocol::ErrorCode;

use super::Hub;
use crate::metrics::{SessionStats, Snapshot};
use crate::refusal_log::{Refusal, RefusalLog};
use crate::router::{ConnId, Failure, Peer, Router};

/// The log-budget key of connection `conn`.
pub fn conn_peer(conn: ConnId) -> String {
    format!("conn {conn}")
}

impl Hub {
    /// Counts a frame answered as malformed.
    pub fn count_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection closed with 1009.
    pub fn count_oversized(&self) {
        self.oversized.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request refused with 401 (missing or wrong credentials).
    pub fn count_auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a session dropped because its peer did not read.
    pub fn count_slow_peer(&self) {
        self.slow_peers.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an error answer the I/O layer gave itself (a call this user
    /// may not make, a bad HTTP request) in `ms_gateway_errors_total`.
    pub fn count_refusal(&self, to: &str, route: &str, code: &ErrorCode) {
        self.lock().router.count_error(to, route, code);
    }

    /// The log of refused and failed messages.
    pub fn refusals(&self) -> &RefusalLog {
        &self.refusals
    }

    /// A copy of every metric, taken under the lock; encoding happens
    /// after, without it.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        let io = SessionStats {
            malformed_frames: self.malformed.load(Ordering::Relaxed),
            outbound_bytes: inner
                .outboxes
                .values()
                .map(|o| o.pending.load(Ordering::Relaxed))
                .fold(0, u64::saturating_add),
            slow_peers_dropped: self.slow_peers.load(Ordering::Relaxed),
            oversized_frames: self.oversized.load(Ordering::Relaxed),
            log_lines_suppressed: self.refusals.suppressed_total(),
            auth_failures: self.auth_failures.load(Ordering::Relaxed),
        };
        Snapshot {
            counters: inner.router.counters().clone(),
            gauges: inner.router.gauges(),
            io,
        }
    }

    /// The log line of a message the router refused or failed.
    pub(super) fn log_failure(&self, router: &Router, failure: &Failure) {
        let peer = match &failure.peer {
            Peer::Conn(conn) => conn_peer(*conn),
            Peer::Instance(key) => router.conn_of(key).map_or_else(
                || format!("instance {}/{}", key.service, key.instance),
                conn_peer,
            ),
            Peer::Backplane => "backplane".to_owned(),
        };
        let id = failure.id.to_string();
        self.refusals.write(
            &peer,
            &Refusal {
                id: Some(&id),
                trace_id: failure.trace_id.as_deref(),
                service: Some(&failure.service),
                route: Some(&failure.route),
                code: failure.error.code.as_str(),
                reason: &failure.error.message,
            },
        );
    }
}

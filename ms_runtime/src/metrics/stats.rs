//! What the gateway session counts about itself, for the metrics: the pure
//! session keeps a [`SessionStats`], the supervisor copies it into a
//! [`StatsCell`] after every step, and a scrape reads the cell from any
//! thread. Defined here, not in the gateway module, so that metrics
//! imports nothing of the modules that record into it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The session's figures at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SessionStats {
    /// Welcomed by the gateway right now.
    pub(crate) connected: bool,
    /// Sessions the gateway welcomed since start (reconnects are this minus one).
    pub(crate) sessions: u64,
    /// Connection attempts that failed or were refused before `welcome`.
    pub(crate) connect_failures: u64,
    /// Frames sent and not acknowledged yet (replies, requests, events).
    pub(crate) outbox_frames: u64,
    /// Their size in bytes.
    pub(crate) outbox_bytes: u64,
    /// Redelivered requests answered from the dedup memory (or refused as
    /// answered before), instead of running the handler again.
    pub(crate) dedup_hits: u64,
    /// Requests remembered in the dedup memory.
    pub(crate) dedup_entries: u64,
}

/// A [`SessionStats`] shared between the supervisor's thread and scrapes.
#[derive(Debug, Default)]
pub(crate) struct StatsCell {
    connected: AtomicBool,
    sessions: AtomicU64,
    connect_failures: AtomicU64,
    outbox_frames: AtomicU64,
    outbox_bytes: AtomicU64,
    dedup_hits: AtomicU64,
    dedup_entries: AtomicU64,
}

impl StatsCell {
    /// Publishes `stats` (each field on its own: a scrape may see two
    /// steps mixed, never a torn number).
    pub(crate) fn store(&self, stats: &SessionStats) {
        let o = Ordering::Relaxed;
        self.connected.store(stats.connected, o);
        self.sessions.store(stats.sessions, o);
        self.connect_failures.store(stats.connect_failures, o);
        self.outbox_frames.store(stats.outbox_frames, o);
        self.outbox_bytes.store(stats.outbox_bytes, o);
        self.dedup_hits.store(stats.dedup_hits, o);
        self.dedup_entries.store(stats.dedup_entries, o);
    }

    /// The latest figures.
    pub(crate) fn load(&self) -> SessionStats {
        let o = Ordering::Relaxed;
        SessionStats {
            connected: self.connected.load(o),
            sessions: self.sessions.load(o),
            connect_failures: self.connect_failures.load(o),
            outbox_frames: self.outbox_frames.load(o),
            outbox_bytes: self.outbox_bytes.load(o),
            dedup_hits: self.dedup_hits.load(o),
            dedup_entries: self.dedup_entries.load(o),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_gives_back_what_was_stored() {
        let cell = StatsCell::default();
        assert_eq!(cell.load(), SessionStats::default());
        let stats = SessionStats {
            connected: true,
            sessions: 3,
            connect_failures: 2,
            outbox_frames: 5,
            outbox_bytes: 900,
            dedup_hits: 7,
            dedup_entries: 40,
        };
        cell.store(&stats);
        assert_eq!(cell.load(), stats);
    }
}

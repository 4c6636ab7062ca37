//! One log line per refused or failed message, with its trace id, and a
//! budget per peer so that a hostile peer cannot flood the log.
//!
//! Each peer (a connection, an HTTP user, the backplane) has a token
//! bucket of [`BURST`] lines refilled at [`LINES_PER_SECOND`]; a line
//! past it is not written but counted, and the peer's next written line
//! is preceded by one summary line saying how many were left out (so is
//! the end of its session). At most [`MAX_PEERS`] peers have their own
//! bucket; past that, new peers share one. Lines never carry payloads or
//! credentials: the frame id, trace id, service, route, error code and
//! the gateway's own reason.

use std::collections::HashMap;
use std::sync::Mutex;

use ms_protocol::clock::now_ms;

/// Lines a peer may have written at once.
pub const BURST: u64 = 20;
/// Lines a peer's budget regains per second.
pub const LINES_PER_SECOND: u64 = 2;
/// Peers with a bucket of their own.
pub const MAX_PEERS: usize = 4096;
/// The bucket shared by the peers past [`MAX_PEERS`].
const OVERFLOW: &str = "(others)";

/// A token bucket per peer (pure: the time is an argument).
#[derive(Debug)]
pub struct LogBudget {
    burst: u64,
    per_second: u64,
    max_peers: usize,
    peers: HashMap<String, Bucket>,
    suppressed_total: u64,
}

#[derive(Debug)]
struct Bucket {
    /// Thousandths of a line.
    milli_tokens: u64,
    last_ms: u64,
    /// Lines left out since the last one written.
    suppressed: u64,
}

/// Whether to write a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write it, after a summary line if `suppressed_before` is not 0.
    Write {
        /// Lines of this peer left out since its last written one.
        suppressed_before: u64,
    },
    /// Leave it out (counted).
    Suppress,
}

impl LogBudget {
    /// `burst` lines at once, `per_second` regained, `max_peers` buckets.
    pub fn new(burst: u64, per_second: u64, max_peers: usize) -> Self {
        Self {
            burst,
            per_second,
            max_peers,
            peers: HashMap::new(),
            suppressed_total: 0,
        }
    }

    /// Spends one line of `peer`'s budget at `now` (ms), if it has one.
    pub fn check(&mut self, peer: &str, now: u64) -> Verdict {
        let full = self.burst.saturating_mul(1000);
        let key = if self.peers.contains_key(peer) || self.peers.len() < self.max_peers {
            peer
        } else {
            OVERFLOW
        };
        let bucket = self.peers.entry(key.to_owned()).or_insert(Bucket {
            milli_tokens: full,
            last_ms: now,
            suppressed: 0,
        });
        let regained = now
            .saturating_sub(bucket.last_ms)
            .saturating_mul(self.per_second);
        bucket.milli_tokens = bucket.milli_tokens.saturating_add(regained).min(full);
        bucket.last_ms = now;
        if bucket.milli_tokens >= 1000 {
            bucket.milli_tokens -= 1000;
            Verdict::Write {
                suppressed_before: std::mem::take(&mut bucket.suppressed),
            }
        } else {
            bucket.suppressed += 1;
            self.suppressed_total += 1;
            Verdict::Suppress
        }
    }

    /// Drops `peer`'s bucket (its session ended); the lines it had left
    /// out since its last written one.
    pub fn forget(&mut self, peer: &str) -> u64 {
        self.peers.remove(peer).map_or(0, |b| b.suppressed)
    }

    /// Lines left out since start, all peers.
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed_total
    }

    /// Peers with a bucket.
    #[cfg(test)]
    pub fn peers(&self) -> usize {
        self.peers.len()
    }
}

/// What a log line about a refused or failed message says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refusal<'a> {
    /// The frame's id, where one could be read.
    pub id: Option<&'a str>,
    /// The `trace_id` header or `X-Trace-Id`.
    pub trace_id: Option<&'a str>,
    /// The service addressed (or the session's own service).
    pub service: Option<&'a str>,
    /// The route addressed.
    pub route: Option<&'a str>,
    /// The error code answered, or what happened (`slow_peer`, `oversized_frame`).
    pub code: &'a str,
    /// The gateway's reason, never the payload.
    pub reason: &'a str,
}

/// Writes [`Refusal`] lines within each peer's [`LogBudget`].
#[derive(Debug)]
pub struct RefusalLog {
    logger: slog::Logger,
    budget: Mutex<LogBudget>,
}

impl RefusalLog {
    /// Lines go to `logger` at level warn.
    pub fn new(logger: slog::Logger) -> Self {
        Self {
            logger,
            budget: Mutex::new(LogBudget::new(BURST, LINES_PER_SECOND, MAX_PEERS)),
        }
    }

    fn budget(&self) -> std::sync::MutexGuard<'_, LogBudget> {
        // The budget holds only numbers: a panic elsewhere cannot leave it
        // in a state worse than slightly wrong counts.
        self.budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One line about a refused or failed message from `peer`, if its
    /// budget allows.
    pub fn write(&self, peer: &str, refusal: &Refusal<'_>) {
        let verdict = self.budget().check(peer, now_ms());
        let Verdict::Write { suppressed_before } = verdict else {
            return;
        };
        if suppressed_before > 0 {
            slog::warn!(self.logger, "{suppressed_before} more refused or failed messages from this peer were not logged";
                "peer" => peer, "suppressed" => suppressed_before);
        }
        let field = |value: Option<&str>| clean(value.unwrap_or(""));
        slog::warn!(self.logger, "message refused or failed";
            "peer" => peer,
            "trace_id" => field(refusal.trace_id),
            "id" => field(refusal.id),
            "service" => field(refusal.service),
            "route" => field(refusal.route),
            "code" => clean(refusal.code),
            "reason" => clean(refusal.reason));
    }

    /// `peer` is gone: says how many of its lines were left out since its
    /// last written one, if any.
    pub fn forget(&self, peer: &str) {
        let suppressed = self.budget().forget(peer);
        if suppressed > 0 {
            slog::warn!(self.logger, "{suppressed} more refused or failed messages from this peer were not logged";
                "peer" => peer, "suppressed" => suppressed);
        }
    }

    /// Lines left out since start.
    pub fn suppressed_total(&self) -> u64 {
        self.budget().suppressed_total()
    }
}

/// Most bytes of one field in a line.
const MAX_FIELD_BYTES: usize = 256;

/// A field as written: control characters (a forged line break) become
/// `?`, and it is cut at [`MAX_FIELD_BYTES`].
fn clean(value: &str) -> String {
    let mut end = value.len().min(MAX_FIELD_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = value[..end]
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if end < value.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_forge_lines_or_grow_without_bound() {
        assert_eq!(clean("a\nINFO forged"), "a?INFO forged");
        assert_eq!(clean("a\r\nb\u{1b}[31m"), "a??b?[31m");
        // 128 two-byte characters, then "..."
        assert_eq!(clean("é".repeat(200).as_str()).len(), 256 + 3);
    }

    #[test]
    fn a_flood_is_cut_to_the_burst_then_summarised() {
        let mut budget = LogBudget::new(5, 2, 10);
        let written = (0..10_000)
            .filter(|_| matches!(budget.check("conn 1", 0), Verdict::Write { .. }))
            .count();
        assert_eq!(written, 5);
        assert_eq!(budget.suppressed_total(), 9_995);
        // half a second later one line is back, preceded by the summary
        assert_eq!(budget.check("conn 1", 499), Verdict::Suppress);
        assert_eq!(
            budget.check("conn 1", 500),
            Verdict::Write {
                suppressed_before: 9_996
            }
        );
        assert_eq!(budget.check("conn 1", 500), Verdict::Suppress);
        assert_eq!(budget.forget("conn 1"), 1);
    }

    #[test]
    fn one_flooding_peer_leaves_the_others_their_budget() {
        let mut budget = LogBudget::new(3, 1, 10);
        for _ in 0..1_000 {
            budget.check("hostile", 0);
        }
        assert_eq!(
            budget.check("honest", 0),
            Verdict::Write {
                suppressed_before: 0
            }
        );
    }

    #[test]
    fn peers_past_the_bound_share_one_bucket() {
        let mut budget = LogBudget::new(2, 1, 4);
        let written = (0..10_000)
            .filter(|i| matches!(budget.check(&format!("conn {i}"), 0), Verdict::Write { .. }))
            .count();
        // four peers with their own bucket, then one shared bucket of two
        assert_eq!(written, 4 + 2);
        assert_eq!(budget.peers(), 5);
    }
}

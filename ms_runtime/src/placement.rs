//! Where a handler runs: on the connection's own thread, or on the pool.
//!
//! Running a handler on the connection's thread saves two hops between
//! threads per message (the fast path: window-1 latency and small-message
//! throughput), but a handler that computes for long between two `.await`s
//! there would stall the connection's reads, heartbeats and acks. So each
//! route (and topic) starts on the pool, where every poll of its handler is
//! timed; after [`PROBATION`] deliveries whose every poll stayed within the
//! budget it moves to the connection's thread. One poll over the budget,
//! wherever it happens, sends the route to the pool for good.
//!
//! A route that was light [`PROBATION`] times and then blocks can still stall
//! the connection once, for that one poll; routes marked `blocking` never
//! come here (their work runs on the blocking pool).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Light deliveries a route must complete on the pool before it may run on
/// the connection's thread.
pub(crate) const PROBATION: u32 = 16;

/// What is known of one route's (or topic's) handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// Light so far, this many times, on the pool.
    Probation(u32),
    /// Proven light: runs on the connection's thread.
    Inline,
    /// Overstayed the budget once: stays on the pool.
    Pooled,
}

/// Where a route runs after a report moved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moved {
    /// Proven light: to the connection's thread.
    Inline,
    /// A poll overstayed the budget: to the pool for good.
    Pooled,
}

/// The placement policy; each route's record lives in its [`Slot`].
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    budget: Duration,
    mode: Mode,
}

/// One route's (or topic's) record, read by the dispatcher and updated by
/// the handler threads that report back (it lives in the route's shared
/// state): a number, so reading and updating it take no lock. A new one is
/// on probation.
#[derive(Debug, Default)]
pub(crate) struct Slot(AtomicU32);

/// [`Record::Inline`] in a [`Slot`]; smaller numbers are probation counts.
const INLINE: u32 = u32::MAX - 1;
/// [`Record::Pooled`] in a [`Slot`].
const POOLED: u32 = u32::MAX;

impl Record {
    fn load(value: u32) -> Self {
        match value {
            INLINE => Self::Inline,
            POOLED => Self::Pooled,
            n => Self::Probation(n),
        }
    }

    fn store(self) -> u32 {
        match self {
            Self::Inline => INLINE,
            Self::Pooled => POOLED,
            Self::Probation(n) => n.min(INLINE - 1),
        }
    }

    /// The record after a delivery that overstayed the budget or not.
    fn after(self, overstayed: bool) -> Self {
        match (self, overstayed) {
            (_, true) | (Self::Pooled, false) => Self::Pooled,
            (Self::Inline, false) => Self::Inline,
            (Self::Probation(n), false) if n + 1 >= PROBATION => Self::Inline,
            (Self::Probation(n), false) => Self::Probation(n + 1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every handler on the connection's thread (`handler_threads = 0`).
    AlwaysInline,
    /// Every handler on the pool (`inline_budget = 0`).
    AlwaysPooled,
    /// Proven-light routes inline, the rest pooled.
    Adaptive,
}

impl Placement {
    /// The policy for a pool of `threads` and a poll `budget`.
    pub(crate) fn new(threads: usize, budget: Duration) -> Self {
        let mode = if threads == 0 {
            Mode::AlwaysInline
        } else if budget.is_zero() {
            Mode::AlwaysPooled
        } else {
            Mode::Adaptive
        };
        Self { budget, mode }
    }

    /// Whether the next delivery for the route of `slot` runs on the
    /// connection's thread.
    pub(crate) fn inline(&self, slot: &Slot) -> bool {
        match self.mode {
            Mode::AlwaysInline => true,
            Mode::AlwaysPooled => false,
            Mode::Adaptive => slot.0.load(Ordering::Acquire) == INLINE,
        }
    }

    /// A delivery for the route of `slot` finished; `overstayed` if one of
    /// its polls took longer than the budget. Returns where the route runs
    /// from now on when this report moved it.
    pub(crate) fn report(&self, slot: &Slot, overstayed: bool) -> Option<Moved> {
        if self.mode != Mode::Adaptive {
            return None;
        }
        let update = |value| Some(Record::load(value).after(overstayed).store());
        let before = match slot
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, update)
        {
            Ok(value) | Err(value) => Record::load(value),
        };
        match (before, before.after(overstayed)) {
            (Record::Inline, Record::Inline) | (Record::Pooled, Record::Pooled) => None,
            (_, Record::Inline) => Some(Moved::Inline),
            (_, Record::Pooled) => Some(Moved::Pooled),
            (_, Record::Probation(_)) => None,
        }
    }

    /// The poll budget.
    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// `work`, with each of its polls timed against the budget.
    pub(crate) fn timed<F: Future>(&self, work: F) -> Timed<F> {
        Timed {
            work,
            budget: self.budget,
            overstayed: false,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future whose polls are timed; yields its output and its [`Timing`].
    pub(crate) struct Timed<F> {
        #[pin]
        work: F,
        budget: Duration,
        overstayed: bool,
    }
}

/// How a [`Timed`] future's polls went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// One of its polls took longer than the budget.
    pub(crate) overstayed: bool,
    /// When its last poll ended: when the work ended.
    pub(crate) ended: Instant,
}

impl<F: Future> Future for Timed<F> {
    type Output = (F::Output, Timing);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = Instant::now();
        let polled = this.work.poll(cx);
        let ended = Instant::now();
        if ended.saturating_duration_since(started) > *this.budget {
            *this.overstayed = true;
        }
        let overstayed = *this.overstayed;
        polled.map(|output| (output, Timing { overstayed, ended }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_millis(1);

    #[test]
    fn a_route_moves_inline_after_its_probation() {
        let p = Placement::new(2, BUDGET);
        let (echo, other) = (Slot::default(), Slot::default());
        for _ in 0..PROBATION - 1 {
            assert!(!p.inline(&echo));
            assert_eq!(p.report(&echo, false), None);
        }
        assert!(!p.inline(&echo), "one light delivery short");
        assert_eq!(p.report(&echo, false), Some(Moved::Inline));
        assert!(p.inline(&echo));
        assert_eq!(p.report(&echo, false), None, "moved once");
        assert!(!p.inline(&other), "routes are judged one by one");
    }

    #[test]
    fn one_overstayed_poll_sends_a_route_to_the_pool_for_good() {
        let p = Placement::new(2, BUDGET);
        let echo = Slot::default();
        for _ in 0..PROBATION {
            p.report(&echo, false);
        }
        assert_eq!(p.report(&echo, true), Some(Moved::Pooled));
        assert!(!p.inline(&echo));
        for _ in 0..PROBATION * 2 {
            assert_eq!(p.report(&echo, false), None);
        }
        assert!(!p.inline(&echo));
        // an overstay during probation sends it to the pool too
        let fresh = Slot::default();
        assert_eq!(p.report(&fresh, true), Some(Moved::Pooled));
    }

    #[test]
    fn no_threads_means_inline_and_no_budget_means_pooled() {
        let inline = Placement::new(0, BUDGET);
        assert!(inline.inline(&Slot::default()));
        let pooled = Placement::new(2, Duration::ZERO);
        let any = Slot::default();
        for _ in 0..PROBATION {
            assert_eq!(pooled.report(&any, false), None);
        }
        assert!(!pooled.inline(&any));
    }

    #[test]
    fn records_survive_the_slot_encoding() {
        for record in [
            Record::Probation(0),
            Record::Probation(PROBATION - 1),
            Record::Inline,
            Record::Pooled,
        ] {
            assert_eq!(Record::load(record.store()), record);
        }
    }

    #[actix_rt::test]
    async fn a_poll_that_blocks_past_the_budget_is_noticed() {
        let p = Placement::new(2, BUDGET);
        let quick = p.timed(async { 1 });
        let (one, timing) = quick.await;
        assert_eq!((one, timing.overstayed), (1, false));
        let started = Instant::now();
        let hog = p.timed(async {
            std::thread::sleep(Duration::from_millis(5));
            2
        });
        let (two, timing) = hog.await;
        assert_eq!((two, timing.overstayed), (2, true));
        assert!(timing.ended >= started + Duration::from_millis(5));
        let waits = p.timed(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            3
        });
        let (three, timing) = waits.await;
        assert_eq!(
            (three, timing.overstayed),
            (3, false),
            "waiting is not computing"
        );
    }
}

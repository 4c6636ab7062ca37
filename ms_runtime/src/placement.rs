//! Where a handler runs: on the connection's own thread, or on the pool.
//!
//! Running a handler on the connection's thread saves two hops between
//! threads per message (the fast path: window-1 latency and small-message
//! throughput), but a handler that computes for long between two `.await`s
//! there would stall the connection's reads, heartbeats and acks. So each
//! route (and topic) starts on the pool, where every poll of its handler is
//! timed; after [`PROBATION`] deliveries whose every poll stayed within the
//! budget it moves to the connection's thread.
//!
//! A poll over the budget on the connection's thread (a stall of the
//! connection) is a strike: the route goes back to the pool on probation
//! again, twice as long as the last, at once, from inside that poll, so
//! deliveries dispatched while the slow one is still running go to the
//! pool. The poll timer reads the wall clock, so it cannot tell a handler
//! that blocked from a thread the operating system paused (another
//! process's turn on a busy machine, a container's CPU quota): one strike
//! must not exile a light route for good. [`MAX_STRIKES`] strikes do, and
//! [`FORGIVE_AFTER`] light deliveries in a row on the connection's thread
//! take one strike away, so rare pauses over months do not add up.
//!
//! A poll over the budget on the pool stalls nothing and is no strike: it
//! only starts the route's probation count again (one pause of the process
//! may catch several pool threads mid-poll at once; counting each as a
//! strike would exile a light route on a machine with many cores). A
//! handler that computes long each time therefore never finishes its
//! probation and stays on the pool; one that does so now and then stalls
//! the connection at most [`MAX_STRIKES`] times per [`FORGIVE_AFTER`] light
//! runs (a few more if several of its deliveries were already running on
//! the connection's thread when the first one stalled). Routes marked
//! `blocking` never come here (their work runs on the blocking pool).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Light deliveries a new route must complete on the pool before it may run
/// on the connection's thread; each strike doubles it.
pub(crate) const PROBATION: u32 = 16;

/// Strikes (polls over the budget) that send a route to the pool for good.
pub(crate) const MAX_STRIKES: u32 = 4;

/// Light deliveries in a row on the connection's thread that take one
/// strike away.
pub(crate) const FORGIVE_AFTER: u32 = 100_000;

/// What is known of one route's (or topic's) handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// On the pool until `light` reaches the probation of `strikes`.
    Probation { strikes: u32, light: u32 },
    /// Proven light: runs on the connection's thread; `light` counts the
    /// light deliveries since then (only while there are strikes to forgive).
    Inline { strikes: u32, light: u32 },
    /// Overstayed [`MAX_STRIKES`] times: stays on the pool.
    Pooled,
}

/// Where a route runs after a report moved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moved {
    /// Proven light: to the connection's thread.
    Inline,
    /// A strike (a poll on the connection's thread over the budget): on the
    /// pool until this many light deliveries there.
    Probation(u32),
    /// The last strike: to the pool for good.
    Pooled,
}

/// What one delivery of a route showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It ended with every poll within the budget; `inline` if it ran on
    /// the connection's thread.
    Light {
        /// Ran on the connection's thread.
        inline: bool,
    },
    /// A poll on the connection's thread took longer than the budget: a
    /// strike.
    Stalled,
    /// A poll on the pool took longer than the budget.
    SlowOnPool,
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

/// A [`Slot`]'s number: the state in the top two bits, the strikes in the
/// next three, the light count in the rest.
const STATE_SHIFT: u32 = 30;
const STRIKES_SHIFT: u32 = 27;
const LIGHT_MASK: u32 = (1 << STRIKES_SHIFT) - 1;
const PROBATION_STATE: u32 = 0;
const INLINE_STATE: u32 = 1;
const POOLED_STATE: u32 = 2;

/// Light deliveries on the pool that prove a route with `strikes` light.
fn probation(strikes: u32) -> u32 {
    PROBATION << strikes.min(MAX_STRIKES)
}

impl Record {
    fn load(value: u32) -> Self {
        let strikes = (value >> STRIKES_SHIFT) & 0b111;
        let light = value & LIGHT_MASK;
        match value >> STATE_SHIFT {
            PROBATION_STATE => Self::Probation { strikes, light },
            INLINE_STATE => Self::Inline { strikes, light },
            _ => Self::Pooled,
        }
    }

    fn store(self) -> u32 {
        let pack = |state: u32, strikes: u32, light: u32| {
            state << STATE_SHIFT | strikes.min(0b111) << STRIKES_SHIFT | light.min(LIGHT_MASK)
        };
        match self {
            Self::Probation { strikes, light } => pack(PROBATION_STATE, strikes, light),
            Self::Inline { strikes, light } => pack(INLINE_STATE, strikes, light),
            Self::Pooled => pack(POOLED_STATE, 0, 0),
        }
    }

    /// The record after `verdict`.
    fn after(self, verdict: Verdict) -> Self {
        match (self, verdict) {
            (Self::Pooled, _) => Self::Pooled,
            (Self::Probation { strikes, .. } | Self::Inline { strikes, .. }, Verdict::Stalled) => {
                if strikes + 1 >= MAX_STRIKES {
                    Self::Pooled
                } else {
                    Self::Probation {
                        strikes: strikes + 1,
                        light: 0,
                    }
                }
            }
            (Self::Probation { strikes, .. }, Verdict::SlowOnPool) => {
                Self::Probation { strikes, light: 0 }
            }
            (Self::Inline { .. }, Verdict::SlowOnPool) => self,
            (Self::Probation { strikes, light }, Verdict::Light { .. })
                if light + 1 >= probation(strikes) =>
            {
                Self::Inline { strikes, light: 0 }
            }
            (Self::Probation { strikes, light }, Verdict::Light { .. }) => Self::Probation {
                strikes,
                light: light + 1,
            },
            (Self::Inline { strikes: 0, .. }, Verdict::Light { .. })
            | (Self::Inline { .. }, Verdict::Light { inline: false }) => self,
            (Self::Inline { strikes, light }, Verdict::Light { inline: true })
                if light + 1 >= FORGIVE_AFTER =>
            {
                Self::Inline {
                    strikes: strikes - 1,
                    light: 0,
                }
            }
            (Self::Inline { strikes, light }, Verdict::Light { inline: true }) => Self::Inline {
                strikes,
                light: light + 1,
            },
        }
    }

    fn strikes(self) -> u32 {
        match self {
            Self::Probation { strikes, .. } | Self::Inline { strikes, .. } => strikes,
            Self::Pooled => MAX_STRIKES,
        }
    }

    /// How going from `self` to `next` moved the route, if it did (a new
    /// strike counts as a move, also when the route was on the pool already).
    fn moved(self, next: Self) -> Option<Moved> {
        match (self, next) {
            (Self::Pooled, _) => None,
            (_, Self::Pooled) => Some(Moved::Pooled),
            (Self::Probation { .. }, Self::Inline { .. }) => Some(Moved::Inline),
            (before, Self::Probation { strikes, .. }) if strikes > before.strikes() => {
                Some(Moved::Probation(probation(strikes)))
            }
            _ => None,
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
            Mode::Adaptive => slot.0.load(Ordering::Acquire) >> STATE_SHIFT == INLINE_STATE,
        }
    }

    /// Records `verdict` for the route of `slot`. Returns where the route
    /// runs from now on when this moved it.
    pub(crate) fn report(&self, slot: &Slot, verdict: Verdict) -> Option<Moved> {
        if self.mode != Mode::Adaptive {
            return None;
        }
        let update = |value| Some(Record::load(value).after(verdict).store());
        let before = match slot
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, update)
        {
            Ok(value) | Err(value) => Record::load(value),
        };
        before.moved(before.after(verdict))
    }

    /// The poll budget.
    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// `work`, with each of its polls timed against the budget;
    /// `on_overstay` runs at the end of the first poll that overstays it.
    pub(crate) fn timed<F: Future, O: FnOnce()>(&self, work: F, on_overstay: O) -> Timed<F, O> {
        Timed {
            work,
            budget: self.budget,
            on_overstay: Some(on_overstay),
            overstayed: false,
        }
    }
}

pin_project_lite::pin_project! {
    /// A future whose polls are timed; yields its output and its [`Timing`].
    pub(crate) struct Timed<F, O> {
        #[pin]
        work: F,
        budget: Duration,
        on_overstay: Option<O>,
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

impl<F: Future, O: FnOnce()> Future for Timed<F, O> {
    type Output = (F::Output, Timing);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let started = Instant::now();
        let polled = this.work.poll(cx);
        let ended = Instant::now();
        if ended.saturating_duration_since(started) > *this.budget {
            *this.overstayed = true;
            if let Some(on_overstay) = this.on_overstay.take() {
                on_overstay();
            }
        }
        let overstayed = *this.overstayed;
        polled.map(|output| (output, Timing { overstayed, ended }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_millis(1);

    const LIGHT_POOL: Verdict = Verdict::Light { inline: false };
    const LIGHT_INLINE: Verdict = Verdict::Light { inline: true };

    /// Reports `n` light deliveries, each where the route runs at the time;
    /// returns the moves they made.
    fn light(p: &Placement, slot: &Slot, n: u32) -> Vec<Moved> {
        (0..n)
            .filter_map(|_| {
                let inline = p.inline(slot);
                p.report(slot, Verdict::Light { inline })
            })
            .collect()
    }

    #[test]
    fn a_route_moves_inline_after_its_probation() {
        let p = Placement::new(2, BUDGET);
        let (echo, other) = (Slot::default(), Slot::default());
        for _ in 0..PROBATION - 1 {
            assert!(!p.inline(&echo));
            assert_eq!(p.report(&echo, LIGHT_POOL), None);
        }
        assert!(!p.inline(&echo), "one light delivery short");
        assert_eq!(p.report(&echo, LIGHT_POOL), Some(Moved::Inline));
        assert!(p.inline(&echo));
        assert_eq!(p.report(&echo, LIGHT_INLINE), None, "moved once");
        assert!(!p.inline(&other), "routes are judged one by one");
    }

    #[test]
    fn a_stall_sends_a_route_to_the_pool_until_it_proves_light_again() {
        let p = Placement::new(2, BUDGET);
        let echo = Slot::default();
        assert_eq!(light(&p, &echo, PROBATION), vec![Moved::Inline]);
        // a pause of the thread looks like a handler that blocked
        assert_eq!(
            p.report(&echo, Verdict::Stalled),
            Some(Moved::Probation(2 * PROBATION))
        );
        assert!(!p.inline(&echo));
        assert_eq!(light(&p, &echo, 2 * PROBATION - 1), vec![]);
        assert!(!p.inline(&echo), "one light delivery short");
        assert_eq!(light(&p, &echo, 1), vec![Moved::Inline]);
        assert!(p.inline(&echo));
        // the second strike doubles the probation again
        assert_eq!(
            p.report(&echo, Verdict::Stalled),
            Some(Moved::Probation(4 * PROBATION))
        );
        assert_eq!(light(&p, &echo, 4 * PROBATION), vec![Moved::Inline]);
    }

    #[test]
    fn slow_polls_on_the_pool_restart_probation_but_are_no_strike() {
        let p = Placement::new(2, BUDGET);
        let hog = Slot::default();
        for _ in 0..1000 {
            assert_eq!(light(&p, &hog, PROBATION - 1), vec![]);
            assert_eq!(p.report(&hog, Verdict::SlowOnPool), None);
        }
        assert!(
            !p.inline(&hog),
            "a handler slow every 16th time never leaves the pool"
        );
        // none of those thousand was a strike: the first stall gives the first
        let route = Slot::default();
        for _ in 0..10 {
            assert_eq!(p.report(&route, Verdict::SlowOnPool), None);
        }
        assert_eq!(light(&p, &route, PROBATION), vec![Moved::Inline]);
        assert_eq!(
            p.report(&route, Verdict::SlowOnPool),
            None,
            "a slow pool run of a route already inline stalled nothing"
        );
        assert!(p.inline(&route));
        assert_eq!(
            p.report(&route, Verdict::Stalled),
            Some(Moved::Probation(2 * PROBATION))
        );
    }

    #[test]
    fn the_last_strike_sends_a_route_to_the_pool_for_good_and_each_is_reported() {
        let p = Placement::new(2, BUDGET);
        let route = Slot::default();
        light(&p, &route, PROBATION);
        assert_eq!(
            p.report(&route, Verdict::Stalled),
            Some(Moved::Probation(2 * PROBATION))
        );
        // deliveries already running on the connection's thread stall too
        assert_eq!(
            p.report(&route, Verdict::Stalled),
            Some(Moved::Probation(4 * PROBATION))
        );
        assert_eq!(
            p.report(&route, Verdict::Stalled),
            Some(Moved::Probation(8 * PROBATION))
        );
        assert_eq!(p.report(&route, Verdict::Stalled), Some(Moved::Pooled));
        assert_eq!(p.report(&route, Verdict::Stalled), None, "reported once");
        assert_eq!(
            light(&p, &route, 1000),
            vec![],
            "light runs do not bring it back"
        );
        assert!(!p.inline(&route));
    }

    #[test]
    fn a_long_light_run_on_the_connections_thread_forgives_one_strike() {
        let p = Placement::new(2, BUDGET);
        let echo = Slot::default();
        light(&p, &echo, PROBATION);
        // three strikes, each followed by its probation: one more would be the last
        for strike in 1..MAX_STRIKES {
            assert_eq!(
                p.report(&echo, Verdict::Stalled),
                Some(Moved::Probation(PROBATION << strike))
            );
            assert_eq!(light(&p, &echo, PROBATION << strike), vec![Moved::Inline]);
        }
        assert_eq!(light(&p, &echo, FORGIVE_AFTER - 1), vec![]);
        // light runs that finish on the pool do not count towards forgiving
        for _ in 0..10 {
            assert_eq!(p.report(&echo, LIGHT_POOL), None);
        }
        let unforgiven = Slot(AtomicU32::new(echo.0.load(Ordering::Acquire)));
        assert_eq!(p.report(&unforgiven, Verdict::Stalled), Some(Moved::Pooled));
        assert_eq!(light(&p, &echo, 1), vec![]);
        // forgiven: a strike now is the third again, not the last
        assert_eq!(
            p.report(&echo, Verdict::Stalled),
            Some(Moved::Probation(PROBATION << (MAX_STRIKES - 1)))
        );
    }

    #[test]
    fn no_threads_means_inline_and_no_budget_means_pooled() {
        let inline = Placement::new(0, BUDGET);
        assert!(inline.inline(&Slot::default()));
        let pooled = Placement::new(2, Duration::ZERO);
        let any = Slot::default();
        for _ in 0..PROBATION {
            assert_eq!(pooled.report(&any, LIGHT_POOL), None);
        }
        assert!(!pooled.inline(&any));
    }

    #[test]
    fn records_survive_the_slot_encoding() {
        for record in [
            Record::Probation {
                strikes: 0,
                light: 0,
            },
            Record::Probation {
                strikes: MAX_STRIKES - 1,
                light: probation(MAX_STRIKES - 1) - 1,
            },
            Record::Inline {
                strikes: 0,
                light: 0,
            },
            Record::Inline {
                strikes: 3,
                light: FORGIVE_AFTER - 1,
            },
            Record::Pooled,
        ] {
            assert_eq!(Record::load(record.store()), record);
        }
    }

    #[actix_rt::test]
    async fn a_poll_that_blocks_past_the_budget_is_noticed_at_that_poll() {
        use std::cell::Cell;
        let p = Placement::new(2, BUDGET);
        let calls = Cell::new(0);
        let (one, timing) = p.timed(async { 1 }, || calls.set(calls.get() + 1)).await;
        assert_eq!((one, timing.overstayed, calls.get()), (1, false, 0));
        let started = Instant::now();
        let (second_poll, told_during_first) = (Cell::new(false), Cell::new(false));
        let hog = p.timed(
            async {
                std::thread::sleep(Duration::from_millis(5));
                tokio::task::yield_now().await;
                second_poll.set(true);
                std::thread::sleep(Duration::from_millis(5));
                2
            },
            || {
                calls.set(calls.get() + 1);
                told_during_first.set(!second_poll.get());
            },
        );
        let (two, timing) = hog.await;
        assert_eq!((two, timing.overstayed), (2, true));
        assert_eq!(calls.get(), 1, "told once, though two polls overstayed");
        assert!(told_during_first.get(), "told at the first slow poll");
        assert!(timing.ended >= started + Duration::from_millis(10));
        let waits = p.timed(
            async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                3
            },
            || calls.set(calls.get() + 1),
        );
        let (three, timing) = waits.await;
        assert_eq!(
            (three, timing.overstayed, calls.get()),
            (3, false, 1),
            "waiting is not computing"
        );
    }
}

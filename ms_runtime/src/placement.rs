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
#[path = "placement_tests.rs"]
mod tests;

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

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
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

/// The placement policy, shared by the dispatcher and the handler threads
/// that report back.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    budget: Duration,
    mode: Mode,
    routes: Arc<Mutex<HashMap<String, Record>>>,
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
        Self {
            budget,
            mode,
            routes: Arc::default(),
        }
    }

    /// Whether the next delivery for `route` runs on the connection's thread.
    pub(crate) fn inline(&self, route: &str) -> bool {
        match self.mode {
            Mode::AlwaysInline => true,
            Mode::AlwaysPooled => false,
            Mode::Adaptive => self
                .routes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(route)
                .is_some_and(|r| *r == Record::Inline),
        }
    }

    /// A delivery for `route` finished; `overstayed` if one of its polls
    /// took longer than the budget.
    pub(crate) fn report(&self, route: &str, overstayed: bool) {
        if self.mode != Mode::Adaptive {
            return;
        }
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let record = routes
            .entry(route.to_owned())
            .or_insert(Record::Probation(0));
        *record = match (*record, overstayed) {
            (_, true) | (Record::Pooled, false) => Record::Pooled,
            (Record::Inline, false) => Record::Inline,
            (Record::Probation(n), false) if n + 1 >= PROBATION => Record::Inline,
            (Record::Probation(n), false) => Record::Probation(n + 1),
        };
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

/// A future whose polls are timed; yields its output and whether any poll
/// took longer than the budget.
pub(crate) struct Timed<F> {
    work: F,
    budget: Duration,
    overstayed: bool,
}

impl<F: Future + Unpin> Future for Timed<F> {
    type Output = (F::Output, bool);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let started = Instant::now();
        let polled = Pin::new(&mut self.work).poll(cx);
        if started.elapsed() > self.budget {
            self.overstayed = true;
        }
        polled.map(|output| (output, self.overstayed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_millis(1);

    #[test]
    fn a_route_moves_inline_after_its_probation() {
        let p = Placement::new(2, BUDGET);
        for _ in 0..PROBATION - 1 {
            assert!(!p.inline("echo"));
            p.report("echo", false);
        }
        assert!(!p.inline("echo"), "one light delivery short");
        p.report("echo", false);
        assert!(p.inline("echo"));
        assert!(!p.inline("other"), "routes are judged one by one");
    }

    #[test]
    fn one_overstayed_poll_sends_a_route_to_the_pool_for_good() {
        let p = Placement::new(2, BUDGET);
        for _ in 0..PROBATION {
            p.report("echo", false);
        }
        p.report("echo", true);
        assert!(!p.inline("echo"));
        for _ in 0..PROBATION * 2 {
            p.report("echo", false);
        }
        assert!(!p.inline("echo"));
    }

    #[test]
    fn no_threads_means_inline_and_no_budget_means_pooled() {
        assert!(Placement::new(0, BUDGET).inline("any"));
        let pooled = Placement::new(2, Duration::ZERO);
        for _ in 0..PROBATION {
            pooled.report("any", false);
        }
        assert!(!pooled.inline("any"));
    }

    #[actix_rt::test]
    async fn a_poll_that_blocks_past_the_budget_is_noticed() {
        let p = Placement::new(2, BUDGET);
        let quick = p.timed(Box::pin(async { 1 }));
        assert_eq!(quick.await, (1, false));
        let hog = p.timed(Box::pin(async {
            std::thread::sleep(Duration::from_millis(5));
            2
        }));
        assert_eq!(hog.await, (2, true));
        let waits = p.timed(Box::pin(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            3
        }));
        assert_eq!(waits.await, (3, false), "waiting is not computing");
    }
}

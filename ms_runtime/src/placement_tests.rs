//! Unit tests of the placement record and the timed future.

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

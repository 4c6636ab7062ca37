//! Exponential backoff with full jitter.

use std::time::Duration;

/// Delay bounds that double after each failure, up to a cap; each delay is
/// drawn uniformly below the bound ("full jitter"), so many instances that
/// lost the gateway at once do not reconnect in lockstep.
///
/// With a floor (a fraction of the bound) the delay is drawn between
/// `floor * bound` and the bound instead: refused credentials are retried no
/// sooner than that, never in a tight loop.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    floor: f64,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial: initial.max(Duration::from_millis(1)),
            max: max.max(initial),
            floor: 0.0,
            failures: 0,
        }
    }

    /// The same backoff with a floor, a fraction of the bound in `[0, 1]`.
    pub(crate) fn with_floor(mut self, floor: f64) -> Self {
        self.floor = floor.clamp(0.0, 1.0);
        self
    }

    /// The bound for the next delay.
    pub(crate) fn bound(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay, given a uniform random number in `[0, 1)`.
    pub(crate) fn next_delay(&mut self, unit: f64) -> Duration {
        let fraction = self.floor + (1.0 - self.floor) * unit.clamp(0.0, 1.0);
        let delay = self.bound().mul_f64(fraction);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_double_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        let bounds: Vec<u64> = (0..8)
            .map(|_| {
                let bound = b.bound().as_secs();
                b.next_delay(0.5);
                bound
            })
            .collect();
        assert_eq!(bounds, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn delays_are_jittered_below_the_bound_and_reset() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(b.next_delay(0.0), Duration::ZERO);
        assert_eq!(b.next_delay(0.5), Duration::from_secs(1));
        assert!(b.next_delay(0.999) < Duration::from_secs(4));
        b.reset();
        assert!(
            b.next_delay(0.999) < Duration::from_secs(1),
            "first retry within 1 s after a reset"
        );
    }

    #[test]
    fn a_floor_keeps_delays_from_reaching_zero() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300)).with_floor(0.5);
        assert_eq!(b.next_delay(0.0), Duration::from_secs(5));
        assert_eq!(b.next_delay(0.0), Duration::from_secs(10));
        assert!(b.next_delay(0.999) < Duration::from_secs(40));
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(300));
        for _ in 0..1000 {
            b.next_delay(0.9);
        }
        assert_eq!(b.bound(), Duration::from_secs(300));
    }
}

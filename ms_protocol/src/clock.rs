//! Wall-clock time as the protocol carries it: Unix milliseconds.
//!
//! Deadlines travel between services and the gateway as milliseconds since
//! the Unix epoch (`headers.deadline_ms`), so every side reads the clock the
//! same way, here. A clock set before 1970 reads as 0.
//!
//! ```
//! use std::time::Duration;
//! use ms_protocol::clock;
//!
//! let deadline_ms = clock::now_ms() + 30_000;
//! assert!(clock::remaining(deadline_ms) <= Duration::from_secs(30));
//! assert_eq!(clock::remaining(0), Duration::ZERO);
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Time left until `deadline_ms` (Unix milliseconds); zero once it has passed.
pub fn remaining(deadline_ms: u64) -> Duration {
    Duration::from_millis(deadline_ms.saturating_sub(now_ms()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_counts_down_to_zero_and_stays_there() {
        let now = now_ms();
        assert!(now > 1_600_000_000_000, "a clock after 2020: {now}");
        let left = remaining(now + 60_000);
        assert!(
            left > Duration::from_secs(59) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        assert_eq!(remaining(now.saturating_sub(1)), Duration::ZERO);
    }
}

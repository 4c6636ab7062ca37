//! Trying a backplane operation again while JetStream cannot take it yet:
//! a stream without a leader during an election, a server still starting,
//! a connection lost to a dead server. One loop for every such operation
//! (publishing work and answers, connecting and creating the streams at
//! start), bounded by a deadline the caller computes from
//! [`ClusterConfig::patience_ms`](super::ClusterConfig::patience_ms).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Pause between two tries of the same operation.
pub(super) const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Runs `attempt` until it succeeds, fails with an error `is_transient`
/// does not excuse, or the next try could not start before `give_up`;
/// returns the last result. `on_retry` sees each excused error (to log it).
///
/// The bound: the last try starts before `give_up`, so the whole takes at
/// most the patience plus one try's own timeout.
pub(super) async fn retry_until<T, E, F, Fut>(
    give_up: Instant,
    mut attempt: F,
    is_transient: impl Fn(&E) -> bool,
    mut on_retry: impl FnMut(&E),
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match attempt().await {
            Err(e) if is_transient(&e) && Instant::now() + RETRY_PAUSE < give_up => {
                on_retry(&e);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Failure {
        NoLeader,
        Full,
    }

    fn transient(e: &Failure) -> bool {
        *e == Failure::NoLeader
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_tried_again_until_it_succeeds() {
        let tries = Cell::new(0u32);
        let retries = Cell::new(0u32);
        let started = Instant::now();
        let result = retry_until(
            started + Duration::from_secs(20),
            || {
                tries.set(tries.get() + 1);
                let n = tries.get();
                async move { if n < 5 { Err(Failure::NoLeader) } else { Ok(n) } }
            },
            transient,
            |_| retries.set(retries.get() + 1),
        )
        .await;
        assert_eq!(result, Ok(5));
        assert_eq!(retries.get(), 4);
        assert_eq!(started.elapsed(), RETRY_PAUSE * 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_not_tried_again() {
        let tries = Cell::new(0u32);
        let started = Instant::now();
        let result: Result<(), _> = retry_until(
            started + Duration::from_secs(20),
            || {
                tries.set(tries.get() + 1);
                async { Err(Failure::Full) }
            },
            transient,
            |_| {},
        )
        .await;
        assert_eq!(result, Err(Failure::Full));
        assert_eq!(tries.get(), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn patience_ends_before_the_deadline_with_the_last_error() {
        let tries = Cell::new(0u32);
        let started = Instant::now();
        let patience = Duration::from_secs(2);
        let result: Result<(), _> = retry_until(
            started + patience,
            || {
                tries.set(tries.get() + 1);
                async { Err(Failure::NoLeader) }
            },
            transient,
            |_| {},
        )
        .await;
        assert_eq!(result, Err(Failure::NoLeader));
        // Tries at 0, 250, ..., 1750 ms: the one at 2000 ms would not
        // start before the deadline.
        assert_eq!(tries.get(), 8);
        assert!(started.elapsed() < patience);
    }
}

//! `#[route("...", max_in_flight = N)]` is a bulkhead: N calls of the route
//! run at once, and a call beyond that is refused at once with `overloaded`
//! (HTTP 503) instead of queueing; other routes are not affected.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ms_runtime::{HandlerError, ms_service};
use ms_tests::{invoke, serve, wait_until};
use tokio::sync::watch;

struct Narrow {
    /// Held calls under way.
    held: Arc<AtomicUsize>,
    /// Becomes true when the test lets held calls end.
    release: watch::Receiver<bool>,
}

#[ms_service(name = "narrow")]
impl Narrow {
    #[route("slow", max_in_flight = 2)]
    async fn slow(&self, hold: bool) -> Result<bool, HandlerError> {
        if hold {
            // keeps its place in the bulkhead until the test releases it
            self.held.fetch_add(1, Ordering::SeqCst);
            let _ = self.release.clone().wait_for(|released| *released).await;
        }
        Ok(hold)
    }

    #[route("other")]
    async fn other(&self) -> Result<bool, HandlerError> {
        Ok(true)
    }
}

#[actix_rt::test]
async fn calls_beyond_the_bulkhead_are_refused_with_503() {
    let held = Arc::new(AtomicUsize::new(0));
    let (release, release_rx) = watch::channel(false);
    let narrow = Narrow {
        held: held.clone(),
        release: release_rx,
    };
    let kit = serve(narrow, 16).await;
    let url = kit.http_url().to_owned();

    let calls: Vec<_> = (0..5)
        .map(|_| {
            let url = url.clone();
            actix_rt::spawn(async move { invoke(&url, "narrow", "slow", "true", 10_000).await })
        })
        .collect();
    // refused calls end at once, while the ones let in are held: a call that
    // queued for a place would keep this from holding
    wait_until(
        "each call to be let in and held, or refused",
        Duration::from_secs(10),
        || held.load(Ordering::SeqCst) + calls.iter().filter(|c| c.is_finished()).count() == 5,
    )
    .await;
    let (status, body) = invoke(&url, "narrow", "other", "null", 5_000).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "true"),
        "other routes still answer"
    );
    release.send_replace(true);

    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap());
    }
    let served = answers.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _)| *status == 503)
        .collect();
    assert_eq!(served, 2, "{answers:?}");
    assert_eq!(refused.len(), 3, "{answers:?}");
    assert!(
        refused[0]
            .1
            .contains("route `slow` already runs its max_in_flight of 2 calls"),
        "{answers:?}"
    );

    // the places are given back when the calls end
    let (status, _) = invoke(&url, "narrow", "slow", "false", 5_000).await;
    assert_eq!(status, 200);

    kit.stop().await;
}

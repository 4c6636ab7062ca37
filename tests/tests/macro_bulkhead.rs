//! `#[route("...", max_in_flight = N)]` is a bulkhead: N calls of the route
//! run at once, and a call beyond that is refused at once with `overloaded`
//! (HTTP 503) instead of queueing; other routes are not affected.

use std::time::Duration;

use ms_runtime::{HandlerError, ms_service};
use ms_tests::{invoke, serve};

struct Narrow;

#[ms_service(name = "narrow")]
impl Narrow {
    #[route("slow", max_in_flight = 2)]
    async fn slow(&self, millis: u64) -> Result<u64, HandlerError> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        Ok(millis)
    }

    #[route("other")]
    async fn other(&self) -> Result<bool, HandlerError> {
        Ok(true)
    }
}

#[actix_rt::test]
async fn calls_beyond_the_bulkhead_are_refused_with_503() {
    let kit = serve(Narrow, 16).await;
    let url = kit.http_url().to_owned();

    let calls: Vec<_> = (0..5)
        .map(|_| {
            let url = url.clone();
            actix_rt::spawn(async move { invoke(&url, "narrow", "slow", "1000", 10_000).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = invoke(&url, "narrow", "other", "null", 5_000).await;
    assert_eq!(
        (status, body.as_str()),
        (200, "true"),
        "other routes still answer"
    );

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
    let (status, _) = invoke(&url, "narrow", "slow", "1", 5_000).await;
    assert_eq!(status, 200);

    kit.stop().await;
}

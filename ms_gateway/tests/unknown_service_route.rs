//! A route the service did not list gets 404 unknown_route without a
//! delivery; a service nobody registered gets 404 unknown_service at the
//! deadline, or after the short wait for never-seen services if sooner.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_and_unknown_service_are_404() {
    let gateway = start(|_| {});
    let _svc = connect(&gateway, "svc", "a", 4).await;
    let addr = gateway.addr();
    let response = post(addr, "/v1/invoke/svc/nope", &[], "{}").await;
    assert_eq!(response.status, 404, "{response:?}");
    assert_eq!(response.json()["code"], "unknown_route");
    assert_eq!(response.json()["retryable"], false);
    let response = post(
        addr,
        "/v1/invoke/ghost/echo",
        &[("X-Timeout-Ms", "200")],
        "{}",
    )
    .await;
    assert_eq!(response.status, 404, "{response:?}");
    assert_eq!(response.json()["code"], "unknown_service");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_service_is_unknown_after_the_short_wait_not_the_deadline() {
    let gateway = start(|c| c.unknown_service_wait_ms = 300);
    let started = std::time::Instant::now();
    let response = post(
        gateway.addr(),
        "/v1/invoke/ghsot/echo",
        &[("X-Timeout-Ms", "30000")],
        "{}",
    )
    .await;
    let waited = started.elapsed();
    assert_eq!(response.status, 404, "{response:?}");
    assert_eq!(response.json()["code"], "unknown_service");
    assert!(
        waited < std::time::Duration::from_secs(10),
        "answered after {waited:?}, not within the 300 ms wait (plus ticks)"
    );
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "answered before the wait: {waited:?}"
    );
    gateway.stop().await;
}

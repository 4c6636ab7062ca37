//! A route the service did not list gets 404 unknown_route without a
//! delivery; a service nobody registered gets 404 unknown_service at the deadline.

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

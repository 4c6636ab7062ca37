//! /metrics answers Prometheus text with every metric family that
//! docs/gateway.md lists.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_list_every_family() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    let addr = gateway.addr();
    let caller = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "1").await });
    let request = svc.recv("the request").await;
    svc.reply(&request, serde_json::json!(1)).await;
    within("the answer", caller).await.unwrap();
    assert_eq!(
        post(addr, "/v1/invoke/svc/nope", &[], "1").await.status,
        404
    );
    let response = get(addr, "/metrics").await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    for line in [
        "ms_gateway_connections{service=\"svc\"} 1",
        "ms_gateway_requests_in_flight{service=\"svc\"} 0",
        "ms_gateway_queued{service=\"svc\"} 0",
        "ms_gateway_delivered_total 1",
        "ms_gateway_redelivered_total 0",
        "ms_gateway_timeouts_total 0",
        "ms_gateway_errors_total{code=\"unknown_route\"} 1",
        "ms_gateway_request_duration_seconds_count 1",
        "ms_gateway_request_duration_seconds_bucket{le=\"+Inf\"} 1",
    ] {
        assert!(
            response.body.contains(line),
            "missing {line:?} in\n{}",
            response.body
        );
    }
    gateway.stop().await;
}

//! A service that does not answer before X-Timeout-Ms makes the caller get
//! 504 timeout (retryable).

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_service_times_out() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    let addr = gateway.addr();
    let caller = tokio::spawn(async move {
        post(addr, "/v1/invoke/svc/echo", &[("X-Timeout-Ms", "300")], "1").await
    });
    let request = svc.recv("the request").await;
    let response = within("the timeout answer", caller).await.unwrap();
    assert_eq!(response.status, 504, "{response:?}");
    assert_eq!(response.json()["code"], "timeout");
    assert_eq!(response.json()["retryable"], true);
    // A late reply is dropped quietly.
    svc.reply(&request, serde_json::json!(1)).await;
    let metrics = get(addr, "/metrics").await.body;
    assert!(metrics.contains("ms_gateway_timeouts_total 1"), "{metrics}");
    gateway.stop().await;
}

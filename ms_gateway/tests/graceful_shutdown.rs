//! On stop the gateway answers queued requests with 503 overloaded, lets the
//! request in flight finish, and closes sessions with 1001.

mod common;

use std::time::Duration;

use common::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_refuses_the_queued_and_closes_sessions_with_1001() {
    let gateway = start(|c| c.shutdown_grace_ms = 5_000);
    let mut svc = connect(&gateway, "svc", "a", 1).await;
    let addr = gateway.addr();
    let in_flight = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "1").await });
    let request = svc.recv("the request in flight").await;
    let queued = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "2").await });
    within("the second request to be queued", async {
        while !get(addr, "/metrics")
            .await
            .body
            .contains("ms_gateway_queued{service=\"svc\"} 1")
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let stopping = tokio::spawn(gateway.stop());
    let refused = within("the queued answer", queued).await.unwrap();
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.json()["code"], "overloaded");
    assert_eq!(refused.json()["retryable"], true);
    svc.reply(&request, serde_json::json!("done")).await;
    let finished = within("the in-flight answer", in_flight).await.unwrap();
    assert_eq!(finished.status, 200, "{finished:?}");
    // The ack of the reply may come first.
    loop {
        match svc.next_message("the close 1001").await {
            Some(Message::Close(Some(frame))) => break assert_eq!(u16::from(frame.code), 1001),
            Some(Message::Text(_)) => continue,
            other => panic!("expected close 1001, got {other:?}"),
        }
    }
    within("the gateway to stop", stopping).await.unwrap();
}

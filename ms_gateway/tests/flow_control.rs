//! The gateway never has more than max_in_flight unsettled requests on one
//! connection; the rest wait in the queue and all are answered.

mod common;

use std::time::Duration;

use common::*;
use ms_protocol::{Body, Envelope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_than_max_in_flight() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 2).await;
    let addr = gateway.addr();
    let callers: Vec<_> = (0..6)
        .map(|n| {
            tokio::spawn(
                async move { post(addr, "/v1/invoke/svc/echo", &[], &n.to_string()).await },
            )
        })
        .collect();
    let mut held: Vec<Envelope> = Vec::new();
    let mut answered = 0;
    while answered < 6 {
        // Take what arrives until nothing more comes for a while, then check the bound.
        while let Ok(frame) =
            tokio::time::timeout(Duration::from_millis(150), svc.recv("a request")).await
        {
            assert!(matches!(frame.body, Body::Request(_)), "{frame:?}");
            held.push(frame);
            assert!(
                held.len() <= 2,
                "more than max_in_flight outstanding: {}",
                held.len()
            );
        }
        assert!(
            !held.is_empty(),
            "no request delivered while {} are unanswered",
            6 - answered
        );
        let request = held.remove(0);
        svc.reply(&request, serde_json::json!("ok")).await;
        answered += 1;
    }
    for caller in callers {
        assert_eq!(within("an HTTP answer", caller).await.unwrap().status, 200);
    }
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_queue_limit_callers_get_overloaded() {
    let gateway = start(|c| c.queue_limit = 1);
    let mut svc = connect(&gateway, "svc", "a", 1).await;
    let addr = gateway.addr();
    let first = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "1").await });
    let request = svc.recv("the first request").await;
    let queued = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "2").await });
    // Let the second one reach the queue before the third.
    within("the queue to fill", async {
        while !get(addr, "/metrics")
            .await
            .body
            .contains("ms_gateway_queued{service=\"svc\"} 1")
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let refused = post(addr, "/v1/invoke/svc/echo", &[], "3").await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.json()["code"], "overloaded");
    svc.reply(&request, serde_json::json!(1)).await;
    let second = svc.recv("the queued request").await;
    svc.reply(&second, serde_json::json!(2)).await;
    assert_eq!(within("the first answer", first).await.unwrap().status, 200);
    assert_eq!(
        within("the queued answer", queued).await.unwrap().status,
        200
    );
    gateway.stop().await;
}

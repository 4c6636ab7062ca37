//! A service that drops mid-request: the request goes to the second
//! instance with attempt 2 and the HTTP caller gets its reply from there.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_instance_hands_its_request_to_the_other() {
    let gateway = start(|_| {});
    let mut a = connect(&gateway, "svc", "a", 4).await;
    let addr = gateway.addr();
    let caller =
        tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], r#""x""#).await });
    let first = a.recv("the first delivery").await;
    assert_eq!(first.headers.attempt(), 1);
    let mut b = connect(&gateway, "svc", "b", 4).await;
    drop(a);
    let again = b.recv("the redelivery").await;
    assert_eq!(again.id, first.id);
    assert_eq!(again.headers.attempt(), 2);
    b.reply(&again, serde_json::json!("from b")).await;
    let response = within("the HTTP answer", caller).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), serde_json::json!("from b"));
    let metrics = get(addr, "/metrics").await.body;
    assert!(
        metrics.contains("ms_gateway_redelivered_total 1"),
        "{metrics}"
    );
    gateway.stop().await;
}

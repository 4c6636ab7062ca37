//! Requests alternate over the two connected instances of a service.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_alternate_between_instances() {
    let gateway = start(|_| {});
    let mut a = connect(&gateway, "svc", "a", 4).await;
    let mut b = connect(&gateway, "svc", "b", 4).await;
    let addr = gateway.addr();
    for _ in 0..2 {
        for svc in [&mut a, &mut b] {
            let caller =
                tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "0").await });
            let request = svc.recv("the request on the expected instance").await;
            svc.reply(&request, serde_json::json!(0)).await;
            assert_eq!(within("the answer", caller).await.unwrap().status, 200);
        }
    }
    gateway.stop().await;
}

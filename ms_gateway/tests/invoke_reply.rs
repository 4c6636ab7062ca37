//! An HTTP invocation reaches the service as a request and its reply comes
//! back as the HTTP answer, with the trace id echoed and the reply acked.

mod common;

use common::*;
use ms_protocol::Body;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_goes_to_the_service_and_the_reply_comes_back() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    let addr = gateway.addr();
    let caller = tokio::spawn(async move {
        post(
            addr,
            "/v1/invoke/svc/echo",
            &[("X-Trace-Id", "trace-42")],
            r#"{"n":1}"#,
        )
        .await
    });
    let request = svc.recv("the request").await;
    let Body::Request(body) = &request.body else {
        panic!("{request:?}")
    };
    assert_eq!(body.route, "echo");
    assert_eq!(body.from.as_deref(), Some("http"));
    assert_eq!(body.payload.as_inline().unwrap().as_str(), r#"{"n":1}"#);
    assert_eq!(request.headers.trace_id(), Some("trace-42"));
    assert_eq!(request.headers.attempt(), 1);
    assert!(request.headers.deadline_ms().is_some());
    svc.reply(&request, serde_json::json!({"echo": 1})).await;
    let ack = svc.recv_any("the ack of the reply").await;
    assert!(matches!(ack.body, Body::Ack(_)), "{ack:?}");
    let response = within("the HTTP answer", caller).await.unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json(), serde_json::json!({"echo": 1}));
    assert_eq!(response.header("X-Trace-Id"), Some("trace-42"));
    gateway.stop().await;
}

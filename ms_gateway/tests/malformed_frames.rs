//! Every kind of malformed frame is answered with an error frame (with the
//! frame's id when one could be read) and the connection stays usable.

mod common;

use common::*;
use futures_util::SinkExt as _;
use ms_protocol::{Body, ErrorCode};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_get_errors_and_the_session_survives() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    let cases: [(&str, Option<&str>); 11] = [
        ("not json", None),
        ("[1,2]", None),
        (r#"{"kind":"ack","id":"m1","ids":[]}"#, Some("m1")),
        (r#"{"v":2,"kind":"ack","id":"m2","ids":[]}"#, Some("m2")),
        (r#"{"v":1,"kind":"shout","id":"m3"}"#, Some("m3")),
        (r#"{"v":1,"kind":"ack","ids":[]}"#, None),
        (
            r#"{"v":1,"kind":"request","id":"m4","to":"svc","route":"echo"}"#,
            Some("m4"),
        ),
        (
            r#"{"v":1,"kind":"request","id":"m5","to":"svc","route":"echo","payload":1,"payload_ref":{"bucket":"b","key":"k","size":1,"sha256":"00"}}"#,
            Some("m5"),
        ),
        (
            r#"{"v":1,"kind":"request","id":"m6","to":"svc","route":"echo","payload":1,"headers":{"deadline_ms":"soon"}}"#,
            Some("m6"),
        ),
        (
            r#"{"v":1,"kind":"hello","id":"m7","service":"svc","instance":"a","max_in_flight":1}"#,
            Some("m7"),
        ),
        (
            r#"{"v":1,"kind":"reply","id":"m8","payload":1}"#,
            Some("m8"),
        ),
    ];
    for (text, id) in cases {
        svc.send_text(text).await;
        let error = svc.recv(&format!("the error for {text}")).await;
        let Body::Error(report) = &error.body else {
            panic!("{text}: {error:?}")
        };
        assert_eq!(report.error.code, ErrorCode::BadRequest, "{text}");
        assert_eq!(
            report.correlation_id.as_ref().map(|i| i.as_str()),
            id,
            "{text}"
        );
    }
    svc.ws
        .send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    let error = svc.recv("the error for a binary frame").await;
    let Body::Error(report) = &error.body else {
        panic!("{error:?}")
    };
    assert_eq!(report.error.code, ErrorCode::BadFrame);

    // Still usable: a request goes through.
    let addr = gateway.addr();
    let caller = tokio::spawn(async move { post(addr, "/v1/invoke/svc/echo", &[], "7").await });
    let request = svc.recv("a request after the bad frames").await;
    svc.reply(&request, serde_json::json!(7)).await;
    assert_eq!(within("the answer", caller).await.unwrap().status, 200);
    let metrics = get(addr, "/metrics").await.body;
    assert!(
        metrics.contains("ms_gateway_malformed_frames_total 11"),
        "{metrics}"
    );
    gateway.stop().await;
}

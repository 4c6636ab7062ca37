//! A session opens with hello/welcome; a frame before hello is answered with
//! bad_request and the connection stays open; a user limited to other
//! services gets forbidden.

mod common;

use common::*;
use ms_gateway::User;
use ms_protocol::{Body, Envelope, ErrorCode, Json, Payload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_is_answered_with_welcome() {
    let gateway = start(|c| c.heartbeat_ms = 1234);
    let mut svc = within("the handshake", open(&gateway, Some(&basic(USER))))
        .await
        .unwrap();
    let early = Envelope::request("svc", "echo", Payload::Inline(Json::null()));
    svc.send(&early).await;
    let error = svc.recv("the error for a frame before hello").await;
    let Body::Error(report) = &error.body else {
        panic!("{error:?}")
    };
    assert_eq!(report.error.code, ErrorCode::BadRequest);
    assert_eq!(report.correlation_id.as_ref(), Some(&early.id));
    svc.send(&hello("svc", "a", 3)).await;
    let welcome = svc.recv("welcome").await;
    let Body::Welcome(welcome) = welcome.body else {
        panic!("{welcome:?}")
    };
    assert_eq!(welcome.heartbeat_ms, 1234);
    assert_eq!(welcome.max_frame_bytes, 16 * 1024 * 1024);
    assert!(!welcome.session.is_empty());
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_may_only_register_its_services() {
    let gateway = start(|c| {
        c.users.add_user(
            User::parse("ocr-only:pw")
                .unwrap()
                .with_services(vec!["ocr".into()]),
        )
    });
    let mut svc = within("the handshake", open(&gateway, Some(&basic("ocr-only:pw"))))
        .await
        .unwrap();
    svc.send(&hello("billing", "a", 1)).await;
    let error = svc.recv("forbidden").await;
    let Body::Error(report) = &error.body else {
        panic!("{error:?}")
    };
    assert_eq!(report.error.code, ErrorCode::Forbidden);
    match svc.next_message("the close after forbidden").await {
        Some(tokio_tungstenite::tungstenite::Message::Close(Some(frame))) => {
            assert_eq!(u16::from(frame.code), 1008)
        }
        other => panic!("expected close 1008, got {other:?}"),
    }
    let mut ok = within("the handshake", open(&gateway, Some(&basic("ocr-only:pw"))))
        .await
        .unwrap();
    ok.send(&hello("ocr", "a", 1)).await;
    assert!(matches!(ok.recv("welcome").await.body, Body::Welcome(_)));
    gateway.stop().await;
}

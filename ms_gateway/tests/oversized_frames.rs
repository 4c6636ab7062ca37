//! A frame over max_frame_bytes gets payload_too_large and the session goes
//! on; one too big to read (over twice the limit) closes it with 1009. An
//! HTTP body over the limit gets 413.

mod common;

use common::*;
use ms_protocol::{Body, ErrorCode};
use tokio_tungstenite::tungstenite::Message;

const LIMIT: u64 = 64 * 1024;

fn request_of(bytes: usize) -> String {
    format!(
        r#"{{"v":1,"kind":"request","id":"big","to":"svc","route":"echo","payload":"{}"}}"#,
        "x".repeat(bytes)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_are_refused() {
    let gateway = start(|c| c.max_frame_bytes = LIMIT);
    let mut svc = connect(&gateway, "svc", "a", 4).await;
    svc.send_text(&request_of(LIMIT as usize + 10)).await;
    let error = svc.recv("payload_too_large").await;
    let Body::Error(report) = &error.body else {
        panic!("{error:?}")
    };
    assert_eq!(report.error.code, ErrorCode::PayloadTooLarge);
    assert_eq!(
        report.correlation_id.as_ref().map(|i| i.as_str()),
        Some("big")
    );

    let addr = gateway.addr();
    let response = post(
        addr,
        "/v1/invoke/svc/echo",
        &[],
        &format!("\"{}\"", "y".repeat(LIMIT as usize + 1)),
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.status);
    assert_eq!(response.json()["code"], "payload_too_large");

    svc.send_text(&request_of(3 * LIMIT as usize)).await;
    match svc.next_message("the close 1009").await {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1009),
        other => panic!("expected close 1009, got {other:?}"),
    }
    gateway.stop().await;
}

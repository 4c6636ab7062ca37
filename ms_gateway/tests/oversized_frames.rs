//! A frame over max_frame_bytes closes the connection with 1009 (docs/protocol.md
//! section 1, revision 2); an HTTP body over the limit gets 413.

mod common;

use common::*;
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

    let mut svc = connect(&gateway, "svc", "a", 4).await;
    // just under the limit still goes through (answered, here unknown_route)
    svc.send_text(&request_of(LIMIT as usize - 200)).await;
    svc.recv("the answer to a frame under the limit").await;
    svc.send_text(&request_of(LIMIT as usize + 10)).await;
    match svc.next_message("the close 1009").await {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 1009),
        other => panic!("expected close 1009, got {other:?}"),
    }
    assert_eq!(metric(addr, "ms_gateway_oversized_frames_total").await, 1);
    gateway.stop().await;
}

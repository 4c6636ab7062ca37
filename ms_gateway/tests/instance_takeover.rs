//! Threat: a second hello for a connected instance takes its place silently.
//! The newer connection replaces the older, which is closed with 4001, and
//! answers owed to the instance go to its live connection (docs/protocol.md
//! section 3, revision 2).

mod common;

use common::*;
use ms_protocol::{Body, Envelope, Payload};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_hello_replaces_the_older_connection() {
    let gateway = start(|_| {});
    let mut svc = connect(&gateway, "svc", "s", 4).await;
    let mut first = connect(&gateway, "caller", "c", 4).await;
    let request = Envelope::request(
        "svc",
        "echo",
        Payload::inline(&serde_json::json!("hi")).unwrap(),
    );
    first.send(&request).await;
    let delivered = svc.recv("the request").await;
    assert_eq!(delivered.id, request.id);

    let mut second = connect(&gateway, "caller", "c", 4).await;
    match first
        .next_message("the close 4001 of the replaced connection")
        .await
    {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), 4001),
        other => panic!("expected close 4001, got {other:?}"),
    }
    assert_eq!(
        metric(gateway.addr(), "ms_gateway_sessions_replaced_total").await,
        1
    );

    // The answer to what the instance asked goes to its live connection...
    svc.reply(&delivered, serde_json::json!("hello")).await;
    let answer = second.recv("the answer on the live connection").await;
    assert!(
        matches!(&answer.body, Body::Reply(r) if r.correlation_id == request.id),
        "{answer:?}"
    );
    // ...and, unacknowledged, to the next one when that one leaves.
    drop(second);
    let mut third = connect(&gateway, "caller", "c", 4).await;
    let again = third.recv("the unacknowledged answer again").await;
    assert_eq!(again.id, answer.id);
    gateway.stop().await;
}
